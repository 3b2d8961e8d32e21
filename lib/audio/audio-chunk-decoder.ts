import { Transform, type TransformCallback, type TransformOptions } from 'node:stream'
import { LightningStreamError } from '../errors.js'
import type { SseEvent } from '../sse/core.js'
import type { AudioFormat } from './format.js'
import { createFrameDecoder, type FrameDecoder, type FrameDecoderOptions } from './frames.js'
import type { TtsTimeline } from '../metrics/timeline.js'

/** Options of {@link AudioChunkDecoder}. @category Stages */
export interface AudioChunkDecoderOptions extends FrameDecoderOptions {
  /** Records `firstAudioEvent` and `firstPcmByte` on this timeline. */
  timeline?: TtsTimeline | undefined
  /** Options for the underlying Transform (object-mode writable side is forced). */
  streamOptions?: Omit<TransformOptions, 'readableObjectMode' | 'writableObjectMode' | 'objectMode' | 'transform' | 'flush'> | undefined
}

/**
 * Transform: {@link SseEvent} objects in, audio bytes out (s16le mono PCM for `pcm` and `wav`;
 * G.711 or MP3 bytes for `ulaw`, `alaw`, `mp3`, as {@link AudioChunkDecoder.format} says).
 *
 * - Dispatches on the frame's JSON, not on the event name; ends at `done === true`. Events after
 *   the terminator are ignored (bytes that break the SSE layer, such as an event over
 *   `maxEventSize`, still fail the stream).
 * - PCM output is sample-aligned: an odd trailing byte is carried into the next frame.
 * - For `wav`, a RIFF header at the start of a frame is checked and stripped.
 * - Errors are coded: `ERR_FRAME_INVALID_JSON`, `ERR_FRAME_INVALID_BASE64`, `ERR_FRAME_INVALID`,
 *   `ERR_SERVER_ERROR_FRAME`, and `ERR_STREAM_TRUNCATED` when input ends before the terminator.
 *   Every error that passes through this stage carries `delivered` (frames, bytes, ms).
 *
 * Emits `'done'` when the terminator frame arrives.
 *
 * @example
 * ```ts
 * await pipeline(client.stream(req), new SseParser(), new AudioChunkDecoder({ sampleRate: 24000 }),
 *   createWriteStream('out.pcm'))
 * ```
 * @category Stages
 */
export class AudioChunkDecoder extends Transform {
  readonly #core: FrameDecoder
  readonly #timeline: TtsTimeline | undefined

  constructor(options: AudioChunkDecoderOptions = {}) {
    super({ writableHighWaterMark: 8, readableHighWaterMark: 16 * 1024, ...options.streamOptions, writableObjectMode: true, readableObjectMode: false })
    this.#core = createFrameDecoder(options)
    this.#timeline = options.timeline
  }

  /** The format of the bytes this stage emits. */
  get format(): AudioFormat {
    return this.#core.format
  }

  /** True once the terminator frame was seen. */
  get done(): boolean {
    return this.#core.done
  }

  /** Audio frames and bytes emitted so far. */
  get delivered() {
    return this.#core.delivered()
  }

  /** @internal */
  override _transform(event: SseEvent, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      const wasDone = this.#core.done
      const out = this.#core.push(event)
      if (out) {
        if (this.#timeline) {
          this.#timeline.mark('firstAudioEvent')
          this.#timeline.mark('firstPcmByte')
        }
        this.push(out)
      }
      if (!wasDone && this.#core.done) this.emit('done')
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      this.#core.flush()
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Errors from upstream (a dropped socket, an abort) learn how much audio got through.
    if (error instanceof LightningStreamError && error.delivered === undefined) (error as { delivered: unknown }).delivered = this.#core.delivered()
    callback(error)
  }
}
