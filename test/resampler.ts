import t from 'tap'
import fc from 'fast-check'
import { Resampler, type ResamplerQuality } from '../lib/index.js'
import { createResamplerCore } from '../lib/core.js'
import { designFilterBank } from '../lib/audio/resample-core.js'
import { decode, encode, powerDb, sine, sineFit } from './fixtures/signal.js'
import { runStage, splitAt } from './fixtures/helpers.js'

const FS = 10 ** (-1 / 20) // −1 dBFS
type Enc = 's16le' | 'f32le'

/** Resamples a whole buffer in one push. */
function oneShot(from: number, to: number, input: Buffer, encoding: Enc, quality: ResamplerQuality = 'balanced', channels = 1): Buffer {
  const r = createResamplerCore({ from, to, encoding, quality, channels })
  return Buffer.concat([r.push(input), r.flush()])
}

/** Resamples a tone and measures it over the middle second. */
function tone(from: number, to: number, freq: number, encoding: Enc, quality: ResamplerQuality = 'balanced') {
  const y = decode(oneShot(from, to, encode(sine(from, freq, 1.5), encoding), encoding, quality), encoding)
  const s = Math.round(0.25 * to)
  const e = Math.round(1.25 * to)
  return { ...sineFit(y, to, freq, s, e), leakDb: powerDb(y, s, e, FS), y }
}

const RATES = [8000, 16000, 22050, 24000, 44100, 48000]

t.test('quality of balanced at 24000 → 48000 (the Discord/WebRTC path)', async (t) => {
  const f32 = tone(24000, 48000, 1000, 'f32le')
  t.ok(f32.sinad >= 100, `1 kHz −1 dBFS SINAD in f32: ${f32.sinad.toFixed(1)} dB ≥ 100`)
  // s16 ceiling: a −1 dBFS sine quantised to 16 bits (6.02·16 + 1.76 − 1 = 97.1 dB).
  const ceiling = 6.02 * 16 + 1.76 - 1
  const s16 = tone(24000, 48000, 1000, 's16le')
  t.ok(s16.sinad >= ceiling - 3, `1 kHz SINAD in s16: ${s16.sinad.toFixed(1)} dB, within 3 dB of the ${ceiling.toFixed(1)} dB ceiling`)
  const image = tone(24000, 48000, 11000, 'f32le')
  t.ok(image.sinad >= 90, `11 kHz tone: image at 13 kHz rejected by ${image.sinad.toFixed(1)} dB ≥ 90`)
  for (const f of [100, 1000, 4000, 8000, 10000, 10800]) {
    const g = 20 * Math.log10(tone(24000, 48000, f, 'f32le').amplitude / FS)
    t.ok(Math.abs(g) <= 0.1, `passband gain at ${f} Hz: ${g.toFixed(4)} dB (±0.1)`)
  }
})

t.test('downsampling 24000 → 16000 does not alias an 11 kHz tone', async (t) => {
  for (const q of ['balanced', 'best'] as const) {
    const r = tone(24000, 16000, 11000, 'f32le', q)
    t.ok(r.leakDb <= -90, `${q}: 11 kHz leaks at ${r.leakDb.toFixed(1)} dB ≤ −90`)
  }
  for (const f of [1000, 5000, 7200]) {
    const g = 20 * Math.log10(tone(24000, 16000, f, 'f32le').amplitude / FS)
    t.ok(Math.abs(g) <= 0.1, `passband gain at ${f} Hz: ${g.toFixed(4)} dB`)
  }
})

t.test('best reaches 130 dB; fast is documented with its figures', async (t) => {
  const best = tone(24000, 48000, 1000, 'f32le', 'best')
  t.ok(best.sinad >= 130, `best 1 kHz SINAD ${best.sinad.toFixed(1)} dB ≥ 130`)
  t.ok(tone(24000, 48000, 11000, 'f32le', 'best').sinad >= 130, 'best image rejection ≥ 130 dB')
  // The README documents fast as: ≥ 85 dB at 1 kHz, ≥ 70 dB image and alias rejection.
  const fast = tone(24000, 48000, 1000, 'f32le', 'fast')
  t.ok(fast.sinad >= 85, `fast 1 kHz SINAD ${fast.sinad.toFixed(1)} dB`)
  const fastImage = tone(24000, 48000, 11000, 'f32le', 'fast')
  t.ok(fastImage.sinad >= 70, `fast image rejection ${fastImage.sinad.toFixed(1)} dB`)
  t.ok(tone(24000, 16000, 11000, 'f32le', 'fast').leakDb <= -75, 'fast alias rejection ≥ 75 dB')
})

t.test('every rate pair in use, both directions: length, level and SINAD ≥ 100 dB', async (t) => {
  for (const from of RATES) {
    for (const to of RATES) {
      if (from === to) continue
      const input = encode(sine(from, 1000, 1.5), 'f32le')
      const out = oneShot(from, to, input, 'f32le')
      t.equal(out.length / 4, Math.round((input.length / 4) * (to / from)), `${from}→${to}: round(in × to/from) frames`)
      const y = decode(out, 'f32le')
      const fit = sineFit(y, to, 1000, Math.round(0.25 * to), Math.round(1.25 * to))
      t.ok(fit.sinad >= 100, `${from}→${to}: ${fit.sinad.toFixed(1)} dB`)
    }
  }
})

