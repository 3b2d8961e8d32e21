/**
 * {@link LightningClient}: composition only. Options are checked in `client-options.ts`, requests
 * go out through the {@link Transport} (slot → retry → one attempt), `stream()` is a
 * {@link TtsSource}, `pcm()` a {@link PcmStream} over the fused SSE → PCM source (or over the
 * segmented transport for long text), `streamText()` a {@link TextToSpeechStream}.
 * @module
 */
import { inspect } from 'node:util'
import type { Dispatcher } from 'undici'
import { InvalidRequestError, ProtocolError, type ResponseIds } from '../errors.js'
import { createSsePcmDecoder } from '../audio/sse-pcm.core.js'
import type { AudioFormat, PcmFormat } from '../audio/format.js'
import { parseWavHeader, WAV_UNKNOWN_SIZE } from '../audio/wav-header.js'
import { resolveClientOptions, type CallOptions, type LightningClientOptions, type PcmOptions } from './client-options.js'
import { PcmStream } from './pcm-stream.js'
import { flatHeaders, responseIds, toLightningError } from './responses.js'
import { resolveTtsRequest, type OutputFormat, type ResolvedTtsRequest, type TtsRequest } from './request.js'
import { createStreamText, segmentedPcm, type StreamTextContext, type StreamTextOptions } from './stream-text.js'
import type { TextToSpeechStream } from './text-to-speech-stream.js'
import { Transport } from './transport.js'
import { SsePcmSource, TtsSource, type TtsSourceInit } from './tts-source.js'
import type { Voice } from './voices.js'
import type { StreamTextRequest } from './ws-protocol.js'

/** The result of {@link LightningClient.synthesize}. @category Client */
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

/** What {@link LightningClient.queue} reports. @category Client */
export interface QueueState {
  /** Requests holding a concurrency slot. */
  active: number
  /** Requests waiting for one, in FIFO order. */
  waiting: number
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
 * @category Client
 */
export class LightningClient {
  readonly #transport: Transport
  /** The API origin requests go to. */
  readonly baseUrl: string
  /** The concurrency limit. */
  readonly maxConcurrent: number

  constructor(options: LightningClientOptions = {}) {
    const resolved = resolveClientOptions(options)
    this.#transport = new Transport(resolved)
    this.baseUrl = resolved.baseUrl
    this.maxConcurrent = resolved.maxConcurrent
  }

  /** True when an API key is configured (the key itself is never exposed). */
  get hasApiKey(): boolean {
    return this.#transport.hasApiKey
  }

  /** Requests in flight and queued for a slot. */
  get queue(): QueueState {
    const slots = this.#transport.slots
    return { active: slots.active, waiting: slots.waiting }
  }

