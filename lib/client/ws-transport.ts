/**
 * The WebSocket transport of {@link TextToSpeechStream}: one synthesis over
 * `wss://…/waves/v1/tts/live` (`reference/lightning-api.md` §9), with the connection's whole life
 * here: lazy connect, auth, retry before the first audio, keep-alive, the client's idle timeout,
 * receive backpressure, lazy reconnect between utterances, and barge-in.
 *
 * Why `ws` and not undici's WebSocket: a slow sink must slow the socket. undici 7's `WebSocket`
 * delivers every message as an event with no way to stop reading, and its `WebSocketStream`
 * enqueues every message into its ReadableStream without looking at `desiredSize` (its source marks
 * "Apply backpressure" as TODO, undici 7.30). `ws` has `pause()`/`resume()`, which stop and restart
 * reading the TCP socket, so TCP flow control reaches the server.
 *
 * Lifecycle (see the module notes of `ws-protocol.ts` for the messages):
 * - The concurrency slot is taken at the first text and held until `complete`, a failure or
 *   `close()`, across reconnects: the limiter counts open syntheses.
 * - The upgrade is retried like an SSE request before its response: connect errors, handshake
 *   timeouts, 429 and 5xx (`Retry-After` honoured). 401/403 fail at once as {@link ApiError}.
 * - Audio is **owed** when a flush or the end of input was sent and no audio has arrived since, or
 *   the end was sent and `complete` has not arrived. The client's idle timeout (`timeouts.idle`)
 *   runs only then, and never while the consumer holds the socket paused: a pause in the model's
 *   output is not an error.
 * - Keep-alive: when nothing was sent for `keepAliveMs` (default half the server's idle timeout),
 *   a one-space `continue` message is sent, so a model that thinks for a while does not lose the
 *   socket to the server's idle timeout.
 * - A socket lost while audio is owed or within {@link QUIET_MS} of the last audio frame fails the
 *   stream ({@link StreamTruncatedError}). Lost otherwise (between utterances: the server's idle
 *   timeout, a proxy closing a quiet socket), it is reopened lazily at the next text; text of an
 *   unfinished sentence that it held (sent since the last flush, so never synthesised) is sent
 *   again on a new socket at once. With `max_buffer_flush_ms` set the server may have spoken part
 *   of it, so that case fails instead. The vendor's clock restarts on the new socket, so word
 *   times are offset by the audio delivered before it.
 * - `close()` (barge-in) terminates the TCP connection at once, without a closing handshake.
 *
 * @module
 */
import { WebSocket, type RawData } from 'ws'
import type { IncomingMessage, ClientRequest } from 'node:http'
import {
  AbortError,
  ApiError,
  ChunkError,
  ConnectionError,
  ServerStreamError,
  StreamTruncatedError,
  TimeoutError,
  type AudioDelivered,
  type LightningStreamError,
} from '../errors.js'
import { MAX_ERROR_BODY, errorDetails, responseIds, toLightningError } from './responses.js'
import { retrying, type RetryInfo, type RetryPolicy } from './retry.js'
import type { Semaphore } from './semaphore.js'
import { createSentenceSegmenter, type SentenceSegmenter } from '../text/sentence-segmenter.js'
import { parseWsFrame, wsMessage, wsUrl, type ResolvedStreamTextRequest, type WordTimestamp } from './ws-protocol.js'
import type { PcmProducer, PcmSink } from './pcm-stream.js'

/**
 * A socket that closes within this many ms of the last audio frame is treated as lost mid-audio
 * (a truncation), not between utterances.
 */
export const QUIET_MS = 2000

/** Largest frame accepted from the server (a 20 ms chunk is ~1.3 KB of base64). */
const MAX_PAYLOAD = 16 * 1024 * 1024

/** What a transport reports to its stream: a {@link PcmSink}, plus words. @internal */
export interface TransportHooks extends PcmSink {
  /** A word, times already in seconds from the start of the stream. */
  word(word: WordTimestamp): void
}

/** The interface both text transports implement: a {@link PcmProducer} that takes text. @internal */
export interface SynthesisTransport extends PcmProducer {
  /** A fragment of text (never whitespace-only: the stream carries whitespace forward). */
  text(fragment: string): void
  /** Synthesise what was sent so far. */
  flush(): void
  /** End of input. */
  end(): void
}

/** What a connection needs from the client (never the key itself: a header function). @internal */
export interface ClientConnection {
  baseUrl: string
  headers: () => Record<string, string>
  slots: Semaphore
  retry: RetryPolicy
  timeouts: { connect: number; idle: number }
}

