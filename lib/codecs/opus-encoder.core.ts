/**
 * The core of {@link OpusEncoder}: what to encode, and the values the packets carry. PCM in,
 * exact PCM frames out (the {@link createPcmFramer} core, padding the last one with silence),
 * then the silence frames that flush libopus's lookahead; plus the {@link OpusHead} of the stream
 * and the true input length. Pure: no stream import, no engine. The shell hands each frame to an
 * Opus engine, on this thread or on a pool worker (engines load asynchronously and may live on
 * another thread, so the encode call itself is the shell's).
 *
 * Why the lookahead flush: the encoder outputs each sample `preSkip` samples late, so the packets
 * must carry `preSkip +` the input length before an end granule can point at the last input
 * sample (RFC 7845 §4: the final granule must not exceed what was carried). With that, a decoder
 * that honours pre-skip and end trimming plays exactly the input.
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertPcmFormat, bytesPerSampleFrame, type PcmFormat } from '../audio/format.js'
import { createPcmFramer } from '../audio/pcm-framer.core.js'
import type { OpusApplication } from './opus-engines.js'
import { OPUS_FRAME_MS, OPUS_GRANULE_RATE, OPUS_SAMPLE_RATES, OPUS_SAMPLE_RATES_TEXT, opusPreSkip, type OpusHead, type OpusStreamEnd } from './opus-packet.js'

/** Options of {@link createOpusEncoder}. */
export interface OpusEncoderCoreOptions {
  /** Input PCM: s16le, 1 or 2 channels, at 8000, 12000, 16000, 24000 or 48000 Hz. */
  format: PcmFormat
  /** Frame length: 2.5, 5, 10, 20, 40 or 60 ms. @defaultValue `20` (Discord's) */
  frameMs?: number | undefined
  /** The Opus application mode, which sets the lookahead (the pre-skip). @defaultValue `'audio'` */
  application?: OpusApplication | undefined
}

/** The pure core returned by {@link createOpusEncoder}. */
export interface OpusEncoderCore {
  /** The input format. */
  readonly format: PcmFormat
  /** Samples per channel in one frame, at the input rate. */
  readonly frameSamples: number
  /** Bytes in one frame. */
  readonly frameBytes: number
  /** The OpusHead of the stream the packets make: channels, input rate, pre-skip. */
  readonly head: OpusHead
  /** Frames handed out so far: one packet each. */
  readonly frames: number
  /** Samples per channel received so far, at 48 kHz: the true length before padding. */
  readonly inputSamples: number
  /** The whole frames `chunk` completes, in order (each an owned Buffer of `frameBytes`). */
  push(chunk: Buffer): Buffer[]
  /**
   * Ends the input: the last partial frame padded with silence, then silence frames until the
   * packets carry `preSkip +` the input length. None when no audio came.
   * @throws {@link AudioFormatError} when the input ended mid-sample-frame.
   */
  flush(): Buffer[]
  /** The value that ends the stream for {@link OggOpusMuxer}: the true input length. */
  end(): OpusStreamEnd
}

/**
 * Checks the encoder's format and frame length.
 * @throws {@link AudioFormatError} for a format Opus does not take; {@link InvalidOptionError} for a frame length.
 */
export function checkOpusInput(format: PcmFormat, frameMs: number): void {
  assertPcmFormat(format, 'OpusEncoder format')
  if (format.encoding !== 's16le') throw new AudioFormatError(`OpusEncoder takes s16le PCM (got ${format.encoding})`)
  if (!OPUS_SAMPLE_RATES.includes(format.sampleRate)) throw new AudioFormatError(`Opus encodes ${OPUS_SAMPLE_RATES_TEXT} Hz (got ${format.sampleRate}); add a Resampler`)
  if (format.channels !== 1 && format.channels !== 2) throw new AudioFormatError(`OpusEncoder takes 1 or 2 channels (got ${format.channels})`)
  if (!OPUS_FRAME_MS.includes(frameMs)) throw new InvalidOptionError('frameMs', `Opus frames are 2.5, 5, 10, 20, 40 or 60 ms (got ${frameMs})`)
}

/** Creates the pure core of an Opus encoder (framing, lookahead flush, OpusHead, true length). */
export function createOpusEncoder(options: OpusEncoderCoreOptions): OpusEncoderCore {
  const frameMs = options.frameMs ?? 20
  checkOpusInput(options.format, frameMs)
  const format: PcmFormat = { ...options.format }
  const frameSamples = (format.sampleRate * frameMs) / 1000
  const framer = createPcmFramer({ format, frameSamples, padLast: true })
  const sampleFrameBytes = bytesPerSampleFrame(format)
  const to48k = OPUS_GRANULE_RATE / format.sampleRate
  const frame48 = frameSamples * to48k
  const head: OpusHead = { channels: format.channels, inputSampleRate: format.sampleRate, preSkip: opusPreSkip(options.application ?? 'audio') }
  let inputBytes = 0
  const inputSamples = () => Math.round((inputBytes / sampleFrameBytes) * to48k)

  const core: { -readonly [K in keyof OpusEncoderCore]: OpusEncoderCore[K] } = {
    format,
    frameSamples,
    frameBytes: framer.frameBytes,
    head,
    frames: 0,
    inputSamples: 0,
    push(chunk) {
      inputBytes += chunk.length
      core.inputSamples = inputSamples()
      const frames = framer.push(chunk)
      core.frames += frames.length
      return frames
    },
    flush() {
      if (inputBytes % sampleFrameBytes) throw new AudioFormatError('OpusEncoder input ended mid-sample-frame')
      const last = framer.flush() // the last partial frame, padded with silence
      if (core.frames + last.length > 0) {
        while ((core.frames + last.length) * frame48 < head.preSkip + core.inputSamples) last.push(Buffer.alloc(framer.frameBytes))
      }
      core.frames += last.length
      return last
    },
    end: () => ({ inputSamples: core.inputSamples }),
  }
  return core
}
