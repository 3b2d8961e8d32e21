/**
 * The SSE source: one `POST /waves/v1/tts/live` exchange read as the caller asks for data.
 *
 * - {@link TtsSource}, returned by `LightningClient.stream()`: a `Readable` of the raw
 *   `text/event-stream` bytes, pulled from the body at most 16 KiB at a time.
 * - {@link SsePcmSource}, behind `LightningClient.pcm()` (issue 16's fused path): each network
 *   chunk of the body goes straight into the synchronous SSE → PCM core and out to a
 *   {@link PcmStream} as one PCM Buffer.
 *
 * Both run one {@link SseExchange}: lazy start through the transport (slot → retry → attempt),
 * the response ids, the total and idle timeouts ({@link checkIdle}), and the release of the socket
 * and the slot. Every failure leaves as an error, downwards: `destroy(err)` for the raw source, the
 * sink's `fail(err)` for the fused one, once the bytes received before it were decoded.
 * @module
 */
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { AbortError, TimeoutError, type AudioDelivered, type LightningStreamError, type ResponseIds } from '../errors.js'
import type { SsePcmDecoderCore } from '../audio/sse-pcm.core.js'
import { checkIdle } from './idle-watch.js'
import type { PcmProducer, PcmSink } from './pcm-stream.js'
import { flatHeaders, responseIds, toLightningError } from './responses.js'
import type { RetryInfo } from './retry.js'
import type { Sent } from './transport.js'

/** Largest piece taken from the HTTP body at once, and the raw source's high-water mark. */
const PULL_BYTES = 16 * 1024
/** How long the body may take to end after the terminator before its connection is closed, ms. */
const COMPLETE_GRACE_MS = 100

/** What `'response'` reports, before the first byte of the body. @category Client */
export interface TtsResponseInfo extends ResponseIds {
  /** HTTP status (always 200 here: other statuses become an {@link ApiError}). */
  status: number
  /** Response headers, lower-case names. */
  headers: Record<string, string>
}

/** Starts the HTTP exchange; resolves once headers arrived with a 2xx status. @internal */
export type TtsStarter = (signal: AbortSignal, onRetry: (info: RetryInfo) => void, onSend: () => void) => Promise<Sent>

/** @internal */
export interface TtsSourceInit {
  start: TtsStarter
  /** Aborts the exchange (the raw source; a {@link PcmStream} watches its own signal). */
  signal?: AbortSignal | undefined
  totalTimeoutMs?: number | undefined
  timeouts: { connect?: number | undefined; headers?: number | undefined; idle?: number | undefined }
}

/** What an exchange tells the stream that owns it. */
interface ExchangeOwner {
  retry(info: RetryInfo): void
  sent(): void
  /** Headers arrived with a 2xx status; the body is ready. */
  response(info: TtsResponseInfo, body: Dispatcher.ResponseData['body']): void
  /** A total or idle timeout. */
  fail(err: LightningStreamError): void
  /** The reader wants data and nothing is buffered for it (for the idle rule). */
  starving(): boolean
}

/**
 * One SSE exchange, without the stream around it: the request (lazily, through the transport),
 * the body, the total and idle timers, and the release of the socket and the slot. @internal
 */
class SseExchange {
  readonly #init: TtsSourceInit
  readonly #owner: ExchangeOwner
  readonly #controller = new AbortController()
  #body: Dispatcher.ResponseData['body'] | undefined
  #release: (() => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #lastData = 0
  #closed = false
  #finished = false

  constructor(init: TtsSourceInit, owner: ExchangeOwner) {
    this.#init = init
    this.#owner = owner
  }

  /** The response body, once headers arrived. */
  get body(): Dispatcher.ResponseData['body'] | undefined {
    return this.#body
  }

