/**
 * Filter design for the {@link Resampler}: Kaiser-windowed sinc polyphase banks, one per rate
 * pair and quality, designed once and cached (a module-level map, a few KiB per pair).
 *
 * Designs are given as fractions of the lower rate's Nyquist frequency (integer up-ratios centre
 * the transition on Nyquist instead, see {@link RESAMPLER_INTEGER_UP_DESIGNS}). Measured at
 * 24000 → 48000 (1 kHz −1 dBFS f32 SINAD, 11 kHz image rejection) and 24000 → 16000 (11 kHz
 * alias), by `test/resampler.ts`; speed by `benchmarks/resampler.mjs` (20 ms s16 chunks):
 *
 * | quality  | SINAD  | image  | alias  | passband ±0.1 dB to | × realtime (24→48) |
 * |----------|--------|--------|--------|---------------------|--------------------|
 * | fast     | 89 dB  | 77 dB  | 80 dB  | 0.89 × Nyquist      | ~470               |
 * | balanced | 112 dB | 108 dB | 109 dB | 0.91 × Nyquist      | ~420               |
 * | best     | 148 dB | 140 dB | 150 dB | 0.92 × Nyquist      | ~320               |
 *
 * Downsampling widens the kernel by `M/L` in input samples (e.g. ×3 for 48000 → 16000).
 * Pure: no stream import. Internal: the {@link Resampler}'s `quality` option is the public knob.
 * @module
 */

/** Resampler quality presets (see the module table for their filters). */
export type ResamplerQuality = 'fast' | 'balanced' | 'best'

/** A resampler filter design, in fractions of the lower rate's Nyquist frequency. */
export interface ResamplerDesign {
  /** Centre of the transition band. */
  cutoff: number
  /** Width of the transition band. */
  transition: number
  /** Stopband attenuation the Kaiser window is designed for, in dB. */
  attenuation: number
}

/**
 * Integer up-ratios (×2, ×3, …) centre the transition band exactly on the input Nyquist
 * frequency: the sinc then vanishes at every integer input time, so phase 0 is a pure copy of
 * the input (an L-th-band filter) and only the other phases cost multiplies — about half the work
 * for 24000 → 48000.
 */
export const RESAMPLER_INTEGER_UP_DESIGNS: Readonly<Record<ResamplerQuality, Readonly<ResamplerDesign>>> = {
  fast: { cutoff: 1, transition: 0.16, attenuation: 75 },
  balanced: { cutoff: 1, transition: 0.16, attenuation: 100 },
  best: { cutoff: 1, transition: 0.15, attenuation: 140 },
}

/** The filter of each quality preset, as fractions of the lower Nyquist frequency. */
export const RESAMPLER_DESIGNS: Readonly<Record<ResamplerQuality, Readonly<ResamplerDesign>>> = {
  fast: { cutoff: 0.98, transition: 0.22, attenuation: 70 },
  balanced: { cutoff: 0.99, transition: 0.18, attenuation: 100 },
  best: { cutoff: 0.995, transition: 0.15, attenuation: 140 },
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}

/** Zeroth-order modified Bessel function of the first kind (series; converges fast for β < 30). */
function besselI0(x: number): number {
  let sum = 1
  let term = 1
  const q = (x * x) / 4
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k)
    sum += term
    if (term < sum * 1e-17) break
  }
  return sum
}

/** A polyphase filter bank for one rate pair and quality: `L` phases of `taps` coefficients. */
export interface FilterBank {
  /** Up factor of the reduced ratio. */
  readonly L: number
  /** Down factor of the reduced ratio. */
  readonly M: number
  /** Half-width of the kernel, in input samples. */
  readonly W: number
  /** Coefficients per phase (`2W + 1`). */
  readonly taps: number
  /** `L × taps` coefficients, phase-major; each phase sums to 1. */
  readonly coefs: Float64Array
  /** 1 where a phase is a pure delta at tap `W` (the output is a copy of an input sample). */
  readonly copyPhase: Uint8Array
}

const bankCache = new Map<string, FilterBank>()

/** Designs (and caches) the polyphase bank for `from → to` at `quality`. */
export function designFilterBank(from: number, to: number, quality: ResamplerQuality): FilterBank {
  const key = `${from}:${to}:${quality}`
  const cached = bankCache.get(key)
  if (cached) return cached
  const g = gcd(from, to)
  const L = to / g
  const M = from / g
  const { cutoff, transition, attenuation } = (M === 1 ? RESAMPLER_INTEGER_UP_DESIGNS : RESAMPLER_DESIGNS)[quality]
  // Kaiser's estimate of the length, in samples of the lower rate.
  const lowTaps = Math.ceil((attenuation - 7.95) / (2.285 * Math.PI * transition)) + 1
  const halfLow = Math.ceil(lowTaps / 2)
  const down = L < M
  const W = down ? Math.ceil((halfLow * M) / L) : halfLow
  const fc = down ? (cutoff * L) / M : cutoff // cutoff as a fraction of the input Nyquist
  const beta = 0.1102 * (attenuation - 8.7)
  const i0b = besselI0(beta)
  const taps = 2 * W + 1
  const coefs = new Float64Array(L * taps)
  for (let p = 0; p < L; p++) {
    let sum = 0
    for (let k = 0; k < taps; k++) {
      const tau = W - k + p / L // distance from output time to input sample q − W + k
      const r = tau / (W + 1)
      let v = 0
      if (Math.abs(r) < 1) {
        const x = fc * tau
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)
        v = fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b)
      }
      coefs[p * taps + k] = v
      sum += v
    }
    for (let k = 0; k < taps; k++) coefs[p * taps + k]! /= sum
  }
  const copyPhase = new Uint8Array(L)
  for (let p = 0; p < L; p++) {
    let delta = Math.abs((coefs[p * taps + W] as number) - 1) < 1e-12
    for (let k = 0; delta && k < taps; k++) if (k !== W && Math.abs(coefs[p * taps + k] as number) > 1e-12) delta = false
    if (delta) {
      copyPhase[p] = 1
      coefs.fill(0, p * taps, (p + 1) * taps)
      coefs[p * taps + W] = 1
    }
  }
  const bank = { L, M, W, taps, coefs, copyPhase }
  bankCache.set(key, bank)
  return bank
}
