/**
 * One synthesis request on the emulator's HTTP routes (`POST /waves/v1/tts/live` and the sync
 * `POST /waves/v1/tts`): the body is validated like the vendor's (zod-style 400s), injected
 * failures answer first, then a per-key concurrency unit is taken (429 with `Retry-After` at the
 * limit), the engine renders the utterance, and it is sent: whole (sync) or as chunk messages (SSE
 * events), paced to `realtimeFactor`, honouring the socket's backpressure, with the injected faults.
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setImmediate as setImmediateP, setTimeout as sleep } from 'node:timers/promises'
import { checkTtsRequest, REQUEST_DEFAULTS, type ResolvedTtsRequest } from '../client/request.js'
import type { RequestIssue } from '../errors.js'
import { encodeG711 } from '../audio/g711.js'
import { wavHeader } from '../audio/wav-header.js'
import { FailureCounter, INJECTED_BODIES, requestFaults, type EmulatorFaults } from './faults.js'
import { readBody, sendJson } from './replies.js'
import { splitChunks, sseChunkFrame, sseErrorFrame, sseTerminator, sseWriter } from './sse-writer.js'
import { EMULATOR_VOICES } from './voices.js'
import type { EmulatorOptions, EmulatorStats } from './server.js'

/** Produces the PCM (s16le mono at `request.sample_rate`) for a request. */
export interface SpeechEngine {
  /** Engine name, for logs. */
  readonly name: string
  /** Renders the whole utterance. */
  render(request: ResolvedTtsRequest): Buffer | Promise<Buffer>
}

/**
 * Per-key concurrency units, shared by the SSE, sync and WebSocket routes (the vendor counts them
 * per account). @internal
 */
export class KeyUnits {
  readonly #limit: number
  readonly #stats: EmulatorStats
  readonly #byKey = new Map<string, number>()

  constructor(limit: number, stats: EmulatorStats) {
    this.#limit = limit
    this.#stats = stats
  }

  /** Takes a unit; false when the key is at its limit. */
  acquire(key: string): boolean {
    const n = this.#byKey.get(key) ?? 0
    if (n >= this.#limit) return false
    this.#byKey.set(key, n + 1)
    this.#stats.active++
    return true
  }

  /** Gives a unit back. */
  release(key: string): void {
    this.#stats.active--
    const n = (this.#byKey.get(key) ?? 1) - 1
    if (n > 0) this.#byKey.set(key, n)
    else this.#byKey.delete(key)
  }
}

/** What every synthesis request shares with the server. @internal */
export interface SynthesisContext {
  options: EmulatorOptions
  engine: SpeechEngine
  maxConcurrent: number
  retryAfter: number | null
  units: KeyUnits
  stats: EmulatorStats
  events: EventEmitter
  failures: FailureCounter
}

/** Answers invalid fields in the configured 400 shape. */
function invalid(ctx: SynthesisContext, res: ServerResponse, issues: RequestIssue[]): void {
  if (ctx.options.errorShape === 'documented') {
    const first = issues[0]
    sendJson(res, 400, { error: 'InvalidRequest', message: first ? `${first.path.join('.')}: ${first.message}` : 'Invalid request' })
  } else sendJson(res, 400, { error: issues })
}

/** Reads and validates the body; answers and returns undefined when it is not a valid request. */
async function readRequest(ctx: SynthesisContext, req: IncomingMessage, res: ServerResponse): Promise<{ request: ResolvedTtsRequest; fields: Record<string, unknown> } | undefined> {
  const raw = await readBody(req)
  if (raw === null) return void sendJson(res, 413, { error: 'PayloadTooLarge', message: 'Request body too large.' })
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    return void sendJson(res, 400, { error: 'InvalidRequest', message: 'Request body is not valid JSON.' })
  }
  const issues = checkTtsRequest(body, { unknownFields: 'strip' })
  const fields = body as Record<string, unknown>
  if (!issues.length && !EMULATOR_VOICES.some((v) => v.voiceId === fields['voice_id'])) {
    issues.push({ code: 'custom', path: ['voice_id'], message: 'Invalid Voice ID' })
  }
  if (issues.length) return void invalid(ctx, res, issues)
  const request = { ...REQUEST_DEFAULTS, sample_rate: 44100, ...fields } as ResolvedTtsRequest
  if (request.output_format === 'mp3') {
    return void sendJson(res, 501, { error: 'NotImplemented', message: 'The emulator does not encode mp3; request pcm and transcode locally.' })
  }
  return { request, fields }
}

/** The request's audio bytes in its `output_format` (a WAV chunk carries its own header, as the vendor's do). */
function encoderFor(request: ResolvedTtsRequest): (pcm: Buffer) => Buffer {
  const rate = request.sample_rate
  switch (request.output_format) {
    case 'ulaw':
    case 'alaw': {
      const law = request.output_format
      return (pcm) => encodeG711(pcm, law)
    }
    case 'wav':
      return (pcm) => Buffer.concat([wavHeader({ sampleRate: rate, channels: 1, encoding: 's16le' }, pcm.length), pcm])
    default:
      return (pcm) => pcm
  }
}

/**
 * Serves one synthesis request (`live`: SSE; else the sync route). Resolves when the response is
 * finished or abandoned; rejects only on an unexpected failure (the server answers 500).
 */
export async function serveSynthesis(ctx: SynthesisContext, req: IncomingMessage, res: ServerResponse, key: string, live: boolean): Promise<void> {
  const faults = requestFaults(ctx.options.faults, req.headers['x-emulator-fault'])
  const parsed = await readRequest(ctx, req, res)
  if (!parsed) return
  const injected = ctx.failures.next(faults)
  if (injected) {
    const headers: Record<string, string> = faults.failRetryAfter ? { 'retry-after': faults.failRetryAfter } : {}
    return sendJson(res, injected, INJECTED_BODIES[injected] ?? { error: 'Injected', message: `Injected ${injected}` }, { ...headers, 'x-request-id': randomUUID() })
  }
  if (!ctx.units.acquire(key)) {
    const { maxConcurrent, retryAfter } = ctx
    return sendJson(
      res,
      429,
      { error: 'TooManyRequests', message: `Concurrency limit of ${maxConcurrent} reached for this account.` },
      retryAfter === null ? {} : { 'retry-after': String(retryAfter) },
    )
  }
  let released = false
  const release = () => {
    if (released) return
    released = true
    ctx.units.release(key)
  }
  res.on('close', () => {
    if (!res.writableFinished) ctx.stats.clientAborts++
    release()
    ctx.events.emit('request-closed', { at: performance.now(), completed: res.writableFinished })
  })
  try {
    const delay = (ctx.options.firstByteDelayMs ?? 0) + (faults.stallBeforeMs ?? 0)
    if (delay) await sleep(delay)
    if (res.destroyed) return
    const pcm = await ctx.engine.render(parsed.request)
    const f = parsed.fields
    const ids = {
      'x-request-id': randomUUID(),
      'x-session-id': randomUUID(),
      'x-external-request-id': typeof f['request_id'] === 'string' ? f['request_id'] : '',
      'x-external-session-id': typeof f['session_id'] === 'string' ? f['session_id'] : '',
    }
    const encode = encoderFor(parsed.request)
    if (!live) {
      const audio = encode(pcm)
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': audio.length, ...ids })
      res.end(audio)
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...ids })
    res.flushHeaders()
    if (await streamFrames(ctx, res, parsed.request, pcm, encode, faults)) {
      release() // the unit is held until the terminator is written
      res.end()
    }
  } catch (err) {
    if (!res.headersSent) sendJson(res, 500, { error: 'InternalServerError', message: 'An unexpected error occurred.' })
    else res.destroy(err as Error)
  }
}

