// docs/webrtc-livekit.md: publish TTS into a LiveKit room through an AudioSource. captureFrame is
// awaited, so LiveKit's queue paces the stream; an abort clears the queue (barge-in).
import { pipeline } from 'node:stream/promises'
import { AudioSource, LocalAudioTrack, dispose } from '@livekit/rtc-node'
import { LightningClient, LiveKitAudioSink } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })

const source = new AudioSource(24000, 1, 500) // rate and channels of the PCM, a 500 ms queue
const track = LocalAudioTrack.createAudioTrack('tts', source)
// In an agent: await room.localParticipant.publishTrack(track, options)

const ac = new AbortController()
const pcm = client.pcm({ text: 'Hello from a LiveKit room.', voice_id: 'magnus' }, { signal: ac.signal })
const sink = new LiveKitAudioSink({ source, format: pcm.format })
await pipeline(pcm, sink)
console.error(`captured ${sink.framesCaptured} frames; ${sink.metrics.lateFrames} late; ${source.queuedDuration} ms still queued`)

await track.close()
await source.close()
await client.close()
await emulator?.close()
await dispose()
