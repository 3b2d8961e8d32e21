/**
 * The emulator's WebSocket route: `ws://…/waves/v1/tts/live`, on the same path as SSE, faithful to
 * `reference/lightning-api.md` §9, served by `ws` on the HTTP server's `'upgrade'` event.
 *
 * - Upgrade: `Authorization: Bearer` checked like the HTTP routes (401 with the vendor's body),
 *   `?timeout=N` (positive integer seconds, else 400), per-key concurrency (429 with
 *   `Retry-After`), and injected upgrade failures (`failStatus`: 401, 429, 5xx).
 * - Messages: the §9.2 fields are validated like the HTTP body (plus `continue`, `flush`,
 *   `max_buffer_flush_ms` 0–1000, `complete_backoff_ms` 0–10000). Text is buffered; `flush: true`
 *   synthesises what is buffered; `continue: false` synthesises the rest and then sends
 *   `complete`, `complete_backoff_ms` after the last chunk (default 4000, as the vendor);
 *   `max_buffer_flush_ms` flushes buffered text that long after it arrived. A whitespace-only
 *   message adds no text (it is the vendor's keep-alive); it resets the idle clock, as any message.
 * - Frames: `chunk` (`data.audio`, base64 PCM, `chunkMs` per frame), `word_timestamp` (with
 *   `word_timestamps: true`, sent just before the chunk where the word starts, so in audio-time
 *   order), `complete`, `error`. Ids: `session_id` per connection, `request_id` per synthesis,
 *   `external_*` echoed when sent.
 * - The tone engine continues its phase across flushes, so a socket's audio equals `renderTone`
 *   of all its text however it was split or flushed, and word times are exact: every character
 *   lasts 60 ms / speed (`toneWords` in `tone.ts`). With another engine each flush is rendered on its own
 *   and word times are spread over the rendered audio in proportion to characters.
 * - Idle timeout (`?timeout`, default 60 s): with no client message and no synthesis running for
 *   that long, the server sends `{"status":"error","message":"Connection timed out after N seconds
 *   of inactivity"}` (the documented flat shape) and closes.
 * - Errors (bad JSON, invalid fields, over-concurrency on a reused socket, injected): an error frame
 *   in the schema's nested shape `{"status":"error","error":{"message","code"}}`, or the flat
 *   `{"status":"error","message"}` with `wsErrorShape: 'flat'`; then the socket closes.
 * - After `complete` the server closes (code 1000), or keeps the socket for another synthesis
 *   with `wsReuse: true` (the vendor's pages contradict each other, §9.6).
 * - Faults (`faults` or the upgrade's `x-emulator-fault` header; chunk indices count chunk frames
 *   on the socket): `dropAfterChunk` (TCP reset), `noTerminator` (close with 1000 instead of
 *   `complete`), `errorFrameAt`, `badBase64At`, `malformedJsonAt`, `stallAfterChunk` + `stallMs`,
 *   `stallBeforeMs`, `failStatus` (upgrade refused).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocketServer, type WebSocket } from 'ws'
import { checkTtsRequest, REQUEST_DEFAULTS, type ResolvedTtsRequest } from '../client/request.js'
import { createToneRenderer, type ToneRenderer } from './tone.js'
import { EMULATOR_VOICES } from './voices.js'
import { FailureCounter, requestFaults, type EmulatorFaults } from './faults.js'
import type { EmulatorStats } from './server.js'
import type { KeyUnits, SpeechEngine } from './synthesis.js'

/** The WebSocket options of `startEmulator`. */
export interface WsEmulatorOptions {
  /** Keep the socket open after `complete` for another synthesis. @defaultValue `false` (close, as the vendor's main pages say) */
  wsReuse?: boolean | undefined
  /**
   * Shape of error frames: `'nested'` (`{status, error: {message, code}}`, the schema's
   * ErrorResponse) or `'flat'` (`{status, message}`). The idle-timeout frame is always flat, as
   * documented. @defaultValue `'nested'`
   */
  wsErrorShape?: 'nested' | 'flat' | undefined
  /** Idle timeout when the client sends no `?timeout`, seconds. @defaultValue `60` */
  wsIdleTimeoutSeconds?: number | undefined
}

/** What the route shares with the HTTP server. @internal */
export interface WsRouteContext extends WsEmulatorOptions {
  keys: Set<string> | undefined
  maxConcurrent: number
  retryAfter: number | null
  engine: SpeechEngine
  chunkMs: number | undefined
  chunkBytes: number | undefined
  realtimeFactor: number
  firstByteDelayMs: number | undefined
  faults: EmulatorFaults | undefined
  stats: EmulatorStats
  events: EventEmitter
  /** The per-key concurrency units the HTTP routes use too. */
  units: KeyUnits
}

