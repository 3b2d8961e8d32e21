/**
 * From an output format's name to what makes it: the encoding stages, the MIME type and the file
 * extension. The one place that chooses encoders: the CLI's `say`, {@link sendAudio} and
 * {@link createDiscordStream}'s `'ogg'` mode all build their chains here. The media types come
 * from {@link AUDIO_MEDIA_TYPES}, the rates Opus takes from {@link OPUS_SAMPLE_RATES}.
 * @module
 */
import type { Duplex } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import { WavEncoder } from '../audio/wav-encoder.js'
import { AUDIO_MEDIA_TYPES, type FfmpegOutput } from './ffmpeg-args.js'
import { FfmpegTranscoder } from './ffmpeg-transcoder.js'
import { createOggOpusChain, type OggOpusChainOptions } from './ogg-opus-chain.js'
import { OPUS_SAMPLE_RATES, OPUS_SAMPLE_RATES_TEXT } from './opus-packet.js'
import type { OpusEncoderPool } from './opus-pool.js'

/**
 * An output format {@link createOutputChain} builds. `ogg` and `opus` are the same bytes (Ogg
 * Opus, encoded in process); they differ only in the file extension. `webm` is Opus in WebM.
 * @category Stages
 */
export type OutputKind = 'wav' | 'ogg' | 'opus' | 'mp3' | 'aac' | 'flac' | 'webm' | 'pcm'

/** Every {@link OutputKind}, in a stable order (for help texts and option checks). @category Stages */
export const OUTPUT_KINDS: readonly OutputKind[] = Object.freeze(['wav', 'ogg', 'opus', 'mp3', 'aac', 'flac', 'webm', 'pcm'])

/**
 * What encodes an output chain's audio: `'wav'` a {@link WavEncoder}, `'opus'` an
 * {@link OpusEncoder} and an {@link OggOpusMuxer} in this process, `'ffmpeg'` a
 * {@link FfmpegTranscoder}, `'none'` nothing (raw PCM).
 * @category Stages
 */
export type OutputEncoder = 'wav' | 'opus' | 'ffmpeg' | 'none'

/** Each kind's entry in {@link AUDIO_MEDIA_TYPES}, and its extension when it is not that entry's. */
const KIND_MEDIA: Readonly<Record<OutputKind, { media: FfmpegOutput; extension?: string }>> = {
  wav: { media: 'wav' },
  ogg: { media: 'ogg-opus' },
  opus: { media: 'ogg-opus', extension: 'opus' },
  mp3: { media: 'mp3' },
  aac: { media: 'aac' },
  flac: { media: 'flac' },
  webm: { media: 'webm-opus' },
  pcm: { media: 'pcm' },
}

/** The kinds ffmpeg encodes, as ffmpeg's output names. */
const FFMPEG_KINDS: Readonly<Partial<Record<OutputKind, FfmpegOutput>>> = { mp3: 'mp3', aac: 'aac', flac: 'flac', webm: 'webm-opus' }

