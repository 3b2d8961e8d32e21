/**
 * The error taxonomy of lightning-stream.
 *
 * Every error the library raises is a {@link LightningStreamError} with a stable string `code`
 * (switch on `code`, not on `message`). Errors raised while audio is flowing carry `delivered`:
 * how much audio reached the caller before the failure, so nothing ends silently.
 *
 * `instanceof` works across two copies of the package (the ESM and CommonJS builds loaded in one
 * process): each error is branded with `Symbol.for('lightning-stream.error')`, as undici does.
 *
 * @module
 */
// Types only, for the {@link} references in the docs (erased at build time: no import cycle at run time).
import type { PcmStream } from './client/pcm-stream.js'
import type { TextToSpeechStream } from './client/text-to-speech-stream.js'

const kBrands = Symbol.for('lightning-stream.error')

/**
 * Every `code` a lightning-stream error can carry, documented in the README's error table and
 * in `docs/errors-and-retries.md`. {@link ErrorCode} is the union of these strings, so a
 * `switch (err.code)` is checked by TypeScript.
 * @category Errors
 */
export const ERROR_CODES = [
  'ERR_INVALID_REQUEST',
  'ERR_INVALID_OPTION',
  'ERR_MISSING_API_KEY',
  'ERR_API',
  'ERR_CONNECTION',
  'ERR_TIMEOUT',
  'ERR_ABORTED',
  'ERR_PROTOCOL',
  'ERR_SSE_PARSE',
  'ERR_CHUNK_INVALID_JSON',
  'ERR_CHUNK_INVALID_BASE64',
  'ERR_CHUNK_INVALID',
  'ERR_SERVER_ERROR_FRAME',
  'ERR_STREAM_TRUNCATED',
  'ERR_AUDIO_FORMAT',
  'ERR_FFMPEG',
  'ERR_OPUS_ENGINE_MISSING',
  'ERR_OPUS_WORKER',
  'ERR_ESPEAK_MISSING',
  'ERR_ESPEAK_FAILED',
] as const

/** The documented error codes: switch on these. @category Errors */
export type ErrorCode = (typeof ERROR_CODES)[number]

/** How much audio had been handed downstream when an error happened. @category Errors */
export interface AudioDelivered {
  /** Audio-bearing chunk messages (SSE events) decoded. */
  chunks: number
  /** Audio bytes emitted by the decoder. */
  bytes: number
  /** Milliseconds of audio those bytes hold, when the format is known. */
  durationMs?: number | undefined
}

/** Where a segmented synthesis failed (`pcm()` on long text, `streamText({ transport: 'sse' })`). @category Errors */
export interface SegmentInfo {
  /** 0-based index of the request among the segments. */
  index: number
  /** The text of that request. */
  text: string
}

/**
 * Options shared by every error constructor.
 * @inline
 */
export interface LightningStreamErrorOptions {
  /** The underlying error, kept as `error.cause`. */
  cause?: unknown
  /** Audio delivered before the failure. */
  delivered?: AudioDelivered | undefined
  /** The segment whose request failed, for segmented synthesis. */
  segment?: SegmentInfo | undefined
}

/**
 * Base class of every error raised by lightning-stream.
 *
 * @example
 * ```ts
 * try { await client.synthesize({ text: 'hi', voice_id: 'magnus' }) }
 * catch (err) {
 *   if (err instanceof LightningStreamError && err.code === 'ERR_API') console.error(err.status)
 * }
 * ```
 * @category Errors
 */
export class LightningStreamError extends Error {
  /** Stable machine-readable code, one of {@link ERROR_CODES}, e.g. `ERR_API`, `ERR_STREAM_TRUNCATED`. */
  readonly code: ErrorCode
  /**
   * Audio delivered before the failure, when the error happened mid-stream. Set once: by the
   * stage that built the error, or by the stream the caller reads ({@link PcmStream},
   * {@link TextToSpeechStream}) when the error reaches it.
   */
  readonly delivered: AudioDelivered | undefined
  /** The segment whose request failed, when the stream was segmented into several requests. */
  declare readonly segment?: SegmentInfo | undefined

