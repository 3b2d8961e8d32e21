/**
 * {@link PcmStream}: the PCM stream `LightningClient.pcm()` returns, and the read side it shares
 * with {@link TextToSpeechStream} ({@link PcmOutlet}).
 *
 * A producer (the SSE source, the segmented SSE transport, the WebSocket transport) reports
 * audio, the end, or a failure to a {@link PcmSink}; the outlet queues the audio, pauses the
 * producer above a high-water mark, and hands one chunk downstream per read. A failure is an
 * error that flows down: it is raised with `destroy(err)` only once every byte received before it
 * was read, and it gets `delivered` (and, for a segmented stream, `segment`) here, at the top,
 * once. Nothing below edits it.
 * @module
 */
import { Readable } from 'node:stream'
import { AbortError, AudioFormatError, withStreamContext, type AudioDelivered, type LightningStreamError, type SegmentInfo } from '../errors.js'
import { durationMs, type PcmFormat } from '../audio/format.js'
import { TtsTimeline, type TtsMetrics } from '../metrics/timeline.js'
import type { RetryInfo } from './retry.js'
import type { TtsResponseInfo } from './tts-source.js'

/**
 * Any `Readable` of PCM that says what it carries: a {@link PcmStream}, a
 * {@link TextToSpeechStream}, or your own (`Object.assign(readable, { format })`). What the sinks
 * take.
 * @category Client
 */
export interface PcmReadable extends Readable {
  /** The PCM format of the bytes. */
  readonly format: PcmFormat
}

/** Steps of the request timeline a producer reports (`firstFrame`: the first SSE event or WebSocket frame). */
export type PcmMark = 'requestSent' | 'responseHeaders' | 'firstSseByte' | 'firstAudioEvent' | 'firstFrame'

/** What a producer reports to the stream that reads it. @internal */
export interface PcmSink {
  /** Audio bytes, in order (any length: the outlet aligns samples). */
  audio(pcm: Buffer): void
  /** All audio was produced. */
  complete(): void
  /** A failure: the producer has already closed its socket and freed its slot. */
  fail(err: LightningStreamError, segment?: SegmentInfo): void
  /** Audio received so far (bytes, chunk messages), for errors and word offsets. */
  received(): AudioDelivered
  /** PCM bytes held in the stream, not yet handed downstream. */
  queued(): number
  /** Bytes of audio per second of the stream's format. */
  readonly bytesPerSecond: number
  /** Events for the caller. */
  emit(event: 'response', info: TtsResponseInfo): void
  emit(event: 'retry', info: RetryInfo): void
  emit(event: 'reconnect', info: { reconnects: number; offsetSeconds: number }): void
  emit(event: 'segment', info: SegmentInfo): void
  /** A step of the timeline (the first time counts). */
  mark(step: PcmMark): void
}

/** The source of a {@link PcmStream}'s audio. @internal */
export interface PcmProducer {
  /** The first read: send the request. Producers that start on their own leave it out. */
  start?(): void
  /** Stop reading from the network (backpressure). */
  pause(): void
  /** Read again. */
  resume(): void
  /** The stream handed a chunk downstream (its queue shrank). */
  drained(): void
  /** Destroyed, or failed elsewhere: close at once, free the slot. Idempotent. */
  close(): void
  /**
   * What `delivered` reports, when the producer counts it itself: the fused SSE path counts audio
   * SSE events, and bytes before G.711 expansion. Otherwise the outlet counts PCM bytes read.
   */
  delivered?(): AudioDelivered
  /** Bytes the producer holds itself (undici's body buffer), for {@link PcmStream.bufferedBytes}. */
  bufferedBytes?(): number
}

/** The queue limits of an outlet, bytes. @internal */
export interface OutletLimits {
  /** The producer is paused once this much PCM waits. */
  high: number
  /** It is resumed once less than this waits. */
  low: number
}

/**
 * The read side of {@link PcmStream} and {@link TextToSpeechStream}: sample alignment, a bounded
 * queue with pause/resume, one chunk per read, and the end or the failure once the queue is read.
 *
 * With the stream's `highWaterMark` at 0, `_read` is only called once the consumer took the chunk
 * before, so an error never overtakes audio that arrived before it, and after `destroy()` at most
 * the chunk already handed out reaches the sink. (Pushing batches instead let up to 16 KiB
 * through after a barge-in on a busy host: they sit in the Readable's buffer, which `destroy()`
 * does not stop `pipe()` from emitting.)
 * @internal
 */
export class PcmOutlet {
  readonly #stream: Readable
  readonly #format: PcmFormat
  readonly #limits: OutletLimits
  readonly #onPush: (chunk: Buffer) => void
  #producer: PcmProducer | undefined
  #odd = -1 // a byte of a sample split across chunks, or -1
  #queue: Buffer[] = []
  #queued = 0
  #wantRead = false
  #complete = false
  #failure: LightningStreamError | undefined
  #segment: SegmentInfo | undefined
  #paused = false
  #chunks = 0
  #receivedBytes = 0
  #pushedBytes = 0

