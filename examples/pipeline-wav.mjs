// README example: stream speech into a WAV file with pipeline(). Runs offline against the
// built-in emulator unless SMALLEST_API_KEY is set. Usage: node examples/pipeline-wav.mjs [out.wav]
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { LightningClient, WavEncoder } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })

const pcm = client.pcm({ text: 'Streaming speech, chunk by chunk.', voice_id: 'magnus' })
pcm.on('response', (r) => console.error(`request id ${r.requestId}`))
await pipeline(pcm, new WavEncoder({ format: pcm.format }), createWriteStream(process.argv[2] ?? 'speech.wav'))
console.error(`${pcm.delivered.bytes} bytes of ${pcm.format.sampleRate} Hz PCM`)

await client.close()
await emulator?.close()
