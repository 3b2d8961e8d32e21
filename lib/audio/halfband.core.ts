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
import { UnitCarry } from './pcm-ops.js'

/** Options of {@link createHalfbandUpsampler}. */
export interface HalfbandUpsamplerOptions {
  /** Output channels: the mono input is written to each. @defaultValue `1` */
  channels?: 1 | 2 | undefined
}

/** The pure upsampler returned by {@link createHalfbandUpsampler}. */
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

const COEFS = Float64Array.from(halfbandCoefficients(COEFFICIENT_COUNT, TRANSITION))

/** Creates the 2× half-band upsampler core (s16le mono in; mono or stereo out). */
export function createHalfbandUpsampler(options: HalfbandUpsamplerOptions = {}): HalfbandUpsamplerCore {
  const channels = options.channels ?? 1
  if (channels !== 1 && channels !== 2) throw new AudioFormatError(`HalfbandUpsampler writes 1 or 2 channels (got ${String(channels)})`)
  assertLittleEndianHost()
  const n = COEFS.length
  // Path 0 (even outputs) runs the even coefficients, path 1 (odd outputs) the odd ones; each
  // section is an allpass (a + z⁻¹) / (1 + a·z⁻¹) at the input rate: y = (in − y₁)·a + x₁.
  const x = new Float64Array(n)
  const y = new Float64Array(n)
  const carry = new UnitCarry(2)
  const clip = (v: number) => {
    const r = Math.round(v * 32768)
    return r > 32767 ? 32767 : r < -32768 ? -32768 : r
  }
  return {
    push(chunk) {
      const buf = carry.take(chunk)
      const frames = buf.length >> 1
      const out = new Int16Array(frames * 2 * channels)
      for (let s = 0, o = 0; s < frames; s++) {
        const input = (((buf[2 * s] as number) | ((buf[2 * s + 1] as number) << 8)) << 16 >> 16) / 32768
        let a = input
        let b = input
        for (let i = 0; i < n; i += 2) {
          const t0 = (a - (y[i] as number)) * (COEFS[i] as number) + (x[i] as number)
          x[i] = a
          y[i] = t0
          a = t0
          const t1 = (b - (y[i + 1] as number)) * (COEFS[i + 1] as number) + (x[i + 1] as number)
          x[i + 1] = b
          y[i + 1] = t1
          b = t1
        }
        const even = clip(a)
        const odd = clip(b)
        out[o++] = even
        if (channels === 2) out[o++] = even
        out[o++] = odd
        if (channels === 2) out[o++] = odd
      }
      return Buffer.from(out.buffer)
    },
    flush() {
      if (carry.pending) throw new AudioFormatError('HalfbandUpsampler input ended mid-sample (1 stray byte)')
      return Buffer.alloc(0)
    },
  }
}
