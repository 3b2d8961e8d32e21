// Native-rate Discord encoding, checked: Opus packets carry no input rate, so packets encoded from
// the TTS's own 24 kHz mono decode in the 48 kHz stereo decoder Discord clients run. Does the audio
// hold up? Both paths encode the same speech (eSpeak NG when installed, else the speech-like test
// signal) at 64 kbit/s, 20 ms frames:
//   default: 24 kHz mono → HalfbandUpsampler → 48 kHz stereo Opus (createDiscordStream's path);
//   native:  24 kHz mono Opus, as createDiscordStream({ nativeRate: true }) sends it.
// Each packet stream is decoded by libopus at 48 kHz stereo (@evan/opus's Decoder, and opusscript's
// as a second, independent build), and compared with the source upsampled to 48 kHz by the
// 'best' resampler: normalised correlation at the best lag, level (RMS, dB), length in samples,
// and L/R difference. CPU per audio second of each encode path, median of interleaved repetitions.
import { Decoder } from '@evan/opus'
import OpusScript from 'opusscript'
import { HalfbandUpsampler, OpusEncoder } from '../dist/esm/index.js'
import { createResampler } from '../dist/esm/core.js'
import { createEspeakEngine } from '../dist/esm/emulator/index.js'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { machine, median, QUICK, speechLike } from './lib.mjs'

const TEXT = 'Native rate encoding keeps the voice as it was synthesised. Discord clients decode every Opus packet at forty eight kilohertz in stereo, whatever rate it was encoded at. This check plays both versions through the same decoder and compares them with the source.'

let source
let sourceName
try {
  const engine = await createEspeakEngine()
  source = await engine.render({ text: QUICK ? TEXT.slice(0, 60) : TEXT, voice_id: 'magnus', sample_rate: 24000, language: 'en', speed: 1 })
  sourceName = 'eSpeak NG speech, 24 kHz mono'
} catch {
  source = speechLike(24000, QUICK ? 2 : 10)
  sourceName = 'speech-like test signal, 24 kHz mono'
}
const seconds = source.length / 48000

async function packets(pcm, stages) {
  const out = []
  await pipeline(Readable.from([pcm]), ...stages, new Writable({ objectMode: true, write(p, _e, cb) { out.push(p); cb() } }))
  return out
}
const defaultStages = () => [new HalfbandUpsampler({ channels: 2 }), new OpusEncoder({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, engines: ['@evan/opus'] })]
const nativeStages = () => [new OpusEncoder({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' }, engines: ['@evan/opus'] })]

/** Decodes packets at 48 kHz stereo; returns { left, right } as Float64Arrays. */
function decode(pkts, which) {
  const parts = []
  if (which === 'evan') {
    const d = new Decoder({ channels: 2, sample_rate: 48000 })
    for (const p of pkts) parts.push(Buffer.from(d.decode(p)))
  } else {
    const d = new OpusScript(48000, 2, OpusScript.Application.AUDIO)
    for (const p of pkts) parts.push(Buffer.from(d.decode(p)))
    d.delete()
  }
  const pcm = Buffer.concat(parts)
  const n = pcm.length / 4
  const left = new Float64Array(n)
  const right = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    left[i] = pcm.readInt16LE(i * 4) / 32768
    right[i] = pcm.readInt16LE(i * 4 + 2) / 32768
  }
  return { left, right, samples: n }
}

// The reference: the source at 48 kHz by the best resampler.
const ref = (() => {
  const rs = createResampler({ from: 24000, to: 48000, quality: 'best' })
  const b = Buffer.concat([rs.push(source), rs.flush()])
  const x = new Float64Array(b.length / 2)
  for (let i = 0; i < x.length; i++) x[i] = b.readInt16LE(i * 2) / 32768
  return x
})()

function compare(dec) {
  // Best lag in 0..2000 samples (Opus pre-skip plus filter delay), on a coarse grid, then refined.
  const corrAt = (lag) => {
    let ab = 0, aa = 0, bb = 0
    const n = Math.min(ref.length, dec.left.length - lag)
    for (let i = 0; i < n; i++) {
      const a = ref[i], b = dec.left[i + lag]
      ab += a * b; aa += a * a; bb += b * b
    }
    return { r: ab / Math.sqrt(aa * bb), aa, bb }
  }
  let best = { lag: 0, r: -1 }
  for (let lag = 0; lag <= 2000; lag += 4) {
    const c = corrAt(lag)
    if (c.r > best.r) best = { lag, r: c.r }
  }
  for (let lag = Math.max(0, best.lag - 4); lag <= best.lag + 4; lag++) {
    const c = corrAt(lag)
    if (c.r > best.r) best = { lag, r: c.r }
  }
  const c = corrAt(best.lag)
  let lr = 0
  for (let i = 0; i < dec.left.length; i++) lr = Math.max(lr, Math.abs(dec.left[i] - dec.right[i]))
  // Residual after the best gain: the "noise" the codec path adds, relative to the signal.
  const g = c.r * Math.sqrt(c.bb / c.aa)
  let err = 0, sig = 0
  const n = Math.min(ref.length, dec.left.length - best.lag)
  for (let i = 0; i < n; i++) {
    const d = dec.left[i + best.lag] - g * ref[i]
    err += d * d
    sig += (g * ref[i]) ** 2
  }
  return {
    correlation: c.r,
    lagSamples48k: best.lag,
    levelDb: 10 * Math.log10(c.bb / c.aa),
    snrDb: 10 * Math.log10(sig / err),
    decodedSamples: dec.samples,
    maxLeftRightDiff: lr,
  }
}

const result = {}
for (const [name, stages] of [['default (48 kHz stereo)', defaultStages], ['native (24 kHz mono)', nativeStages]]) {
  const pkts = await packets(source, stages())
  result[name] = {
    packets: pkts.length,
    bytes: pkts.reduce((a, p) => a + p.length, 0),
    expectedSamples48k: pkts.length * 960,
    sourceSamples48k: ref.length,
    evan: compare(decode(pkts, 'evan')),
    opusscript: compare(decode(pkts, 'opusscript')),
  }
}

// CPU per audio second of each encode path (the SSE decode is the same for both).
const REPS = QUICK ? 2 : 15
const cpu = { default: [], native: [] }
for (let r = 0; r <= REPS; r++) {
  for (const [k, stages] of r % 2 ? [['native', nativeStages], ['default', defaultStages]] : [['default', defaultStages], ['native', nativeStages]]) {
    const c0 = process.cpuUsage()
    await packets(source, stages())
    const c = process.cpuUsage(c0)
    if (r > 0) cpu[k].push((c.user + c.system) / 1000 / seconds)
  }
}
const ratios = cpu.native.map((v, i) => v / cpu.default[i])

console.log(
  JSON.stringify(
    {
      benchmark: 'discord-native-rate',
      machine: machine(),
      source: sourceName,
      seconds,
      result,
      cpuMsPerAudioSecond: { default: median(cpu.default), native: median(cpu.native) },
      nativeOverDefault: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
    },
    null,
    2,
  ),
)
