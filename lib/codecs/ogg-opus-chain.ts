import type { PcmFormat } from '../audio/format.js'
import type { StageStreamOptions } from '../stage.js'
import { OggOpusMuxer, type OggOpusMuxerOptions } from './ogg-opus-muxer.js'
import { OpusEncoder, type OpusEncoderOptions } from './opus-encoder.js'

/** Options of {@link createOggOpusChain}: the encoder's, plus the muxer's page and stream settings. */
export interface OggOpusChainOptions extends Omit<OpusEncoderOptions, 'format' | 'emitEnd' | 'streamOptions'>, Pick<OggOpusMuxerOptions, 'maxPageMs' | 'serial'> {
  /** The encoder's Transform options (its `streamOptions`), e.g. a small `readableHighWaterMark` of packets. */
  encoderStreamOptions?: StageStreamOptions | undefined
  /** The muxer's Transform options (its `streamOptions`). */
  muxerStreamOptions?: StageStreamOptions | undefined
}

/**
 * The two stages that turn PCM into an Ogg Opus byte stream: an {@link OpusEncoder} with
 * `emitEnd`, and an {@link OggOpusMuxer} given the encoder's {@link OpusEncoder.head} as a value.
 * The true input length follows the packets down the pipe, so the file decodes to exactly the
 * input (pre-skip and end trimming, RFC 7845 §4). Spread it into `pipeline()`.
 *
 * @param format - the PCM the encoder takes: s16le, 1 or 2 channels, 8/12/16/24/48 kHz (see
 * `convertPcm` for anything else).
 * @throws {@link OpusEngineMissingError} when no Opus engine is installed (before any audio
 * flows), and the encoder's option errors.
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' }) // 24 kHz mono
 * await pipeline(pcm, ...createOggOpusChain(pcm.format, { bitrate: 32000 }), createWriteStream('hi.opus'))
 * ```
 */
export function createOggOpusChain(format: PcmFormat, options: OggOpusChainOptions = {}): [OpusEncoder, OggOpusMuxer] {
  const { maxPageMs, serial, encoderStreamOptions, muxerStreamOptions, ...encoderOptions } = options
  const encoder = new OpusEncoder({ ...encoderOptions, format, emitEnd: true, streamOptions: encoderStreamOptions })
  return [encoder, new OggOpusMuxer({ head: encoder.head, maxPageMs, serial, streamOptions: muxerStreamOptions })]
}