const PATH = '/waves/v1/tts/live'
const UPGRADE_BODIES: Record<number, unknown> = {
  400: { error: 'InvalidRequest', message: 'Invalid query: timeout must be a positive integer number of seconds.' },
  401: { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' },
  403: { error: 'Forbidden', message: 'Injected: key not allowed.' },
  404: { error: 'NotFound', message: 'Route not found.' },
  429: { error: 'TooManyRequests', message: 'Concurrency limit reached for this account.' },
  500: { error: 'InternalServerError', message: 'An unexpected error occurred.' },
}
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }
/** Wait for the socket to drain above this many buffered bytes. */
const SEND_HIGH_WATER = 256 * 1024

function refuse(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(UPGRADE_BODIES[status] ?? { error: 'Injected', message: `Injected ${status}` })
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${randomUUID()}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ]
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}

/** Attaches the WebSocket route to `server`. Returns a function that closes every socket. @internal */
export function attachWsRoute(server: Server, ctx: WsRouteContext): () => void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 })
  const failures = new FailureCounter()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    ctx.stats.requests++
    socket.on('error', () => {})
    const url = new URL(req.url ?? '/', 'http://emulator')
    if (url.pathname.replace(/\/+$/, '') !== PATH) return refuse(socket, 404)
    const auth = req.headers['authorization']
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined
    if (ctx.keys && (bearer === undefined || !ctx.keys.has(bearer))) return refuse(socket, 401)
    const key = bearer ?? ''
    const faults: EmulatorFaults = requestFaults(ctx.faults, req.headers['x-emulator-fault'])
    const injected = failures.next(faults)
    if (injected) return refuse(socket, injected, faults.failRetryAfter ? { 'Retry-After': faults.failRetryAfter } : {})
    const t = url.searchParams.get('timeout')
    if (t !== null && !/^[1-9]\d*$/.test(t)) return refuse(socket, 400)
    const timeoutS = t === null ? (ctx.wsIdleTimeoutSeconds ?? 60) : Number(t)
    if (!ctx.units.acquire(key)) return refuse(socket, 429, ctx.retryAfter === null ? {} : { 'Retry-After': String(ctx.retryAfter) })
    wss.handleUpgrade(req, socket, head, (ws) => new Session(ws, ctx, key, faults, timeoutS))
  })
  return () => {
    for (const ws of wss.clients) ws.terminate()
    wss.close()
  }
}

type Group = { text: string; config: ResolvedTtsRequest; final: boolean; backoffMs: number }

/** One WebSocket connection. */
class Session {
  readonly #ws: WebSocket
  readonly #ctx: WsRouteContext
  readonly #key: string
  readonly #faults: EmulatorFaults
  readonly #timeoutS: number
  readonly #sessionId = `ws_${randomUUID()}`
  #holding = true // the per-key unit taken at the upgrade
  #buffer = ''
  #config: ResolvedTtsRequest | undefined
  #groups: Group[] = []
  #working = false
  #closed = false
  #chunkIndex = 0
  #wordId = 0
  #requestId = `task_${randomUUID()}`
  #tone: ToneRenderer | undefined
  #audioSamples = 0 // audio sent in this synthesis, for word times
  #idleTimer: NodeJS.Timeout | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #completed = false
  #ids: Record<string, string> = {} // external ids, sticky for the synthesis once sent