/** Everything the WebSocket transport needs. @internal */
export interface WsTransportInit extends ClientConnection {
  config: ResolvedStreamTextRequest
  /** Flush at every sentence end the segmenter decides. */
  autoFlush: boolean
  /** Segment cap for auto flush, characters. */
  maxChars?: number | undefined
  /** Keep-alive period, ms, or `false`. */
  keepAliveMs: number | false
  /** `?timeout=` seconds sent to the server. */
  serverTimeoutSeconds: number
}

/** Reads a refused upgrade's body (at most {@link MAX_ERROR_BODY}) into an {@link ApiError}. */
function upgradeError(res: IncomingMessage): Promise<ApiError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8')
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // Not JSON: keep the text.
      }
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
      resolve(new ApiError({ status: res.statusCode ?? 0, body, details: errorDetails(body), headers, ids: responseIds(headers) }))
    }
    res.on('data', (c: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(c)
      size += c.length
    })
    res.once('end', done)
    res.once('error', done)
    res.once('aborted', done)
  })
}

/** The WebSocket transport. @internal */
export class WsTransport implements SynthesisTransport {
  readonly #init: WsTransportInit
  readonly #hooks: TransportHooks
  readonly #url: string
  readonly #segmenter: SentenceSegmenter | undefined
  readonly #abort = new AbortController()
  #ws: WebSocket | undefined
  #connecting: Promise<void> | undefined
  #release: (() => void) | undefined
  #outbox: string[] = []
  #closed = false
  #ended = false
  #paused = false
  // Text positions, for auto flush: characters given to text(), and the end of decided sentences.
  #received = 0
  #decided = 0
  #unflushed = false
  /** Text sent since the last flush: never synthesised, so it can be sent again on a new socket. */
  #unspoken: string[] = []
  #awaitingAudio = false
  #owedSince = 0
  #lastFrameAt = 0
  #lastChunkAt = -Infinity
  #lastSentAt = 0
  #frames = 0
  #wordIndex = 0
  #sockets = 0
  #offsetSeconds = 0
  #idleTimer: NodeJS.Timeout | undefined
  #keepAliveTimer: NodeJS.Timeout | undefined

  constructor(init: WsTransportInit, hooks: TransportHooks) {
    this.#init = init
    this.#hooks = hooks
    this.#url = wsUrl(init.baseUrl, init.serverTimeoutSeconds)
    this.#segmenter = init.autoFlush ? createSentenceSegmenter({ maxChars: init.maxChars }) : undefined
  }

