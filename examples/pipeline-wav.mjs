// docs/getting-started.md: stream speech into a WAV file. Runs offline against the built-in
// emulator unless SMALLEST_API_KEY is set. Usage: node examples/pipeline-wav.mjs [out.wav]
import { LightningClient, writeWavFile } from 'lightning-stream'
import { EspeakMissingError, createEspeakEngine, startEmulator } from 'lightning-stream/emulator'

// The emulator speaks with eSpeak NG when `espeak-ng` is installed; otherwise with its default
// tone engine (a tone per letter, silence between words, the same bytes every run).
const engine = await createEspeakEngine().catch((err) => {
  if (err instanceof EspeakMissingError) return undefined
  throw err
})
const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator({ engine })
console.error(`speech from ${emulator ? (engine ? 'the emulator, eSpeak NG' : 'the emulator, tone engine') : 'the Lightning API'}`)
const client = new LightningClient({ baseUrl: emulator?.url })

const pcm = client.pcm({ text: 'Streaming speech, chunk by chunk.', voice_id: 'magnus' })
pcm.on('response', (r) => console.error(`request id ${r.requestId}`))
// A file gets exact sizes in its header, and appears only once complete: writeWavFile, not
// WavEncoder piped into createWriteStream (WavEncoder's streaming header is for pipes and HTTP).
await writeWavFile(process.argv[2] ?? 'speech.wav', pcm, pcm.format)
console.error(`${pcm.delivered.bytes} bytes of ${pcm.format.sampleRate} Hz PCM`)

await client.close()
await emulator?.close()
