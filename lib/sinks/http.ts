/**
 * Streaming speech into an HTTP response while it is synthesised. Nothing is written until the
 * first audio arrived (or synthesis failed), so a failure before the first byte becomes an HTTP
 * status with a small JSON body instead of a reset socket; a failure after it ends the response
 * cleanly with the audio so far still valid.
 * @module
 */
import type { ServerResponse } from 'node:http'
import { finished, pipeline } from 'node:stream/promises'
import { Transform, type Duplex } from 'node:stream'
import { AbortError, ApiError, ConnectionError, InvalidOptionError, InvalidRequestError, LightningStreamError, MissingApiKeyError, TimeoutError } from '../errors.js'
import { createOutputChain } from '../codecs/output-chain.js'
import { ffmpegFound, ffmpegMissingError } from '../codecs/ffmpeg-transcoder.js'
import { OPUS_ENGINES, OpusEngineMissingError, opusEngineInstalled } from '../codecs/opus-engines.js'
import { retryAfterMs } from '../client/retry.js'
import type { PcmReadable } from '../client/pcm-stream.js'
import type { TtsResponseInfo } from '../client/tts-source.js'
import { FailureGate } from './failure-gate.js'
import { assertPcmInput } from './pcm-input.js'

/** Response formats of {@link sendAudio}. @category Sinks */
export type HttpAudioFormat = 'wav' | 'ogg' | 'mp3'

/** An HTTP answer for a failure before any audio was sent. @category Sinks */
export interface HttpErrorResponse {
  /** HTTP status code. */
  status: number
  /** Extra headers (lower-case names), e.g. `retry-after`. */
  headers?: Record<string, string> | undefined
  /** The body: an object is sent as JSON; a string or Buffer as it is. @defaultValue no body */
  body?: unknown
}

/** What {@link SendAudioOptions.onError} is told. @category Sinks */
export interface SendAudioErrorInfo {
  /**
   * `'before-audio'`: nothing was written; the answer returned by `onError` (or `response`) is
   * sent. `'after-audio'`: the response was already streaming; it was ended cleanly after the
   * audio so far (the return value is ignored).
   */
  phase: 'before-audio' | 'after-audio'
  /** The default answer ({@link audioErrorResponse}) for this error. */
  response: HttpErrorResponse
  /** The TTS request's id (`X-Request-Id`), when the API answered. */
  requestId: string | undefined
  /** Audio bytes written to the response before the failure. */
  bytesSent: number
}

/** Options of {@link sendAudio}. @category Sinks */
export interface SendAudioOptions {
  /** `wav` (streaming header), `ogg` (Opus, in process) or `mp3` (ffmpeg). @defaultValue `'ogg'` */
  format?: HttpAudioFormat | undefined
  /** Opus or mp3 bitrate, bit/s. */
  bitrate?: number | undefined
  /**
   * The ffmpeg binary for `mp3`. Without one, the answer is a 500 with `ERR_FFMPEG` before any audio.
   * @defaultValue `process.env.FFMPEG_PATH`, else `'ffmpeg'` on PATH
   */
  ffmpegPath?: string | undefined
  /**
   * Called for every synthesis or encoding failure (not for an HTTP client that disconnects).
   * Before the first byte it may return the answer to send instead of the default
   * ({@link audioErrorResponse}); after it, it is the place to log: the response has been ended
   * cleanly and the returned promise rejects with the same error.
   */
  onError?: ((error: Error, info: SendAudioErrorInfo) => HttpErrorResponse | undefined | void) | undefined
}

const HTTP_FORMATS: readonly string[] = ['wav', 'ogg', 'mp3'] satisfies HttpAudioFormat[]

/** The JSON body of an error answer: `{ error: { code, message, requestId } }`. @category Sinks */
export interface HttpErrorBody {
  /** What went wrong. */
  error: {
    /** The library's error code (`ERR_API`, `ERR_TIMEOUT`, …). */
    code: string
    /** A short message meant for the HTTP client: never the API key or the upstream body. */
    message: string
    /** The TTS request's id, to quote to support, when the API answered. */
    requestId: string | null
  }
}