  /**
   * Streams `POST /waves/v1/tts/live`: a {@link TtsSource} of the raw SSE bytes. The request is
   * validated now (an {@link InvalidRequestError} is thrown before anything is sent) and sent
   * lazily on the first read.
   */
  stream(request: TtsRequest, options: CallOptions = {}): TtsSource {
    const body = resolveTtsRequest(request)
    return new TtsSource({ ...this.#sourceInit(body), signal: options.signal })
  }

  /** `bodyHighWaterMark`: bytes undici's body buffers before it stops reading the socket. */
  #sourceInit(body: ResolvedTtsRequest, bodyHighWaterMark = 16 * 1024): TtsSourceInit {
    this.#transport.checkKey()
    const transport = this.#transport
    return {
      // The source aborts `signal` when it is closed, including by the caller's signal.
      start: (signal, onRetry, onSend) =>
        transport.send({ method: 'POST', path: '/waves/v1/tts/live', accept: 'text/event-stream', body, signal, onRetry, onSend, bodyHighWaterMark }),
      totalTimeoutMs: transport.timeouts.total,
      timeouts: transport.timeouts,
    }
  }

  /**
   * Streams PCM: a {@link PcmStream} whose `format` says what it carries: s16le mono at the
   * requested rate. The response body's chunks go straight through the fused SSE → PCM core
   * ({@link createSsePcmDecoder}: the same strict decoding as {@link SseParser} then
   * {@link AudioChunkDecoder}, with a one-pass fast path for the documented chunk message; G.711
   * expanded for `ulaw`/`alaw`), one PCM Buffer per network chunk. `output_format` may be `pcm` (the
   * default), `wav`, `ulaw` or `alaw`; `mp3` needs a decoder (use `stream()`). Errors carry
   * `delivered`. The stream ends at the `done: true` terminator, releasing the slot at once (the
   * connection too, unless the response ends right after it and the socket can be reused).
   *
   * Text longer than 250 characters is cut into sentences and sent as one request each, stitched
   * into one gapless stream (see {@link PcmOptions.segment}), so the first audio comes after the
   * first sentence; errors then also carry `segment: { index, text }`. `{ segment: false }` sends
   * one request.
   * @throws {@link InvalidRequestError} before anything is sent; {@link MissingApiKeyError}
   */
  pcm(request: TtsRequest, options: PcmOptions = {}): PcmStream {
    const body = resolveTtsRequest(request)
    const fmt = body.output_format
    if (fmt === 'mp3') {
      throw new InvalidRequestError([
        { path: ['output_format'], code: 'custom', message: "pcm() cannot decode 'mp3': request 'pcm' (the default), or use stream() with your own decoder" },
      ])
    }
    this.#transport.checkKey()
    // Long text: one SSE request per sentence segment, stitched (issue 15; see stream-text.ts).
    const segmented = segmentedPcm(this.#streamTextContext(), body, options)
    if (segmented) return segmented
    // Fused path: the source hands each network chunk of the body straight to one synchronous
    // SSE → PCM core. undici's body is read in flowing mode; when the consumer is slow, a
    // high-water mark of 0 makes undici stop at the first chunk it has to hold (one socket read).
    const init = this.#sourceInit(body, 0)
    const core = createSsePcmDecoder({ outputFormat: fmt, sampleRate: body.sample_rate, g711ToPcm: true })
    const format: PcmFormat = { sampleRate: body.sample_rate, channels: 1, encoding: 's16le' }
    return new PcmStream(format, (sink) => new SsePcmSource(init, core, sink), { signal: options.signal })
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
    this.#transport.checkKey()
    return createStreamText(this.#streamTextContext(), request, options)
  }

  #streamTextContext(): StreamTextContext {
    return {
      ...this.#transport.connection(),
      maxConcurrent: this.maxConcurrent,
      pcm: (request, signal) => this.pcm(request, { signal, segment: false }),
    }
  }

  /** Sync synthesis, `POST /waves/v1/tts`: resolves with the whole audio body and the ids. */
  async synthesize(request: TtsRequest, options: CallOptions = {}): Promise<SynthesizeResult> {
    const body = resolveTtsRequest(request)
    this.#transport.checkKey()
    const { response, release } = await this.#transport.send({ method: 'POST', path: '/waves/v1/tts', accept: 'audio/wav', body, signal: options.signal })
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
      throw toLightningError(err, this.#transport.timeouts)
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
    this.#transport.checkKey()
    const { response, release } = await this.#transport.send({ method: 'GET', path: '/waves/v1/lightning-v3.1/get_voices', accept: 'application/json', signal: options.signal })
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
      throw toLightningError(err, this.#transport.timeouts)
    } finally {
      response.body.destroy()
      release()
    }
  }

  /** Closes the client's own connection pool (a dispatcher passed in is left open). */
  async close(): Promise<void> {
    await this.#transport.close()
  }

  /** @internal Never shows the key. */
  [inspect.custom](): string {
    return `LightningClient { baseUrl: '${this.baseUrl}', apiKey: ${this.hasApiKey ? "'[redacted]'" : 'undefined'}, maxConcurrent: ${this.maxConcurrent} }`
  }

  /** JSON form without the key. */
  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl, apiKey: this.hasApiKey ? '[redacted]' : undefined, maxConcurrent: this.maxConcurrent }
  }
}

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
