/**
 * A local Lightning-compatible server: same routes, validation, error bodies, headers and SSE
 * framing as the vendor (`reference/lightning-api.md`), with deterministic speech, so tests,
 * benchmarks, examples and the CLI run offline.
 *
 * This file listens, routes, checks auth and closes. One synthesis request is `synthesis.ts`, its
 * SSE framing `sse-writer.ts`, fault injection `faults.ts`, the speech engines `tone.ts` and
 * `espeak.ts`, the catalog `voices.ts`, and the WebSocket route (§9) `ws-route.ts`.
 * @module
 */
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { FailureCounter, type EmulatorFaults } from './faults.js'
import { failRequest, sendJson } from './replies.js'
import { KeyUnits, serveSynthesis, type SpeechEngine, type SynthesisContext } from './synthesis.js'
import { toneEngine } from './tone.js'
import { InvalidOptionError } from '../errors.js'
import { EMULATOR_VOICES } from './voices.js'
import { attachWsRoute, type WsEmulatorOptions } from './ws-route.js'

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
  /** Audio per chunk message (SSE event), in ms. @defaultValue `20` */
  chunkMs?: number | undefined
  /** Audio bytes per chunk message (overrides `chunkMs`; may be odd, to split samples). */
  chunkBytes?: number | undefined
  /** Synthesis speed as a multiple of realtime; `Infinity` sends as fast as the socket allows. @defaultValue `Infinity` */
  realtimeFactor?: number | undefined
  /** Delay before the response headers, in ms. @defaultValue `0` */
  firstByteDelayMs?: number | undefined
  /** 400 body shape: the live server's zod issues, or the documented `{error, message}`. @defaultValue `'zod'` */
  errorShape?: 'zod' | 'documented' | undefined
  /** Chunk message shape: current `{audio, done, status}` or the pre-2026 `{audio}` with `{done:true}` terminator. @defaultValue `'current'` */
  frameShape?: 'current' | 'legacy' | undefined
  /** SSE line ending. @defaultValue `'\n'` */
  lineEnding?: '\n' | '\r\n' | '\r' | undefined
  /** Speech engine. @defaultValue {@link toneEngine} */
  engine?: SpeechEngine | undefined
  /** Faults injected into every request (merged under a request's `x-emulator-fault` header). */
  faults?: EmulatorFaults | undefined
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
  /** Chunk messages written: SSE events, and WebSocket messages on the WebSocket route. */
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

/** The bearer token of a request, or undefined. */
function bearerOf(req: IncomingMessage): string | undefined {
  const auth = req.headers['authorization']
  return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined
}

/** Routes one HTTP request: retired models, health, auth, synthesis, voices, 404. */
function route(ctx: SynthesisContext, keys: Set<string> | undefined, req: IncomingMessage, res: ServerResponse): void {
  ctx.stats.requests++
  const path = new URL(req.url ?? '/', 'http://emulator').pathname.replace(/\/+$/, '')
  if (RETIRED_410.some((p) => path.startsWith(p) || `${path}/`.startsWith(p))) {
    return sendJson(res, 410, {
      status: 'error',
      error_code: 'MODEL_DEPRECATED',
      message: 'This model has been retired.',
      recommended_endpoint: '/waves/v1/lightning-v3.1/get_speech',
    })
  }
  if (path === '/waves/v1/health' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' })
  const bearer = bearerOf(req)
  if (keys && (bearer === undefined || !keys.has(bearer))) {
    return sendJson(res, 401, { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' })
  }
  const key = bearer ?? ''
  const method = `${req.method} ${path}`
  if (method === 'POST /waves/v1/tts/live') return void serveSynthesis(ctx, req, res, key, true).catch((err) => failRequest(res, err))
  if (method === 'POST /waves/v1/tts') return void serveSynthesis(ctx, req, res, key, false).catch((err) => failRequest(res, err))
  const voices = /^\/waves\/v1\/([^/]+)\/get_voices$/.exec(path)
  if (voices && req.method === 'GET') {
    if (voices[1] !== 'lightning-v3.1') {
      return sendJson(res, 400, { error: 'InvalidRequest', message: `Unknown model '${voices[1]}'; expected 'lightning-v3.1'.` })
    }
    return sendJson(res, 200, { voices: EMULATOR_VOICES })
  }
  return sendJson(res, 404, { error: 'NotFound', message: `Route ${req.method} ${path} not found.` })
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
  const engine = options.engine ?? toneEngine
  if (typeof (engine as { render?: unknown }).render !== 'function') {
    const hint = typeof (engine as { then?: unknown }).then === 'function' ? ' (got a Promise: write `engine: await createEspeakEngine()`)' : ''
    throw new InvalidOptionError('engine', `must be a speech engine with a render() method${hint}`)
  }
  const stats: EmulatorStats = { requests: 0, active: 0, blockedWrites: 0, connections: 0, clientAborts: 0, framesWritten: 0 }
  const maxConcurrent = options.maxConcurrent ?? 1
  const ctx: SynthesisContext = {
    options,
    engine,
    maxConcurrent,
    retryAfter: options.retryAfter === undefined ? 1 : options.retryAfter,
    units: new KeyUnits(maxConcurrent, stats),
    stats,
    events: new EventEmitter(),
    failures: new FailureCounter(),
  }
  const server = createServer((req, res) => route(ctx, keys, req, res))
  // The WebSocket route on the same path (issue 15): shares keys, per-key units, faults and stats.
  const closeWs = attachWsRoute(server, {
    keys,
    maxConcurrent,
    retryAfter: ctx.retryAfter,
    engine: ctx.engine,
    chunkMs: options.chunkMs,
    chunkBytes: options.chunkBytes,
    realtimeFactor: options.realtimeFactor ?? Infinity,
    firstByteDelayMs: options.firstByteDelayMs,
    faults: options.faults,
    stats,
    events: ctx.events,
    wsReuse: options.wsReuse,
    wsErrorShape: options.wsErrorShape,
    wsIdleTimeoutSeconds: options.wsIdleTimeoutSeconds,
    units: ctx.units,
  })
  const sockets = new Set<Socket>()
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
    events: ctx.events,
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
