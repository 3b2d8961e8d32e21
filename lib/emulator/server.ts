/**
 * A local Lightning-compatible server: same routes, validation, error bodies, headers and SSE
 * framing as the vendor (`reference/lightning-api.md`), with deterministic speech, so tests,
 * benchmarks, examples and the CLI run offline. The WebSocket route (§9) lives in `ws-route.ts`.
 * @module
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setImmediate as setImmediateP, setTimeout as sleep } from 'node:timers/promises'
import { checkTtsRequest, REQUEST_DEFAULTS, type ResolvedTtsRequest } from '../client/request.js'
import { InvalidOptionError, type RequestIssue } from '../errors.js'
import { encodeG711 } from '../audio/g711.js'
import { wavHeader } from '../audio/wav-header.js'
import { renderTone } from './tone.js'
import { EMULATOR_VOICES } from './voices.js'
import { attachWsRoute, type WsEmulatorOptions } from './ws-route.js'

/** Produces the PCM (s16le mono at `request.sample_rate`) for a request. */
export interface SpeechEngine {
  /** Engine name, for logs. */
  readonly name: string
  /** Renders the whole utterance. */
  render(request: ResolvedTtsRequest): Buffer | Promise<Buffer>
}

/** The deterministic tone engine (see {@link renderTone}). */
export const toneEngine: SpeechEngine = { name: 'tone', render: (req) => renderTone(req) }

/** Options of {@link startEmulator}; the `ws…` fields ({@link WsEmulatorOptions}) shape the WebSocket route. */
export interface EmulatorOptions extends WsEmulatorOptions {
  /** Interface to bind. @defaultValue `'127.0.0.1'` (loopback only) */
  host?: string | undefined
  /** Port; 0 picks a free one. @defaultValue `0` */
  port?: number | undefined
  /** When set, requests must carry `Authorization: Bearer <one of these>`; otherwise auth is not checked. */
  apiKey?: string | string[] | undefined
  /** Synthesis requests in flight per key before 429. @defaultValue `1` (the vendor's default account) */
  maxConcurrent?: number | undefined
  /** `Retry-After` seconds on 429; `null` omits the header. @defaultValue `1` */
  retryAfter?: number | null | undefined
  /** Audio per SSE chunk frame, in ms. @defaultValue `20` */
  chunkMs?: number | undefined
  /** Audio bytes per chunk frame (overrides `chunkMs`; may be odd, to split samples). */
  chunkBytes?: number | undefined
  /** Synthesis speed as a multiple of realtime; `Infinity` sends as fast as the socket allows. @defaultValue `Infinity` */
  realtimeFactor?: number | undefined
  /** Delay before the response headers, in ms. @defaultValue `0` */
  firstByteDelayMs?: number | undefined
  /** 400 body shape: the live server's zod issues, or the documented `{error, message}`. @defaultValue `'zod'` */
  errorShape?: 'zod' | 'documented' | undefined
  /** Chunk frame shape: current `{audio, done, status}` or the pre-2026 `{audio}` with `{done:true}` terminator. @defaultValue `'current'` */
  frameShape?: 'current' | 'legacy' | undefined
  /** SSE line ending. @defaultValue `'\n'` */
  lineEnding?: '\n' | '\r\n' | '\r' | undefined
  /** Speech engine. @defaultValue {@link toneEngine} */
  engine?: SpeechEngine | undefined
  /** Faults injected into every request (merged under a request's `x-emulator-fault` header). */
  faults?: EmulatorFaults | undefined
}

/**
 * Faults to inject, for reliability tests. Set them for every request with
 * `startEmulator({ faults })`, or per request with the test-only header
 * `x-emulator-fault: drop-after=3, stall-ms=200` (see {@link parseFaultHeader}).
 */