/**
 * Writes the utterance as chunk messages (SSE events), paced to `realtimeFactor`, with the
 * injected faults. Resolves true when the terminator was written (the caller ends the response),
 * false when the response was ended, cut or abandoned here.
 */
async function streamFrames(
  ctx: SynthesisContext,
  res: ServerResponse,
  request: ResolvedTtsRequest,
  pcm: Buffer,
  encode: (pcm: Buffer) => Buffer,
  faults: EmulatorFaults,
): Promise<boolean> {
  const { options } = ctx
  const shape = options.frameShape ?? 'current'
  const eol = faults.lineEnding ?? options.lineEnding ?? '\n'
  const rtf = options.realtimeFactor ?? Infinity
  const rate = request.sample_rate
  const send = sseWriter(res, ctx.stats, faults.splitWrites === true)
  const bytesPerChunk = options.chunkBytes ?? Math.max(2, Math.round((rate * (options.chunkMs ?? 20)) / 1000) * 2)
  const started = performance.now()
  let sentMs = 0
  let stalledMs = 0
  let k = 0
  for (const chunk of splitChunks(pcm, bytesPerChunk)) {
    if (res.destroyed) return false
    if (Number.isFinite(rtf)) {
      const due = started + stalledMs + sentMs / rtf - performance.now()
      // Behind schedule (a busy machine), catch up without a burst: yield to I/O between
      // chunks, so a client's close is seen before the next chunk, as a real server sees it.
      await (due > 1 ? sleep(due) : setImmediateP())
    }
    if (k === faults.errorFrameAt) {
      await send(sseErrorFrame('Injected synthesis failure', eol))
      res.end()
      return false
    }
    let frame = sseChunkFrame(encode(chunk), shape, eol)
    if (k === faults.malformedJsonAt) frame = `event: audio${eol}data: {"audio":"AAAA","done":fal${eol}${eol}`
    if (k === faults.badBase64At) frame = `event: audio${eol}data: {"audio":"AA!*AA==","done":false,"status":"206"}${eol}${eol}`
    await send(frame)
    sentMs += (chunk.length / 2 / rate) * 1000
    if (k === faults.dropAfterChunk) {
      // destroySoon flushes what was written, then closes the TCP connection mid-body;
      // res.destroy() would discard queued events and drop before them instead.
      res.socket?.destroySoon()
      return false
    }
    if (k === faults.stallAfterChunk) {
      const ms = faults.stallMs ?? 1000
      await sleep(ms)
      stalledMs += ms
    }
    k++
  }
  if (res.destroyed) return false
  if (faults.noTerminator) {
    res.end()
    return false
  }
  await send(sseTerminator(shape, eol))
  return true
}
