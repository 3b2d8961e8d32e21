/**
 * The core of {@link Resampler}: a pure streaming rational-ratio polyphase FIR, with the
 * Kaiser-windowed sinc banks of `resampler-filter.ts`.
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
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertLittleEndianHost, assertPcmFormat, type PcmEncoding } from './format.js'
import { UnitCarry } from './pcm-buffers.js'
import { designFilterBank, RESAMPLER_DESIGNS, type ResamplerQuality } from './resampler-filter.js'

export type { ResamplerQuality } from './resampler-filter.js'

/** Options of {@link createResampler} (and of {@link Resampler}). */
export interface ResamplerCoreOptions {
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

/** The pure resampler returned by {@link createResampler}. */
export interface ResamplerCore {
  /** Resamples a chunk (any length; a partial sample frame is carried). */
  push(chunk: Buffer): Buffer
  /** Ends the input and returns the tail, so the output has `round(inputSamples · to / from)` samples per channel. */
  flush(): Buffer
  /** Input samples per channel (sample frames) seen so far. */
  readonly inputSamples: number
  /** Output samples per channel (sample frames) produced so far. */
  readonly outputSamples: number
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
export function resolveResamplerOptions(options: ResamplerCoreOptions): ResolvedResamplerOptions {
  const channels = options.channels ?? 1
  const encoding = options.encoding ?? 's16le'
  const quality = options.quality ?? 'balanced'
  assertPcmFormat({ sampleRate: options.from, channels, encoding }, 'Resampler input')
  assertPcmFormat({ sampleRate: options.to, channels, encoding }, 'Resampler output')
  if (!(quality in RESAMPLER_DESIGNS)) throw new InvalidOptionError('quality', `must be fast, balanced or best (got ${String(quality)})`)
  return { from: options.from, to: options.to, channels, encoding, quality }
}

/**
 * Creates a pure streaming resampler. Equal rates pass bytes through untouched.
 * @throws {@link AudioFormatError} for a bad rate, channel count or encoding; {@link InvalidOptionError} for an unknown quality.
 */
export function createResampler(options: ResamplerCoreOptions): ResamplerCore {
  const { from, to, channels, encoding, quality } = resolveResamplerOptions(options)
  assertLittleEndianHost()
  const bps = encoding === 's16le' ? 2 : 4
  const sampleFrameBytes = bps * channels
  const carry = new UnitCarry(sampleFrameBytes)
  let inSamples = 0
  let outSamples = 0

  /** Whole sample frames of `chunk`; a partial one waits for the next chunk. */
  const whole = (chunk: Buffer): Buffer => {
    const buf = carry.take(chunk)
    inSamples += buf.length / sampleFrameBytes
    return buf
  }
  const checkTail = () => {
    if (carry.pending) throw new AudioFormatError(`Resampler input ended mid-sample-frame (${carry.pending} stray bytes)`)
  }

  if (from === to) {
    return {
      push(chunk) {
        const b = whole(chunk)
        outSamples = inSamples
        return b
      },
      flush() {
        checkTail()
        return Buffer.alloc(0)
      },
      get inputSamples() {
        return inSamples
      },
      get outputSamples() {
        return outSamples
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
    const n = buf.length / sampleFrameBytes
    if (len + n > cap) {
      cap = Math.max(cap * 2, len + n)
      hist = hist.map((h) => {
        const grown = new Float64Array(cap)
        grown.set(h.subarray(0, len))
        return grown
      })
    }
    if (encoding === 's16le') {
      for (let c = 0; c < channels; c++) {
        const h = hist[c] as Float64Array
        for (let i = 0, o = c * 2; i < n; i++, o += sampleFrameBytes) {
          h[len + i] = (((buf[o] as number) | ((buf[o + 1] as number) << 8)) << 16 >> 16) / 32768
        }
      }
    } else {
      for (let c = 0; c < channels; c++) {
        const h = hist[c] as Float64Array
        for (let i = 0, o = c * 4; i < n; i++, o += sampleFrameBytes) h[len + i] = buf.readFloatLE(o)
      }
    }
    len += n
  }

  /** Produces outputs while the input they need is present (up to `limit` outputs in total). */
  const produce = (limit: number): Buffer => {
    // Output n needs input samples q − W … q + W, i.e. hist entries (q − base) … (q − base + 2W).
    let count = 0
    let qq = q
    let pp = p
    while (outSamples + count < limit && qq - base + 2 * W < len) {
      count++
      pp += M
      while (pp >= L) {
        pp -= L
        qq++
      }
    }
    const bytes = count * sampleFrameBytes
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
    outSamples += count
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
      const total = Math.round((inSamples * L) / M)
      // Zeros after the last input let the final outputs see the end of the signal.
      append(Buffer.alloc((2 * W + 2) * sampleFrameBytes))
      inSamples -= 2 * W + 2
      return produce(total)
    },
    get inputSamples() {
      return inSamples
    },
    get outputSamples() {
      return outSamples
    },
  }
}
