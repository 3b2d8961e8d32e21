/**
 * How a request reaches the server: a concurrency slot (FIFO), then the retry loop (before any
 * response was accepted), then one attempt, with the headers phase timed here. Every route of
 * the client goes through {@link Transport.send}; the WebSocket transport takes the same slots,
 * policy and headers through {@link Transport.connection}.
 *
 * The API key lives only here, in a private field, and leaves only as the `authorization` header.
 * @internal
 * @module
 */
import { Agent, request, type Dispatcher } from 'undici'
import { MissingApiKeyError, TimeoutError } from '../errors.js'
import { VERSION } from '../version.js'
import { DEFAULT_BASE_URL, type ResolvedClientOptions, type ResolvedTimeouts } from './client-options.js'
import { apiErrorFrom, toLightningError } from './responses.js'
import { retrying, type RetryInfo, type RetryPolicy } from './retry.js'
import { Semaphore } from './semaphore.js'
import type { ClientConnection } from './ws-transport.js'

/** One request. */
export interface SendOptions {
  method: 'GET' | 'POST'
  /** Path on the API origin, e.g. `/waves/v1/tts/live`. */
  path: string
  /** The `accept` header. */
  accept: string
  /** A JSON body, or undefined for none. */
  body?: unknown
  /** Aborts the wait for a slot, a retry's wait, and the attempt. */
  signal?: AbortSignal | undefined
  /** Before each retry. */
  onRetry?: ((info: RetryInfo) => void) | undefined
  /** Once a slot was granted, as the first attempt goes out. */
  onSend?: (() => void) | undefined
  /** Bytes undici's body buffers before it stops reading the socket. @defaultValue `16384` */
  bodyHighWaterMark?: number | undefined
}

/** A response with a 2xx status, and the slot it holds until `release()`. */
export interface Sent {
  response: Dispatcher.ResponseData
  /** Frees the concurrency slot; safe to call more than once. */
  release: () => void
}

/** Sends the client's requests (see the module notes). */
export class Transport {
  readonly #apiKey: string | undefined
  /** The API origin, without a trailing slash. */
  readonly baseUrl: string
  /** The per-phase limits. */
  readonly timeouts: ResolvedTimeouts
  /** The retry policy. */
  readonly retry: RetryPolicy
  /** The concurrency slots. */
  readonly slots: Semaphore
  readonly #dispatcher: Dispatcher
  readonly #ownDispatcher: boolean

  constructor(options: ResolvedClientOptions) {
    this.#apiKey = options.apiKey
    this.baseUrl = options.baseUrl
    this.timeouts = options.timeouts
    this.retry = options.retry
    this.slots = new Semaphore(options.maxConcurrent)
    this.#ownDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Agent({ connect: { timeout: options.timeouts.connect } })
  }

  /** True when an API key is configured. */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined
  }

  /** The request headers: user agent, `accept`, JSON content type, and the key. */
  headers(accept: string | undefined, json: boolean): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': `lightning-stream/${VERSION}` }
    if (accept !== undefined) h['accept'] = accept
    if (json) h['content-type'] = 'application/json'
    if (this.#apiKey) h['authorization'] = `Bearer ${this.#apiKey}`
    return h
  }

  /** @throws {@link MissingApiKeyError} when the vendor's host is used without a key. */
  checkKey(): void {
    if (!this.#apiKey && this.baseUrl === DEFAULT_BASE_URL) throw new MissingApiKeyError()
  }

  /** What the WebSocket transport needs: the same slots, policy, limits and headers. */
  connection(): ClientConnection {
    return {
      baseUrl: this.baseUrl,
      headers: () => this.headers(undefined, false),
      slots: this.slots,
      retry: this.retry,
      timeouts: this.timeouts,
    }
  }

  /**
   * Sends a request under the concurrency limit, retrying per the policy before any response was
   * accepted; non-2xx statuses become {@link ApiError}. The slot is held across retries and
   * handed to the caller with the response.
   */
  async send(o: SendOptions): Promise<Sent> {
    const release = await this.slots.acquire(o.signal)
    o.onSend?.()
    try {
      const response = await retrying(this.retry, () => this.#attempt(o), {
        signal: o.signal,
        onRetry: o.onRetry,
        mapAbort: (e) => toLightningError(e, this.timeouts),
      })
      return { response, release }
    } catch (err) {
      release()
      throw err
    }
  }

  /** One HTTP attempt: the headers phase timed here, non-2xx → {@link ApiError}. */
  async #attempt(o: SendOptions): Promise<Dispatcher.ResponseData> {
    // The headers phase is timed here rather than by undici's `headersTimeout`, which its HTTP/1
    // parser does not enforce in every socket state (seen with undici 7.30 on loopback).
    const headersMs = this.timeouts.headers
    const { signal } = o
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal?.reason)
    if (signal?.aborted) controller.abort(signal.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new TimeoutError('headers', headersMs))
    }, headersMs)
    try {
      const response = await request(`${this.baseUrl}${o.path}`, {
        method: o.method,
        headers: this.headers(o.accept, o.body !== undefined),
        body: o.body === undefined ? null : JSON.stringify(o.body),
        signal: controller.signal,
        dispatcher: this.#dispatcher,
        headersTimeout: headersMs,
        bodyTimeout: this.timeouts.idle,
        highWaterMark: o.bodyHighWaterMark ?? 16 * 1024,
      })
      clearTimeout(timer)
      if (response.statusCode < 200 || response.statusCode > 299) throw await apiErrorFrom(response)
      return response
    } catch (err) {
      throw timedOut ? new TimeoutError('headers', headersMs, { cause: err }) : toLightningError(err, this.timeouts)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Closes the dispatcher the client created (a dispatcher passed in is left open). */
  async close(): Promise<void> {
    if (this.#ownDispatcher) await this.#dispatcher.close()
  }
}
