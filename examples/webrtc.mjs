// docs/webrtc-livekit.md: feed a node-webrtc audio track. The sink calls RTCAudioSource.onData
// with exactly 10 ms per call, on a drift-corrected clock, and fills stalls with silence.
import { pipeline } from 'node:stream/promises'
import wrtc from '@roamhq/wrtc'
import { LightningClient, WrtcAudioSink } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })

const source = new wrtc.nonstandard.RTCAudioSource()
const track = source.createTrack()
const peer = new wrtc.RTCPeerConnection()
peer.addTrack(track) // then negotiate with your remote peer as usual

const pcm = client.pcm({ text: 'Hello over WebRTC.', voice_id: 'emily' }) // 24 kHz: divisible by 100
const sink = new WrtcAudioSink({ source, format: pcm.format })
await pipeline(pcm, sink)
console.error(`sent ${sink.metrics.framesOut} frames of 10 ms (${sink.metrics.silenceFrames} of silence)`)

track.stop()
peer.close()
await client.close()
await emulator?.close()
process.exit(0) // node-webrtc can crash while Node shuts down unless the process exits explicitly
