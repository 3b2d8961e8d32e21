// 24 kHz mono TTS → 48 kHz stereo WAV (the format Discord and WebRTC use), with exact sizes.
// Offline against the built-in emulator unless SMALLEST_API_KEY is set.
// Usage: node examples/tts-48k-stereo.mjs [out.wav]
import { LightningClient, convertPcm, pcmFormat, writeWavFile } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })

const pcm = client.pcm({ text: 'Streaming speech, chunk by chunk.', voice_id: 'magnus' })
const target = pcmFormat(48000, 2) // 48 kHz stereo s16le, typed as a PcmFormat
const { durationMs } = await writeWavFile(process.argv[2] ?? 'speech-48k.wav', pcm, target, convertPcm(pcm.format, target))
console.error(`${(durationMs / 1000).toFixed(2)} s of 48 kHz stereo`)

await client.close()
await emulator?.close()
