/**
 * Exact 2× upsampling of s16le mono with a polyphase IIR half-band filter, writing mono or
 * stereo: the 24 kHz mono → 48 kHz stereo step of the Discord path in one pass. Pure: no stream
 * import.
 *
 * Why not the FIR {@link Resampler}: its `balanced` filter costs ~2 ms of CPU per second of audio
 * for 24 → 48 kHz, half as much as Opus itself, and the mono → stereo copy is a second pass. The
 * two-path allpass half-band of Valenzuela and Constantinides (IEE Proc., 1983), with coefficients
 * from de Soras' elliptic design (the HIIR library), needs one multiply per coefficient per input
 * sample: 12 coefficients give a ~137 dB stopband from 0.28 × 48 kHz and a passband flat (to
 * 0.001 dB) up to 10.5 kHz, for ~0.5 ms per second of audio (`test/halfband.ts` measures it).
 * The price is phase: an IIR filter delays frequencies near the band edge a few samples more than
 * low ones (inaudible in speech); the FIR resampler keeps linear phase.
 *
 * Output length is exactly twice the input (the filter is causal: nothing to flush). A partial
 * sample is carried to the next chunk.
 * @module
 */
import { AudioFormatError } from '../errors.js'
import { assertLittleEndianHost } from './format.js'
import { int16View, UnitCarry } from './pcm-ops.js'

/** Options of {@link createHalfbandUpsampler}. @category Cores */
export interface HalfbandUpsamplerOptions {
  /** Output channels: the mono input is written to each. @defaultValue `1` */
  channels?: 1 | 2 | undefined
}

/** The pure upsampler returned by {@link createHalfbandUpsampler}. @category Cores */
export interface HalfbandUpsamplerCore {
  /** Upsamples a chunk of s16le mono (any length). */
  push(chunk: Buffer): Buffer
  /** Ends the input. @throws {@link AudioFormatError} when it ended mid-sample */
  flush(): Buffer
}

/** Transition bandwidth of the half-band, relative to the output rate. */
const TRANSITION = 0.03
/** Allpass coefficients: ~137 dB of stopband attenuation at this transition bandwidth. */
const COEFFICIENT_COUNT = 12

/**
 * Coefficients of a two-path polyphase IIR half-band filter with `count` allpass sections and the
 * given transition bandwidth (fraction of the output rate), by the elliptic design of de Soras'
 * `PolyphaseIir2Designer` (theta-function series for the pole positions).
 * @internal
 */
export function halfbandCoefficients(count: number, transition: number): number[] {
  let k = Math.tan(((1 - transition * 2) * Math.PI) / 4)
  k *= k
  const kk = Math.pow(1 - k * k, 0.25)
  const e = (0.5 * (1 - kk)) / (1 + kk)
  const e4 = e ** 4
  const q = e * (1 + e4 * (2 + e4 * (15 + 150 * e4)))
  const order = 2 * count + 1
  const coefs: number[] = []
  for (let index = 0; index < count; index++) {
    const c = index + 1
    let num = 0
    for (let i = 0, sign = 1; ; i++, sign = -sign) {
      const term = q ** (i * (i + 1)) * Math.sin(((2 * i + 1) * c * Math.PI) / order) * sign
      num += term
      if (Math.abs(term) <= 1e-100) break
    }
    let den = 0
    for (let i = 1, sign = -1; ; i++, sign = -sign) {
      const term = q ** (i * i) * Math.cos((2 * i * c * Math.PI) / order) * sign
      den += term
      if (Math.abs(term) <= 1e-100) break
    }
    const w = (num * q ** 0.25) / (den + 0.5)
    const w2 = w * w
    const x = Math.sqrt((1 - w2 * k) * (1 - w2 / k)) / (1 + w2)
    coefs.push((1 - x) / (1 + x))
  }
  return coefs
}

const COEFS = halfbandCoefficients(COEFFICIENT_COUNT, TRANSITION)

const [A0, B0, A1, B1, A2, B2, A3, B3, A4, B4, A5, B5] = COEFS