  constructor(message: string, code: ErrorCode, options: LightningStreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.delivered = options.delivered
    if (options.segment !== undefined) (this as { segment?: SegmentInfo }).segment = options.segment
  }

  /**
   * The class names from this error's class up to `LightningStreamError`: the brand `instanceof`
   * checks. A getter on the prototype, keyed by a registered symbol, so a second copy of the
   * package (ESM and CommonJS in one process) reads the same brand. @internal
   */
  get [kBrands](): string[] {
    const brands: string[] = []
    for (let c: unknown = this.constructor; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      brands.push((c as { name: string }).name)
    }
    return brands
  }

  /** Brand check so `instanceof` holds across duplicate copies of the package. */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    if (instance === null || typeof instance !== 'object') return false
    const brands = (instance as Record<symbol, unknown>)[kBrands]
    return Array.isArray(brands) && brands.includes(this.name)
  }

  /** A JSON form for logs: name, code, message and the error's own fields (never secrets). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message }
    for (const [k, v] of Object.entries(this)) if (!(k in out) && v !== undefined) out[k] = v
    return out
  }
}

/** One problem found in a request body, shaped like the vendor's zod issues. @category Errors */
export interface RequestIssue {
  /** The field path, e.g. `['speed']`. */
  path: (string | number)[]
  /** A zod-style issue code: `invalid_type`, `invalid_enum_value`, `too_small`, `custom`, … */
  code: string
  /** Human-readable description. */
  message: string
}

/** A request field is missing or invalid. Raised before any byte is sent. @category Errors */
export class InvalidRequestError extends LightningStreamError {
  /** The first offending field (dotted path). */
  readonly field: string
  /** Every problem found, not only the first. */
  readonly issues: RequestIssue[]

  constructor(issues: RequestIssue[]) {
    const first = issues[0] ?? { path: [], code: 'custom', message: 'invalid request' }
    const field = first.path.join('.')
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    super(`Invalid request: ${field ? `${field}: ` : ''}${first.message}${more}`, 'ERR_INVALID_REQUEST')
    this.field = field
    this.issues = issues
  }
}

/**
 * A constructor or call option is invalid (e.g. a bad `baseUrl`, a negative timeout, an Opus
 * `frameMs` of 25, an unknown resampler `quality`). Raised when the object is constructed or the
 * call is made, before any byte is sent or any audio flows. A `format` a stage cannot take is
 * an {@link AudioFormatError} instead.
 * @category Errors
 */
export class InvalidOptionError extends LightningStreamError {
  /** The option's name. */
  readonly option: string
  constructor(option: string, message: string, code: 'ERR_INVALID_OPTION' | 'ERR_MISSING_API_KEY' = 'ERR_INVALID_OPTION') {
    super(`Invalid option ${option}: ${message}`, code)
    this.option = option
  }
}

/** No API key was given for a host that needs one. Raised before any byte is sent. @category Errors */
export class MissingApiKeyError extends InvalidOptionError {
  constructor() {
    super(
      'apiKey',
      'no API key. Pass { apiKey } or set SMALLEST_API_KEY (or point baseUrl at the local emulator).',
      'ERR_MISSING_API_KEY',
    )
  }
}

/** Response identifiers the vendor returns with every answer; support tickets quote `requestId`. @category Errors */
export interface ResponseIds {
  /** `X-Request-Id`: the server's id for this request. */
  requestId: string | undefined
  /** `X-Session-Id`. */
  sessionId: string | undefined
  /** `X-External-Request-Id`: echo of the body's `request_id`. */
  externalRequestId: string | undefined
  /** `X-External-Session-Id`: echo of the body's `session_id`. */
  externalSessionId: string | undefined
}