  text(fragment: string): void {
    if (this.#closed) return
    const start = this.#received
    this.#received += fragment.length
    let sent = 0 // characters of `fragment` already sent
    const boundaries: number[] = []
    if (this.#segmenter) {
      for (const seg of this.#segmenter.push(fragment)) {
        this.#decided += seg.length
        boundaries.push(this.#decided)
      }
    }
    for (const b of boundaries) {
      const upTo = Math.max(0, Math.min(fragment.length, b - start))
      const part = fragment.slice(sent, upTo)
      // A whitespace-only part before a boundary rides with the text after it.
      if (part.trim()) {
        this.#send('text', part)
        sent = upTo
      }
      if (this.#unflushed) this.#send('flush')
    }
    const rest = fragment.slice(sent)
    if (rest) this.#send('text', rest)
  }

  flush(): void {
    if (this.#closed || !this.#unflushed) return
    this.#segmenter?.flush()
    this.#decided = this.#received
    this.#send('flush')
  }

  end(): void {
    if (this.#closed || this.#ended) return
    this.#ended = true
    if (!this.#connecting && !this.#ws && (this.#sockets === 0 || !this.#unflushed)) {
      // No text was ever sent, or the socket was let go between utterances with nothing owed:
      // there is nothing left to synthesise.
      this.#finish()
      this.#hooks.complete()
      return
    }
    this.#send('end')
  }

  pause(): void {
    this.#paused = true
    this.#ws?.pause()
  }

  resume(): void {
    this.#paused = false
    this.#ws?.resume()
    this.#armIdle()
  }

  /** Nothing to do: the socket is paused and resumed by the high and low marks. */
  drained(): void {}

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#abort.abort(new AbortError())
    this.#finish()
  }

  /** Clears timers, terminates the socket and frees the slot. */
  #finish(): void {
    this.#closed = true
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    if (this.#keepAliveTimer) clearInterval(this.#keepAliveTimer)
    this.#idleTimer = this.#keepAliveTimer = undefined
    const ws = this.#ws
    this.#ws = undefined
    if (ws) {
      ws.removeAllListeners('message').removeAllListeners('close')
      ws.on('error', () => {})
      ws.terminate()
    }
    this.#outbox = []
    this.#release?.()
    this.#release = undefined
  }

  #fail(err: LightningStreamError): void {
    if (this.#closed) return
    this.#finish()
    this.#hooks.fail(err)
  }

  #send(kind: 'text' | 'flush' | 'end' | 'keepalive', text = ''): void {
    if (kind === 'text') {
      this.#unflushed = true
      this.#unspoken.push(text)
    }
    if (kind === 'flush' || kind === 'end') {
      this.#unflushed = false
      this.#unspoken = []
      this.#awaitingAudio = true
      this.#owedSince = performance.now()
    }
    const msg = wsMessage(this.#init.config, kind, text)
    const ws = this.#ws
    if (ws && ws.readyState === WebSocket.OPEN) {
      this.#lastSentAt = performance.now()
      ws.send(msg)
      if (kind !== 'keepalive') this.#armIdle()
      return
    }
    if (kind === 'keepalive') return
    this.#outbox.push(msg)
    if (!this.#connecting) this.#connecting = this.#connect().finally(() => (this.#connecting = undefined))
  }

  async #connect(): Promise<void> {
    try {
      this.#release ??= await this.#init.slots.acquire(this.#abort.signal)
      const ws = await retrying(this.#init.retry, () => this.#open(), {
        signal: this.#abort.signal,
        onRetry: (info) => this.#hooks.emit('retry', info),
        mapAbort: (e) => toLightningError(e, this.#init.timeouts),
      })
      if (this.#closed) {
        ws.terminate()
        return
      }
      this.#attach(ws)
    } catch (err) {
      if (this.#closed) return
      this.#fail(toLightningError(err, this.#init.timeouts))
    }
  }

  /** One upgrade attempt. */
  #open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      if (this.#abort.signal.aborted) return reject(new AbortError())
      const connectMs = this.#init.timeouts.connect
      const ws = new WebSocket(this.#url, {
        headers: this.#init.headers(),
        handshakeTimeout: connectMs,
        perMessageDeflate: false,
        maxPayload: MAX_PAYLOAD,
        followRedirects: false,
      })
      const onAbort = () => {
        ws.on('error', () => {})
        ws.terminate()
        reject(new AbortError())
      }
      this.#abort.signal.addEventListener('abort', onAbort, { once: true })
      const settle = () => this.#abort.signal.removeEventListener('abort', onAbort)
      ws.once('open', () => {
        settle()
        ws.removeAllListeners('error')
        resolve(ws)
      })
      ws.once('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
        settle()
        upgradeError(res).then((err) => {
          ws.on('error', () => {})
          req.destroy()
          reject(err)
        }, reject)
      })
      ws.once('error', (err: Error) => {
        settle()
        reject(/handshake has timed out/i.test(err.message) ? new TimeoutError('connect', connectMs, { cause: err }) : new ConnectionError(`WebSocket connection failed: ${err.message}`, { cause: err }))
      })
    })
  }