  /** Sends the request; reports the response to the owner, or rejects with a coded error. */
  async begin(): Promise<void> {
    const total = this.#init.totalTimeoutMs
    if (total !== undefined) {
      this.#timer = setTimeout(() => this.#owner.fail(new TimeoutError('total', total)), total)
      this.#timer.unref()
    }
    const { response, release } = await this.#init.start(
      this.#controller.signal,
      (info) => this.#owner.retry(info),
      () => this.#owner.sent(),
    )
    this.#release = release
    if (this.#closed) {
      response.body.destroy()
      release()
      return
    }
    const headers = flatHeaders(response.headers)
    this.#body = response.body
    this.#lastData = performance.now()
    this.#armIdle()
    this.#owner.response({ status: response.statusCode, headers, ...responseIds(headers) }, response.body)
  }

  /** A body chunk arrived (the idle clock restarts). */
  touch(): void {
    this.#lastData = performance.now()
  }

  /** Undici's body failed: the coded error. */
  mapError(err: unknown): LightningStreamError {
    return toLightningError(err, this.#init.timeouts)
  }

  /** The body ended or the response is complete: no more timeouts. */
  stopTimers(): void {
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
  }

  /**
   * The terminator arrived: free the slot now. Bytes after the terminator are not decoded. The
   * body is read to its end for up to {@link COMPLETE_GRACE_MS}, so the socket stays in the pool
   * for the next request (the response's last chunk usually follows the terminator at once; a new
   * TLS connection would cost the next request ~100 ms); a server that keeps the response open
   * longer has its connection closed then.
   */
  finish(): void {
    this.#finished = true
    this.stopTimers()
    const body = this.#body
    if (body && !body.readableEnded) {
      const grace = setTimeout(() => body.destroy(), COMPLETE_GRACE_MS)
      grace.unref()
      body.once('close', () => clearTimeout(grace))
      body.removeAllListeners('data')
      body.resume()
    }
    this.#release?.()
  }

  /** Closes the socket (unless {@link finish} owns it), aborts a request in flight, frees the slot. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.stopTimers()
    const body = this.#body
    if (body && !body.readableEnded && !this.#finished) body.destroy()
    if (!this.#release) this.#controller.abort(new AbortError()) // request still in flight
    this.#release?.()
  }

  /**
   * The idle timeout, owned here because undici's `bodyTimeout` is not enforced in every socket
   * state. The rule is {@link checkIdle}'s: a slow reader is never idle.
   */
  #armIdle(): void {
    const idleMs = this.#init.timeouts.idle
    if (idleMs === undefined) return
    const tick = (waitMs: number) => {
      this.#idleTimer = setTimeout(() => {
        const body = this.#body
        if (!body || this.#closed || body.readableEnded) return
        const verdict = checkIdle({ idleMs, lastDataAt: this.#lastData, now: performance.now(), starving: this.#owner.starving() && body.readableLength === 0 })
        if (verdict.timedOut) this.#owner.fail(new TimeoutError('idle', idleMs))
        else {
          this.#lastData = verdict.lastDataAt
          tick(verdict.checkInMs)
        }
      }, waitMs)
      this.#idleTimer.unref()
    }
    tick(idleMs)
  }
}

/**
 * A `Readable` of the raw `text/event-stream` bytes of `POST /waves/v1/tts/live`, returned by
 * {@link LightningClient.stream}.
 *
 * - Lazy: the request is sent on the first read, so it joins `pipeline()` backpressure.
 * - Pull-based: bytes are taken from the HTTP body only when the next stage asks for them, so a
 *   slow consumer slows the socket. Bytes held here are bounded by this stream's
 *   `highWaterMark` (16 KiB) plus undici's body buffer (16 KiB high-water mark, plus at most one
 *   socket read of up to 64 KiB before undici pauses the socket).
 * - `destroy()`, an error or the `signal` close the socket and free the concurrency slot.
 *
 * Events: `'response'` ({@link TtsResponseInfo}) before the first byte; `'retry'`
 * ({@link RetryInfo}) before each retry.
 * @category Client
 */
export class TtsSource extends Readable {
  readonly #exchange: SseExchange
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: (() => void) | undefined
  #started = false
  #wantMore = false
  #bytesRead = 0
  /** Response details, once headers arrived. */
  response: TtsResponseInfo | undefined