/** The server answered with a non-2xx HTTP status. @category Errors */
export class ApiError extends LightningStreamError implements ResponseIds {
  /** HTTP status code. */
  readonly status: number
  /** The parsed JSON body, or the body text when it is not JSON. */
  readonly body: unknown
  readonly requestId: string | undefined
  readonly sessionId: string | undefined
  readonly externalRequestId: string | undefined
  readonly externalSessionId: string | undefined
  /** Response headers (lower-case names). */
  readonly headers: Record<string, string>
  /** The detail messages extracted from the body (both vendor shapes). */
  readonly details: string[]

  constructor(init: {
    status: number
    body: unknown
    details: string[]
    headers: Record<string, string>
    ids: ResponseIds
  }) {
    const hint = API_STATUS_HINTS[init.status] ?? (init.status >= 500 ? 'server error' : 'request failed')
    const detail = init.details.length ? `: ${init.details.join('; ')}` : ''
    const rid = init.ids.requestId ? ` (request id ${init.ids.requestId})` : ''
    super(`Lightning API ${init.status} ${hint}${detail}${rid}`, 'ERR_API')
    this.status = init.status
    this.body = init.body
    this.details = init.details
    this.headers = init.headers
    this.requestId = init.ids.requestId
    this.sessionId = init.ids.sessionId
    this.externalRequestId = init.ids.externalRequestId
    this.externalSessionId = init.ids.externalSessionId
  }
}

const API_STATUS_HINTS: Record<number, string> = {
  400: 'invalid request',
  401: 'unauthorized (missing or invalid API key)',
  403: 'forbidden (key not allowed for this product, plan or workspace)',
  404: 'route not found',
  410: 'model retired',
  413: 'request too large',
  429: 'too many requests (concurrency or rate limit)',
}

/** The connection failed (refused, reset, DNS, TLS) or dropped mid-stream. @category Errors */
export class ConnectionError extends LightningStreamError {
  constructor(message: string, options: LightningStreamErrorOptions = {}) {
    super(message, 'ERR_CONNECTION', options)
  }
}

/**
 * Which phase of a request ran out of time.
 * @inline
 */
export type TimeoutPhase = 'connect' | 'headers' | 'idle' | 'total'

/** A per-phase timeout expired. @category Errors */
export class TimeoutError extends LightningStreamError {
  /** The phase that ran out of time. */
  readonly phase: TimeoutPhase
  /** The limit that expired, in milliseconds. */
  readonly timeoutMs: number | undefined
  constructor(phase: TimeoutPhase, timeoutMs: number | undefined, options: LightningStreamErrorOptions = {}) {
    super(`Timed out in phase '${phase}'${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}`, 'ERR_TIMEOUT', options)
    this.phase = phase
    this.timeoutMs = timeoutMs
  }
}

/** The caller aborted (an `AbortSignal` fired, or the stream was destroyed before it ended). @category Errors */
export class AbortError extends LightningStreamError {
  constructor(message = 'The operation was aborted', options: LightningStreamErrorOptions = {}) {
    super(message, 'ERR_ABORTED', options)
  }
}

/**
 * A response does not follow the vendor's protocol where no more specific error applies: e.g. a
 * voices body that is not JSON or has no `voices` array. Not retried (the server answered).
 * @category Errors
 */
export class ProtocolError extends LightningStreamError {
  constructor(message: string, options: LightningStreamErrorOptions = {}) {
    super(message, 'ERR_PROTOCOL', options)
  }
}

/** The SSE byte stream cannot be parsed (e.g. an event larger than `maxEventSize`). @category Errors */
export class SseParseError extends LightningStreamError {
  constructor(message: string, options: LightningStreamErrorOptions = {}) {
    super(message, 'ERR_SSE_PARSE', options)
  }
}

/**
 * Why a chunk message was rejected.
 * @inline
 */
export type ChunkErrorCode = 'ERR_CHUNK_INVALID_JSON' | 'ERR_CHUNK_INVALID_BASE64' | 'ERR_CHUNK_INVALID'