/** Options of {@link createOutputChain}. An option a kind does not use is ignored, except `outputPath`. @category Stages */
export interface OutputChainOptions {
  /**
   * Bitrate of the lossy kinds, bit/s: Opus (`ogg`, `opus`, `webm`), `mp3` and `aac`. Ignored by
   * `wav`, `flac` and `pcm`. Checked by the encoder: 500–512000 for the in-process Opus encoder.
   * @defaultValue `64000` for Opus, `128000` for mp3 and aac
   */
  bitrate?: number | undefined
  /**
   * The ffmpeg binary, for the kinds ffmpeg encodes (`mp3`, `aac`, `flac`, `webm`, and `ogg`/`opus`
   * with `ffmpegFallback` when no Opus engine is installed). ffmpeg starts with the first audio, so
   * a missing binary fails the pipeline then, with `ERR_FFMPEG`.
   * @defaultValue `process.env.FFMPEG_PATH`, else `'ffmpeg'` on PATH
   */
  ffmpegPath?: string | undefined
  /**
   * The kinds ffmpeg encodes only: ffmpeg writes this file itself (overwriting it) and can then
   * seek back and finalize the header (FLAC's sample count, MP3's frame count and gapless info).
   * The chain's readable side ends empty, and `pipeline()` resolves once the file is complete.
   * For any other kind it throws {@link InvalidOptionError}: the bytes would come out of the
   * stages, not go to the file.
   */
  outputPath?: string | undefined
  /**
   * `ogg` and `opus`: the rate Opus encodes at, Hz, one of {@link OPUS_SAMPLE_RATES}. The input is
   * resampled to it (`convertPcm`) when the rates differ.
   * @defaultValue the input's rate when Opus takes it, else `48000`
   */
  sampleRate?: number | undefined
  /**
   * `ogg` and `opus`: encode on a worker thread, an {@link OpusEncoderPool} or `true` for the
   * shared pool (see {@link OpusEncoderOptions.pool}). @defaultValue `false`
   */
  pool?: OpusEncoderPool | boolean | undefined
  /**
   * `ogg` and `opus`: the encoder's and muxer's other settings (frame length, application,
   * complexity, engines, page length, serial, Transform options), as {@link createOggOpusChain} takes them.
   */
  opus?: Omit<OggOpusChainOptions, 'bitrate' | 'pool'> | undefined
  /**
   * `ogg` and `opus`: when no Opus engine is installed, encode with ffmpeg (libopus, from the input
   * as it is) instead of throwing {@link OpusEngineMissingError}. The result's `encoder` is then
   * `'ffmpeg'`. @defaultValue `false`
   */
  ffmpegFallback?: boolean | undefined
}

/** What {@link createOutputChain} returns. @category Stages */
export interface OutputChain {
  /**
   * The stages, PCM in and the encoded bytes out, in pipeline order: spread them into
   * `pipeline(pcm, ...stages, sink)`. Empty for `pcm`. Nothing runs until audio flows: ffmpeg
   * starts with the first chunk, the Opus engine is created then.
   */
  stages: Duplex[]
  /** The MIME type, for `Content-Type`, e.g. `audio/ogg`. */
  mimeType: string
  /** The usual file extension, without the dot, e.g. `ogg` (`opus` for the `opus` kind). */
  extension: string
  /** What encodes the audio (`'ffmpeg'` for an Ogg when `ffmpegFallback` was taken). */
  encoder: OutputEncoder
}

/** Whether `kind` is an {@link OutputKind}. */
function isOutputKind(kind: unknown): kind is OutputKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(KIND_MEDIA, kind)
}

/**
 * The encoding stages, MIME type and file extension of an output format, from its name.
 *
 * | kind | stages | MIME type | extension |
 * |---|---|---|---|
 * | `wav` | {@link WavEncoder} (a streaming header with unknown sizes, for pipes and HTTP; the encoder emits `'header'` with the real sizes at the end). For a `.wav` file use `writeWavFile`, which writes the exact sizes | `audio/wav` | `wav` |
 * | `ogg`, `opus` | `convertPcm` to the Opus rate when needed, {@link OpusEncoder}, {@link OggOpusMuxer} | `audio/ogg` | `ogg`, `opus` |
 * | `mp3` | {@link FfmpegTranscoder} (libmp3lame) | `audio/mpeg` | `mp3` |
 * | `aac` | {@link FfmpegTranscoder} (AAC in ADTS) | `audio/aac` | `aac` |
 * | `flac` | {@link FfmpegTranscoder} (16-bit) | `audio/flac` | `flac` |
 * | `webm` | {@link FfmpegTranscoder} (libopus in WebM, 48 kHz) | `audio/webm` | `webm` |
 * | `pcm` | none: the input bytes as they are | `application/octet-stream` | `pcm` |
 *
 * The Ogg Opus chain decodes to exactly its input's length (pre-skip and end trimming, as
 * {@link createOggOpusChain}); its input must be s16le with 1 or 2 channels (the channels are
 * kept; use `convertPcm` first for more). The ffmpeg kinds take the input at its own rate and
 * channels (webm is resampled to 48 kHz by ffmpeg) and need ffmpeg at run time.
 *
 * @param kind - the output format's name, one of {@link OUTPUT_KINDS}.
 * @param format - the PCM the chain takes: any {@link PcmFormat} for `wav`, `pcm` and the ffmpeg
 * kinds; s16le, 1 or 2 channels for `ogg`/`opus` (any rate: resampled to an Opus rate).
 * @param options - bitrate, ffmpeg binary and output file, Opus rate, pool and settings, and the
 * ffmpeg fallback; see {@link OutputChainOptions}.
 * @returns the stages (PCM in, encoded bytes out), the MIME type, the extension and what encodes.
 * @throws {@link InvalidOptionError} (`ERR_INVALID_OPTION`) for an unknown `kind`, a `sampleRate`
 * Opus does not take, or an `outputPath` for a kind ffmpeg does not encode, before any stage is
 * built. {@link AudioFormatError} (`ERR_AUDIO_FORMAT`) for a format the encoder cannot take;
 * {@link OpusEngineMissingError} (`ERR_OPUS_ENGINE_MISSING`) for `ogg`/`opus` without an Opus engine
 * (unless `ffmpegFallback`); and the encoders' own option errors (a bitrate out of range). When it
 * throws, no stage is left running.
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hello!', voice_id: 'magnus' }) // 24 kHz mono
 * const { stages, extension } = createOutputChain('ogg', pcm.format, { bitrate: 32000 })
 * await pipeline([pcm, ...stages, createWriteStream(`hello.${extension}`)])
 * ```
 * @category Stages
 */
