import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createSseParser, type SseEvent, type SseParserCore, type SseParserCoreOptions } from './sse-parser.core.js'

/** Options of {@link SseParser}. */
export interface SseParserOptions extends SseParserCoreOptions {
  /** Options for the underlying Transform (the object-mode readable side is forced). */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: `text/event-stream` bytes in, {@link SseEvent} objects out. The shell of
 * {@link createSseParser}.
 *
 * Handles LF, CR and CRLF line endings (also split across chunks), comments, `id:`/`retry:`
 * fields, multi-line `data:`, a leading BOM and UTF-8 split across chunks. Never assumes a
 * network chunk is an event. Memory is bounded by `maxEventSize`. Events completed before an
 * oversized one are delivered before the {@link SseParseError}.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(client.stream(req), new SseParser(), async function* (events) {
 *   for await (const ev of events) console.log(ev.event, ev.data.length)
 * })
 * ```
 */
export class SseParser extends CoreStage<Uint8Array, SseEvent[], SseParserCore> {
  constructor(options: SseParserOptions = {}) {
    super(createSseParser(options), { writable: 'bytes', readable: 'objects', readableHighWaterMark: 8 }, options.streamOptions)
  }
}
