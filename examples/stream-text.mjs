// docs/llm-voice.md: streamText() basics. Text fragments in (a model's tokens), PCM out, word
// timestamps on the side; then the same text over the SSE transport, and a long text on pcm().
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { LightningClient, WavEncoder } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })

/** @param {string} text */
async function* tokens(text) {
  for (const token of text.match(/\S+\s*/g) ?? []) {
    await sleep(20)
    yield token
  }
}
const answer = 'Dr. Smith paid $3.14 for a coffee. Then he left! Nobody knows where he went.'

// 1. Pipe the tokens in; each sentence is spoken as soon as it is complete.
const tts = client.streamText({ voice_id: 'meher', word_timestamps: true })
tts.on('word', (w) => console.error(`${w.start.toFixed(2)}–${w.end.toFixed(2)} s  ${w.word}`))
await pipeline(tokens(answer), tts, new WavEncoder({ format: tts.format }), createWriteStream('answer.wav'))
const m = tts.metrics
console.error(`first audio ${((m.firstPcmByte ?? 0) - (m.firstText ?? 0)).toFixed(0)} ms after the first token; ${m.words} words`)

// 2. Without piping: pushText(), flush() to speak what you have now, endInput() when done.
const manual = client.streamText({ voice_id: 'magnus' })
const done = pipeline(manual, createWriteStream('manual.pcm'))
manual.pushText('Let me check that for you.')
manual.flush()
manual.pushText(' Found it.')
manual.endInput()
await done

// 3. The SSE transport: sentences become separate requests, stitched into one gapless stream.
const sse = client.streamText({ voice_id: 'magnus' }, { transport: 'sse' })
sse.on('segment', (s) => console.error(`segment ${s.index}: ${JSON.stringify(s.text)}`))
await pipeline(tokens(answer), sse, createWriteStream('answer-sse.pcm'))

// 4. Long text on pcm(): the first audio comes after the first sentence, not after all of it.
const long = Array.from({ length: 20 }, (_, i) => `This is sentence ${i + 1} of a long article.`).join(' ')
const pcm = client.pcm({ text: long, voice_id: 'magnus' })
await pipeline(pcm, createWriteStream('long.pcm'))
console.error(`long text: ${pcm.delivered.bytes} bytes, first audio after ${pcm.metrics.firstPcmByte?.toFixed(0)} ms`)

await client.close()
await emulator?.close()
