// Emulator speech engine: eSpeak NG (WASM) cost per sentence. The module is compiled once when
// the engine is created; each sentence instantiates it and renders, then the library's own
// Resampler converts 22 050 Hz to the requested rate. Reports engine creation, median ms per
// sentence and the realtime factor (audio seconds per wall second). Skipped with a clear line
// (not zeros) when the optional espeak-ng package is absent.
import { createEspeakEngine } from '../dist/esm/emulator/index.js'
import { machine, median, QUICK } from './lib.mjs'

const SENTENCES = [
  'Hello from lightning stream.',
  'This is a sentence of ordinary length for a voice assistant.',
  'Streaming speech, chunk by chunk, without waiting for the whole answer.',
  'Numbers like 42 and dates like March third are read aloud too.',
]
let engine
const t0 = performance.now()
try {
  engine = await createEspeakEngine()
} catch (err) {
  console.log(JSON.stringify({ benchmark: 'espeak', machine: machine(), skipped: `espeak-ng not installed: ${err.message}` }))
  process.exit(0)
}
const createMs = performance.now() - t0
const reps = QUICK ? 1 : 5
const perSentence = []
let audioS = 0
let wallS = 0
for (let r = 0; r <= reps; r++) {
  for (const text of SENTENCES) {
    const s = performance.now()
    const pcm = await engine.render({ text, voice_id: 'magnus', sample_rate: 24000, speed: 1, model: 'lightning_v3.1', output_format: 'pcm' })
    const ms = performance.now() - s
    if (pcm.length < 24000) throw new Error(`suspiciously short audio for "${text}"`)
    if (r > 0) {
      perSentence.push(ms)
      audioS += pcm.length / 48000
      wallS += ms / 1000
    }
  }
}
console.log(
  JSON.stringify(
    { benchmark: 'espeak', machine: machine(), engineCreateMs: createMs, medianMsPerSentence: median(perSentence), minMs: Math.min(...perSentence), maxMs: Math.max(...perSentence), realtimeFactor: audioS / wallS, sentences: perSentence.length },
    null,
    2,
  ),
)
