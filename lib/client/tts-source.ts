import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { AbortError, TimeoutError, type ResponseIds } from '../errors.js'
import { flatHeaders, responseIds, toLightningError } from './http.js'

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
export type TtsStarter = (signal: AbortSignal) => Promise<{ response: Dispatcher.ResponseData; release: () => void }>

/** @internal */
export interface TtsSourceInit {
  start: TtsStarter
  signal?: AbortSignal | undefined
  totalTimeoutMs?: number | undefined
  timeouts: { connect?: number | undefined; headers?: number | undefined; idle?: number | undefined }
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
 * Events: `'response'` ({@link TtsResponseInfo}) before the first byte.
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
  #onAbort: (() => void) | undefined
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
      this.#timer = setTimeout(() => this.destroy(new TimeoutError('total', total)), total)
      this.#timer.unref()
    }
    const { response, release } = await this.#init.start(this.#controller.signal)
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
    body.on('readable', () => this.#drain())
    body.on('end', () => this.push(null))
    body.on('error', (err) => this.destroy(toLightningError(err, this.#init.timeouts)))
    this.emit('response', this.response)
    this.#drain()
  }

  #drain(): void {
    const body = this.#body
    if (!body || this.destroyed) return
    while (this.#wantMore) {
      // read() with no size returns everything buffered as one Buffer; take at most one
      // high-water mark at a time so no stage downstream is handed more than it asked for.
      const n = Math.min(body.readableLength, PULL_BYTES)
      const chunk = (n > 0 ? body.read(n) : body.read()) as Buffer | null
      if (chunk === null) return
      this.#bytesRead += chunk.length
      this.#wantMore = this.push(chunk)
    }
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#onAbort) this.#init.signal?.removeEventListener('abort', this.#onAbort)
    const body = this.#body
    if (body && !body.readableEnded) body.destroy()
    if (!this.#release) this.#controller.abort(new AbortError()) // request still in flight
    this.#release?.()
    callback(error)
  }
}
