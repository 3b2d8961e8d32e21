// The IIR half-band 2× upsampler (lib/audio/halfband.core.ts), the Discord path's 24 kHz mono →
// 48 kHz stereo step: quality measured like the Resampler's (sine fit: SINAD, image rejection,
// passband gain), exact length, identical output at every chunking, equal channels.
import t from 'tap'
import fc from 'fast-check'
import { HalfbandUpsampler } from '../lib/index.js'
import { createHalfbandUpsampler } from '../lib/core.js'
import { halfbandCoefficients } from '../lib/audio/halfband.core.js'
import { decode, encode, sine, sineFit } from './fixtures/signal.js'
import { chunkSizes, runStage, splitAt, splitEvery } from './fixtures/helpers.js'

const FS = 10 ** (-1 / 20) // −1 dBFS

function up(input: Buffer, channels: 1 | 2 = 1): Buffer {
  const c = createHalfbandUpsampler({ channels })
  return Buffer.concat([c.push(input), c.flush()])
}

function tone(freq: number) {
  const y = decode(up(encode(sine(24000, freq, 1.5), 's16le')), 's16le')
  return sineFit(y, 48000, freq, 12000, 60000)
}

t.test('quality at 24 kHz → 48 kHz: SINAD at the s16 ceiling, images rejected, passband flat to 10.5 kHz', async (t) => {
  // A −1 dBFS sine quantised to 16 bits: 97.1 dB. Input and output are both s16 here, so the
  // noise floor is that of two quantisations: within 6 dB of the ceiling means the filter's own
  // image leakage (~137 dB, measured in float while designing) is below the quantisation noise.
  const ceiling = 6.02 * 16 + 1.76 - 1
  for (const f of [1000, 5000, 9600, 10500, 11000]) {
    const r = tone(f)
    t.ok(r.sinad >= ceiling - 6, `${f} Hz: SINAD ${r.sinad.toFixed(1)} dB with the image at ${24000 - f} Hz (s16 ceiling ${ceiling.toFixed(1)} dB)`)
  }
  for (const f of [100, 1000, 4000, 8000, 10000, 10500]) {
    const g = 20 * Math.log10(tone(f).amplitude / FS)
    t.ok(Math.abs(g) <= 0.01, `passband gain at ${f} Hz: ${g.toFixed(4)} dB (±0.01)`)
  }
})

t.test('the designed filter: 12 allpass coefficients in (0, 1), increasing', async (t) => {
  const c = halfbandCoefficients(12, 0.03)
  t.equal(c.length, 12)
  t.ok(c.every((v, i) => v > 0 && v < 1 && (i === 0 || v > c[i - 1]!)), c.map((v) => v.toFixed(6)).join(' '))
})

t.test('exactly twice the samples; identical at every chunking; stereo is the mono output on both channels', async (t) => {
  const input = encode(sine(24000, 440, 0.3), 's16le')
  const whole = up(input)
  t.equal(whole.length, input.length * 2)
  for (const size of chunkSizes(input.length)) {
    const c = createHalfbandUpsampler()
    const out = Buffer.concat([...splitEvery(input, size).map((p) => c.push(p)), c.flush()])
    t.ok(out.equals(whole), `chunks of ${size}`)
  }
  const stereo = up(input, 2)
  t.equal(stereo.length, whole.length * 2)
  t.same(decode(stereo, 's16le', 2, 0), decode(whole, 's16le'), 'left = mono')
  t.same(decode(stereo, 's16le', 2, 1), decode(whole, 's16le'), 'right = mono')
  const viaStage = Buffer.concat(await runStage<Buffer>(new HalfbandUpsampler({ channels: 2 }), splitEvery(input, 333)))
  t.ok(viaStage.equals(stereo), 'the Transform agrees')
  t.throws(() => createHalfbandUpsampler({ channels: 3 as never }), { code: 'ERR_AUDIO_FORMAT' })
  const odd = createHalfbandUpsampler()
  odd.push(Buffer.alloc(3))
  t.throws(() => odd.flush(), { code: 'ERR_AUDIO_FORMAT' })
})

t.test('property: random input at random splits gives the whole-buffer output', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 800 }), fc.array(fc.nat(800), { maxLength: 8 }), (bytes, cuts) => {
      const input = Buffer.from(bytes.subarray(0, bytes.length & ~1))
      const c = createHalfbandUpsampler({ channels: 2 })
      const out = Buffer.concat([...splitAt(input, cuts).map((p) => c.push(p)), c.flush()])
      return out.equals(up(input, 2))
    }),
    { numRuns: 300, seed: 5 },
  )
  t.pass('chunking-invariant')
})
