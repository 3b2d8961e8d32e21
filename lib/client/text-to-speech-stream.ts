/**
 * {@link TextToSpeechStream}: text fragments in, PCM out, as one `Duplex`, for speech that starts
 * while a language model is still writing. Returned by `LightningClient.streamText()` (and by
 * `pcm()` for long text).
 * @module
 */
import { Duplex } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { AbortError, InvalidOptionError, type AudioDelivered, type SegmentInfo } from '../errors.js'
import { durationMs, type PcmFormat } from '../audio/format.js'
import type { TtsMetrics } from '../metrics/timeline.js'
import { PcmOutlet, type PcmMark, type PcmStreamEvents } from './pcm-stream.js'
import type { RetryInfo } from './retry.js'
import type { SynthesisTransport, TransportHooks } from './ws-transport.js'
import type { WordTimestamp } from './ws-protocol.js'

/** PCM held inside the stream before the socket is paused, bytes. */
export const PCM_HIGH_WATER = 64 * 1024
/** The socket is resumed once the PCM held falls below this, bytes. */
export const PCM_LOW_WATER = 16 * 1024

const FLUSH = Symbol('flush')

type Mark = 'requestSent' | 'firstFrame' | 'firstPcmByte' | 'firstText' | 'inputEnd' | 'lastPcmByte' | 'end'

/** The events of a {@link TextToSpeechStream}: those of a {@link PcmStream}, plus these. @category Client */
export interface TextToSpeechStreamEvents extends Omit<PcmStreamEvents, 'metrics'> {
  /** A word of the audio (WebSocket with `word_timestamps`). */
  word: [word: WordTimestamp]
  /** A socket lost between utterances was reopened (WebSocket). */
  reconnect: [
    info: {
      /** Reconnections so far on this stream. */
      reconnects: number
      /** Where the new socket resumes, in seconds of audio already delivered. */
      offsetSeconds: number
    },
  ]
  /** The stream closed: its timeline and totals. */
  metrics: [metrics: TextToSpeechMetrics]
  /** The writable side finished (every text fragment was taken). */
  finish: []
  /** The writable side can take more text. */
  drain: []
}

/** The timeline and totals of a {@link TextToSpeechStream}, ms since the stream was created. @category Client */
export interface TextToSpeechMetrics extends TtsMetrics {
  /** The first text fragment was written. */
  firstText?: number | undefined
  /** `end()`/`endInput()` was called. */
  inputEnd?: number | undefined
  /** The last PCM byte was handed downstream. */
  lastPcmByte?: number | undefined
  /** Text fragments written (whitespace-only ones included). */
  fragments: number
  /** Words reported. */
  words: number
  /** Sockets reopened after a loss between utterances (WebSocket). */
  reconnects: number
}

/** Options of {@link TextToSpeechStream} that `streamText()` takes. */
export interface TextToSpeechStreamOptions {
  /** Aborts: closes the socket at once (barge-in). */
  signal?: AbortSignal | undefined
  /** PCM held before the network is paused, bytes. @defaultValue 65536 (64 KiB) */
  highWaterMark?: number | undefined
}

/** @internal */
export type TransportFactory = (hooks: TransportHooks) => SynthesisTransport

