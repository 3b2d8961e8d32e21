/**
 * Discord voice: turns PCM (or a TTS request) into the `{ stream, inputType }` that
 * `@discordjs/voice`'s `createAudioResource(stream, { inputType })` plays, without ffmpeg.
 * @module
 */
import { pipeline, type Readable, type Transform } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import type { PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import { HalfbandUpsampler } from '../audio/pcm-stages.js'
import { OpusEncoder } from '../codecs/opus-encoder.js'
import type { OpusEncoderPool } from '../codecs/opus-pool.js'
import { OggOpusMuxer } from '../codecs/ogg-opus.js'
import type { LightningClient } from '../client/client.js'
import type { PcmReadable } from '../client/pcm-stream.js'
import type { TtsRequest } from '../client/request.js'
import { Pacer, type PacerMetrics } from './pacer.js'

/** How the audio is handed to `@discordjs/voice`. @category Sinks */
export type DiscordMode = 'opus' | 'raw' | 'ogg'

/** `@discordjs/voice`'s `StreamType` string for each mode. */
export interface DiscordStreamTypes {
  /** `StreamType.Opus` */
  readonly opus: 'opus'
  /** `StreamType.Raw` */
  readonly raw: 'raw'
  /** `StreamType.OggOpus` */
  readonly ogg: 'ogg/opus'
}

/** The `StreamType` values of `@discordjs/voice` for each mode (same strings as its enum). */
export const DISCORD_STREAM_TYPES: DiscordStreamTypes = { opus: 'opus', raw: 'raw', ogg: 'ogg/opus' }

/** Options of {@link createDiscordStream}. @category Sinks */
export interface DiscordStreamOptions {
  /**
   * `'opus'` (default): object-mode 20 ms Opus packets, the lowest CPU inside voice. Raw packets
   * carry no length or pre-skip: decoded, they start with the encoder's 312-sample (6.5 ms) delay,
   * and after the packet holding the last, silence-padded frame comes one more packet that flushes
   * the encoder's lookahead, so it carries the last 6.5 ms of the audio and then silence. Voice
   * plays the whole input, 6.5 ms late, followed by 13.5 to 33.5 ms of silence.
   * `'raw'`: 48 kHz stereo s16le; voice encodes it. The last frame is padded to 20 ms with silence.
   * `'ogg'`: an Ogg Opus byte stream whose pre-skip and end granule make it decode to exactly the
   * input (converted to 48 kHz stereo), plus any silence the pacer filled in during stalls.
   */
  mode?: DiscordMode | undefined
  /** With a request as input: the client that synthesises it. */
  client?: LightningClient | undefined
  /** With a request as input: aborts synthesis (barge-in). */
  signal?: AbortSignal | undefined
  /** Jitter cushion before the first frame, ms. @defaultValue `100` */
  leadMs?: number | undefined
  /** Opus bitrate. @defaultValue `64000` */
  bitrate?: number | undefined
  /**
   * Encode Opus on a worker thread ({@link OpusEncoderPool}, or `true` for the shared pool: one
   * worker per core), for `'opus'` and `'ogg'` modes. @defaultValue `false`
   */
  pool?: OpusEncoderPool | boolean | undefined
  /**
   * `'opus'` mode only: encode the input's own channel count, and its own rate when Opus takes it
   * (8, 12, 16, 24 or 48 kHz; otherwise 48 kHz), instead of converting to 48 kHz stereo. Opus
   * packets carry no input rate: Discord clients decode every packet at 48 kHz stereo, and a
   * 24 kHz mono packet plays the same speech. It skips the resampler and the channel mixer and
   * encodes one channel: ~60 % less CPU per stream, measured by `benchmarks/discord-native-rate.mjs`,
   * which decodes both kinds with libopus at 48 kHz stereo and finds the native packets as close to
   * the source (correlation, level, length). @defaultValue `false`
   */
  nativeRate?: boolean | undefined
}

/** What {@link createDiscordStream} returns. @category Sinks */
export interface DiscordStream {
  /** The stream to pass to `createAudioResource`. */
  stream: Readable
  /** Pass as `createAudioResource(stream, { inputType })`: without it voice probes with ffmpeg. */
  inputType: (typeof DISCORD_STREAM_TYPES)[DiscordMode]
  /** The jitter buffer: `metrics` (underruns, silence frames) and `clear()` for barge-in. */
  pacer: Pacer
  /** Shorthand for `pacer.metrics`. */
  readonly metrics: PacerMetrics
}

const DISCORD_FORMAT: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }

/**
 * The stages from `from` to `to`. Exactly twice the rate from mono (pcm()'s 24 kHz mono to
 * Discord's 48 kHz stereo) takes the IIR half-band upsampler, one pass and ~4× cheaper than the
 * FIR resampler plus the mixer (Opus is then ~80 % of the chain's CPU; `benchmarks/discord-chain.mjs`).
 */
function toFormat(from: PcmFormat, to: PcmFormat): Transform[] {
  if (from.encoding === 's16le' && from.channels === 1 && to.encoding === 's16le' && to.sampleRate === 2 * from.sampleRate && (to.channels === 1 || to.channels === 2)) {
    return [new HalfbandUpsampler({ channels: to.channels })]
  }
  return convertPcm(from, to)
}

/** The `nativeRate` encoding format for `input`: its channels (≤ 2), its rate when Opus takes it, else 48 kHz. */
function nativeOpusFormat(input: PcmFormat): PcmFormat {
  const rate = [8000, 12000, 16000, 24000, 48000].includes(input.sampleRate) ? input.sampleRate : 48000
  return { sampleRate: rate, channels: Math.min(2, input.channels), encoding: 's16le' }
}

/**
 * Builds a Discord voice stream from PCM with a `format` (any rate and channel count: converted to
 * 48 kHz stereo) or from a TTS request and a client. A {@link Pacer} feeds one 20 ms frame per
 * player tick and fills stalls with silence, so a slow network does not hit voice's
 * `maxMissedFrames` (5 × 20 ms) and stop playback. `inputType` is always set.
 *
 * Destroying `stream` (e.g. `player.stop()`) tears down the whole chain, including the TTS request.
 *
 * @example
 * ```ts
 * import { createAudioPlayer, createAudioResource } from '@discordjs/voice'
 * const { stream, inputType } = createDiscordStream({ text: 'Hello, voice channel!', voice_id: 'magnus' }, { client })
 * player.play(createAudioResource(stream, { inputType }))
 * ```
 * @category Sinks
 */
export function createDiscordStream(input: PcmReadable | TtsRequest, options: DiscordStreamOptions = {}): DiscordStream {
  const mode = options.mode ?? 'opus'
  if (!(mode in DISCORD_STREAM_TYPES)) throw new InvalidOptionError('mode', `must be opus, raw or ogg (got ${String(mode)})`)
  let pcm: PcmReadable
  if ('text' in input) {
    if (!options.client) throw new InvalidOptionError('client', 'a TTS request needs { client }')
    pcm = options.client.pcm(input, { signal: options.signal })
  } else pcm = input
  // In 'ogg' mode the encoder pads the last frame itself and the end granule trims it off, so the
  // file decodes to exactly the input; raw and opus modes hand voice whole 20 ms frames.
  if (options.nativeRate === true && mode !== 'opus') {
    throw new InvalidOptionError('nativeRate', `applies to mode 'opus' only (voice plays Ogg Opus and raw PCM at 48 kHz stereo; got '${mode}')`)
  }
  const format: PcmFormat = options.nativeRate === true ? nativeOpusFormat(pcm.format) : DISCORD_FORMAT
  const pacer = new Pacer({ format, frameMs: 20, leadMs: options.leadMs ?? 100, fillSilence: true, padLast: mode !== 'ogg' })
  // Live playback (opus, raw) takes the cheap IIR half-band upsampler for 24 → 48 kHz; 'ogg' keeps
  // the linear-phase Resampler, so the Ogg stream decodes sample-aligned with its input (lag 0).
  const stages: Transform[] = [...(mode === 'ogg' ? convertPcm(pcm.format, format) : toFormat(pcm.format, format)), pacer]
  if (mode !== 'raw') {
    const opus = new OpusEncoder({ format, frameMs: 20, bitrate: options.bitrate, pool: options.pool })
    stages.push(opus)
    if (mode === 'ogg') stages.push(new OggOpusMuxer({ encoder: opus, channels: 2, inputSampleRate: 48000 }))
  }
  const last = stages[stages.length - 1] as Transform
  pipeline([pcm, ...stages], () => {})
  return {
    stream: last,
    inputType: DISCORD_STREAM_TYPES[mode],
    pacer,
    get metrics() {
      return pacer.metrics
    },
  }
}
