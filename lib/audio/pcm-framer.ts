import { CoreStage, type StageStreamOptions } from '../stage.js'
import type { PcmFormat } from './format.js'
import { createPcmFramer, type PcmFramerCore, type PcmFramerCoreOptions } from './pcm-framer.core.js'

/** Options of {@link PcmFramer}. */
export interface PcmFramerOptions extends PcmFramerCoreOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: PCM in, frames of exactly `frameMs` (or `frameSamples`) out — 20 ms for Opus and
 * Discord, 10 ms for WebRTC. Every frame is an owned Buffer (its own ArrayBuffer, `byteOffset` 0,
 * exact length), because the WebRTC and LiveKit bindings read the whole underlying ArrayBuffer.
 * The short last frame is emitted as it is, or padded with silence when `padLast` is set. The
 * shell of {@link createPcmFramer}.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req)
 * await pipeline(pcm, new PcmFramer({ format: pcm.format, frameMs: 10 }), rtcSink)
 * ```
 */
export class PcmFramer extends CoreStage<Buffer, Buffer[], PcmFramerCore> {
  /** Bytes in one full frame. */
  readonly frameBytes: number
  /** The PCM format. */
  readonly format: PcmFormat
  constructor(options: PcmFramerOptions) {
    const core = createPcmFramer(options)
    super(core, { writable: 'bytes', readable: 'bytes' }, options.streamOptions)
    this.frameBytes = core.frameBytes
    this.format = { ...options.format }
  }
}
