/**
 * What ffmpeg is asked to do, as data: the argument array of a transcode (no shell: an array goes
 * to `spawn`), and the media type and file extension of every output format: the one table, read
 * through `createOutputChain` by the CLI and the HTTP sink. Pure: no process, no stream.
 * @module
 */
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'

/** Output formats {@link FfmpegTranscoder} knows. */
export type FfmpegOutput = 'mp3' | 'aac' | 'flac' | 'ogg-opus' | 'webm-opus' | 'wav' | 'pcm'

/** The media type and file extension of an output format. */
export interface AudioMediaType {
  /** The MIME type, for `Content-Type`. */
  readonly mimeType: string
  /** The usual file extension, without the dot. */
  readonly extension: string
}

/**
 * The media type and file extension of each output format: the one copy, for HTTP responses
 * (`Content-Type`), file names and the CLI, which read it through `createOutputChain`. Ogg Opus
 * is `audio/ogg` (RFC 7845 §9); its files also go by `.opus`.
 */
export const AUDIO_MEDIA_TYPES: Readonly<Record<FfmpegOutput, AudioMediaType>> = {
  mp3: { mimeType: 'audio/mpeg', extension: 'mp3' },
  aac: { mimeType: 'audio/aac', extension: 'aac' },
  flac: { mimeType: 'audio/flac', extension: 'flac' },
  'ogg-opus': { mimeType: 'audio/ogg', extension: 'ogg' },
  'webm-opus': { mimeType: 'audio/webm', extension: 'webm' },
  wav: { mimeType: 'audio/wav', extension: 'wav' },
  pcm: { mimeType: 'application/octet-stream', extension: 'pcm' },
}

/** A container input, probed by ffmpeg (e.g. mp3 from `output_format: 'mp3'`). */
export interface FfmpegContainerInput {
  /** ffmpeg's demuxer name: `mp3`, `wav`, `ogg`, … */
  container: string
}

/** What to transcode into what: the options of {@link ffmpegArgs} (and of {@link FfmpegTranscoder}). */
export interface FfmpegArgsOptions {
  /** Input: a PCM format (raw samples on stdin), or a container name ffmpeg probes (e.g. `'mp3'`). */
  input: PcmFormat | FfmpegContainerInput
  /** Output format. */
  output: FfmpegOutput
  /** Output rate (default: the input's). */
  sampleRate?: number | undefined
  /** Output channels (default: the input's). */
  channels?: number | undefined
  /** Output bitrate for lossy formats, bit/s. @defaultValue `64000` for Opus, `128000` otherwise */
  bitrate?: number | undefined
  /** Extra arguments inserted before the output (e.g. `['-af', 'volume=0.5']`). */
  extraArgs?: string[] | undefined
  /**
   * Write the output to this file instead of the readable side. ffmpeg can then seek back and
   * finalize the header (FLAC's sample count, MP3's Xing/LAME frame count and gapless info),
   * which it cannot do on a pipe. The stream's input side finishes only when ffmpeg has exited
   * (with {@link FfmpegError} on a non-zero exit), so `pipeline()` resolves once the file is
   * complete; the readable side ends empty. An existing file is overwritten.
   */
  outputPath?: string | undefined
}

/** The ffmpeg argument array for a transcode (exported for inspection and tests). */
export function ffmpegArgs(options: FfmpegArgsOptions): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin']
  // Low-latency input: without these ffmpeg buffers ~2 s of input before its first output byte.
  // Not `-fflags nobuffer`: with raw PCM on a pipe it drops audio (ffmpeg 5.1: 0 bytes alone,
  // the last 40 ms with the probe flags); test/codecs.ts checks that nothing is lost.
  args.push('-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0')
  const input = options.input
  let rate: number | undefined
  let channels: number | undefined
  if ('container' in input) {
    if (!/^[a-z0-9_]+$/.test(input.container)) throw new InvalidOptionError('input.container', `must be an ffmpeg demuxer name such as 'mp3' (got '${input.container}')`)
    args.push('-f', input.container, '-i', 'pipe:0')
  } else {
    assertPcmFormat(input, 'FfmpegTranscoder input')
    args.push('-f', input.encoding, '-ar', String(input.sampleRate), '-ac', String(input.channels), '-i', 'pipe:0')
    rate = input.sampleRate
    channels = input.channels
  }
  const outRate = options.sampleRate ?? rate
  const outChannels = options.channels ?? channels
  const opus = options.output === 'ogg-opus' || options.output === 'webm-opus'
  const targetRate = opus ? 48000 : outRate
  if (targetRate !== undefined && targetRate !== rate) args.push('-af', `aresample=${targetRate}:resampler=soxr`)
  if (targetRate !== undefined) args.push('-ar', String(targetRate))
  if (outChannels !== undefined) args.push('-ac', String(outChannels))
  args.push(...(options.extraArgs ?? []))
  const br = String(options.bitrate ?? (opus ? 64000 : 128000))
  switch (options.output) {
    case 'mp3':
      args.push('-c:a', 'libmp3lame', '-b:a', br, '-f', 'mp3')
      break
    case 'aac':
      args.push('-c:a', 'aac', '-b:a', br, '-f', 'adts')
      break
    case 'flac':
      args.push('-c:a', 'flac', '-f', 'flac')
      break
    case 'ogg-opus':
      args.push('-c:a', 'libopus', '-b:a', br, '-page_duration', '20000', '-f', 'ogg')
      break
    case 'webm-opus':
      args.push('-c:a', 'libopus', '-b:a', br, '-f', 'webm', '-cluster_time_limit', '100')
      break
    case 'wav':
      args.push('-c:a', 'pcm_s16le', '-f', 'wav')
      break
    case 'pcm':
      args.push('-c:a', 'pcm_s16le', '-f', 's16le')
      break
    default:
      throw new InvalidOptionError('output', `unknown output '${String(options.output)}'`)
  }
  if (options.outputPath !== undefined) args.push('-y', options.outputPath)
  else args.push('-flush_packets', '1', 'pipe:1')
  return args
}
