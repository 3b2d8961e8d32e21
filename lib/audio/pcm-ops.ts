/**
 * Pure PCM cores: channel mixing, exact framing, G.711 decoding. No stream imports.
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertLittleEndianHost, assertPcmFormat, bytesPerFrame, type PcmEncoding, type PcmFormat } from './format.js'
import { ALAW_TO_LINEAR, ULAW_TO_LINEAR } from './g711.js'

/** Splits chunks into whole units of `unit` bytes, carrying a partial unit (bounded by `unit`). */
export class UnitCarry {
  #tail: Buffer | null = null
  /** @param unit - bytes per unit (a sample frame). */
  constructor(
    /** Bytes per unit. */
    readonly unit: number,
  ) {}
  /** Returns the whole units in `tail + chunk`; keeps the rest. */
  take(chunk: Buffer): Buffer {
    let buf = chunk
    if (this.#tail) {
      buf = Buffer.concat([this.#tail, chunk])
      this.#tail = null
    }
    const rem = buf.length % this.unit
    if (rem) {
      this.#tail = Buffer.from(buf.subarray(buf.length - rem))
      buf = buf.subarray(0, buf.length - rem)
    }
    return buf
  }
  /** Bytes carried. */
  get pending(): number {
    return this.#tail?.length ?? 0
  }
}

/**
 * An Int16Array over `buf`'s bytes (little-endian hosts): a view when the offset is aligned, a
 * copy when it is not (Node's pooled Buffers can start at odd offsets).
 */
export function int16View(buf: Buffer): Int16Array {
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1)
  return new Int16Array(Uint8Array.prototype.slice.call(buf).buffer, 0, buf.length >> 1)
}

/** A Float32Array over `buf`'s bytes: a view when aligned, else a copy. */
export function float32View(buf: Buffer): Float32Array {
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.length >> 2)
  return new Float32Array(Uint8Array.prototype.slice.call(buf).buffer, 0, buf.length >> 2)
}

/**
 * Builds the default mixing matrix `from → to` channels (`matrix[out][in]`): mono → N copies;
 * N → mono averages; stereo ↔ other counts map channel i to i and average/duplicate the rest.
 * @category Cores
 */
export function defaultMixMatrix(from: number, to: number): number[][] {
  if (from === to) return Array.from({ length: to }, (_, o) => Array.from({ length: from }, (_, i) => (i === o ? 1 : 0)))
  if (from === 1) return Array.from({ length: to }, () => [1])
  if (to === 1) return [Array.from({ length: from }, () => 1 / from)]
  // General case: output o takes input o when it exists, else the average of all inputs.
  return Array.from({ length: to }, (_, o) => Array.from({ length: from }, (_, i) => (o < from ? (i === o ? 1 : 0) : 1 / from)))
}

/** Options of {@link createChannelMixer}. @category Cores */
export interface ChannelMixerOptions {
  /** Input channels. */
  from: number
  /** Output channels. */
  to: number
  /** Sample encoding. @defaultValue `'s16le'` */
  encoding?: PcmEncoding | undefined
  /** `matrix[out][in]` gains; defaults to {@link defaultMixMatrix}. s16 results are clipped. */
  matrix?: number[][] | undefined
}

/** The pure channel mixer returned by {@link createChannelMixer}. @category Cores */
export interface ChannelMixerCore {
  /** Mixes the whole frames of `chunk` (a partial frame is carried to the next call). */
  push(chunk: Buffer): Buffer
  /** Ends the input. @throws {@link AudioFormatError} when it ended mid-frame. */
  flush(): Buffer
}

