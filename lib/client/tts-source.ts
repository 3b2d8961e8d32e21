import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { AbortError, TimeoutError, type LightningStreamError, type ResponseIds } from '../errors.js'
import { flatHeaders, responseIds, toLightningError } from './http.js'
import type { RetryInfo } from './retry.js'
import type { TtsTimeline } from '../metrics/metrics.js'

/** Largest piece taken from the HTTP body at once, and this stream's high-water mark. */
const PULL_BYTES = 16 * 1024

/** What `'response'` reports, before the first byte of the body. */
export interface TtsResponseInfo extends ResponseIds {
  /** HTTP status (always 200 here: other statuses become an {@link ApiError}). */
  status: number
  /** Response headers, lower-case names. */
  headers: Record<string, string>
}

/** Starts the HTTP exchange; resolves once headers arrived with a 2xx status. @internal */
export type TtsStarter = (
  signal: AbortSignal,
  onRetry: (info: RetryInfo) => void,
  onSend: () => void,
) => Promise<{ response: Dispatcher.ResponseData; release: () => void }>

/** @internal */
export interface TtsSourceInit {
  start: TtsStarter
  signal?: AbortSignal | undefined
  totalTimeoutMs?: number | undefined
  timeouts: { connect?: number | undefined; headers?: number | undefined; idle?: number | undefined }
  /**
   * On a failure after body bytes arrived (socket drop, idle or total timeout), end the stream
   * cleanly so every byte already received reaches the next stage, and keep the error in
   * {@link TtsSource.failure} for that stage to report. Used by `pcm()`, whose decoder reports
   * it; a raw `stream()` is destroyed with the error instead.
   */
  deferFailure?: boolean | undefined
  /** Records requestSent, responseHeaders, firstSseByte. */
  timeline?: TtsTimeline | undefined
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
 */
export class TtsSource extends Readable {
  readonly #init: TtsSourceInit
  readonly #controller = new AbortController()
  #started = false
  #body: Dispatcher.ResponseData['body'] | undefined
  #release: (() => void) | undefined
  #wantMore = false
  #bytesRead = 0
  #timer: NodeJS.Timeout | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #lastData = 0
  #onAbort: (() => void) | undefined
  #failure: LightningStreamError | undefined
  #completed = false
  /** Response details, once headers arrived. */
  response: TtsResponseInfo | undefined

