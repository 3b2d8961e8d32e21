import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createOggOpusMuxer, type OggOpusMuxerCore, type OggOpusMuxerCoreOptions } from './ogg-opus-muxer.core.js'
import type { OpusHead, OpusStreamEnd } from './opus-packet.js'

/** Options of {@link OggOpusMuxer}. */
export interface OggOpusMuxerOptions extends OggOpusMuxerCoreOptions {
  /** Options for the underlying Transform (the object-mode writable side is forced). */
  streamOptions?: StageStreamOptions | undefined
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
    const core = createOggOpusMuxer(options)
    super(core, { writable: 'objects', readable: 'bytes' }, options.streamOptions)
    this.head = { ...core.head }
  }
}
