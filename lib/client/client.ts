import { inspect } from 'node:util'
import type { Readable } from 'node:stream'
import { Agent, request, type Dispatcher } from 'undici'
import { InvalidOptionError, InvalidRequestError, MissingApiKeyError, ProtocolError, TimeoutError, type AudioDelivered, type LightningStreamError, type ResponseIds } from '../errors.js'
import { createSsePcmDecoder } from '../audio/sse-pcm.core.js'
import { TtsTimeline, type TtsMetrics } from '../metrics/metrics.js'
import type { AudioFormat, PcmFormat } from '../audio/format.js'
import { VERSION } from '../version.js'
import { apiErrorFrom, flatHeaders, responseIds, toLightningError } from './http.js'
import { resolveTtsRequest, type OutputFormat, type ResolvedTtsRequest, type TtsRequest } from './request.js'
import { Semaphore } from './semaphore.js'
import { resolveRetry, retrying, type RetryInfo, type RetryOptions, type RetryPolicy } from './retry.js'
import { TtsSource, type TtsResponseInfo, type TtsSourceInit } from './tts-source.js'
import { PcmSource } from './pcm-source.js'
import { parseWavHeader, WAV_UNKNOWN_SIZE } from '../audio/wav-header.js'

/**
 * Reads a sync response body. A RIFF body whose header declares its size is complete at that
 * size: reading stops there (and the body is released) even if the server keeps the response
 * open. Other bodies end with the response.
 */
async function readAudioBody(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  let expected = Infinity
  for await (const chunk of body) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (expected === Infinity && size >= 44) {
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      const info = parseWavHeader(head.subarray(0, Math.min(head.length, 4096)))
      if (info) expected = info.dataSize !== WAV_UNKNOWN_SIZE ? info.dataOffset + info.dataSize : Number.MAX_SAFE_INTEGER
      else if (head.length >= 4096 || head.toString('latin1', 0, 4) !== 'RIFF') expected = Number.MAX_SAFE_INTEGER
    }
    if (size >= expected) break // the for-await exit destroys the body: the socket closes if still open
  }
  const audio = Buffer.concat(chunks, size)
  return size > expected ? audio.subarray(0, expected) : audio
}
import { createStreamText, segmentedPcm, type PcmOptions, type StreamTextContext, type StreamTextOptions } from './stream-text.js'
import type { TextToSpeechStream } from './text-to-speech-stream.js'
import type { StreamTextRequest } from './ws-protocol.js'

/** The vendor's API host. */
export const DEFAULT_BASE_URL = 'https://api.smallest.ai'

/** Per-phase time limits, in milliseconds. */
export interface Timeouts {
  /** TCP/TLS connect. Applies when the client owns its dispatcher. @defaultValue `10000` */
  connect?: number | undefined
  /** From sending the request to the response headers (time to first byte). @defaultValue `30000` */
  headers?: number | undefined
  /** Longest gap between two body chunks. @defaultValue `30000` */
  idle?: number | undefined
  /** Whole request, headers to last byte. @defaultValue none */
  total?: number | undefined
}

/** Options of {@link LightningClient}. */
export interface LightningClientOptions {
  /** API key (`sk_…`). @defaultValue `process.env.SMALLEST_API_KEY` (an empty variable counts as unset) */
  apiKey?: string | undefined
  /** API origin, or the emulator's `url`. @defaultValue `'https://api.smallest.ai'` */
  baseUrl?: string | undefined
  /** Per-phase time limits. */
  timeouts?: Timeouts | undefined
  /**
   * Requests in flight at once; more wait in a FIFO queue. The vendor's default account allows one
   * and answers a second with 429. @defaultValue `1`
   */
  maxConcurrent?: number | undefined
  /** An undici dispatcher (Agent, Pool, MockAgent) to send requests through. */
  dispatcher?: Dispatcher | undefined
  /**
   * Retries before the response: connect errors and timeouts, 429, 500/502/503/504, with
   * exponential backoff and jitter, honouring `Retry-After`. Never after audio has flowed.
   * `false` disables it. @defaultValue `{ retries: 3, baseDelayMs: 500, maxDelayMs: 30000, deadlineMs: 60000 }`
   */
  retry?: RetryOptions | false | undefined
  /**
   * Allow sending the API key over plain `http://` to a host that is not loopback.
   * @defaultValue `false`
   */
  allowInsecureHttp?: boolean | undefined
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call: nothing is sent if it fires first; mid-stream it closes the socket. */
  signal?: AbortSignal | undefined
}