t.test('the output is aligned with the input (no filter delay)', async (t) => {
  for (const [from, to] of [[24000, 48000], [44100, 48000], [48000, 16000], [22050, 48000]] as const) {
    const y = decode(oneShot(from, to, encode(sine(from, 1000, 1), 'f32le'), 'f32le'), 'f32le')
    const ideal = sine(to, 1000, 1)
    let sig = 0
    let err = 0
    for (let i = Math.round(0.2 * to); i < Math.round(0.8 * to); i++) {
      sig += ideal[i]! ** 2
      err += (y[i]! - ideal[i]!) ** 2
    }
    const snr = 10 * Math.log10(sig / err)
    t.ok(snr >= 90, `${from}→${to}: matches the ideal sine at the same instants (${snr.toFixed(1)} dB)`)
  }
})

t.test('property: any chunking gives byte-identical output (mono/stereo, s16/f32, many ratios)', async (t) => {
  const cases = [
    { from: 24000, to: 48000, channels: 1, encoding: 's16le' as Enc },
    { from: 44100, to: 48000, channels: 2, encoding: 's16le' as Enc },
    { from: 48000, to: 16000, channels: 1, encoding: 'f32le' as Enc },
    { from: 22050, to: 48000, channels: 2, encoding: 'f32le' as Enc },
    { from: 8000, to: 48000, channels: 1, encoding: 's16le' as Enc },
  ]
  for (const c of cases) {
    const frames = Math.round(c.from * 0.05)
    const mono = sine(c.from, 700, frames / c.from, 0.9)
    const input = encode(mono, c.encoding, c.channels)
    const whole = oneShot(c.from, c.to, input, c.encoding, 'balanced', c.channels)
    fc.assert(
      fc.property(fc.array(fc.nat(input.length), { maxLength: 25 }), (cuts) => {
        const r = createResamplerCore({ ...c })
        const out = splitAt(input, cuts).map((p) => r.push(p))
        out.push(r.flush())
        return Buffer.concat(out).equals(whole)
      }),
      { numRuns: 60, seed: 11 },
    )
    const oneByte = createResamplerCore({ ...c })
    const bytes: Buffer[] = []
    for (let i = 0; i < input.length; i++) bytes.push(oneByte.push(input.subarray(i, i + 1)))
    bytes.push(oneByte.flush())
    t.ok(Buffer.concat(bytes).equals(whole), `${c.from}→${c.to} ${c.channels}ch ${c.encoding}: one byte at a time = whole`)
  }
  const stage = await runStage<Buffer>(new Resampler({ from: 24000, to: 48000 }), [encode(sine(24000, 500, 0.1), 's16le')])
  t.same(Buffer.concat(stage), oneShot(24000, 48000, encode(sine(24000, 500, 0.1), 's16le'), 's16le'), 'the Transform agrees with the core')
})

t.test('s16 output is rounded and clipped, never wrapped', async (t) => {
  // A full-scale square wave rings (Gibbs) above full scale after band-limiting.
  const n = 2400
  const sq = new Float64Array(n).map((_, i) => (Math.floor(i / 40) % 2 ? -1 : 32767 / 32768))
  const y16 = decode(oneShot(24000, 48000, encode(sq, 's16le'), 's16le'), 's16le')
  const yf = decode(oneShot(24000, 48000, encode(sq, 'f32le'), 'f32le'), 'f32le')
  let overshoots = 0
  let bad = 0
  for (let i = 0; i < yf.length; i++) {
    if (yf[i]! > 1) {
      overshoots++
      if (y16[i] !== 32767 / 32768) bad++
    }
    if (yf[i]! < -1 && y16[i] !== -1) bad++
    if (Math.sign(yf[i]!) * Math.sign(y16[i]!) < 0 && Math.abs(yf[i]!) > 0.01) bad++
  }
  t.ok(overshoots > 0, `the test signal overshoots (${overshoots} samples)`)
  t.equal(bad, 0, 'every overshoot is clipped to full scale, none wraps')
})

t.test('equal rates pass bytes through; bad input and options are coded errors', async (t) => {
  const input = encode(sine(16000, 300, 0.01), 's16le')
  t.same(oneShot(16000, 16000, input, 's16le'), input)
  const r = createResamplerCore({ from: 24000, to: 48000 })
  r.push(Buffer.alloc(3))
  t.throws(() => r.flush(), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => createResamplerCore({ from: 0, to: 48000 }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => createResamplerCore({ from: 24000, to: 48000.5 }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => createResamplerCore({ from: 24000, to: 48000, quality: 'ultra' as ResamplerQuality }), { code: 'ERR_INVALID_OPTION', option: 'quality' })
  t.throws(() => new Resampler({ from: 24000, to: 48000, channels: 0 }), { code: 'ERR_AUDIO_FORMAT' })
  t.equal(designFilterBank(24000, 48000, 'balanced').L, 2)
  t.equal(designFilterBank(44100, 48000, 'balanced').L, 160)
})