  /** @internal */
  constructor(init: TtsSourceInit) {
    super({ highWaterMark: PULL_BYTES })
    this.#init = init
    const signal = init.signal
    if (signal) {
      if (signal.aborted) {
        process.nextTick(() => this.destroy(new AbortError('Aborted before the request was sent')))
      } else {
        this.#onAbort = () => this.destroy(new AbortError())
        signal.addEventListener('abort', this.#onAbort, { once: true })
      }
    }
  }

  /** The failure that ended the body early, when `deferFailure` ended the stream cleanly. */
  get failure(): LightningStreamError | undefined {
    return this.#failure
  }

  /**
   * The response is complete: the `done: true` terminator frame arrived. Ends this stream now and
   * releases the request at once: the HTTP body (which closes the socket when the server keeps
   * the response open after the terminator; a response that already ended keeps its socket for
   * reuse) and the concurrency slot, so the next request does not wait for the server to hang up
   * or for the idle timeout. Bytes after the terminator are not read. Idempotent.
   * `LightningClient.pcm()` calls it when its decoder sees the terminator.
   */
  complete(): void {
    if (this.destroyed || this.#completed || this.#failure) return
    this.#completed = true
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    const body = this.#body
    if (body && !body.readableEnded) body.destroy()
    this.#release?.()
    this.push(null)
  }

  /** True once {@link TtsSource.complete} ended the stream at the terminator. */
  get completed(): boolean {
    return this.#completed
  }

  /** Fails now, or (deferFailure, after body bytes arrived) ends cleanly keeping the error. */
  #fail(err: LightningStreamError): void {
    if (this.destroyed || this.#failure || this.#completed) return
    if (this.#init.deferFailure && this.#bytesRead + (this.#body?.readableLength ?? 0) > 0) {
      this.#failure = err
      if (this.#idleTimer) clearTimeout(this.#idleTimer)
      this.#drainAll()
      this.push(null)
      return
    }
    this.destroy(err)
  }

  /** Moves every byte undici still holds into this stream's buffer (used before ending early). */
  #drainAll(): void {
    const body = this.#body
    if (!body) return
    let chunk: Buffer | null
    while ((chunk = body.read() as Buffer | null) !== null) {
      this.#bytesRead += chunk.length
      this.push(chunk)
    }
  }

  /** Bytes taken from the HTTP body so far. */
  get bytesRead(): number {
    return this.#bytesRead
  }

  /** Bytes received but not yet consumed downstream: undici's body buffer plus this stream's. */
  get bufferedBytes(): number {
    return (this.#body?.readableLength ?? 0) + this.readableLength
  }

  /** @internal */
  override _read(): void {
    this.#wantMore = true
    if (!this.#started) {
      this.#started = true
      this.#begin().catch((err: unknown) => this.destroy(toLightningError(err, this.#init.timeouts)))
      return
    }
    this.#drain()
  }

  async #begin(): Promise<void> {
    const total = this.#init.totalTimeoutMs
    if (total !== undefined) {
      this.#timer = setTimeout(() => this.#fail(new TimeoutError('total', total)), total)
      this.#timer.unref()
    }
    const timeline = this.#init.timeline
    const { response, release } = await this.#init.start(
      this.#controller.signal,
      (info) => {
        if (timeline) timeline.retries++
        this.emit('retry', info)
      },
      () => timeline?.mark('requestSent'),
    )
    timeline?.mark('responseHeaders')
    this.#release = release
    if (this.destroyed) {
      response.body.destroy()
      release()
      return
    }
    const headers = flatHeaders(response.headers)
    this.response = { status: response.statusCode, headers, ...responseIds(headers) }
    const body = response.body
    this.#body = body
    this.#lastData = performance.now()
    this.#armIdle()
    body.on('readable', () => this.#drain())
    body.on('end', () => {
      if (this.#idleTimer) clearTimeout(this.#idleTimer)
      if (!this.#failure && !this.#completed) this.push(null)
    })
    body.on('error', (err) => this.#fail(toLightningError(err, this.#init.timeouts)))
    this.emit('response', this.response)
    this.#drain()
  }

  #drain(): void {
    const body = this.#body
    if (!body || this.destroyed || this.#failure || this.#completed) return
    while (this.#wantMore) {
      // read() with no size returns everything buffered as one Buffer; take at most one
      // high-water mark at a time so no stage downstream is handed more than it asked for.
      const n = Math.min(body.readableLength, PULL_BYTES)
      const chunk = (n > 0 ? body.read(n) : body.read()) as Buffer | null
      if (chunk === null) return
      if (this.#bytesRead === 0) this.#init.timeline?.mark('firstSseByte')
      this.#bytesRead += chunk.length
      this.#lastData = performance.now()
      this.#wantMore = this.push(chunk)
    }
  }

  /**
   * The idle timeout, owned here because undici's `bodyTimeout` is not enforced in every socket
   * state. Idle means: the next stage wants data, nothing is buffered, and nothing arrived for
   * `idle` ms. A slow consumer (backpressure) is never idle.
   */
  #armIdle(): void {
    const idle = this.#init.timeouts.idle
    if (idle === undefined) return
    const wait = Math.max(1, this.#lastData + idle - performance.now())
    this.#idleTimer = setTimeout(() => {
      const body = this.#body
      if (!body || this.destroyed || this.#failure || this.#completed || body.readableEnded) return
      const starving = this.#wantMore && body.readableLength === 0
      if (starving && performance.now() - this.#lastData >= idle) this.#fail(new TimeoutError('idle', idle))
      else {
        if (!starving) this.#lastData = performance.now()
        this.#armIdle()
      }
    }, wait)
    this.#idleTimer.unref()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    if (this.#onAbort) this.#init.signal?.removeEventListener('abort', this.#onAbort)
    const body = this.#body
    if (body && !body.readableEnded) body.destroy()
    if (!this.#release) this.#controller.abort(new AbortError()) // request still in flight
    this.#release?.()
    callback(error)
  }
}