/**
 * The default HTTP answer for a failure before any audio was sent:
 *
 * | failure | status |
 * |---|---|
 * | invalid request (local validation, {@link InvalidRequestError}) or the API's 400/413/422 | 400 |
 * | the API refused this server's key (401, 403) | 502 |
 * | the API's rate or concurrency limit (429) | 503, with `Retry-After` (the API's, else 1 s) |
 * | the API failed (5xx, other 4xx), a connection error, a broken stream | 502 |
 * | a timeout ({@link TimeoutError}, any phase) | 504 |
 * | this server's own set-up (a missing key, an invalid option, anything else) | 500 |
 *
 * The body is {@link HttpErrorBody} JSON. It never holds the key, and it does not relay the
 * API's error body (only, for a 400, the validation messages).
 * @category Sinks
 */
export function audioErrorResponse(error: unknown, requestId?: string | undefined): HttpErrorResponse {
  const code = error instanceof LightningStreamError ? error.code : 'ERR_INTERNAL'
  const rid = error instanceof ApiError ? error.requestId ?? requestId : requestId
  const answer = (status: number, message: string, headers?: Record<string, string>): HttpErrorResponse => {
    const body: HttpErrorBody = { error: { code, message, requestId: rid ?? null } }
    return headers ? { status, headers, body } : { status, body }
  }
  if (error instanceof InvalidRequestError) return answer(400, error.message)
  if (error instanceof ApiError) {
    const s = error.status
    if (s === 400 || s === 413 || s === 422) return answer(400, `The speech service rejected the request${error.details.length ? `: ${error.details.join('; ')}` : ''}`)
    if (s === 401 || s === 403) return answer(502, "The speech service refused this server's credentials")
    if (s === 429) {
      const wait = retryAfterMs(error.headers)
      return answer(503, 'The speech service is busy; retry later', { 'retry-after': String(Math.max(1, Math.ceil((wait ?? 1000) / 1000))) })
    }
    return answer(502, `The speech service failed (${s})`)
  }
  if (error instanceof TimeoutError) return answer(504, 'The speech service did not answer in time')
  if (error instanceof ConnectionError) return answer(502, 'The speech service could not be reached')
  if (error instanceof MissingApiKeyError || error instanceof InvalidOptionError) return answer(500, 'Speech is not configured correctly on this server')
  if (error instanceof AbortError) return answer(503, 'Synthesis was aborted')
  if (code === 'ERR_FFMPEG' || code === 'ERR_OPUS_ENGINE_MISSING' || code === 'ERR_OPUS_WORKER') return answer(500, 'This server could not encode the audio')
  if (error instanceof LightningStreamError) return answer(502, 'The speech service sent a broken stream')
  return answer(500, 'Internal error')
}

function writeError(res: ServerResponse, answer: HttpErrorResponse): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  const body = answer.body
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  res.statusCode = answer.status
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v)
  if (payload !== undefined && !res.hasHeader('content-type')) {
    res.setHeader('content-type', typeof body === 'object' && !Buffer.isBuffer(body) ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8')
  }
  res.setHeader('cache-control', 'no-store')
  res.end(payload)
}

/**
 * Streams audio into `res` as it is synthesised: `Content-Type` set, no `Content-Length`
 * (chunked), `Cache-Control: no-store`.
 *
 * `input` is PCM with a `format` (`client.pcm(request)`, a `TextToSpeechStream`, any stage's
 * output), or a function that returns it: a throw from it, such as `pcm()`'s
 * {@link InvalidRequestError} for a bad request, is then answered (400) like any other failure
 * before the audio. A TTS request itself is refused with an {@link InvalidOptionError}.
 *
 * - Nothing is written before the first audio arrived. A failure before that becomes an HTTP
 *   answer: the status from {@link audioErrorResponse} (400, 502, 503 with `Retry-After`, 504,
 *   500) with a JSON {@link HttpErrorBody}, or what `onError` returns.
 * - After the first byte, a failure of synthesis ends the response cleanly: the encoders flush, so
 *   a WAV stays playable and an Ogg gets its final page; `onError` is called.
 * - A client that disconnects aborts the TTS request and frees the encoders (and kills ffmpeg).
 *
 * Resolves when all the audio was sent. Rejects with the error otherwise, after the response has
 * been answered or ended: a synthesis failure, or an {@link AbortError} when the HTTP client left.
 *
 * @example
 * ```ts
 * http.createServer(async (req, res) => {
 *   try {
 *     // A function, so that an invalid request (pcm() throws) is answered with 400 like any failure.
 *     await sendAudio(res, () => client.pcm({ text: 'Hello over HTTP.', voice_id: 'magnus' }), { format: 'ogg' })
 *   } catch (err) {
 *     console.error('speech failed:', (err as LightningStreamError).code) // already answered
 *   }
 * })
 * ```
 * @category Sinks
 */