export interface EmulatorFaults {
  /** Wait this long before answering (before the response headers). */
  stallBeforeMs?: number | undefined
  /** Stall `stallMs` after chunk frame K (0-based) was written. */
  stallAfterChunk?: number | undefined
  /** Length of the `stallAfterChunk` stall, ms. @defaultValue `1000` */
  stallMs?: number | undefined
  /** Destroy the connection after chunk frame K was written (no terminator). */
  dropAfterChunk?: number | undefined
  /** Chunk frame K carries malformed JSON. */
  malformedJsonAt?: number | undefined
  /** Chunk frame K carries invalid base64. */
  badBase64At?: number | undefined
  /** Send an error frame `{"status":"error","message":…}` instead of chunk frame K, then end. */
  errorFrameAt?: number | undefined
  /** Write every frame one byte at a time. */
  splitWrites?: boolean | undefined
  /** End the stream cleanly without the `done: true` terminator. */
  noTerminator?: boolean | undefined
  /** Answer the first `failCount` requests (counted per fault key) with this HTTP status. */
  failStatus?: 400 | 401 | 403 | 429 | 500 | 502 | 503 | 504 | undefined
  /** How many requests get `failStatus`. @defaultValue `1` */
  failCount?: number | undefined
  /** `Retry-After` value sent with an injected 429/503 (seconds or an HTTP date). */
  failRetryAfter?: string | undefined
  /** Groups requests for `failCount` (e.g. one key per test case). @defaultValue `'default'` */
  key?: string | undefined
  /** SSE line ending for this request (overrides the emulator's `lineEnding`). */
  lineEnding?: '\n' | '\r\n' | '\r' | undefined
}

const FAULT_FIELDS: Record<string, keyof EmulatorFaults> = {
  'stall-before': 'stallBeforeMs',
  'stall-after': 'stallAfterChunk',
  'stall-ms': 'stallMs',
  'drop-after': 'dropAfterChunk',
  'malformed-json-at': 'malformedJsonAt',
  'bad-base64-at': 'badBase64At',
  'error-frame-at': 'errorFrameAt',
  'split-writes': 'splitWrites',
  'no-terminator': 'noTerminator',
  'fail-status': 'failStatus',
  'fail-count': 'failCount',
  'fail-retry-after': 'failRetryAfter',
  key: 'key',
  'line-ending': 'lineEnding',
}

const LINE_ENDINGS: Record<string, '\n' | '\r\n' | '\r'> = { lf: '\n', crlf: '\r\n', cr: '\r' }

/**
 * Parses the test-only `x-emulator-fault` header: comma-separated `name=value` pairs (`drop-after=3,
 * split-writes, fail-status=429, fail-count=2, key=case7, line-ending=crlf`). Unknown names
 * are ignored.
 */
export function parseFaultHeader(value: string | undefined): EmulatorFaults {
  const out: Record<string, unknown> = {}
  if (!value) return out
  for (const part of value.split(',')) {
    const [rawName, ...rest] = part.split('=')
    const name = FAULT_FIELDS[(rawName ?? '').trim()]
    if (!name) continue
    const v = rest.join('=').trim()
    if (name === 'splitWrites' || name === 'noTerminator') out[name] = v === '' || v === 'true' || v === '1'
    else if (name === 'lineEnding') out[name] = LINE_ENDINGS[v.toLowerCase()]
    else if (name === 'key' || name === 'failRetryAfter') out[name] = v
    else if (v !== '' && Number.isFinite(Number(v))) out[name] = Number(v)
  }
  return out as EmulatorFaults
}

/** Counters the emulator keeps, for tests and soak runs. */
export interface EmulatorStats {
  /** Requests received, all routes. */
  requests: number
  /** Synthesis requests running now. */
  active: number
  /** `res.write()` calls that returned false (the client applied backpressure). */
  blockedWrites: number
  /** Open TCP connections. */
  connections: number
  /** Synthesis requests whose client went away before the end. */
  clientAborts: number
  /** SSE frames written. */
  framesWritten: number
}

/** A running emulator. */
export interface Emulator {
  /** Base URL to give `LightningClient` as `baseUrl`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  /** The port it listens on. */
  readonly port: number
  /** Live counters. */
  readonly stats: EmulatorStats
  /**
   * Emits `'request-closed'` with `{ at, completed }` (`at` from `performance.now()`) when a
   * synthesis request's connection closes, for measuring abort latency (WebSocket sessions add
   * `route: 'websocket'`), and `'ws-message'` with each parsed WebSocket client message.
   */
  readonly events: EventEmitter
  /** Stops listening and closes every open connection. Idempotent. */
  close(): Promise<void>
}

