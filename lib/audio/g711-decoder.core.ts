/**
 * The core of {@link G711Decoder}: G.711 μ-law or A-law bytes in, s16le PCM out. Stateless (one
 * byte is one sample), so every chunking gives the same output. Pure: no stream import.
 * @module
 */
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from './format.js'
import { decodeG711, type G711Law } from './g711.js'

/** Options of {@link createG711Decoder} (and of {@link G711Decoder}). */
export interface G711DecoderCoreOptions {
  /** Which law the input uses. */
  law: G711Law
  /** Sample rate of the input (carried into the output format). @defaultValue `8000` */
  sampleRate?: number | undefined
}

/** The pure G.711 decoder returned by {@link createG711Decoder}. */
export interface G711DecoderCore {
  /** The PCM format this decoder emits: s16le mono at the input's rate. */
  readonly format: PcmFormat
  /** Decodes a chunk: two bytes of s16le per input byte. */
  push(chunk: Buffer): Buffer
  /** Ends the input (nothing is carried). */
  flush(): Buffer
}

/**
 * Creates a pure G.711 decoder, bit-exact with ITU-T G.711 (and ffmpeg's `pcm_mulaw`/`pcm_alaw`)
 * for all 256 codes.
 * @throws {@link InvalidOptionError} for an unknown `law`; {@link AudioFormatError} for a bad rate.
 */
export function createG711Decoder(options: G711DecoderCoreOptions): G711DecoderCore {
  const law = options.law
  if (law !== 'ulaw' && law !== 'alaw') throw new InvalidOptionError('law', `must be 'ulaw' or 'alaw' (got ${String(law)})`)
  const format: PcmFormat = { sampleRate: options.sampleRate ?? 8000, channels: 1, encoding: 's16le' }
  assertPcmFormat(format, 'G711Decoder format')
  return {
    format,
    push: (chunk) => decodeG711(chunk, law),
    flush: () => Buffer.alloc(0),
  }
}