/**
 * A chunk message (an SSE event, or a WebSocket message with `transport: 'websocket'`) is not a
 * valid Lightning message: bad JSON, bad base64, wrong shape.
 * @category Errors
 */
export class ChunkError extends LightningStreamError {
  /** 0-based index of the offending chunk message (SSE event or WebSocket message). */
  readonly chunkIndex: number
  declare readonly code: ChunkErrorCode
  constructor(code: ChunkErrorCode, chunkIndex: number, message: string, options: LightningStreamErrorOptions = {}) {
    super(`Chunk ${chunkIndex}: ${message}`, code, options)
    this.chunkIndex = chunkIndex
  }
}

/** The server sent an error message in the middle of the stream (an SSE event or a WebSocket message). @category Errors */
export class ServerStreamError extends LightningStreamError {
  /** 0-based index of the error message among the chunk messages (SSE events or WebSocket messages). */
  readonly chunkIndex: number
  /** The error message's `status` field, as sent. */
  readonly serverStatus: string | number | undefined
  /** The server's message, when it sent one. */
  readonly serverMessage: string | undefined
  /** The error message's parsed JSON. */
  readonly frame: unknown
  constructor(init: { chunkIndex: number; status: string | number | undefined; message: string | undefined; frame: unknown; delivered: AudioDelivered }) {
    super(
      `Chunk ${init.chunkIndex}: server error${init.status === undefined ? '' : ` (status ${String(init.status)})`}: ${init.message ?? 'no message'}`,
      'ERR_SERVER_ERROR_FRAME',
      { delivered: init.delivered },
    )
    this.chunkIndex = init.chunkIndex
    this.serverStatus = init.status
    this.serverMessage = init.message
    this.frame = init.frame
  }
}

/** The stream ended before its terminator (the `done: true` event, or `complete` over WebSocket): the audio is incomplete. @category Errors */
export class StreamTruncatedError extends LightningStreamError {
  constructor(delivered: AudioDelivered) {
    const ms = delivered.durationMs === undefined ? '' : ` (${delivered.durationMs.toFixed(0)} ms)`
    super(
      `Stream ended without the terminator after ${delivered.chunks} audio chunks, ${delivered.bytes} bytes${ms} delivered`,
      'ERR_STREAM_TRUNCATED',
      { delivered },
    )
  }
}

/** Audio does not match the format a stage was told to expect (odd sample tail, wrong rate, …). @category Errors */
export class AudioFormatError extends LightningStreamError {
  constructor(message: string, options: LightningStreamErrorOptions = {}) {
    super(message, 'ERR_AUDIO_FORMAT', options)
  }
}

/**
 * Adds the reading stream's context to an error at the one boundary that knows it: the stream the
 * caller reads ({@link PcmStream}, {@link TextToSpeechStream}), when a failure reaches it after
 * every byte received before it was handed downstream. No stage below calls this.
 *
 * - An error without `delivered` gets it, in place (it has not been seen by anyone yet); one
 *   that has it (built by the stage that saw the failure) is returned as it is.
 * - With `segment` (segmented synthesis), the error is copied: same class, code, message, fields
 *   and `cause`, with this stream's totals across every segment and the failing segment. The
 *   segment's own error, which says what *its* request delivered, is left as it was.
 *
 * Non-library errors (a `TypeError` from user code in the pipeline) are returned unchanged.
 * @internal
 */
export function withStreamContext<E extends Error>(err: E, delivered: AudioDelivered, segment?: SegmentInfo): E {
  if (!(err instanceof LightningStreamError)) return err
  if (segment === undefined) {
    if (err.delivered === undefined) (err as { delivered: AudioDelivered | undefined }).delivered = delivered
    return err
  }
  // Same prototype and the same own properties with their attributes (message, stack and cause
  // stay non-enumerable), then this stream's context.
  const copy = Object.create(Object.getPrototypeOf(err) as object, Object.getOwnPropertyDescriptors(err)) as E
  return Object.assign(copy, { delivered, segment })
}