/** A PCM byte stream that says what it carries, returned by {@link LightningClient.pcm}. */
export interface PcmReadable extends Readable {
  /** The PCM format of the bytes (s16le mono at the requested rate). */
  readonly format: PcmFormat
  /** Audio frames and bytes decoded so far (before G.711 expansion for `ulaw`/`alaw`). */
  readonly delivered: AudioDelivered
  /**
   * The request's timeline (request sent, headers, first SSE byte, first audio, end), audio
   * delivered and realtime factor, so far. Also emitted as `'metrics'` when the stream closes.
   */
  readonly metrics: TtsMetrics
  /** `'response'`: the status and ids of the (first) HTTP response, before any audio. */
  on(event: 'response', listener: (info: TtsResponseInfo) => void): this
  /** `'retry'`: a failed attempt, before the response, that will be retried. */
  on(event: 'retry', listener: (info: RetryInfo) => void): this
  /** `'metrics'`: the final {@link TtsMetrics}, when the stream closes. */
  on(event: 'metrics', listener: (metrics: TtsMetrics) => void): this
  /** `'data'`: a chunk of PCM, sample-aligned. */
  on(event: 'data', listener: (chunk: Buffer) => void): this
  /** `'error'`: the library's own failures are a coded {@link LightningStreamError}; a stage failing elsewhere in a pipeline may pass its own error. */
  on(event: 'error', listener: (error: Error) => void): this
  /** Any other `Readable` event. */
  on(event: string | symbol, listener: (...args: any[]) => void): this
  /** `'response'`, once (see {@link PcmReadable.on}). */
  once(event: 'response', listener: (info: TtsResponseInfo) => void): this
  /** `'retry'`, once. */
  once(event: 'retry', listener: (info: RetryInfo) => void): this
  /** `'metrics'`, once. */
  once(event: 'metrics', listener: (metrics: TtsMetrics) => void): this
  /** `'data'`, once. */
  once(event: 'data', listener: (chunk: Buffer) => void): this
  /** `'error'`, once. */
  once(event: 'error', listener: (error: Error) => void): this
  /** Any other `Readable` event, once. */
  once(event: string | symbol, listener: (...args: any[]) => void): this
  /** `for await (const chunk of pcm)` yields sample-aligned PCM Buffers. */
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<Buffer>
}

/** The result of {@link LightningClient.synthesize}. */
export interface SynthesizeResult extends ResponseIds {
  /** The response body: raw PCM for `pcm`, a RIFF file for `wav`, G.711 or MP3 bytes otherwise. */
  audio: Buffer
  /** The requested `output_format` (the server labels every body `audio/wav`). */
  outputFormat: OutputFormat
  /** Sample format of the audio (for `wav`, of the payload after the 44-byte header). */
  format: AudioFormat
  /** HTTP status. */
  status: number
  /** Response headers, lower-case names. */
  headers: Record<string, string>
}

/** One voice of the catalog. */
export interface Voice {
  /** The id to pass as `voice_id`. */
  voiceId: string
  /** Name to show people. */
  displayName: string
  /** Descriptive tags (`language` holds full names such as `"english"`, not ISO codes). */
  tags?: VoiceTags
}

/** What {@link LightningClient.queue} reports. */
export interface QueueState {
  /** Requests holding a concurrency slot. */
  active: number
  /** Requests waiting for one, in FIFO order. */
  waiting: number
}

/** Tags of a {@link Voice}. */
export interface VoiceTags {
  /** Languages, as full names (`"english"`, `"hindi"`). */
  language?: string[]
  /** Accent, e.g. `"american"`. */
  accent?: string
  /** Gender. */
  gender?: string
  /** Age group. */
  age?: string
  /** Emotions the voice can carry. */
  emotions?: string[]
  /** Suggested uses. */
  usecases?: string[]
}

const DEFAULT_TIMEOUTS = { connect: 10_000, headers: 30_000, idle: 30_000 } as const

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

function checkTimeout(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidOptionError(`timeouts.${name}`, `must be a positive number of milliseconds (got ${String(v)})`)
  }
  return v
}