  constructor(ws: WebSocket, ctx: WsRouteContext, key: string, faults: EmulatorFaults, timeoutS: number) {
    this.#ws = ws
    this.#ctx = ctx
    this.#key = key
    this.#faults = faults
    this.#timeoutS = timeoutS
    ws.on('message', (data, isBinary) => this.#onMessage(isBinary ? null : data.toString()))
    ws.on('close', () => this.#onClose())
    ws.on('error', () => {})
    this.#armIdle()
  }

  #onClose(): void {
    this.#closed = true
    this.#working = false
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    if (this.#flushTimer) clearTimeout(this.#flushTimer)
    if (!this.#completed) this.#ctx.stats.clientAborts++
    this.#releaseUnit()
    this.#ctx.events.emit('request-closed', { at: performance.now(), completed: this.#completed, route: 'websocket' })
  }

  #releaseUnit(): void {
    if (!this.#holding) return
    this.#holding = false
    this.#ctx.units.release(this.#key)
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    if (this.#closed || this.#working) return
    this.#idleTimer = setTimeout(() => {
      this.#sendJson({ status: 'error', message: `Connection timed out after ${this.#timeoutS} seconds of inactivity` })
      this.#close(1000)
    }, this.#timeoutS * 1000)
    this.#idleTimer.unref()
  }

  #sendJson(frame: Record<string, unknown>): void {
    if (this.#closed) return
    this.#ws.send(JSON.stringify(frame))
    this.#ctx.stats.framesWritten++
  }

  /** An error frame in the configured shape, then close. */
  #error(message: string, code: string, closeCode = 1011): void {
    const frame = this.#ctx.wsErrorShape === 'flat' ? { status: 'error', message } : { status: 'error', error: { message, code } }
    this.#sendJson({ session_id: this.#sessionId, request_id: this.#requestId, ...frame })
    this.#close(closeCode)
  }

  #onMessage(text: string | null): void {
    if (this.#closed) return
    this.#armIdle()
    if (text === null) return this.#error('Binary frames are not supported; send JSON text.', '400', 1003)
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch {
      return this.#error('Message is not valid JSON.', '400', 1007)
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return this.#error('Message must be a JSON object.', '400', 1007)
    const m = msg as Record<string, unknown>
    this.#ctx.events.emit('ws-message', m)
    const { continue: cont, flush, max_buffer_flush_ms: mbf, complete_backoff_ms: cb, output_format: _of, ...fields } = m
    const raw = typeof fields['text'] === 'string' ? (fields['text'] as string) : undefined
    const issues = checkTtsRequest({ ...fields, text: raw !== undefined && raw.trim() === '' ? '-' : fields['text'] }, { unknownFields: 'strip' })
    if (!issues.length && !EMULATOR_VOICES.some((v) => v.voiceId === fields['voice_id'])) issues.push({ code: 'custom', path: ['voice_id'], message: 'Invalid Voice ID' })
    for (const [name, v] of [['continue', cont], ['flush', flush]] as const) {
      if (v !== undefined && typeof v !== 'boolean') issues.push({ code: 'invalid_type', path: [name], message: `${name} must be a boolean` })
    }
    if (mbf !== undefined && (typeof mbf !== 'number' || !Number.isInteger(mbf) || mbf < 0 || mbf > 1000)) issues.push({ code: 'custom', path: ['max_buffer_flush_ms'], message: 'max_buffer_flush_ms must be an integer from 0 to 1000' })
    if (cb !== undefined && (typeof cb !== 'number' || !Number.isFinite(cb) || cb < 0 || cb > 10000)) issues.push({ code: 'custom', path: ['complete_backoff_ms'], message: 'complete_backoff_ms must be a number from 0 to 10000' })
    const first = issues[0]
    if (first) return this.#error(`${first.path.join('.')}: ${first.message}`, '400', 1008)
    if (!this.#holding) {
      // A new synthesis on a reused socket takes a unit again.
      if (!this.#ctx.units.acquire(this.#key)) return this.#error(`Concurrency limit of ${this.#ctx.maxConcurrent} reached for this account.`, '429', 1013)
      this.#holding = true
      this.#completed = false
      this.#requestId = `task_${randomUUID()}`
      this.#ids = {}
      this.#tone = undefined
      this.#wordId = 0
      this.#audioSamples = 0
    }
    const config = { ...REQUEST_DEFAULTS, sample_rate: 44100, ...fields, text: '' } as ResolvedTtsRequest
    this.#config = config
    if (typeof fields['session_id'] === 'string') this.#ids['external_session_id'] = fields['session_id']
    if (typeof fields['request_id'] === 'string') this.#ids['external_request_id'] = fields['request_id']
    if (raw && raw.trim()) this.#buffer += raw
    const final = cont !== true
    if (flush === true || final) this.#cut(final, typeof cb === 'number' ? cb : 4000)
    else if (typeof mbf === 'number' && mbf > 0 && this.#buffer && !this.#flushTimer) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined
        if (this.#buffer) this.#cut(false, 0)
      }, mbf)
      this.#flushTimer.unref()
    }
  }

  /** Moves the buffered text into a synthesis group. */
  #cut(final: boolean, backoffMs: number): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    const config = this.#config
    if (!config) return
    this.#groups.push({ text: this.#buffer, config, final, backoffMs })
    this.#buffer = ''
    if (!this.#working) void this.#work()
  }

  async #work(): Promise<void> {
    this.#working = true
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    try {
      let group: Group | undefined
      while ((group = this.#groups.shift()) && !this.#closed) {
        await this.#synthesise(group)
        if (group.final && !this.#closed) await this.#complete(group.backoffMs)
      }
    } catch {
      if (!this.#closed) this.#error('An unexpected error occurred.', '500')
    } finally {
      this.#working = false
      this.#armIdle()
    }
  }

  /** Resolves when the TCP socket under the WebSocket drains (or closes): the client reads slowly. */
  #drained(): Promise<void> {
    const socket = (this.#ws as unknown as { _socket?: NodeJS.EventEmitter })._socket
    if (!socket) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done)
        socket.off('close', done)
        resolve()
      }
      socket.on('drain', done)
      socket.on('close', done)
    })
  }

  /** Closes with `code`; nothing more is sent. */
  #close(code: number): void {
    if (this.#closed) return
    this.#closed = true
    this.#ws.close(code)
  }

  async #complete(backoffMs: number): Promise<void> {
    if (backoffMs > 0) await sleep(backoffMs)
    if (this.#closed) return
    if (this.#faults.noTerminator) {
      this.#close(1000)
      return
    }
    this.#sendJson({ session_id: this.#sessionId, request_id: this.#requestId, ...this.#external(), status: 'complete' })
    this.#completed = true
    this.#releaseUnit()
    if (!this.#ctx.wsReuse) this.#close(1000)
  }

  #external(): Record<string, unknown> {
    return { ...this.#ids }
  }

  async #synthesise(group: Group): Promise<void> {
    const { config, text } = group
    if (!text.trim()) return
    const faults = this.#faults
    const ctx = this.#ctx
    if (this.#chunkIndex === 0) {
      const delay = (ctx.firstByteDelayMs ?? 0) + (faults.stallBeforeMs ?? 0)
      if (delay) await sleep(delay)
    }
    const rate = config.sample_rate
    const base = this.#audioSamples
    let pcm: Buffer
    let samplesPerChar: number
    if (ctx.engine.name === 'tone') {
      this.#tone ??= createToneRenderer(config)
      pcm = this.#tone.render(text)
      samplesPerChar = this.#tone.segmentSamples
    } else {
      pcm = await ctx.engine.render({ ...config, text })
      samplesPerChar = pcm.length / 2 / ([...text].length || 1)
    }
    // Times from sample counts, so the tone engine's are exactly `toneWords`' (chars × samples / rate).
    let words = wordSpans(text).map((w) => ({ word: w.word, start: (base + w.from * samplesPerChar) / rate, end: (base + w.to * samplesPerChar) / rate }))
    if (!config.word_timestamps) words = []
    const bytesPerChunk = ctx.chunkBytes ?? Math.max(2, Math.round((rate * (ctx.chunkMs ?? 20)) / 1000) * 2)
    const started = performance.now()
    let sentMs = 0
    let w = 0
    const head = { session_id: this.#sessionId, request_id: this.#requestId, ...this.#external() }
    for (let off = 0; off < pcm.length; off += bytesPerChunk) {
      if (this.#closed) return
      const chunk = pcm.subarray(off, off + bytesPerChunk)
      if (Number.isFinite(ctx.realtimeFactor)) {
        const due = started + sentMs / ctx.realtimeFactor - performance.now()
        if (due > 1) await sleep(due)
        if (this.#closed) return
      }
      const k = this.#chunkIndex++
      const chunkEnd = (base + (off + chunk.length) / 2) / rate
      // Words that start within this chunk go just before it.
      while (w < words.length && (words[w] as { start: number }).start < chunkEnd) {
        const word = words[w++] as { word: string; start: number; end: number }
        this.#sendJson({ ...head, status: 'word_timestamp', data: { id: this.#wordId++, word: word.word, start: word.start, end: word.end } })
      }
      if (k === faults.errorFrameAt) return this.#error('Injected synthesis failure', '500')
      let frame: string
      if (k === faults.malformedJsonAt) frame = '{"status":"chunk","data":{"audio":"AAAA"'
      else if (k === faults.badBase64At) frame = JSON.stringify({ ...head, status: 'chunk', data: { audio: 'AA!*AA==' } })
      else frame = JSON.stringify({ ...head, status: 'chunk', data: { audio: chunk.toString('base64') } })
      this.#ws.send(frame)
      ctx.stats.framesWritten++
      sentMs += (chunk.length / 2 / rate) * 1000
      if (this.#ws.bufferedAmount > SEND_HIGH_WATER) {
        ctx.stats.blockedWrites++
        await this.#drained()
      }
      if (k === faults.dropAfterChunk) {
        // Let what was written reach the client, then reset the TCP connection (no close frame).
        const socket = (this.#ws as unknown as { _socket?: { end(): void; destroySoon?: () => void } })._socket
        if (socket?.destroySoon) socket.destroySoon()
        else this.#ws.terminate()
        this.#closed = true
        return
      }
      if (k === faults.stallAfterChunk) await sleep(faults.stallMs ?? 1000)
    }
    this.#audioSamples = base + pcm.length / 2
  }
}

/** The words of `text` (maximal runs of non-space characters) with their code-point offsets. */
function wordSpans(text: string): { word: string; from: number; to: number }[] {
  const out: { word: string; from: number; to: number }[] = []
  let chars = 0
  let last = 0
  for (const m of text.matchAll(/\S+/gu)) {
    chars += [...text.slice(last, m.index)].length
    const len = [...m[0]].length
    out.push({ word: m[0], from: chars, to: chars + len })
    chars += len
    last = (m.index ?? 0) + m[0].length
  }
  return out
}