/** Creates a pure channel mixer. @category Cores */
export function createChannelMixer(options: ChannelMixerOptions): ChannelMixerCore {
  const encoding = options.encoding ?? 's16le'
  assertLittleEndianHost()
  assertPcmFormat({ sampleRate: 8000, channels: options.from, encoding }, 'ChannelMixer input')
  assertPcmFormat({ sampleRate: 8000, channels: options.to, encoding }, 'ChannelMixer output')
  const matrix = options.matrix ?? defaultMixMatrix(options.from, options.to)
  if (matrix.length !== options.to || matrix.some((row) => row.length !== options.from || row.some((g) => !Number.isFinite(g)))) {
    throw new InvalidOptionError('matrix', `must be ${options.to} rows of ${options.from} finite gains`)
  }
  const { from, to } = options
  const carry = new UnitCarry(bytesPerFrame({ sampleRate: 1, channels: from, encoding }))
  const s16 = encoding === 's16le'
  const duplicate = from === 1 && matrix.every((r) => r[0] === 1)
  return {
    push(chunk) {
      const buf = carry.take(chunk)
      const frames = buf.length / carry.unit
      const ab = new ArrayBuffer(frames * to * (s16 ? 2 : 4))
      if (s16) {
        const out = new Int16Array(ab)
        const inp = int16View(buf)
        if (duplicate && to === 2) {
          // Mono → stereo, the Discord path: one 32-bit store per frame (little-endian host,
          // checked at construction), left = right = the sample.
          const out32 = new Uint32Array(ab)
          for (let f = 0; f < frames; f++) {
            const v = (inp[f] as number) & 0xffff
            out32[f] = (v | (v << 16)) >>> 0
          }
        } else if (duplicate) {
          for (let f = 0, o = 0; f < frames; f++) {
            const v = inp[f] as number
            for (let c = 0; c < to; c++) out[o++] = v
          }
        } else {
          for (let f = 0; f < frames; f++) {
            for (let o = 0; o < to; o++) {
              const row = matrix[o] as number[]
              let acc = 0
              for (let i = 0; i < from; i++) acc += (row[i] as number) * (inp[f * from + i] as number)
              const v = Math.round(acc)
              out[f * to + o] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
            }
          }
        }
      } else {
        const out = new Float32Array(ab)
        const inp = float32View(buf)
        for (let f = 0; f < frames; f++) {
          for (let o = 0; o < to; o++) {
            const row = matrix[o] as number[]
            let acc = 0
            for (let i = 0; i < from; i++) acc += (row[i] as number) * (inp[f * from + i] as number)
            out[f * to + o] = acc
          }
        }
      }
      return Buffer.from(ab)
    },
    flush() {
      if (carry.pending) throw new AudioFormatError(`ChannelMixer input ended mid-frame (${carry.pending} stray bytes)`)
      return Buffer.alloc(0)
    },
  }
}

/** Options of {@link createFramer}. @category Cores */
export interface FramerOptions {
  /** The PCM format (needed with `frameMs`; with `frameSamples` only channels and encoding matter). */
  format: PcmFormat
  /** Frame length in milliseconds (e.g. 20 for Opus/Discord, 10 for WebRTC). */
  frameMs?: number | undefined
  /** Frame length in samples per channel (overrides `frameMs`). */
  frameSamples?: number | undefined
  /**
   * What to do with a short last frame: `true` pads it with silence to a full frame; `false`
   * emits it short. @defaultValue `false`
   */
  padLast?: boolean | undefined
}

/** Bytes per frame for framer options. @throws {@link AudioFormatError} */
export function frameBytesOf(options: FramerOptions): number {
  assertPcmFormat(options.format, 'PcmFramer format')
  const samples = options.frameSamples ?? ((options.frameMs ?? NaN) * options.format.sampleRate) / 1000
  if (!Number.isInteger(samples) || samples < 1) {
    throw options.frameSamples !== undefined
      ? new InvalidOptionError('frameSamples', `must be a positive integer (got ${options.frameSamples})`)
      : new InvalidOptionError('frameMs', `${String(options.frameMs)} ms is not a whole number of samples at ${options.format.sampleRate} Hz`)
  }
  return samples * bytesPerFrame(options.format)
}

/** The pure framer returned by {@link createFramer}. @category Cores */
export interface FramerCore {
  /** Bytes in one full frame. */
  readonly frameBytes: number
  /** Returns the frames `chunk` completes (possibly none). */
  push(chunk: Buffer): Buffer[]
  /** Ends the input: the short last frame, as is or padded (`padLast`). */
  flush(): Buffer[]
}

/**
 * A pure exact framer: emits frames of exactly `frameBytes`, each an owned Buffer (own
 * ArrayBuffer, `byteOffset` 0). Holds at most one frame; copies each byte once.
 * @category Cores
 */
export function createFramer(options: FramerOptions): FramerCore {
  const frameBytes = frameBytesOf(options)
  const sampleBytes = bytesPerFrame(options.format)
  let cur: Buffer | null = null
  let fill = 0
  return {
    frameBytes,
    push(chunk) {
      const out: Buffer[] = []
      let off = 0
      while (off < chunk.length) {
        cur ??= Buffer.alloc(frameBytes) // not allocUnsafe: owned, and never a pool slice
        const n = Math.min(frameBytes - fill, chunk.length - off)
        chunk.copy(cur, fill, off, off + n)
        fill += n
        off += n
        if (fill === frameBytes) {
          out.push(cur)
          cur = null
          fill = 0
        }
      }
      return out
    },
    flush() {
      if (!cur || fill === 0) return []
      if (fill % sampleBytes) throw new AudioFormatError(`PcmFramer input ended mid-sample-frame (${fill % sampleBytes} stray bytes)`)
      let last = cur
      if (!options.padLast) {
        last = Buffer.alloc(fill) // Buffer.from() would hand out a slice of the shared pool
        cur.copy(last, 0, 0, fill)
      }
      cur = null
      fill = 0
      return [last]
    },
  }
}

/** Decodes G.711 bytes to s16le through the ITU tables. @category Cores */
export function decodeG711(bytes: Buffer, law: 'ulaw' | 'alaw'): Buffer {
  assertLittleEndianHost()
  const table = law === 'ulaw' ? ULAW_TO_LINEAR : ALAW_TO_LINEAR
  const out = new Int16Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i] as number] as number
  return Buffer.from(out.buffer)
}