  /** @internal Use `LightningClient.stream()`. */
  constructor(init: TtsSourceInit) {
    super({ highWaterMark: PULL_BYTES })
    this.#exchange = new SseExchange(init, {
      retry: (info) => this.emit('retry', info),
      sent: () => {},
      response: (info, body) => this.#attach(info, body),
      fail: (err) => this.destroy(err),
      starving: () => this.#wantMore,
    })
    const signal = init.signal
    this.#signal = signal
    if (signal?.aborted) {
      this.#onAbort = undefined
      process.nextTick(() => this.destroy(new AbortError('Aborted before the request was sent')))
    } else if (signal) {
      this.#onAbort = () => this.destroy(new AbortError())
      signal.addEventListener('abort', this.#onAbort, { once: true })
    } else this.#onAbort = undefined
  }

  /** Bytes taken from the HTTP body so far. */
  get bytesRead(): number {
    return this.#bytesRead
  }

  /** Bytes received but not yet consumed downstream: undici's body buffer plus this stream's. */
  get bufferedBytes(): number {
    return (this.#exchange.body?.readableLength ?? 0) + this.readableLength
  }

  /** @internal */
  override _read(): void {
    this.#wantMore = true
    if (!this.#started) {
      this.#started = true
      this.#exchange.begin().catch((err: unknown) => this.destroy(this.#exchange.mapError(err)))
      return
    }
    this.#drain()
  }

  #attach(info: TtsResponseInfo, body: Dispatcher.ResponseData['body']): void {
    if (this.destroyed) return
    this.response = info
    body.on('readable', () => this.#drain())
    body.on('end', () => {
      this.#exchange.stopTimers()
      this.push(null)
    })
    body.on('error', (err) => this.destroy(this.#exchange.mapError(err)))
    this.emit('response', info)
    this.#drain()
  }

  #drain(): void {
    const body = this.#exchange.body
    if (!body || this.destroyed) return
    while (this.#wantMore) {
      // read() with no size returns everything buffered as one Buffer; take at most one
      // high-water mark at a time so no stage downstream is handed more than it asked for.
      const n = Math.min(body.readableLength, PULL_BYTES)
      const chunk = (n > 0 ? body.read(n) : body.read()) as Buffer | null
      if (chunk === null) return
      this.#bytesRead += chunk.length
      this.#exchange.touch()
      this.#wantMore = this.push(chunk)
    }
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#exchange.close()
    callback(error)
  }
}

/**
 * The fused path of `LightningClient.pcm()` (issue 16), as the producer of a {@link PcmStream}:
 * the body is read in flowing mode, one network chunk per `'data'`, each decoded at once by the
 * SSE → PCM core into one PCM Buffer for the sink. When the stream's queue is full it pauses the
 * body (undici's high-water mark is 0 here, so undici then holds at most one socket read).
 *
 * It ends at the terminator, freeing the slot at once (the connection too, unless the response
 * ends right after it). A socket failure, an idle or total timeout first decodes what undici still
 * holds, then fails the sink: the error reaches the reader after that audio.
 * @internal
 */
export class SsePcmSource implements PcmProducer {
  readonly #exchange: SseExchange
  readonly #core: SsePcmDecoderCore
  readonly #sink: PcmSink
  #paused = false
  #done = false
  #sseByte = false
  #audio = false

  constructor(init: TtsSourceInit, core: SsePcmDecoderCore, sink: PcmSink) {
    this.#core = core
    this.#sink = sink
    this.#exchange = new SseExchange(init, {
      retry: (info) => sink.emit('retry', info),
      sent: () => sink.mark('requestSent'),
      response: (info, body) => this.#attach(info, body),
      fail: (err) => this.#fail(err),
      starving: () => !this.#paused,
    })
  }

  /** Decoded so far: audio SSE events, and bytes before G.711 expansion. */
  delivered(): AudioDelivered {
    return this.#core.delivered()
  }

  /** Bytes undici's body holds. */
  bufferedBytes(): number {
    return this.#exchange.body?.readableLength ?? 0
  }

  start(): void {
    this.#exchange.begin().catch((err: unknown) => this.#fail(this.#exchange.mapError(err)))
  }

  pause(): void {
    this.#paused = true
    if (!this.#done) this.#exchange.body?.pause()
  }

  resume(): void {
    this.#paused = false
    if (!this.#done) this.#exchange.body?.resume()
  }

  drained(): void {}

  close(): void {
    this.#done = true
    this.#exchange.close()
  }

  #attach(info: TtsResponseInfo, body: Dispatcher.ResponseData['body']): void {
    if (this.#done) return
    this.#sink.mark('responseHeaders')
    body.on('data', (chunk: Buffer) => this.#decode(chunk))
    body.on('end', () => {
      this.#exchange.stopTimers()
      if (this.#done) return
      try {
        this.#emit(this.#core.flush())
        if (this.#core.failure) throw this.#core.failure
      } catch (err) {
        this.#fail(err as LightningStreamError)
        return
      }
      this.#done = true
      this.#exchange.finish()
      this.#sink.complete()
    })
    body.on('error', (err) => this.#fail(this.#exchange.mapError(err)))
    this.#sink.emit('response', info)
    if (this.#paused) body.pause()
  }

  #decode(chunk: Buffer): void {
    if (this.#done) return
    if (!this.#sseByte) {
      this.#sseByte = true
      this.#sink.mark('firstSseByte')
    }
    this.#exchange.touch()
    const core = this.#core
    try {
      this.#emit(core.push(chunk))
      if (core.failure) throw core.failure
      if (core.done) this.#complete()
    } catch (err) {
      this.#fail(err as LightningStreamError)
    }
  }

  #emit(pcm: Buffer | null): void {
    if (pcm === null || pcm.length === 0) return
    if (!this.#audio) {
      this.#audio = true
      this.#sink.mark('firstAudioEvent')
    }
    this.#sink.audio(pcm)
  }

  /** The terminator arrived: end now and free the slot (see {@link SseExchange.finish}). */
  #complete(): void {
    this.#emit(this.#core.flush()) // throws on a trailing half sample
    if (this.#core.failure) throw this.#core.failure
    this.#done = true
    this.#exchange.finish()
    this.#sink.complete()
  }

  /** Decodes what undici still holds, then fails the sink with the cause. */
  #fail(err: LightningStreamError): void {
    if (this.#done) return
    const body = this.#exchange.body
    let chunk: Buffer | null
    // A decoding error on the way wins (it fails the sink from #decode and sets #done).
    while (body && !this.#done && (chunk = body.read() as Buffer | null) !== null) this.#decode(chunk)
    if (this.#done) return
    this.#done = true
    this.#exchange.close()
    this.#sink.fail(err)
  }
}