/**
 * A `Duplex`: text in, PCM out.
 *
 * **Writable side** (object mode): each chunk is a text fragment, a `string` or a `Buffer` of
 * UTF-8 (decoded statefully, so a character split across two writes arrives whole). So both
 * `pipeline(llmTokens, tts, sink)` and `pipeline(process.stdin, tts, sink)` work. A fragment of
 * only whitespace is not sent on its own; it is carried into the next one, so words never run
 * together. {@link pushText}, {@link flush} and {@link endInput} do the same for callers that do not
 * pipe. Ending the writable side ends the input.
 *
 * **Readable side** (bytes): PCM in {@link format} (s16le mono at the request's `sample_rate`,
 * 24000 by default), sample-aligned. It ends after the server's `complete`, once every byte was
 * read. A slow reader pauses the socket: at most `highWaterMark` (64 KiB unless set) bytes are held here (plus
 * one socket read), and the server is slowed by TCP flow control. The readable side hands out one
 * chunk per read (`highWaterMark` 0), so on a failure every byte that arrived is read first, and
 * after `destroy()` at most the chunk already handed out reaches the sink.
 *
 * **Events:** `'word'` ({@link WordTimestamp}: `{ word, start, end, index }`, seconds of audio
 * from the start of this stream, in audio order); `'retry'` ({@link RetryInfo}) before each retry
 * of the connection; `'reconnect'` when a socket lost between utterances is reopened;
 * `'segment'` (`{ index, text }`, SSE transport and segmented `pcm()`) when a segment's request
 * starts; `'metrics'` ({@link TextToSpeechMetrics}) when the stream closes.
 *
 * **Errors** are coded and carry `delivered`: `ERR_API` (the upgrade was refused: 401, 429, 5xx
 * after retries), `ERR_CONNECTION`, `ERR_TIMEOUT` (`phase: 'idle'` when audio is owed and does not
 * come), `ERR_SERVER_ERROR_FRAME`, `ERR_STREAM_TRUNCATED` (the socket closed without `complete`),
 * `ERR_CHUNK_*`, `ERR_ABORTED`. With `transport: 'sse'`, errors also carry `segment`.
 *
 * `destroy()` or the `signal` (barge-in) closes the socket at once and frees the concurrency slot.
 *
 * @example
 * ```ts
 * const tts = client.streamText({ voice_id: 'magnus' })
 * tts.on('word', (w) => console.log(w.word, w.start))
 * await pipeline(llmTokens, tts, createWriteStream('reply.pcm'))
 * ```
 * @category Client
 */
export class TextToSpeechStream extends Duplex {
  /** The PCM format of the readable side. */
  readonly format: PcmFormat
  readonly #transport: SynthesisTransport
  readonly #outlet: PcmOutlet
  readonly #decoder = new StringDecoder('utf8')
  readonly #start = performance.now()
  readonly #marks: Partial<Record<Mark, number>> = {}
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: (() => void) | undefined
  #carry = '' // whitespace waiting for the next fragment
  #fragments = 0
  #words = 0
  #reconnects = 0
  #retries = 0
  #failed = false