export async function sendAudio(res: ServerResponse, input: PcmReadable | (() => PcmReadable), options: SendAudioOptions = {}): Promise<void> {
  const ac = new AbortController()
  let requestId: string | undefined
  let bytesSent = 0
  const report = (error: Error, phase: SendAudioErrorInfo['phase']): HttpErrorResponse => {
    const response = audioErrorResponse(error, requestId)
    let chosen: HttpErrorResponse | undefined | void
    try {
      chosen = options.onError?.(error, { phase, response, requestId, bytesSent })
    } catch {
      chosen = undefined // a throwing callback must not leave the request unanswered
    }
    return chosen ?? response
  }
  const format = options.format ?? 'ogg'
  let pcm: PcmReadable | undefined
  let stages: Duplex[]
  let mimeType: string
  try {
    if (!HTTP_FORMATS.includes(format)) throw new InvalidOptionError('format', `must be wav, ogg or mp3 (got ${String(format)})`)
    // The encoder's tools are checked before any audio is asked for: a missing ffmpeg or Opus engine
    // costs no synthesis (the function form is not even called).
    const ffmpegPath = options.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg'
    if (format === 'mp3' && !ffmpegFound(ffmpegPath)) throw ffmpegMissingError(ffmpegPath)
    if (format === 'ogg' && !OPUS_ENGINES.some((e) => opusEngineInstalled(e))) throw new OpusEngineMissingError([...OPUS_ENGINES])
    pcm = typeof input === 'function' ? input() : input
    assertPcmInput(pcm, 'sendAudio')
    // Ogg is encoded from 48 kHz (the input resampled when it is not), as it always was here.
    const chain = createOutputChain(format, pcm.format, { bitrate: options.bitrate, ffmpegPath: options.ffmpegPath, sampleRate: format === 'ogg' ? 48000 : undefined })
    stages = chain.stages
    mimeType = chain.mimeType
  } catch (err) {
    // A stream given (or already made) is released: nothing will read it.
    const given = pcm ?? (typeof input === 'function' ? undefined : input)
    if (typeof (given as { destroy?: unknown } | undefined)?.destroy === 'function') (given as { destroy(): void }).destroy()
    writeError(res, report(err as Error, 'before-audio'))
    throw err
  }
  pcm.once('response', (info: TtsResponseInfo) => (requestId = info.requestId))
  const onClose = () => {
    if (!res.writableFinished) ac.abort()
  }
  res.once('close', onClose)
  const gate = new FailureGate(pcm)
  ac.signal.addEventListener('abort', () => gate.destroy(), { once: true })
  try {
    // Hold the answer until the first audio (the TTS response is known by then) or a failure.
    const first = await gate.first
    if (first instanceof Error) {
      for (const s of stages) s.destroy()
      gate.destroy()
      if ((first as { code?: string }).code === 'ERR_ABORTED' && res.destroyed) throw new AbortError('The HTTP client disconnected before the audio started')
      writeError(res, report(first, 'before-audio'))
      throw first
    }
    const writeHead = (): void => {
      if (res.headersSent) return
      res.statusCode = 200
      res.setHeader('content-type', mimeType)
      res.setHeader('cache-control', 'no-store')
      if (requestId) res.setHeader('x-request-id', requestId)
    }
    // The headers go out with the first encoded byte, so an encoder that fails before it (ffmpeg
    // missing, say) is still answered with a status. `res` is piped, not in the pipeline, so a
    // failure does not destroy it before it was answered.
    const head = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        writeHead()
        bytesSent += chunk.length
        callback(null, chunk)
      },
      flush(callback) {
        writeHead()
        callback()
      },
    })
    head.pipe(res)
    try {
      await pipeline([gate, ...stages, head])
    } catch (err) {
      head.unpipe(res)
      if (ac.signal.aborted || res.destroyed) throw new AbortError('The HTTP client disconnected', { cause: err })
      if (!res.headersSent) {
        writeError(res, report(err as Error, 'before-audio'))
        throw err
      }
      report(err as Error, 'after-audio')
      res.destroy(err as Error)
      throw err
    }
    try {
      await finished(res)
    } catch (err) {
      throw new AbortError('The HTTP client disconnected', { cause: err })
    }
    const failure = gate.failure
    if (failure) {
      report(failure, 'after-audio')
      throw failure
    }
  } finally {
    res.off('close', onClose)
  }
}
