import { Transform, type TransformCallback, type TransformOptions } from 'node:stream'
import { createSseDecoder, type SseDecoder, type SseDecoderOptions } from './core.js'

/** Options of {@link SseParser}. @category Stages */
export interface SseParserOptions extends SseDecoderOptions {
  /** Options for the underlying Transform (object-mode readable side is forced). */
  streamOptions?: Omit<TransformOptions, 'readableObjectMode' | 'writableObjectMode' | 'objectMode' | 'transform' | 'flush'> | undefined
}

/**
 * Transform: `text/event-stream` bytes in, {@link SseEvent} objects out.
 *
 * Handles LF, CR and CRLF line endings (also split across chunks), comments, `id:`/`retry:`
 * fields, multi-line `data:`, a leading BOM and UTF-8 split across chunks. Never assumes a
 * network chunk is an event. Memory is bounded by `maxEventSize`.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(client.stream(req), new SseParser(), async function* (events) {
 *   for await (const ev of events) console.log(ev.event, ev.data.length)
 * })
 * ```
 * @category Stages
 */
export class SseParser extends Transform {
  readonly #core: SseDecoder

  constructor(options: SseParserOptions = {}) {
    // Explicit marks: Node 22 raised the default byte high-water mark from 16 to 64 KiB; these keep
    // the bytes held per stage the same on every supported version.
    super({ readableHighWaterMark: 8, writableHighWaterMark: 16 * 1024, ...options.streamOptions, readableObjectMode: true, writableObjectMode: false })
    this.#core = createSseDecoder(options)
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const ev of this.#core.push(chunk)) this.push(ev)
      callback(this.#core.failure) // events before an oversized one are delivered first
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      for (const ev of this.#core.flush()) this.push(ev)
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }
}
