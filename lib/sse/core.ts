/**
 * Pure incremental SSE decoding: bytes in, {@link SseEvent}s out. No stream import; the
 * {@link SseParser} Transform is a thin shell around it, and the benchmarks time this core.
 *
 * State: a `StringDecoder` holds a UTF-8 sequence split across chunks (it is 3–4× faster than
 * `TextDecoder` on Node 20); eventsource-parser holds the partial line and the event being
 * built, bounded by `maxEventSize` characters; `out` collects events dispatched by one call.
 *
 * @module
 */
import { StringDecoder } from 'node:string_decoder'
import { createParser, ParseError, type EventSourceMessage } from 'eventsource-parser'
import { InvalidOptionError, SseParseError } from '../errors.js'

/** One Server-Sent Event. @category Cores */
export interface SseEvent {
  /** The event type; `'message'` when the event had no `event:` line. */
  event: string
  /** The `data:` lines joined with `\n`. */
  data: string
  /** The `id:` field, when the event had one. */
  id: string | undefined
}

/** Options of {@link createSseDecoder} and {@link SseParser}. @category Cores */
export interface SseDecoderOptions {
  /**
   * Largest event (its partial line plus its accumulated `data`) held in memory, in characters.
   * A larger event fails with {@link SseParseError}.
   * @defaultValue `4 * 1024 * 1024` (4 MiB: 150× a 20 ms Lightning frame at 44.1 kHz)
   */
  maxEventSize?: number | undefined
}

/** Default bound of one event, in characters. @category Cores */
export const DEFAULT_MAX_EVENT_SIZE = 4 * 1024 * 1024

/** The pure SSE decoder returned by {@link createSseDecoder}. @category Cores */
export interface SseDecoder {
  /**
   * Feeds bytes; returns the events they complete (possibly none). When the bytes also hold an
   * event over `maxEventSize`, the events completed before it are returned and the error is set
   * in {@link SseDecoder.failure}; the next `push` or `flush` throws it. So what is delivered
   * before the error does not depend on how the bytes were split.
   * @throws {@link SseParseError}
   */
  push(chunk: Uint8Array): SseEvent[]
  /** The error that stopped decoding, once there is one. */
  readonly failure: SseParseError | undefined
  /**
   * Ends the input: a trailing CR held back as half a CRLF is consumed, so an event ended by CR at
   * EOF is dispatched. An unterminated event (no blank line) is dropped, as the SSE spec says.
   */
  flush(): SseEvent[]
}

/** Creates a pure incremental SSE decoder. @category Cores */
export function createSseDecoder(options: SseDecoderOptions = {}): SseDecoder {
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE
  if (!Number.isInteger(maxEventSize) || maxEventSize < 64) {
    throw new InvalidOptionError('maxEventSize', `must be an integer ≥ 64 (got ${String(maxEventSize)})`)
  }
  const text = new StringDecoder('utf8')
  let out: SseEvent[] = []
  let failure: ParseError | undefined
  let started = false
  let endsWithCR = false
  const parser = createParser({
    maxBufferSize: maxEventSize,
    onEvent(msg: EventSourceMessage) {
      // maxBufferSize bounds what the parser holds *between* feeds; an event that arrives whole in
      // one chunk is checked here, so the bound holds for every chunking.
      if (msg.data.length > maxEventSize) {
        failure ??= new ParseError('event too large', { type: 'max-buffer-size-exceeded' })
        return
      }
      if (!failure) out.push({ event: msg.event ?? 'message', data: msg.data, id: msg.id })
    },
    onError(err: ParseError) {
      // 'invalid-retry' and 'unknown-field' are recoverable and ignored, as browsers do.
      if (err.type === 'max-buffer-size-exceeded') failure = err
    },
  })
  // eventsource-parser strips a leading "ï»¿" (U+00EF U+00BB U+00BF, the BOM's bytes read as
  // Latin-1) from its first feed, so the three characters would vanish only when they arrive in
  // one chunk. The BOM is handled above on the decoded text (U+FEFF); spend the parser's
  // first-feed check on an empty string so its output never depends on chunking.
  parser.feed('')

  /** The events completed so far; throws the failure when no event precedes it. */
  const take = (): SseEvent[] => {
    if (failure && !decoder.failure) {
      decoder.failure = new SseParseError(`SSE event larger than maxEventSize (${maxEventSize} characters)`, { cause: failure })
    }
    const events = out
    out = []
    if (events.length === 0 && decoder.failure) throw decoder.failure
    return events
  }

  // `failure` is a data property: an accessor in an object literal costs GC time per instance.
  const decoder: { -readonly [K in keyof SseDecoder]: SseDecoder[K] } = {
    failure: undefined,
    push(chunk) {
      if (failure) return take()
      let s = text.write(chunk as Buffer)
      if (!started && s.length > 0) {
        started = true
        if (s.charCodeAt(0) === 0xfeff) s = s.slice(1) // BOM, only at stream start
      }
      if (s.length > 0) {
        endsWithCR = s.charCodeAt(s.length - 1) === 13
        parser.feed(s)
      }
      return take()
    },
    flush() {
      if (failure) return take()
      const rest = text.end()
      if (rest.length > 0) {
        endsWithCR = rest.charCodeAt(rest.length - 1) === 13
        parser.feed(rest)
      }
      // eventsource-parser holds a trailing CR back as possibly half a CRLF. At EOF it can only be
      // a line ending: complete it, so an event whose blank line was that CR is dispatched.
      // (3.1's `reset({ consume: true })` parses the lone "\r" as a non-blank line and loses it.)
      if (endsWithCR) parser.feed('\n')
      parser.reset() // drops an unterminated event, as the SSE spec says
      return take()
    },
  }
  return decoder
}