export function createOutputChain(kind: OutputKind, format: PcmFormat, options: OutputChainOptions = {}): OutputChain {
  if (!isOutputKind(kind)) throw new InvalidOptionError('kind', `must be one of ${OUTPUT_KINDS.join(', ')} (got ${typeof kind === 'string' ? `'${kind}'` : String(kind)})`)
  assertPcmFormat(format, 'createOutputChain format')
  const media = AUDIO_MEDIA_TYPES[KIND_MEDIA[kind].media]
  const described = { mimeType: media.mimeType, extension: KIND_MEDIA[kind].extension ?? media.extension }
  const ffmpegOutput = FFMPEG_KINDS[kind]
  if (options.outputPath !== undefined && ffmpegOutput === undefined) {
    throw new InvalidOptionError('outputPath', `applies to the kinds ffmpeg encodes (${Object.keys(FFMPEG_KINDS).join(', ')}), not ${kind}`)
  }
  const opusKind = kind === 'ogg' || kind === 'opus'
  const rate = options.sampleRate
  if (opusKind && rate !== undefined && !OPUS_SAMPLE_RATES.includes(rate)) {
    throw new InvalidOptionError('sampleRate', `Opus encodes ${OPUS_SAMPLE_RATES_TEXT} Hz (got ${String(rate)})`)
  }
  const { bitrate, ffmpegPath } = options
  if (ffmpegOutput !== undefined) {
    return { ...described, stages: [new FfmpegTranscoder({ input: format, output: ffmpegOutput, bitrate, ffmpegPath, outputPath: options.outputPath })], encoder: 'ffmpeg' }
  }
  switch (kind) {
    case 'wav':
      return { ...described, stages: [new WavEncoder({ format })], encoder: 'wav' }
    case 'pcm':
      return { ...described, stages: [], encoder: 'none' }
    default: {
      const target: PcmFormat = { sampleRate: rate ?? (OPUS_SAMPLE_RATES.includes(format.sampleRate) ? format.sampleRate : 48000), channels: format.channels, encoding: 's16le' }
      const same = target.sampleRate === format.sampleRate && target.encoding === format.encoding
      // Built first: plain Transforms, nothing to free if the encoder then throws.
      const convert: Duplex[] = same ? [] : convertPcm(format, target)
      try {
        return { ...described, stages: [...convert, ...createOggOpusChain(target, { ...options.opus, bitrate, pool: options.pool })], encoder: 'opus' }
      } catch (err) {
        for (const s of convert) s.destroy()
        if (options.ffmpegFallback !== true || (err as { code?: string }).code !== 'ERR_OPUS_ENGINE_MISSING') throw err
        return { ...described, stages: [new FfmpegTranscoder({ input: format, output: 'ogg-opus', bitrate, ffmpegPath })], encoder: 'ffmpeg' }
      }
    }
  }
}