/** Creates the 2× half-band upsampler core (s16le mono in; mono or stereo out). @category Cores */
export function createHalfbandUpsampler(options: HalfbandUpsamplerOptions = {}): HalfbandUpsamplerCore {
  const channels = options.channels ?? 1
  if (channels !== 1 && channels !== 2) throw new AudioFormatError(`HalfbandUpsampler writes 1 or 2 channels (got ${String(channels)})`)
  assertLittleEndianHost()
  // Path A (even outputs) runs coefficients 0, 2, 4…, path B (odd outputs) 1, 3, 5…; each section
  // is an allpass (a + z⁻¹) / (1 + a·z⁻¹) at the input rate: y = (in − y₁)·a + x₁. The 24 state
  // values live in locals while a chunk is processed (kept in registers: ~2× faster than arrays).
  // State between chunks: [x, y] per section, path A then path B. Copied into locals for the loop
  // (closure variables live in a heap context; locals stay in registers: ~4× faster here).
  const state = new Float64Array(24)
  const carry = new UnitCarry(2)
  return {
    push(chunk) {
      const buf = carry.take(chunk)
      const input = int16View(buf)
      const frames = input.length
      // Uninitialised (every sample is written below); Node's pool keeps 8-byte alignment.
      const bytes = Buffer.allocUnsafe(frames * 4 * channels)
      const out = new Int16Array(bytes.buffer, bytes.byteOffset, frames * 2 * channels)
      let xa0 = state[0] as number, ya0 = state[1] as number, xa1 = state[2] as number, ya1 = state[3] as number
      let xa2 = state[4] as number, ya2 = state[5] as number, xa3 = state[6] as number, ya3 = state[7] as number
      let xa4 = state[8] as number, ya4 = state[9] as number, xa5 = state[10] as number, ya5 = state[11] as number
      let xb0 = state[12] as number, yb0 = state[13] as number, xb1 = state[14] as number, yb1 = state[15] as number
      let xb2 = state[16] as number, yb2 = state[17] as number, xb3 = state[18] as number, yb3 = state[19] as number
      let xb4 = state[20] as number, yb4 = state[21] as number, xb5 = state[22] as number, yb5 = state[23] as number
      const a0 = A0 as number, a1 = A1 as number, a2 = A2 as number, a3 = A3 as number, a4 = A4 as number, a5 = A5 as number
      const b0 = B0 as number, b1 = B1 as number, b2 = B2 as number, b3 = B3 as number, b4 = B4 as number, b5 = B5 as number
      const stereo = channels === 2
      let o = 0
      for (let s = 0; s < frames; s++) {
        const v = (input[s] as number) / 32768
        // Path A: even outputs.
        let t = (v - ya0) * a0 + xa0
        xa0 = v
        ya0 = t
        let u = (t - ya1) * a1 + xa1
        xa1 = t
        ya1 = u
        t = (u - ya2) * a2 + xa2
        xa2 = u
        ya2 = t
        u = (t - ya3) * a3 + xa3
        xa3 = t
        ya3 = u
        t = (u - ya4) * a4 + xa4
        xa4 = u
        ya4 = t
        u = (t - ya5) * a5 + xa5
        xa5 = t
        ya5 = u
        let e = u * 32768
        // Path B: odd outputs.
        t = (v - yb0) * b0 + xb0
        xb0 = v
        yb0 = t
        u = (t - yb1) * b1 + xb1
        xb1 = t
        yb1 = u
        t = (u - yb2) * b2 + xb2
        xb2 = u
        yb2 = t
        u = (t - yb3) * b3 + xb3
        xb3 = t
        yb3 = u
        t = (u - yb4) * b4 + xb4
        xb4 = u
        yb4 = t
        u = (t - yb5) * b5 + xb5
        xb5 = t
        yb5 = u
        let d = u * 32768
        // Clip, then round half away from zero: the Int16Array store truncates toward zero
        // (Math.round here costs ~4× the whole filter).
        e = e > 32767 ? 32767 : e < -32768 ? -32768 : e
        e += e < 0 ? -0.5 : 0.5
        d = d > 32767 ? 32767 : d < -32768 ? -32768 : d
        d += d < 0 ? -0.5 : 0.5
        if (stereo) {
          out[o] = e
          out[o + 1] = e
          out[o + 2] = d
          out[o + 3] = d
          o += 4
        } else {
          out[o] = e
          out[o + 1] = d
          o += 2
        }
      }
      state.set([xa0, ya0, xa1, ya1, xa2, ya2, xa3, ya3, xa4, ya4, xa5, ya5, xb0, yb0, xb1, yb1, xb2, yb2, xb3, yb3, xb4, yb4, xb5, yb5])
      return bytes
    },
    flush() {
      if (carry.pending) throw new AudioFormatError('HalfbandUpsampler input ended mid-sample (1 stray byte)')
      return Buffer.alloc(0)
    },
  }
}