const RETIRED_410 = ['/waves/v1/lightning-v2/', '/waves/v1/lightning-large', '/waves/v1/prof-voice-cloning']
const MAX_BODY = 1024 * 1024

/** Serializes one SSE chunk frame exactly as the emulator writes it. */
export function sseChunkFrame(audio: Buffer, shape: 'current' | 'legacy' = 'current', eol = '\n'): string {
  const b64 = audio.toString('base64')
  const json = shape === 'current' ? `{"audio":"${b64}","done":false,"status":"206"}` : `{"audio":"${b64}"}`
  return `event: audio${eol}data: ${json}${eol}${eol}`
}

/** Serializes the terminator frame (no `event:` line, as the vendor sends it). */
export function sseTerminator(shape: 'current' | 'legacy' = 'current', eol = '\n'): string {
  return `data: ${shape === 'current' ? '{"status":"200","done":true}' : '{"done":true}'}${eol}${eol}`
}

/** Splits the audio bytes of an utterance into the chunks the emulator sends. */
export function splitChunks(audio: Buffer, bytesPerChunk: number): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off < audio.length; off += bytesPerChunk) out.push(audio.subarray(off, off + bytesPerChunk))
  return out
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return null
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * Starts the emulator on loopback.
 *
 * @example
 * ```ts
 * import { startEmulator } from 'lightning-stream/emulator'
 * const emu = await startEmulator()
 * const client = new LightningClient({ baseUrl: emu.url })
 * // …
 * await emu.close()
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const keys = options.apiKey === undefined ? undefined : new Set([options.apiKey].flat())
  const maxConcurrent = options.maxConcurrent ?? 1
  const retryAfter = options.retryAfter === undefined ? 1 : options.retryAfter
  const engine = options.engine ?? toneEngine
  if (typeof (engine as { render?: unknown }).render !== 'function') {
    const hint = typeof (engine as { then?: unknown }).then === 'function' ? ' (got a Promise: write `engine: await createEspeakEngine()`)' : ''
    throw new InvalidOptionError('engine', `must be a speech engine with a render() method${hint}`)
  }
  const shape = options.frameShape ?? 'current'
  const rtf = options.realtimeFactor ?? Infinity
  const stats: EmulatorStats = { requests: 0, active: 0, blockedWrites: 0, connections: 0, clientAborts: 0, framesWritten: 0 }
  const activeByKey = new Map<string, number>()
  const sockets = new Set<Socket>()
  const events = new EventEmitter()
  const failures = new Map<string, number>()

  const invalid = (res: ServerResponse, issues: RequestIssue[]) => {
    if (options.errorShape === 'documented') {
      const first = issues[0]
      sendJson(res, 400, { error: 'InvalidRequest', message: first ? `${first.path.join('.')}: ${first.message}` : 'Invalid request' })
    } else sendJson(res, 400, { error: issues })
  }

  async function synthesis(req: IncomingMessage, res: ServerResponse, key: string, live: boolean): Promise<void> {
    const header = req.headers['x-emulator-fault']
    const faults: EmulatorFaults = { ...options.faults, ...parseFaultHeader(Array.isArray(header) ? header.join(',') : header) }
    const eol = faults.lineEnding ?? options.lineEnding ?? '\n'
    const raw = await readBody(req)
    if (raw === null) return sendJson(res, 413, { error: 'PayloadTooLarge', message: 'Request body too large.' })
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      return sendJson(res, 400, { error: 'InvalidRequest', message: 'Request body is not valid JSON.' })
    }
    const issues = checkTtsRequest(body, { unknownFields: 'strip' })
    const b = body as Record<string, unknown>
    if (!issues.length && !EMULATOR_VOICES.some((v) => v.voiceId === b['voice_id'])) {
      issues.push({ code: 'custom', path: ['voice_id'], message: 'Invalid Voice ID' })
    }
    if (issues.length) return invalid(res, issues)
    const request = { ...REQUEST_DEFAULTS, sample_rate: 44100, ...b } as ResolvedTtsRequest
    if (request.output_format === 'mp3') {
      return sendJson(res, 501, { error: 'NotImplemented', message: 'The emulator does not encode mp3; request pcm and transcode locally.' })
    }
    if (faults.failStatus) {
      const fk = faults.key ?? 'default'
      const n = failures.get(fk) ?? 0
      if (n < (faults.failCount ?? 1)) {
        failures.set(fk, n + 1)
        const bodies: Record<number, unknown> = {
          400: { error: [{ code: 'custom', path: ['text'], message: 'Injected validation failure' }] },
          401: { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' },
          403: { error: 'Forbidden', message: 'Injected: key not allowed.' },
          429: { error: 'TooManyRequests', message: 'Injected: concurrency limit reached.' },
          500: { error: 'InternalServerError', message: 'An unexpected error occurred.' },
        }
        const headers: Record<string, string> = faults.failRetryAfter ? { 'retry-after': faults.failRetryAfter } : {}
        return sendJson(res, faults.failStatus, bodies[faults.failStatus] ?? { error: 'Injected', message: `Injected ${faults.failStatus}` }, {
          ...headers,
          'x-request-id': randomUUID(),
        })
      }
    }
    const inFlight = activeByKey.get(key) ?? 0
    if (inFlight >= maxConcurrent) {
      return sendJson(
        res,
        429,
        { error: 'TooManyRequests', message: `Concurrency limit of ${maxConcurrent} reached for this account.` },
        retryAfter === null ? {} : { 'retry-after': String(retryAfter) },
      )
    }
    activeByKey.set(key, inFlight + 1)
    stats.active++
    let released = false
    const release = () => {
      if (released) return
      released = true
      stats.active--
      const n = (activeByKey.get(key) ?? 1) - 1
      if (n > 0) activeByKey.set(key, n)
      else activeByKey.delete(key)
    }
    res.on('close', () => {
      if (!res.writableFinished) stats.clientAborts++
      release()
      events.emit('request-closed', { at: performance.now(), completed: res.writableFinished })
    })
    try {
      const delay = (options.firstByteDelayMs ?? 0) + (faults.stallBeforeMs ?? 0)
      if (delay) await sleep(delay)
      if (res.destroyed) return
      const pcm = await engine.render(request)
      const ids = {
        'x-request-id': randomUUID(),
        'x-session-id': randomUUID(),
        'x-external-request-id': typeof b['request_id'] === 'string' ? b['request_id'] : '',
        'x-external-session-id': typeof b['session_id'] === 'string' ? b['session_id'] : '',
      }
      const rate = request.sample_rate
      const encode = (chunk: Buffer): Buffer => {
        switch (request.output_format) {
          case 'ulaw':
          case 'alaw':
            return encodeG711(chunk, request.output_format)
          case 'wav':
            return Buffer.concat([wavHeader({ sampleRate: rate, channels: 1, encoding: 's16le' }, chunk.length), chunk])
          default:
            return chunk
        }
      }
      if (!live) {
        const audio = encode(pcm)
        res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': audio.length, ...ids })
        res.end(audio)
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...ids })
      res.flushHeaders()
      const bytesPerChunk = options.chunkBytes ?? Math.max(2, Math.round((rate * (options.chunkMs ?? 20)) / 1000) * 2)
      const started = performance.now()
      let sentMs = 0
      let stalledMs = 0
      const drained = () =>
        new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done)
            res.off('close', done)
            resolve()
          }
          res.on('drain', done)
          res.on('close', done)
        })
      const send = async (frame: string): Promise<void> => {
        if (faults.splitWrites) {
          const bytes = Buffer.from(frame)
          for (let i = 0; i < bytes.length && !res.destroyed; i++) {
            if (!res.write(bytes.subarray(i, i + 1))) {
              stats.blockedWrites++
              await drained()
            }
          }
        } else if (!res.write(frame)) {
          stats.blockedWrites++
          await drained()
        }
        stats.framesWritten++
      }
      let k = 0
      for (const chunk of splitChunks(pcm, bytesPerChunk)) {
        if (res.destroyed) return
        if (Number.isFinite(rtf)) {
          const due = started + stalledMs + sentMs / rtf - performance.now()
          // Behind schedule (a busy machine), catch up without a burst: yield to I/O between
          // chunks, so a client's close is seen before the next chunk, as a real server sees it.
          await (due > 1 ? sleep(due) : setImmediateP())
        }
        if (k === faults.errorFrameAt) {
          await send(`data: {"status":"error","message":"Injected synthesis failure"}${eol}${eol}`)
          res.end()
          return
        }
        let frame = sseChunkFrame(encode(chunk), shape, eol)
        if (k === faults.malformedJsonAt) frame = `event: audio${eol}data: {"audio":"AAAA","done":fal${eol}${eol}`
        if (k === faults.badBase64At) frame = `event: audio${eol}data: {"audio":"AA!*AA==","done":false,"status":"206"}${eol}${eol}`
        await send(frame)
        sentMs += (chunk.length / 2 / rate) * 1000
        if (k === faults.dropAfterChunk) {
          // destroySoon flushes what was written, then closes the TCP connection mid-body;
          // res.destroy() would discard queued frames and drop before them instead.
          res.socket?.destroySoon()
          return
        }
        if (k === faults.stallAfterChunk) {
          const ms = faults.stallMs ?? 1000
          await sleep(ms)
          stalledMs += ms
        }
        k++
      }
      if (res.destroyed) return
      if (faults.noTerminator) {
        res.end()
        return
      }
      await send(sseTerminator(shape, eol))
      release() // the unit is held until the terminator is written
      res.end()
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: 'InternalServerError', message: 'An unexpected error occurred.' })
      else res.destroy(err as Error)
    }
  }

  const server = createServer((req, res) => {
    stats.requests++
    const url = new URL(req.url ?? '/', 'http://emulator')
    const path = url.pathname.replace(/\/+$/, '')
    if (RETIRED_410.some((p) => path.startsWith(p) || `${path}/`.startsWith(p))) {
      return sendJson(res, 410, {
        status: 'error',
        error_code: 'MODEL_DEPRECATED',
        message: 'This model has been retired.',
        recommended_endpoint: '/waves/v1/lightning-v3.1/get_speech',
      })
    }
    if (path === '/waves/v1/health' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' })
    const auth = req.headers['authorization']
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined
    if (keys && (bearer === undefined || !keys.has(bearer))) {
      return sendJson(res, 401, { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' })
    }
    const key = bearer ?? ''
    const route = `${req.method} ${path}`
    const fail = (err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'InternalServerError', message: 'An unexpected error occurred.' })
      else res.destroy(err as Error)
    }
    if (route === 'POST /waves/v1/tts/live') return void synthesis(req, res, key, true).catch(fail)
    if (route === 'POST /waves/v1/tts') return void synthesis(req, res, key, false).catch(fail)
    const voices = /^\/waves\/v1\/([^/]+)\/get_voices$/.exec(path)
    if (voices && req.method === 'GET') {
      if (voices[1] !== 'lightning-v3.1') {
        return sendJson(res, 400, { error: 'InvalidRequest', message: `Unknown model '${voices[1]}'; expected 'lightning-v3.1'.` })
      }
      return sendJson(res, 200, { voices: EMULATOR_VOICES })
    }
    return sendJson(res, 404, { error: 'NotFound', message: `Route ${req.method} ${path} not found.` })
  })
  // The WebSocket route on the same path (issue 15): shares keys, per-key units, faults and stats.
  const closeWs = attachWsRoute(server, {
    keys,
    maxConcurrent,
    retryAfter,
    engine,
    chunkMs: options.chunkMs,
    chunkBytes: options.chunkBytes,
    realtimeFactor: rtf,
    firstByteDelayMs: options.firstByteDelayMs,
    faults: options.faults,
    stats,
    events,
    wsReuse: options.wsReuse,
    wsErrorShape: options.wsErrorShape,
    wsIdleTimeoutSeconds: options.wsIdleTimeoutSeconds,
    parseFaults: parseFaultHeader,
    acquire(key) {
      const n = activeByKey.get(key) ?? 0
      if (n >= maxConcurrent) return false
      activeByKey.set(key, n + 1)
      stats.active++
      return true
    },
    release(key) {
      stats.active--
      const n = (activeByKey.get(key) ?? 1) - 1
      if (n > 0) activeByKey.set(key, n)
      else activeByKey.delete(key)
    },
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    stats.connections++
    socket.on('close', () => {
      sockets.delete(socket)
      stats.connections--
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    stats,
    events,
    close() {
      closing ??= new Promise<void>((resolve) => {
        closeWs()
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      return closing
    },
  }
}
