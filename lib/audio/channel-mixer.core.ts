/**
 * The core of {@link ChannelMixer}: interleaved PCM with `from` channels in, `to` channels out,
 * through a `matrix[out][in]` of gains. A partial sample frame is carried between chunks (at most
 * one sample frame is held), so every chunking gives the same output. Pure: no stream import.
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertLittleEndianHost, assertPcmFormat, bytesPerSampleFrame, type PcmEncoding } from './format.js'
import { float32View, int16View, UnitCarry } from './pcm-buffers.js'

/**
 * Builds the default mixing matrix `from → to` channels (`matrix[out][in]`): mono → N copies;
 * N → mono averages; stereo ↔ other counts map channel i to i and average/duplicate the rest.
 */
export function defaultMixMatrix(from: number, to: number): number[][] {
  if (from === to) return Array.from({ length: to }, (_, o) => Array.from({ length: from }, (_, i) => (i === o ? 1 : 0)))
  if (from === 1) return Array.from({ length: to }, () => [1])
  if (to === 1) return [Array.from({ length: from }, () => 1 / from)]
  // General case: output o takes input o when it exists, else the average of all inputs.
  return Array.from({ length: to }, (_, o) => Array.from({ length: from }, (_, i) => (o < from ? (i === o ? 1 : 0) : 1 / from)))
}

/** Options of {@link createChannelMixer} (and of {@link ChannelMixer}). */
export interface ChannelMixerCoreOptions {
  /** Input channels. */
  from: number
  /** Output channels. */
  to: number
  /** Sample encoding. @defaultValue `'s16le'` */
  encoding?: PcmEncoding | undefined
  /** `matrix[out][in]` gains; defaults to {@link defaultMixMatrix}. s16 results are clipped. */
  matrix?: number[][] | undefined
}

/** The pure channel mixer returned by {@link createChannelMixer}. */
export interface ChannelMixerCore {
  /** Mixes the whole sample frames of `chunk` (a partial one is carried to the next call). */
  push(chunk: Buffer): Buffer
  /** Ends the input. @throws {@link AudioFormatError} when it ended mid-sample-frame. */
  flush(): Buffer
}

/**
 * Creates a pure channel mixer: interleaved PCM with `from` channels in, `to` channels out.
 * @throws {@link AudioFormatError} for a bad channel count or encoding; {@link InvalidOptionError} for a bad `matrix`.
 */
export function createChannelMixer(options: ChannelMixerCoreOptions): ChannelMixerCore {
  const encoding = options.encoding ?? 's16le'
  assertLittleEndianHost()
  assertPcmFormat({ sampleRate: 8000, channels: options.from, encoding }, 'ChannelMixer input')
  assertPcmFormat({ sampleRate: 8000, channels: options.to, encoding }, 'ChannelMixer output')
  const matrix = options.matrix ?? defaultMixMatrix(options.from, options.to)
  if (matrix.length !== options.to || matrix.some((row) => row.length !== options.from || row.some((g) => !Number.isFinite(g)))) {
    throw new InvalidOptionError('matrix', `must be ${options.to} rows of ${options.from} finite gains`)
  }
  const { from, to } = options
  const carry = new UnitCarry(bytesPerSampleFrame({ sampleRate: 1, channels: from, encoding }))
  const s16 = encoding === 's16le'
  const duplicate = from === 1 && matrix.every((r) => r[0] === 1)
  return {
    push(chunk) {
      const buf = carry.take(chunk)
      const sampleFrames = buf.length / carry.unit
      const ab = new ArrayBuffer(sampleFrames * to * (s16 ? 2 : 4))
      if (s16) {
        const out = new Int16Array(ab)
        const inp = int16View(buf)
        if (duplicate && to === 2) {
          // Mono → stereo, the Discord path: one 32-bit store per sample frame (little-endian host,
          // checked at construction), left = right = the sample.
          const out32 = new Uint32Array(ab)
          for (let f = 0; f < sampleFrames; f++) {
            const v = (inp[f] as number) & 0xffff
            out32[f] = (v | (v << 16)) >>> 0
          }
        } else if (duplicate) {
          for (let f = 0, o = 0; f < sampleFrames; f++) {
            const v = inp[f] as number
            for (let c = 0; c < to; c++) out[o++] = v
          }
        } else {
          for (let f = 0; f < sampleFrames; f++) {
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
        for (let f = 0; f < sampleFrames; f++) {
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
      if (carry.pending) throw new AudioFormatError(`ChannelMixer input ended mid-sample-frame (${carry.pending} stray bytes)`)
      return Buffer.alloc(0)
    },
  }
}
