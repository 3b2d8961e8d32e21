/**
 * Audio formats carried explicitly from stage to stage, so no stage ever plays audio at the wrong
 * speed: a stage that receives a format it cannot handle fails with an {@link AudioFormatError}.
 *
 * @module
 */
import { endianness } from 'node:os'
import { AudioFormatError } from '../errors.js'

const LITTLE_ENDIAN = endianness() === 'LE'

/**
 * The PCM stages read and write samples through typed arrays, which use the host's byte order.
 * Every platform with prebuilt Node binaries but s390x is little-endian; on a big-endian host the
 * stages refuse to run rather than emit byte-swapped audio.
 * @throws {@link AudioFormatError} on a big-endian host.
 */
export function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN) throw new AudioFormatError('lightning-stream PCM stages need a little-endian host')
}

/**
 * Sample encodings of uncompressed PCM. Both are little-endian and interleaved.
 * @category Formats
 */
export type PcmEncoding = 's16le' | 'f32le'

/** The format of an uncompressed PCM byte stream. @category Formats */
export interface PcmFormat {
  /** Samples per second per channel, e.g. 24000. */
  sampleRate: number
  /** Interleaved channel count (1 = mono, 2 = stereo). */
  channels: number
  /** Sample encoding. */
  encoding: PcmEncoding
}

/** Encodings of byte streams that are audio but not (yet) PCM: G.711 and MP3. @category Formats */
export type CodedEncoding = 'ulaw' | 'alaw' | 'mp3'

/** The format of any audio byte stream a stage may emit: PCM, G.711 or MP3. @category Formats */
export interface AudioFormat {
  /** Samples per second per channel. */
  sampleRate: number
  /** Channel count. */
  channels: number
  /** Sample encoding or codec. */
  encoding: PcmEncoding | CodedEncoding
}

/** Bytes per sample of one channel. @category Formats */
export function bytesPerSample(encoding: PcmEncoding | CodedEncoding): number {
  switch (encoding) {
    case 's16le':
      return 2
    case 'f32le':
      return 4
    case 'ulaw':
    case 'alaw':
      return 1
    case 'mp3':
      throw new AudioFormatError('mp3 has no fixed bytes per sample')
  }
}

/** Bytes of one sample frame (one sample of every channel). @category Formats */
export function bytesPerFrame(format: AudioFormat): number {
  return bytesPerSample(format.encoding) * format.channels
}

/** Milliseconds of audio held by `bytes` bytes of `format` (undefined for mp3). @category Formats */
export function durationMs(format: AudioFormat, bytes: number): number | undefined {
  if (format.encoding === 'mp3') return undefined
  return (bytes / bytesPerFrame(format) / format.sampleRate) * 1000
}

/** True when `format` is uncompressed PCM. @category Formats */
export function isPcmFormat(format: AudioFormat): format is PcmFormat {
  return format.encoding === 's16le' || format.encoding === 'f32le'
}

/**
 * Checks that a format is usable: positive integer rate and channel count, known encoding.
 * @throws {@link AudioFormatError} naming what is wrong.
 * @category Formats
 */
export function assertPcmFormat(format: unknown, what = 'format'): asserts format is PcmFormat {
  const f = format as Partial<PcmFormat> | null | undefined
  if (f === null || typeof f !== 'object') throw new AudioFormatError(`${what} must be a PcmFormat object`)
  if (!Number.isInteger(f.sampleRate) || (f.sampleRate as number) <= 0 || (f.sampleRate as number) > 768000) {
    throw new AudioFormatError(`${what}.sampleRate must be a positive integer (got ${String(f.sampleRate)})`)
  }
  if (!Number.isInteger(f.channels) || (f.channels as number) < 1 || (f.channels as number) > 32) {
    throw new AudioFormatError(`${what}.channels must be an integer from 1 to 32 (got ${String(f.channels)})`)
  }
  if (f.encoding !== 's16le' && f.encoding !== 'f32le') {
    throw new AudioFormatError(`${what}.encoding must be 's16le' or 'f32le' (got ${String(f.encoding)})`)
  }
}

/** Human-readable form, e.g. `24000 Hz mono s16le`. @category Formats */
export function describeFormat(format: AudioFormat): string {
  const ch = format.channels === 1 ? 'mono' : format.channels === 2 ? 'stereo' : `${format.channels} ch`
  return `${format.sampleRate} Hz ${ch} ${format.encoding}`
}
