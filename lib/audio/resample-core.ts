/**
 * Pure streaming resampler core: rational-ratio polyphase FIR with a Kaiser-windowed sinc.
 *
 * For a rate change `from → to`, reduced to `L/M` (24000 → 48000 is 2/1; 44100 → 48000 is
 * 160/147), output sample `n` sits at input time `t = n·M/L`. With `q = floor(t)` and phase
 * `p = (n·M) mod L`, it is `y[n] = Σ_k x[q − W + k] · h_p[k]`, where `h_p` samples the windowed
 * sinc centred on `t`. The kernel is centred, so the output is aligned with the input (no group
 * delay to compensate) and each output depends only on fixed input samples: the result is
 * identical for every chunking.
 *
 * State per channel: `hist`, the input samples from `base` on, with `W` zeros before sample 0;
 * the next output's `q` and `p`; and a byte tail holding an incomplete sample frame. Memory is
 * bounded by one input chunk plus `2W + 1` samples per channel.
 *
 * Filter design, as fractions of the lower rate's Nyquist frequency (integer up-ratios centre
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
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertLittleEndianHost, assertPcmFormat, type PcmEncoding } from './format.js'
import { UnitCarry } from './pcm-ops.js'

/** Resampler quality presets (see the module table for their filters). @category Stages */
export type ResamplerQuality = 'fast' | 'balanced' | 'best'

/** Options of {@link createResamplerCore} and {@link Resampler}. @category Cores */
export interface ResamplerOptions {
  /** Input sample rate, Hz. */
  from: number
  /** Output sample rate, Hz. */
  to: number
  /** Interleaved channels. @defaultValue `1` */
  channels?: number | undefined
  /** Sample encoding of input and output. @defaultValue `'s16le'` */
  encoding?: PcmEncoding | undefined
  /** Filter quality. @defaultValue `'balanced'` */
  quality?: ResamplerQuality | undefined
}

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

/**
 * The FIR dot product: four accumulators break the add dependency chain (about 2× faster than
 * one in V8). The summation order is fixed, so results do not depend on chunking.
 */
function dot(h: Float64Array, start: number, c: Float64Array, off: number, taps: number): number {
  let a0 = 0
  let a1 = 0
  let a2 = 0
  let a3 = 0
  let k = 0
  for (; k + 3 < taps; k += 4) {
    a0 += (h[start + k] as number) * (c[off + k] as number)
    a1 += (h[start + k + 1] as number) * (c[off + k + 1] as number)
    a2 += (h[start + k + 2] as number) * (c[off + k + 2] as number)
    a3 += (h[start + k + 3] as number) * (c[off + k + 3] as number)
  }
  for (; k < taps; k++) a0 += (h[start + k] as number) * (c[off + k] as number)
  return a0 + a1 + (a2 + a3)
}

/** The pure resampler returned by {@link createResamplerCore}. @category Cores */
export interface ResamplerCore {
  /** Resamples a chunk (any length; a partial sample frame is carried). */
  push(chunk: Buffer): Buffer
  /** Ends the input and returns the tail, so the output has `round(inputFrames · to / from)` frames. */
  flush(): Buffer
  /** Input frames seen so far. */
  readonly inputFrames: number
  /** Output frames produced so far. */
  readonly outputFrames: number
}

/** Resampler options with every default filled in. */
export interface ResolvedResamplerOptions {
  /** Input rate. */
  from: number
  /** Output rate. */
  to: number
  /** Channel count. */
  channels: number
  /** Sample encoding. */
  encoding: PcmEncoding
  /** Quality preset. */
  quality: ResamplerQuality
}

/** Checks resampler options and fills defaults. @throws {@link AudioFormatError} */
export function resolveResamplerOptions(options: ResamplerOptions): ResolvedResamplerOptions {
  const channels = options.channels ?? 1
  const encoding = options.encoding ?? 's16le'
  const quality = options.quality ?? 'balanced'
  assertPcmFormat({ sampleRate: options.from, channels, encoding }, 'Resampler input')
  assertPcmFormat({ sampleRate: options.to, channels, encoding }, 'Resampler output')
  if (!(quality in RESAMPLER_DESIGNS)) throw new InvalidOptionError('quality', `must be fast, balanced or best (got ${String(quality)})`)
  return { from: options.from, to: options.to, channels, encoding, quality }
}

