import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createOggOpusMuxer, DEFAULT_OPUS_HEAD, type OggOpusMuxerCore, type OggOpusMuxerCoreOptions } from './ogg-opus-muxer.core.js'
import type { OpusHead, OpusStreamEnd } from './opus-packet.js'

/** Options of {@link OggOpusMuxer}. */
export interface OggOpusMuxerOptions extends OggOpusMuxerCoreOptions {
  /** Options for the underlying Transform (the object-mode writable side is forced). */
  streamOptions?: StageStreamOptions | undefined
  /**
   * @deprecated Pass `head: opus.head` instead (with `emitEnd: true` on the encoder for the exact
   * end), or build both with {@link createOggOpusChain}. Kept for 0.1 code: only its `head` value
   * is read, once, here; the end granule then comes from the packets (the last frame's padding
   * is not trimmed unless the encoder has `emitEnd`).
   */
  encoder?:
    | {
        /** The encoder's OpusHead fields. */
        readonly head: OpusHead
      }
    | undefined
  /** @deprecated Use `head.channels`. Overrides the head's field when given. */
  channels?: number | undefined
  /** @deprecated Use `head.inputSampleRate`. Overrides the head's field when given. */
  inputSampleRate?: number | undefined
  /** @deprecated Use `head.preSkip`. Overrides the head's field when given. */
  preSkip?: number | undefined
}

/** The head an {@link OggOpusMuxer} writes: `head`, or the deprecated `encoder`'s, with the deprecated flat fields on top. */
function headOf(options: OggOpusMuxerOptions): OpusHead | undefined {
  const { channels, inputSampleRate, preSkip } = options
  const base = options.head ?? options.encoder?.head
  if (channels === undefined && inputSampleRate === undefined && preSkip === undefined) return base
  const head: OpusHead = { ...(base ?? DEFAULT_OPUS_HEAD) }
  if (channels !== undefined) head.channels = channels
  if (inputSampleRate !== undefined) head.inputSampleRate = inputSampleRate
  if (preSkip !== undefined) head.preSkip = preSkip
  return head
}

/**
 * Transform: Opus packets in (Buffers, one per chunk, object mode), an Ogg Opus byte stream out,
 * for files, HTTP responses and Discord's `StreamType.OggOpus`. The shell of
 * {@link createOggOpusMuxer}: OpusHead and OpusTags pages, lacing, granules, CRC-32, end of stream.
 *
 * The OpusHead comes in as a value (`head`: channels, input rate, pre-skip); the muxer never
 * looks at the stage that made the packets. When an {@link OpusStreamEnd} follows the last packet
 * (an {@link OpusEncoder} with `emitEnd`), the end granule trims the padding of the last frame,
 * so the file decodes to exactly the encoder's input; without it, the file ends where the packets
 * do. {@link createOggOpusChain} wires both.
 *
 * @example
 * ```ts
 * const opus = new OpusEncoder({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, emitEnd: true })
 * await pipeline(pcm48kStereo, opus, new OggOpusMuxer({ head: opus.head }), createWriteStream('out.opus'))
 * ```
 */
export class OggOpusMuxer extends CoreStage<Uint8Array | OpusStreamEnd, Buffer[], OggOpusMuxerCore> {
  /** The OpusHead this muxer writes. */
  readonly head: OpusHead

  constructor(options: OggOpusMuxerOptions = {}) {
    const core = createOggOpusMuxer({ head: headOf(options), maxPageMs: options.maxPageMs, serial: options.serial })
    super(core, { writable: 'objects', readable: 'bytes' }, options.streamOptions)
    this.head = { ...core.head }
  }
}
