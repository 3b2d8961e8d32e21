/**
 * The core of {@link WavEncoder}: PCM in, a WAV byte stream out. The header goes out before the
 * first audio byte with sizes `0xFFFFFFFF` (length unknown); once the input has ended,
 * {@link WavEncoderCore.header} gives the header with the real sizes, for a seekable sink to
 * patch in. Pure: no stream import. Holds nothing but two counters: audio passes through.
 * @module
 */
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, bytesPerSampleFrame, type PcmFormat } from './format.js'
import { wavHeader } from './wav-header.js'

/** Options of {@link createWavEncoder} (and of {@link WavEncoder}). */
export interface WavEncoderCoreOptions {
  /** The PCM format of the input. */
  format: PcmFormat
}

/** The pure WAV encoder returned by {@link createWavEncoder}. */
export interface WavEncoderCore {
  /** The input format. */
  readonly format: PcmFormat
  /** PCM bytes seen so far (not counting the header). */
  readonly dataBytes: number
  /** Returns the streaming header (first call only) and the chunk itself. */
  push(chunk: Buffer): Buffer[]
  /**
   * Ends the input: the streaming header when no audio came (an empty WAV).
   * @throws {@link AudioFormatError} when the input ended mid-sample-frame (nothing is padded).
   */
  flush(): Buffer[]
  /** The header with the real sizes of what was seen so far. */
  header(): Buffer
}

/**
 * Creates a pure WAV encoder. 16-bit mono/stereo get the classic 44-byte header; `f32le` or more
 * than two channels use `WAVE_FORMAT_EXTENSIBLE` (68 bytes).
 * @throws {@link AudioFormatError} for a bad format.
 */
export function createWavEncoder(options: WavEncoderCoreOptions): WavEncoderCore {
  assertPcmFormat(options.format, 'WavEncoder format')
  const format: PcmFormat = { ...options.format }
  let headerSent = false
  const core: { -readonly [K in keyof WavEncoderCore]: WavEncoderCore[K] } = {
    format,
    dataBytes: 0,
    push(chunk) {
      core.dataBytes += chunk.length
      if (headerSent) return [chunk]
      headerSent = true
      return [wavHeader(format), chunk]
    },
    flush() {
      const unit = bytesPerSampleFrame(format)
      if (core.dataBytes % unit !== 0) {
        throw new AudioFormatError(`PCM ended mid-sample-frame: ${core.dataBytes} bytes is not a multiple of ${unit}`)
      }
      if (headerSent) return []
      headerSent = true
      return [wavHeader(format, 0)]
    },
    header: () => wavHeader(format, core.dataBytes),
  }
  return core
}