  /** @internal Use `LightningClient.streamText()`. */
  constructor(format: PcmFormat, transport: TransportFactory, options: TextToSpeechStreamOptions = {}) {
    super({ writableObjectMode: true, writableHighWaterMark: 64, readableObjectMode: false, readableHighWaterMark: 0, allowHalfOpen: true, decodeStrings: false })
    this.format = { ...format }
    const high = options.highWaterMark ?? PCM_HIGH_WATER
    if (!Number.isInteger(high) || high < 1) throw new InvalidOptionError('highWaterMark', `must be a positive integer number of bytes (got ${String(high)})`)
    const outlet = new PcmOutlet(this, this.format, { high, low: Math.min(PCM_LOW_WATER, Math.floor(high / 4)) }, () => {
      this.#mark('firstPcmByte')
      this.#marks.lastPcmByte = performance.now() - this.#start
    })
    this.#outlet = outlet
    const hooks: TransportHooks = {
      audio: (pcm) => outlet.audio(pcm),
      word: (w) => {
        this.#words++
        this.emit('word', w)
      },
      complete: () => outlet.complete(),
      fail: (err, segment) => outlet.fail(err, segment),
      received: () => outlet.received(),
      queued: () => outlet.queued,
      bytesPerSecond: format.sampleRate * format.channels * 2,
      emit: (event: string, info: unknown) => {
        if (event === 'retry') this.#retries++
        if (event === 'reconnect') this.#reconnects++
        this.emit(event, info)
      },
      mark: (step: PcmMark) => {
        if (step === 'requestSent' || step === 'firstFrame') this.#mark(step)
      },
    }
    this.#transport = transport(hooks)
    outlet.attach(this.#transport)
    const signal = options.signal
    this.#signal = signal
    if (signal?.aborted) {
      this.#onAbort = undefined
      process.nextTick(() => this.destroy(new AbortError('Aborted before the request was sent', { delivered: this.delivered })))
    } else if (signal) {
      this.#onAbort = () => this.destroy(new AbortError(undefined, { delivered: this.delivered }))
      signal.addEventListener('abort', this.#onAbort, { once: true })
    } else this.#onAbort = undefined
    this.once('error', () => (this.#failed = true))
    this.once('close', () => {
      this.#mark('end')
      this.emit('metrics', this.metrics)
    })
  }

  /** Audio handed downstream so far: chunk messages received, bytes, duration. */
  get delivered(): AudioDelivered {
    return this.#outlet.delivered()
  }

  /**
   * PCM received and not yet handed downstream, bytes. The network is paused above
   * `highWaterMark` (64 KiB), so this stays below it plus one socket read (64 KiB of frames).
   */
  get bufferedBytes(): number {
    return this.#outlet.queued
  }

  /** The stream's timeline and totals so far (also emitted as `'metrics'` on close). */
  get metrics(): TextToSpeechMetrics {
    const m = this.#marks
    const bytes = this.#outlet.delivered().bytes
    const audioMs = durationMs(this.format, bytes) ?? 0
    return {
      start: this.#start,
      requestSent: m.requestSent,
      responseHeaders: m.requestSent,
      firstSseByte: m.firstFrame,
      firstAudioEvent: m.firstPcmByte,
      firstPcmByte: m.firstPcmByte,
      end: m.end,
      audioBytes: bytes,
      audioMs,
      realtimeFactor: m.end ? audioMs / m.end : undefined,
      retries: this.#retries,
      failed: this.#failed,
      firstText: m.firstText,
      inputEnd: m.inputEnd,
      lastPcmByte: m.lastPcmByte,
      fragments: this.#fragments,
      words: this.#words,
      reconnects: this.#reconnects,
    }
  }

  /** Writes a text fragment (same as `write(text)`). Returns `write()`'s backpressure hint. */
  pushText(text: string): boolean {
    return this.write(text)
  }

  /**
   * Asks for what was written so far to be spoken now, without ending the input (WebSocket: sends
   * `flush: true, continue: true` on the same socket; SSE: ends the current segment).
   */
  flush(): boolean {
    return this.write(FLUSH)
  }

  /** Ends the input (same as `end()`): the rest is spoken, then the readable side ends. */
  endInput(): this {
    return this.end()
  }

  #mark(step: Mark): void {
    this.#marks[step] ??= performance.now() - this.#start
  }

  #text(fragment: string): void {
    if (!fragment) return
    if (!fragment.trim()) {
      this.#carry += fragment
      return
    }
    const text = this.#carry + fragment
    this.#carry = ''
    this.#transport.text(text)
  }

  /** @internal */
  override _write(chunk: unknown, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk === FLUSH) {
      this.#transport.flush()
      return callback()
    }
    let text: string
    if (typeof chunk === 'string') text = chunk
    else if (chunk instanceof Uint8Array) text = this.#decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    else return callback(new InvalidOptionError('chunk', `text fragments must be strings or Buffers of UTF-8 (got ${chunk === null ? 'null' : typeof chunk})`))
    this.#fragments++
    this.#mark('firstText')
    this.#text(text)
    callback()
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    this.#text(this.#decoder.end())
    this.#mark('inputEnd')
    this.#transport.end()
    callback()
  }

  /** @internal */
  override _read(): void {
    this.#outlet.read()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#transport.close()
    this.#outlet.clear()
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort)
    callback(error)
  }
}

/** Typed events and iteration (merged into the class). */
export interface TextToSpeechStream {
  /** Adds a listener for one of the {@link TextToSpeechStreamEvents}. */
  on<K extends keyof TextToSpeechStreamEvents>(event: K, listener: (...args: TextToSpeechStreamEvents[K]) => void): this
  /** Adds a listener for any other event. */
  on(event: string | symbol, listener: (...args: any[]) => void): this
  /** Adds a one-time listener for one of the {@link TextToSpeechStreamEvents}. */
  once<K extends keyof TextToSpeechStreamEvents>(event: K, listener: (...args: TextToSpeechStreamEvents[K]) => void): this
  /** Adds a one-time listener for any other event. */
  once(event: string | symbol, listener: (...args: any[]) => void): this
  /** Removes a listener. */
  off<K extends keyof TextToSpeechStreamEvents>(event: K, listener: (...args: TextToSpeechStreamEvents[K]) => void): this
  /** Removes a listener of any other event. */
  off(event: string | symbol, listener: (...args: any[]) => void): this
  /** Reads PCM chunks: `for await (const chunk of tts)`. */
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<Buffer>
}

export type { WordTimestamp, RetryInfo, SegmentInfo }