  #attach(ws: WebSocket): void {
    this.#ws = ws
    this.#sockets++
    if (this.#sockets > 1) {
      this.#offsetSeconds = this.#hooks.received().bytes / this.#hooks.bytesPerSecond
      this.#hooks.emit('reconnect', { reconnects: this.#sockets - 1, offsetSeconds: this.#offsetSeconds })
    }
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(ws, data, isBinary))
    ws.on('close', () => this.#onClose(ws))
    ws.on('error', () => {}) // 'close' follows every error
    if (this.#paused) ws.pause()
    const out = this.#outbox
    this.#outbox = []
    this.#lastSentAt = performance.now()
    // A flush or end queued while connecting is owed from now, when it is actually sent.
    if (out.length) this.#owedSince = this.#lastSentAt
    for (const msg of out) ws.send(msg)
    this.#hooks.mark('requestSent')
    this.#armIdle()
    const keepAlive = this.#init.keepAliveMs
    if (keepAlive !== false && !this.#keepAliveTimer) {
      this.#keepAliveTimer = setInterval(() => {
        if (!this.#ended && this.#ws?.readyState === WebSocket.OPEN && performance.now() - this.#lastSentAt >= keepAlive * 0.9) this.#send('keepalive')
      }, keepAlive)
      this.#keepAliveTimer.unref()
    }
  }

  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.#ws || this.#closed) return
    const index = this.#frames++
    this.#lastFrameAt = performance.now()
    this.#hooks.mark('firstFrame')
    if (isBinary) {
      this.#fail(new ChunkError('ERR_CHUNK_INVALID', index, 'binary WebSocket frame (the protocol sends JSON text)', { delivered: this.#hooks.received() }))
      return
    }
    let frame
    try {
      frame = parseWsFrame(data.toString(), index, () => this.#hooks.received())
    } catch (err) {
      this.#fail(err as LightningStreamError)
      return
    }
    switch (frame.type) {
      case 'chunk':
        this.#awaitingAudio = false
        this.#lastChunkAt = this.#lastFrameAt
        this.#hooks.audio(frame.audio)
        break
      case 'word': {
        // The vendor's `id` restarts per request; the stream numbers its words itself.
        const w = frame.word
        const o = this.#offsetSeconds
        this.#hooks.word({ word: w.word, start: w.start + o, end: w.end + o, index: this.#wordIndex++ })
        break
      }
      case 'complete':
        if (this.#ended) {
          this.#finish()
          this.#hooks.complete()
        } else {
          // The server ended this synthesis while input goes on (a server that completes per
          // flush): expect a close, reconnect at the next text.
          this.#retire(ws)
        }
        break
      case 'error': {
        // The server's idle timeout says itself that nothing was in flight for its whole period.
        const idle = /inactivity|timed out/i.test(frame.message ?? '')
        if (idle && !this.#owed(false)) {
          this.#retire(ws)
          break
        }
        this.#fail(
          new ServerStreamError({ chunkIndex: index, status: 'error', message: frame.message, frame: frame.frame, delivered: this.#hooks.received() }),
        )
        break
      }
      case 'other':
        break
    }
    this.#armIdle()
  }

  /**
   * Audio or text the current socket still owes: the end or a flush awaits audio, text sent since
   * the last flush is unspoken, or (with `recent`) audio arrived within {@link QUIET_MS}.
   */
  #owed(recent = true): boolean {
    return this.#ended || this.#awaitingAudio || (this.#unflushed && !this.#replayable()) || (recent && performance.now() - this.#lastChunkAt < QUIET_MS)
  }

  /**
   * Text sent since the last flush can be sent again on a new socket when the server could not
   * have synthesised any of it: no time-based flushing (`max_buffer_flush_ms` unset or 0).
   */
  #replayable(): boolean {
    return !this.#init.config.max_buffer_flush_ms
  }

  /**
   * Lets a socket go between utterances. The next text reconnects; text of an unfinished sentence
   * that the lost socket held (never synthesised) is sent again on a new socket at once.
   */
  #retire(ws: WebSocket): void {
    if (ws !== this.#ws) return
    this.#ws = undefined
    ws.removeAllListeners('message').removeAllListeners('close')
    ws.on('error', () => {})
    ws.close()
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    if (this.#unspoken.length && !this.#closed) {
      this.#outbox = [...this.#unspoken.map((t) => wsMessage(this.#init.config, 'text', t)), ...this.#outbox]
      if (!this.#connecting) this.#connecting = this.#connect().finally(() => (this.#connecting = undefined))
    }
  }

  #onClose(ws: WebSocket): void {
    if (ws !== this.#ws || this.#closed) return
    if (this.#owed()) {
      this.#fail(new StreamTruncatedError(this.#hooks.received()))
      return
    }
    this.#retire(ws)
  }

  /**
   * Arms the client's idle timeout while audio is owed: a flush or the end was sent, and nothing
   * arrived for `timeouts.idle` ms since (never while paused by backpressure).
   */
  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    if (this.#closed || !this.#ws || this.#paused) return
    if (!this.#awaitingAudio && !this.#ended) return
    // After the end of input the server waits complete_backoff_ms after the last chunk: not a stall.
    const idle = this.#init.timeouts.idle + (this.#ended ? this.#init.config.complete_backoff_ms : 0)
    const since = Math.max(this.#lastFrameAt, this.#owedSince)
    const wait = Math.max(1, since + idle - performance.now())
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined
      if (this.#closed || this.#paused || (!this.#awaitingAudio && !this.#ended)) return
      if (performance.now() - Math.max(this.#lastFrameAt, this.#owedSince) >= idle) {
        const err = new TimeoutError('idle', this.#init.timeouts.idle, { delivered: this.#hooks.received() })
        this.#fail(err)
      } else this.#armIdle()
    }, wait)
    this.#idleTimer.unref()
  }
}