/**
 * Client for Smallest.ai Lightning v3.1 text-to-speech.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs'
 * import { pipeline } from 'node:stream/promises'
 * import { LightningClient } from 'lightning-stream'
 *
 * const client = new LightningClient() // key from SMALLEST_API_KEY
 * const pcm = client.pcm({ text: 'Hello there.', voice_id: 'magnus' })
 * console.log(pcm.format) // { sampleRate: 24000, channels: 1, encoding: 's16le' }
 * await pipeline(pcm, createWriteStream('hello.pcm'))
 * ```
 */
export class LightningClient {
  readonly #apiKey: string | undefined
  /** The API origin requests go to. */
  readonly baseUrl: string
  readonly #timeouts: { connect: number; headers: number; idle: number; total: number | undefined }
  readonly #dispatcher: Dispatcher
  readonly #ownDispatcher: boolean
  readonly #slots: Semaphore
  readonly #retry: RetryPolicy
  /** The concurrency limit. */
  readonly maxConcurrent: number

  constructor(options: LightningClientOptions = {}) {
    const apiKey = options.apiKey ?? (process.env['SMALLEST_API_KEY'] || undefined)
    if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0 || /[\r\n\s]/.test(apiKey))) {
      throw new InvalidOptionError('apiKey', 'must be a non-empty string without whitespace')
    }
    this.#apiKey = apiKey
    let url: URL
    try {
      url = new URL(options.baseUrl ?? DEFAULT_BASE_URL)
    } catch {
      throw new InvalidOptionError('baseUrl', `not a URL: ${String(options.baseUrl)}`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidOptionError('baseUrl', `must be http: or https: (got ${url.protocol})`)
    }
    if (url.protocol === 'http:' && apiKey && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
      throw new InvalidOptionError(
        'baseUrl',
        `refusing to send the API key over plain http to ${url.hostname}; use https or set allowInsecureHttp: true`,
      )
    }
    this.baseUrl = url.href.replace(/\/+$/, '')
    const t = options.timeouts ?? {}
    this.#timeouts = {
      connect: checkTimeout('connect', t.connect) ?? DEFAULT_TIMEOUTS.connect,
      headers: checkTimeout('headers', t.headers) ?? DEFAULT_TIMEOUTS.headers,
      idle: checkTimeout('idle', t.idle) ?? DEFAULT_TIMEOUTS.idle,
      total: checkTimeout('total', t.total),
    }
    const max = options.maxConcurrent ?? 1
    if (!Number.isInteger(max) || max < 1) throw new InvalidOptionError('maxConcurrent', `must be an integer ≥ 1 (got ${String(max)})`)
    this.maxConcurrent = max
    this.#slots = new Semaphore(max)
    this.#retry = resolveRetry(options.retry)
    this.#ownDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Agent({ connect: { timeout: this.#timeouts.connect } })
  }

  /** True when an API key is configured (the key itself is never exposed). */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined
  }

  /** Requests in flight and queued for a slot. */
  get queue(): QueueState {
    return { active: this.#slots.active, waiting: this.#slots.waiting }
  }

  #headers(accept: string, json: boolean): Record<string, string> {
    const h: Record<string, string> = { accept, 'user-agent': `lightning-stream/${VERSION}` }
    if (json) h['content-type'] = 'application/json'
    if (this.#apiKey) h['authorization'] = `Bearer ${this.#apiKey}`
    return h
  }

  #checkKey(): void {
    if (!this.#apiKey && this.baseUrl === DEFAULT_BASE_URL) throw new MissingApiKeyError()
  }

  /**
   * Sends a request under the concurrency limit, retrying per the policy before any response was
   * accepted; non-2xx statuses become {@link ApiError}. The slot is held across retries.
   */
  async #send(
    method: 'GET' | 'POST',
    path: string,
    accept: string,
    body: unknown,
    signal: AbortSignal | undefined,
    onRetry?: (info: RetryInfo) => void,
    onSend?: () => void,
    bodyHighWaterMark = 16 * 1024,
  ) {
    const release = await this.#slots.acquire(signal)
    onSend?.()
    try {
      const attempt = () => this.#attempt(method, path, accept, body, signal, bodyHighWaterMark)
      const response = await retrying(this.#retry, attempt, { signal, onRetry, mapAbort: (e) => toLightningError(e, this.#timeouts) })
      return { response, release }
    } catch (err) {
      release()
      throw err
    }
  }

  /** One HTTP attempt: headers phase timed here, non-2xx → {@link ApiError}. */
  async #attempt(method: 'GET' | 'POST', path: string, accept: string, body: unknown, signal: AbortSignal | undefined, bodyHighWaterMark = 16 * 1024) {
    // The headers phase is timed here rather than by undici's `headersTimeout`, which its HTTP/1
    // parser does not enforce in every socket state (seen with undici 7.30 on loopback).
    const headersMs = this.#timeouts.headers
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
      const response = await request(`${this.baseUrl}${path}`, {
        method,
        headers: this.#headers(accept, body !== undefined),
        body: body === undefined ? null : JSON.stringify(body),
        signal: controller.signal,
        dispatcher: this.#dispatcher,
        headersTimeout: headersMs,
        bodyTimeout: this.#timeouts.idle,
        highWaterMark: bodyHighWaterMark,
      })
      clearTimeout(timer)
      if (response.statusCode < 200 || response.statusCode > 299) throw await apiErrorFrom(response)
      return response
    } catch (err) {
      throw timedOut ? new TimeoutError('headers', headersMs, { cause: err }) : toLightningError(err, this.#timeouts)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Streams `POST /waves/v1/tts/live`: a {@link TtsSource} of the raw SSE bytes. The request is
   * validated now (an {@link InvalidRequestError} is thrown before anything is sent) and sent
   * lazily on the first read.
   */
  stream(request: TtsRequest, options: CallOptions = {}): TtsSource {
    return this.#stream(resolveTtsRequest(request), options)
  }

  #stream(body: ResolvedTtsRequest, options: CallOptions): TtsSource {
    return new TtsSource(this.#sourceInit(body, options))
  }

  /** `bodyHighWaterMark`: bytes undici's body buffers before it stops reading the socket. */
  #sourceInit(body: ResolvedTtsRequest, options: CallOptions, bodyHighWaterMark = 16 * 1024): TtsSourceInit {
    this.#checkKey()
    return {
      // The source aborts `signal` when it is destroyed, including by the caller's signal.
      start: (signal, onRetry, onSend) => this.#send('POST', '/waves/v1/tts/live', 'text/event-stream', body, signal, onRetry, onSend, bodyHighWaterMark),
      signal: options.signal,
      totalTimeoutMs: this.#timeouts.total,
      timeouts: this.#timeouts,
    }
  }

  /**
   * Streams PCM: the response body's chunks go straight through the fused SSE → PCM core
   * ({@link createSsePcmDecoder}: the same strict decoding as {@link SseParser} then
   * {@link AudioChunkDecoder}, with a one-pass fast path for the documented frame; G.711 expanded
   * for `ulaw`/`alaw`), one PCM Buffer per network chunk, in one stream whose `format` says what it
   * carries: s16le mono at the requested rate. `output_format` may be `pcm` (the default), `wav`,
   * `ulaw` or `alaw`; `mp3` needs a decoder (use `stream()`). Errors carry `delivered`. The
   * stream ends at the `done: true` terminator, releasing the slot at once (the connection too,
   * unless the response ends right after it and the socket can be reused).
   * Emits `'response'` and `'retry'` like {@link TtsSource}, and `'metrics'` ({@link TtsMetrics})
   * when it closes.
   *
   * Text longer than 250 characters is cut into sentences and sent as one request each, stitched
   * into one gapless stream (see {@link PcmOptions.segment}), so the first audio comes after the
   * first sentence; errors then also carry `segment: { index, text }`. `{ segment: false }` sends
   * one request.
   */
  pcm(request: TtsRequest, options: PcmOptions = {}): PcmReadable {
    const body = resolveTtsRequest(request)
    const fmt = body.output_format
    if (fmt === 'mp3') {
      throw new InvalidRequestError([
        { path: ['output_format'], code: 'custom', message: "pcm() cannot decode 'mp3': request 'pcm' (the default), or use stream() with your own decoder" },
      ])
    }
    // Long text: one SSE request per sentence segment, stitched (issue 15; see stream-text.ts).
    this.#checkKey()
    const segmented = segmentedPcm(this.#streamTextContext(), body, options)
    if (segmented) return segmented
    // Fused path: the source hands each network chunk of the body straight to one synchronous
    // SSE → PCM core and pushes one PCM Buffer per chunk. A mid-stream failure comes after the
    // audio decoded before it, and carries `delivered`.
    const timeline = new TtsTimeline()
    const core = createSsePcmDecoder({ outputFormat: fmt, sampleRate: body.sample_rate, g711ToPcm: true })
    // undici's body is read in flowing mode; when the consumer is slow, a high-water mark of 0
    // makes undici stop at the first chunk it has to hold (one socket read, not four).
    return new PcmSource(this.#sourceInit(body, options, 0), core, timeline) as unknown as PcmReadable
  }

  /**
   * Speech from text that arrives in fragments (a language model's tokens): a
   * {@link TextToSpeechStream}, a Duplex with text in and PCM out. The WebSocket route by default
   * (`transport: 'sse'` for sentence-segmented SSE requests). The request is validated now: an
   * {@link InvalidRequestError} is thrown before anything is sent; the socket opens at the first
   * text.
   *
   * @example
   * ```ts
   * const tts = client.streamText({ voice_id: 'magnus' })
   * await pipeline(llmTokens, tts, createWriteStream('reply.pcm'))
   * ```
   */
  streamText(request: StreamTextRequest, options: StreamTextOptions = {}): TextToSpeechStream {
    this.#checkKey()
    return createStreamText(this.#streamTextContext(), request, options)
  }

  #streamTextContext(): StreamTextContext {
    return {
      baseUrl: this.baseUrl,
      headers: () => {
        const h = this.#headers('application/json', false)
        delete h['accept']
        return h
      },
      slots: this.#slots,
      retry: this.#retry,
      timeouts: this.#timeouts,
      maxConcurrent: this.maxConcurrent,
      pcm: (request, signal) => this.pcm(request, { signal, segment: false }),
    }
  }

  /** Sync synthesis, `POST /waves/v1/tts`: resolves with the whole audio body and the ids. */
  async synthesize(request: TtsRequest, options: CallOptions = {}): Promise<SynthesizeResult> {
    const body = resolveTtsRequest(request)
    this.#checkKey()
    const { response, release } = await this.#send('POST', '/waves/v1/tts', 'audio/wav', body, options.signal)
    try {
      const audio = body.output_format === 'wav' ? await readAudioBody(response.body) : Buffer.from(await response.body.arrayBuffer())
      const headers = flatHeaders(response.headers)
      const encoding = body.output_format === 'pcm' || body.output_format === 'wav' ? 's16le' : body.output_format
      return {
        audio,
        outputFormat: body.output_format,
        format: { sampleRate: body.sample_rate, channels: 1, encoding },
        status: response.statusCode,
        headers,
        ...responseIds(headers),
      }
    } catch (err) {
      throw toLightningError(err, this.#timeouts)
    } finally {
      response.body.destroy()
      release()
    }
  }

  /**
   * The voice catalog (`GET /waves/v1/lightning-v3.1/get_voices`).
   * @throws {@link ProtocolError} (`ERR_PROTOCOL`) when the body is not JSON with a `voices` array.
   */
  async voices(options: CallOptions = {}): Promise<Voice[]> {
    this.#checkKey()
    const { response, release } = await this.#send('GET', '/waves/v1/lightning-v3.1/get_voices', 'application/json', undefined, options.signal)
    try {
      const text = await response.body.text() // a connection failure here stays ERR_CONNECTION
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (err) {
        throw new ProtocolError(`voices response is not JSON (${text.length} characters: ${JSON.stringify(text.slice(0, 60))})`, { cause: err })
      }
      const voices = (json as { voices?: unknown } | null)?.voices
      if (!Array.isArray(voices)) throw new ProtocolError('voices response has no voices array')
      return voices as Voice[]
    } catch (err) {
      throw toLightningError(err, this.#timeouts)
    } finally {
      response.body.destroy()
      release()
    }
  }

  /** Closes the client's own connection pool (a dispatcher passed in is left open). */
  async close(): Promise<void> {
    if (this.#ownDispatcher) await this.#dispatcher.close()
  }

  /** @internal Never shows the key. */
  [inspect.custom](): string {
    return `LightningClient { baseUrl: '${this.baseUrl}', apiKey: ${this.#apiKey ? "'[redacted]'" : 'undefined'}, maxConcurrent: ${this.maxConcurrent} }`
  }

  /** JSON form without the key. */
  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl, apiKey: this.#apiKey ? '[redacted]' : undefined, maxConcurrent: this.maxConcurrent }
  }
}