  constructor(stream: Readable, format: PcmFormat, limits: OutletLimits, onPush: (chunk: Buffer) => void) {
    this.#stream = stream
    this.#format = format
    this.#limits = limits
    this.#onPush = onPush
  }

  /** Connects the producer (after the sink was handed to it). */
  attach(producer: PcmProducer): void {
    this.#producer = producer
  }

  /** PCM received and not yet handed downstream, bytes. */
  get queued(): number {
    return this.#queued
  }

  /** True once a failure is waiting to be raised (or was). */
  get failing(): boolean {
    return this.#failure !== undefined
  }

  /** Audio handed downstream so far. */
  delivered(): AudioDelivered {
    return this.#producer?.delivered?.() ?? this.#count(this.#pushedBytes)
  }

  /** Audio received so far (handed downstream or queued). */
  received(): AudioDelivered {
    return this.#producer?.delivered?.() ?? this.#count(this.#receivedBytes)
  }

  #count(bytes: number): AudioDelivered {
    return { chunks: this.#chunks, bytes, durationMs: durationMs(this.#format, bytes) }
  }

  /** Aligns to whole samples, queues, and pauses the producer above the high-water mark. */
  audio(pcm: Buffer): void {
    if (this.#stream.destroyed || this.#failure) return
    this.#chunks++
    let out = pcm
    if (this.#odd >= 0) {
      out = Buffer.allocUnsafe(pcm.length + 1)
      out[0] = this.#odd
      pcm.copy(out, 1)
      this.#odd = -1
    }
    if (out.length & 1) {
      this.#odd = out[out.length - 1] as number
      out = out.subarray(0, out.length - 1)
    }
    if (!out.length) return
    this.#receivedBytes += out.length
    this.#queue.push(out)
    this.#queued += out.length
    if (!this.#paused && this.#queued >= this.#limits.high) {
      this.#paused = true
      this.#producer?.pause()
    }
    if (this.#wantRead) this.#drain()
  }

  /** The producer finished: end once the queue is read (a half sample left over is an error). */
  complete(): void {
    if (this.#stream.destroyed || this.#failure || this.#complete) return
    if (this.#odd >= 0) {
      this.fail(new AudioFormatError('stream ended with half a 16-bit sample (1 odd byte)', { delivered: this.received() }))
      return
    }
    this.#complete = true
    if (this.#wantRead || this.#queue.length === 0) this.#drain()
  }

  /** The producer failed: raise `err` once every byte received before it was read. */
  fail(err: LightningStreamError, segment?: SegmentInfo): void {
    if (this.#stream.destroyed || this.#failure) return
    this.#failure = err
    this.#segment = segment
    this.#producer?.close()
    if (this.#wantRead || this.#queue.length === 0) this.#drain()
  }

  /** `_read`: hand one chunk downstream, or end, or fail. */
  read(): void {
    this.#wantRead = true
    this.#drain()
  }

  /** `_destroy`: drop what is queued. */
  clear(): void {
    this.#queue = []
    this.#queued = 0
  }

  #drain(): void {
    const chunk = this.#queue.shift()
    if (chunk) {
      this.#wantRead = false
      this.#queued -= chunk.length
      this.#pushedBytes += chunk.length
      this.#onPush(chunk)
      if (this.#paused && this.#queued < this.#limits.low && !this.#failure) {
        this.#paused = false
        this.#producer?.resume()
      }
      this.#producer?.drained()
      this.#stream.push(chunk)
      return
    }
    if (this.#failure) {
      // The top boundary: the error gets this stream's `delivered` (and segment), once.
      this.#stream.destroy(withStreamContext(this.#failure, this.delivered(), this.#segment))
      return
    }
    if (this.#complete) {
      this.#wantRead = false
      this.#stream.push(null)
    }
  }
}

/** The events of a {@link PcmStream}, with their arguments. @category Client */
export interface PcmStreamEvents {
  /** A chunk of PCM (sample-aligned, in {@link PcmStream.format}). */
  data: [chunk: Buffer]
  /** Every byte was read. */
  end: []
  /** The stream closed (after `end`, an error, or `destroy()`). */
  close: []
  /** A coded error ({@link LightningStreamError}) carrying `delivered`. */
  error: [err: Error]
  /** Data can be read with `read()`. */
  readable: []
  /** `pause()` was called. */
  pause: []
  /** `resume()` was called. */
  resume: []
  /** The response headers arrived (the first segment's, when segmented). */
  response: [info: TtsResponseInfo]
  /** A retry is about to be made, before any audio. */
  retry: [info: RetryInfo]
  /** A segment's request starts (text over the cap is segmented). */
  segment: [info: SegmentInfo]
  /** The stream closed: its timeline and totals. */
  metrics: [metrics: TtsMetrics]
}

/** Options of a {@link PcmStream}. @internal */
export interface PcmStreamOptions {
  /** Aborts: closes the socket at once. */
  signal?: AbortSignal | undefined
  /** The queue limits. @defaultValue 16 KiB, 16 KiB */
  limits?: OutletLimits | undefined
}

/** The queue limits of `pcm()`: at most one read's worth of the body held here. */
const PCM_LIMITS: OutletLimits = { high: 16 * 1024, low: 16 * 1024 }

/**
 * The stream `LightningClient.pcm()` returns: a `Readable` of PCM that says what it carries.
 *
 * - {@link PcmStream.format}: s16le mono at the request's `sample_rate`.
 * - {@link PcmStream.delivered}: how much audio was handed downstream; every error says it too.
 * - {@link PcmStream.metrics}: the request's timeline and totals (also the `'metrics'` event on close).
 * - Events ({@link PcmStreamEvents}): `'response'`, `'retry'`, `'segment'`, `'metrics'`.
 * - `for await (const chunk of pcm)` yields `Buffer`s.
 *
 * The request is sent on the first read, so the stream joins `pipeline()` backpressure: a slow
 * reader pauses the socket (at most 16 KiB of PCM is held here, plus one socket read in undici).
 * A failure is raised after every byte that arrived before it was read. `destroy()` or the
 * `signal` closes the socket and frees the concurrency slot at once.
 *
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hello there.', voice_id: 'magnus' })
 * pcm.on('response', (r) => console.log('request id', r.requestId))
 * for await (const chunk of pcm) speaker.write(chunk)
 * console.log(pcm.delivered.durationMs, 'ms of audio')
 * ```
 * @category Client
 */
export class PcmStream extends Readable {
  /** The PCM format of the bytes. */
  readonly format: PcmFormat
  readonly #outlet: PcmOutlet
  readonly #producer: PcmProducer
  readonly #timeline = new TtsTimeline()
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: (() => void) | undefined
  #started = false
  #failed = false

  /** @internal Use `LightningClient.pcm()`. */
  constructor(format: PcmFormat, producer: (sink: PcmSink) => PcmProducer, options: PcmStreamOptions = {}) {
    super({ highWaterMark: 0 })
    this.format = { ...format }
    const timeline = this.#timeline
    const outlet = new PcmOutlet(this, this.format, options.limits ?? PCM_LIMITS, () => timeline.mark('firstPcmByte'))
    this.#outlet = outlet
    const sink: PcmSink = {
      audio: (pcm) => outlet.audio(pcm),
      complete: () => outlet.complete(),
      fail: (err, segment) => outlet.fail(err, segment),
      received: () => outlet.received(),
      queued: () => outlet.queued,
      bytesPerSecond: format.sampleRate * format.channels * 2,
      emit: (event: string, info: unknown) => {
        if (event === 'retry') timeline.retries++
        this.emit(event, info)
      },
      mark: (step) => timeline.mark(step === 'firstFrame' ? 'firstSseByte' : step),
    }
    this.#producer = producer(sink)
    outlet.attach(this.#producer)
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
      timeline.mark('end')
      this.emit('metrics', this.metrics)
    })
  }

  /** Audio handed downstream so far: chunk messages, bytes, duration. */
  get delivered(): AudioDelivered {
    return this.#outlet.delivered()
  }

  /**
   * Bytes received and not yet read: the PCM queue (paused at 16 KiB, so at most that plus one
   * network chunk's PCM) plus what undici's body holds (its high-water mark is 0: at most one
   * socket read).
   */
  get bufferedBytes(): number {
    return this.#outlet.queued + (this.#producer.bufferedBytes?.() ?? 0)
  }

  /**
   * The request's timeline (request sent, headers, first SSE byte, first audio, end), audio
   * delivered and realtime factor, so far. Also emitted as `'metrics'` when the stream closes.
   */
  get metrics(): TtsMetrics {
    const d = this.#outlet.delivered()
    return this.#timeline.snapshot(d.bytes, d.durationMs ?? 0, this.#failed)
  }

  /** @internal */
  override _read(): void {
    if (!this.#started) {
      this.#started = true
      this.#producer.start?.()
    }
    this.#outlet.read()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#outlet.clear()
    this.#producer.close()
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort)
    callback(error)
  }
}

/** Typed events and iteration (merged into the class). */
export interface PcmStream {
  /** Adds a listener for one of the {@link PcmStreamEvents}. */
  on<K extends keyof PcmStreamEvents>(event: K, listener: (...args: PcmStreamEvents[K]) => void): this
  /** Adds a listener for any other event. */
  on(event: string | symbol, listener: (...args: any[]) => void): this
  /** Adds a one-time listener for one of the {@link PcmStreamEvents}. */
  once<K extends keyof PcmStreamEvents>(event: K, listener: (...args: PcmStreamEvents[K]) => void): this
  /** Adds a one-time listener for any other event. */
  once(event: string | symbol, listener: (...args: any[]) => void): this
  /** Removes a listener. */
  off<K extends keyof PcmStreamEvents>(event: K, listener: (...args: PcmStreamEvents[K]) => void): this
  /** Removes a listener of any other event. */
  off(event: string | symbol, listener: (...args: any[]) => void): this
  /** Reads PCM chunks: `for await (const chunk of pcm)`. */
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<Buffer>
}
