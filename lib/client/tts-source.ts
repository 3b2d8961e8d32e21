import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { AbortError, LightningStreamError, TimeoutError, type AudioDelivered, type ResponseIds } from '../errors.js'
import { flatHeaders, responseIds, toLightningError } from './http.js'
import type { RetryInfo } from './retry.js'
import type { TtsTimeline } from '../metrics/metrics.js'

/** Largest piece taken from the HTTP body at once, and this stream's high-water mark. */
const PULL_BYTES = 16 * 1024
/** How long the body may take to end after the terminator before its connection is closed, ms. */
const COMPLETE_GRACE_MS = 100

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
  /** Records requestSent, responseHeaders, firstSseByte (and, with `decoder`, the first audio). */
  timeline?: TtsTimeline | undefined
  /**
   * Decodes the body's bytes as they arrive: the stream then carries what this returns (PCM)
   * instead of the raw bytes. `LightningClient.pcm()`'s fused path (issue 16).
   */
  decoder?: BodyDecoder | undefined
}

/**
 * A synchronous bytes-in, audio-out core that {@link TtsSource} runs on each network chunk (the
 * fused SSE → PCM core, `createSsePcmDecoder`, behind `LightningClient.pcm()`). @internal
 */
export interface BodyDecoder {
  /** Decodes one network chunk. May throw a coded error, or return audio and set `failure`. */
  push(chunk: Buffer): Buffer | null
  /** Ends the input (throws on truncation). */
  flush(): Buffer | null
  /** True once the terminator was decoded: the response is complete. */
  readonly done: boolean
  /** The error that stopped decoding, once there is one. */
  readonly failure: LightningStreamError | undefined
  /** Audio delivered so far, for errors. */
  delivered(): AudioDelivered
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
  readonly #decoder: BodyDecoder | undefined
  #ended = false
  #audioOut = false
  /** Response details, once headers arrived. */
  response: TtsResponseInfo | undefined

  /** @internal */
  constructor(init: TtsSourceInit) {
    super({ highWaterMark: PULL_BYTES })
    this.#init = init
    this.#decoder = init.decoder
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

  /** Fails now, or (deferFailure, after body bytes arrived) ends cleanly keeping the error. */
  #fail(err: LightningStreamError): void {
    if (this.destroyed || this.#failure || this.#ended) return
    if (this.#decoder) {
      // Decode what undici still holds, then fail with the cause and how much audio got through.
      this.#failure = err
      const body = this.#body
      let chunk: Buffer | null
      while (body && !this.destroyed && (chunk = body.read() as Buffer | null) !== null) this.#decodeChunk(chunk)
      if (!this.destroyed) this.destroy(err)
      return
    }
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
    if (this.#decoder) this.#body?.resume()
    else this.#drain()
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
    if (this.#decoder) {
      this.#flowDecoded(body)
      return
    }
    body.on('readable', () => this.#drain())
    body.on('end', () => {
      if (this.#idleTimer) clearTimeout(this.#idleTimer)
      if (!this.#failure) this.push(null)
    })
    body.on('error', (err) => this.#fail(toLightningError(err, this.#init.timeouts)))
    this.emit('response', this.response)
    this.#drain()
  }

  #drain(): void {
    const body = this.#body
    if (!body || this.destroyed || this.#failure) return
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

  // ---- fused path (LightningClient.pcm(), issue 16): the body's chunks straight into the decoder ----

  /**
   * Reads the body in flowing mode, one network chunk per `'data'`, each decoded at once into one
   * PCM Buffer. A full buffer here pauses the body (undici then stops reading the socket above
   * its own 16 KiB mark); `_read` resumes it.
   */
  #flowDecoded(body: Dispatcher.ResponseData['body']): void {
    body.on('data', (chunk: Buffer) => this.#decodeChunk(chunk))
    body.on('end', () => {
      if (this.#idleTimer) clearTimeout(this.#idleTimer)
      if (this.#failure || this.destroyed || this.#ended) return
      const decoder = this.#decoder as BodyDecoder
      try {
        this.#pushDecoded(decoder.flush())
        if (decoder.failure) throw decoder.failure
      } catch (err) {
        this.destroy(err as Error)
        return
      }
      this.#ended = true
      this.push(null)
    })
    body.on('error', (err) => this.#fail(toLightningError(err, this.#init.timeouts)))
    this.emit('response', this.response)
    if (!this.#wantMore) body.pause()
  }

  #decodeChunk(chunk: Buffer): void {
    if (this.destroyed || this.#ended) return
    if (this.#bytesRead === 0) this.#init.timeline?.mark('firstSseByte')
    this.#bytesRead += chunk.length
    this.#lastData = performance.now()
    const decoder = this.#decoder as BodyDecoder
    try {
      this.#pushDecoded(decoder.push(chunk))
      if (decoder.failure) throw decoder.failure
      if (decoder.done) this.#complete()
    } catch (err) {
      this.destroy(err as Error)
    }
  }

  #pushDecoded(pcm: Buffer | null): void {
    if (pcm === null || pcm.length === 0) return
    if (!this.#audioOut) {
      this.#audioOut = true
      this.#init.timeline?.mark('firstAudioEvent')
      this.#init.timeline?.mark('firstPcmByte')
    }
    if (!this.push(pcm)) {
      this.#wantMore = false
      this.#body?.pause()
    }
  }

  /**
   * The terminator arrived: end now and free the concurrency slot. Bytes after the terminator are
   * not decoded. The body is read to its end for up to {@link COMPLETE_GRACE_MS}, so the socket
   * stays in the pool for the next request (the response's last chunk usually follows the
   * terminator at once; a new TLS connection would cost the next request ~100 ms); a server that
   * keeps the response open longer has its connection closed then.
   */
  #complete(): void {
    const decoder = this.#decoder as BodyDecoder
    this.#pushDecoded(decoder.flush()) // throws on a trailing half sample
    if (decoder.failure) throw decoder.failure
    this.#ended = true
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    const body = this.#body
    if (body && !body.readableEnded) {
      const grace = setTimeout(() => body.destroy(), COMPLETE_GRACE_MS)
      grace.unref()
      body.once('close', () => clearTimeout(grace))
      body.resume()
    }
    this.#release?.()
    this.emit('done')
    this.push(null)
  }

  // ---- end of the fused path ----

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
      if (!body || this.destroyed || this.#failure || body.readableEnded) return
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
    // With a decoder, errors (a dropped socket, an abort, a timeout) say how much audio got through.
    if (this.#decoder && error instanceof LightningStreamError && error.delivered === undefined) error.delivered = this.#decoder.delivered()
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    if (this.#onAbort) this.#init.signal?.removeEventListener('abort', this.#onAbort)
    const body = this.#body
    if (body && !body.readableEnded && !this.#ended) body.destroy() // after the terminator, #complete() owns it
    if (!this.#release) this.#controller.abort(new AbortError()) // request still in flight
    this.#release?.()
    callback(error)
  }
}