/** Creates a pure streaming resampler. Equal rates pass bytes through untouched. @category Cores */
export function createResamplerCore(options: ResamplerOptions): ResamplerCore {
  const { from, to, channels, encoding, quality } = resolveResamplerOptions(options)
  assertLittleEndianHost()
  const bps = encoding === 's16le' ? 2 : 4
  const frameBytes = bps * channels
  const carry = new UnitCarry(frameBytes)
  let inFrames = 0
  let outFrames = 0

  /** Whole sample frames of `chunk`; a partial frame waits for the next chunk. */
  const whole = (chunk: Buffer): Buffer => {
    const buf = carry.take(chunk)
    inFrames += buf.length / frameBytes
    return buf
  }
  const checkTail = () => {
    if (carry.pending) throw new AudioFormatError(`Resampler input ended mid-frame (${carry.pending} stray bytes)`)
  }

  if (from === to) {
    return {
      push(chunk) {
        const b = whole(chunk)
        outFrames = inFrames
        return b
      },
      flush() {
        checkTail()
        return Buffer.alloc(0)
      },
      get inputFrames() {
        return inFrames
      },
      get outputFrames() {
        return outFrames
      },
    }
  }

  const { L, M, W, taps, coefs, copyPhase } = designFilterBank(from, to, quality)
  // hist[c][j] holds input sample (base + j − W) of channel c; j < W before sample 0 are zeros.
  let cap = 4096 + taps
  let hist = Array.from({ length: channels }, () => new Float64Array(cap))
  let len = W // valid entries in hist (the W leading zeros)
  let base = 0 // input index of hist[·][W]
  let q = 0 // floor(n·M/L) of the next output n
  let p = 0 // (n·M) mod L of the next output

  const append = (buf: Buffer) => {
    const frames = buf.length / frameBytes
    if (len + frames > cap) {
      cap = Math.max(cap * 2, len + frames)
      hist = hist.map((h) => {
        const n = new Float64Array(cap)
        n.set(h.subarray(0, len))
        return n
      })
    }
    if (encoding === 's16le') {
      for (let c = 0; c < channels; c++) {
        const h = hist[c] as Float64Array
        for (let i = 0, o = c * 2; i < frames; i++, o += frameBytes) {
          h[len + i] = (((buf[o] as number) | ((buf[o + 1] as number) << 8)) << 16 >> 16) / 32768
        }
      }
    } else {
      for (let c = 0; c < channels; c++) {
        const h = hist[c] as Float64Array
        for (let i = 0, o = c * 4; i < frames; i++, o += frameBytes) h[len + i] = buf.readFloatLE(o)
      }
    }
    len += frames
  }

  /** Produces outputs while the input they need is present (up to `limit` outputs in total). */
  const produce = (limit: number): Buffer => {
    // Output n needs input samples q − W … q + W, i.e. hist entries (q − base) … (q − base + 2W).
    let count = 0
    let qq = q
    let pp = p
    while (outFrames + count < limit && qq - base + 2 * W < len) {
      count++
      pp += M
      while (pp >= L) {
        pp -= L
        qq++
      }
    }
    const bytes = count * frameBytes
    // An owned, aligned output (never a slice of Node's shared pool).
    const ab = new ArrayBuffer(bytes)
    const s16 = encoding === 's16le' ? new Int16Array(ab) : null
    const f32 = encoding === 'f32le' ? new Float32Array(ab) : null
    for (let c = 0; c < channels; c++) {
      const h = hist[c] as Float64Array
      qq = q
      pp = p
      for (let n = 0, o = c; n < count; n++, o += channels) {
        const acc = copyPhase[pp] ? (h[qq - base + W] as number) : dot(h, qq - base, coefs, pp * taps, taps)
        if (s16) {
          const v = Math.round(acc * 32768)
          s16[o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
        } else (f32 as Float32Array)[o] = acc
        pp += M
        while (pp >= L) {
          pp -= L
          qq++
        }
      }
    }
    q = qq
    p = pp
    outFrames += count
    // Drop history no output needs any more (keep from q − W on).
    const drop = q - base
    if (drop > 0 && drop <= len) {
      for (const h of hist) h.copyWithin(0, drop, len)
      len -= drop
      base += drop
    }
    return Buffer.from(ab)
  }

  return {
    push(chunk) {
      const buf = whole(chunk)
      if (buf.length) append(buf)
      return produce(Infinity)
    },
    flush() {
      checkTail()
      const total = Math.round((inFrames * L) / M)
      // Zeros after the last input let the final outputs see the end of the signal.
      append(Buffer.alloc((2 * W + 2) * frameBytes))
      inFrames -= 2 * W + 2
      return produce(total)
    },
    get inputFrames() {
      return inFrames
    },
    get outputFrames() {
      return outFrames
    },
  }
}
