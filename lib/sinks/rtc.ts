/**
 * WebRTC and LiveKit sinks. Both bindings read a typed array's whole underlying ArrayBuffer, so
 * every frame handed to them is an owned, exactly sized Int16Array (`byteOffset` 0).
 * @module
 */
import { Writable } from 'node:stream'
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'
import { createPcmFramer as createFramer, type PcmFramerCore as FramerCore } from '../audio/pcm-framer.core.js'
import { Pacer, type PacerMetrics } from './pacer.js'

/**
 * The part of `@roamhq/wrtc`'s `nonstandard.RTCAudioSource` this sink uses.
 * @inline
 */
export interface RtcAudioSourceLike {
  /** Takes exactly 10 ms of 16-bit samples per call. */
  onData(data: { samples: Int16Array; sampleRate: number; bitsPerSample?: number; channelCount?: number; numberOfFrames?: number }): void
}

/** Options of {@link WrtcAudioSink}. @category Sinks */
export interface WrtcAudioSinkOptions {
  /** A `new wrtc.nonstandard.RTCAudioSource()`. */
  source: RtcAudioSourceLike
  /** The PCM format written: s16le, 1 or 2 channels, a rate divisible by 100 (10 ms frames). */
  format: PcmFormat
  /** Jitter cushion, ms. @defaultValue `60` */
  leadMs?: number | undefined
  /** Audio held ahead of the clock before writes wait, ms. @defaultValue `500` */
  maxLeadMs?: number | undefined
  /**
   * The latest a frame may leave after its slot, ms. After an event-loop stall the due frames
   * leave at once: a stall up to this long is caught up (no drift, nothing dropped); a longer one
   * moves the clock by the rest (`metrics.driftMs`), so a burst is at most this much audio
   * (plus two frames) in any 10 ms. @defaultValue `200`
   */
  maxBurstMs?: number | undefined
}

/** Ties a sink's Writable side to a Pacer that emits frames on the wall clock. @internal */
abstract class PacedSink extends Writable {
  protected readonly pacer: Pacer
  #ended: Promise<void>
  constructor(format: PcmFormat, frameMs: number, leadMs: number, maxLeadMs: number, maxBurstMs: number) {
    super({ decodeStrings: true })
    this.pacer = new Pacer({ format, frameMs, leadMs, maxLeadMs, maxBurstMs, fillSilence: true })
    this.pacer.on('data', (frame: Buffer) => this.sendFrame(frame))
    this.pacer.on('error', (err: Error) => this.destroy(err))
    this.#ended = new Promise((resolve) => this.pacer.once('end', resolve))
  }
  protected abstract sendFrame(frame: Buffer): void
  /**
   * Frames sent, silence frames and underruns, queue depth, lateness (`lateFrames`, `maxLateMs`),
   * clock moves (`driftMs`) and the largest catch-up burst.
   */
  get metrics(): PacerMetrics {
    return this.pacer.metrics
  }
  /** Barge-in: drops queued audio at once; the sink stays usable. Returns the ms dropped. */
  clear(): number {
    return this.pacer.clear()
  }
  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pacer.write(chunk, (err) => callback(err))
  }
  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    this.pacer.end()
    this.#ended.then(() => callback(), callback)
  }
  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pacer.destroy()
    callback(error)
  }
}

/**
 * Writable: PCM in, node-webrtc `RTCAudioSource.onData` calls out — exactly 10 ms per call, each
 * a fresh, exactly sized `Int16Array`, on a drift-corrected wall clock (100 calls per second),
 * with silence on underrun so the track never starves.
 *
 * Under load: every frame is delivered. After an event-loop stall the frames that fell due leave
 * at once; no frame leaves more than `maxBurstMs` (200 ms) after its slot, so at most 22 calls
 * fall in any 10 ms, and a longer stall moves the clock by the rest instead of flooding the
 * receiver's jitter buffer. `metrics` reports `lateFrames`,
 * `maxLateMs`, `driftMs` and `maxBurstFrames`.
 *
 * @example
 * ```ts
 * import wrtc from '@roamhq/wrtc'
 * const source = new wrtc.nonstandard.RTCAudioSource()
 * peer.addTrack(source.createTrack())
 * const pcm = client.pcm(req)
 * await pipeline(pcm, new WrtcAudioSink({ source, format: pcm.format }))
 * ```
 * @category Sinks
 */
export class WrtcAudioSink extends PacedSink {
  readonly #source: RtcAudioSourceLike
  readonly #format: PcmFormat
  readonly #samplesPerFrame: number

  constructor(options: WrtcAudioSinkOptions) {
    const f = options.format
    assertPcmFormat(f, 'WrtcAudioSink format')
    if (f.encoding !== 's16le') throw new AudioFormatError('node-webrtc takes 16-bit samples: s16le only')
    if (f.sampleRate % 100 !== 0) throw new AudioFormatError(`node-webrtc needs 10 ms frames: the rate must be divisible by 100 (got ${f.sampleRate})`)
    if (f.channels !== 1 && f.channels !== 2) throw new AudioFormatError('node-webrtc takes 1 or 2 channels')
    super(f, 10, options.leadMs ?? 60, options.maxLeadMs ?? 500, options.maxBurstMs ?? 200)
    this.#source = options.source
    this.#format = { ...f }
    this.#samplesPerFrame = f.sampleRate / 100
  }

  protected sendFrame(frame: Buffer): void {
    // Pacer frames own their ArrayBuffer (byteOffset 0, exact length): what the binding reads.
    const samples = new Int16Array(frame.buffer, frame.byteOffset, frame.length >> 1)
    this.#source.onData({
      samples,
      sampleRate: this.#format.sampleRate,
      bitsPerSample: 16,
      channelCount: this.#format.channels,
      numberOfFrames: this.#samplesPerFrame,
    })
  }
}

/**
 * The parts of `@livekit/rtc-node`'s `AudioSource` this sink uses.
 * @inline
 */
export interface LiveKitAudioSourceLike {
  /** The source's sample rate; frames must match it. */
  readonly sampleRate: number
  /** The source's channel count; frames must match it. */
  readonly numChannels: number
  /** Queues one AudioFrame; resolves when the native queue accepted it. */
  captureFrame(frame: unknown): Promise<void>
  /** Drops queued audio. */
  clearQueue(): void
  /** Resolves when the queue has played out. */
  waitForPlayout?(): Promise<void>
}

type AudioFrameCtor = new (data: Int16Array, sampleRate: number, channels: number, samplesPerChannel: number) => unknown

/** Options of {@link LiveKitAudioSink}. @category Sinks */
export interface LiveKitAudioSinkOptions {
  /** A `new AudioSource(sampleRate, channels, queueSizeMs)` from `@livekit/rtc-node`. */
  source: LiveKitAudioSourceLike
  /** The PCM format written; must match the source's rate and channels. */
  format: PcmFormat
  /** Frame length handed to `captureFrame`, ms. @defaultValue `10` */
  frameMs?: number | undefined
  /** Wait for the source's queue to play out before finishing. @defaultValue `false` */
  waitForPlayout?: boolean | undefined
}

/** What a {@link LiveKitAudioSink} has done. @category Sinks */
export interface LiveKitSinkMetrics {
  /** Frames handed to `captureFrame` (and accepted). */
  framesCaptured: number
  /** Samples per channel captured: every sample written, the last partial frame included. */
  samplesCaptured: number
  /**
   * Frames captured after the source's queue had already played out: the track had a gap
   * (synthesis or this process fell behind). The first frame, and the first after `clear()`, never count.
   */
  lateFrames: number
  /** Total length of those gaps: how far playout fell behind the audio's own timeline, ms. */
  driftMs: number
  /** The most audio queued in the source, ms (its own estimate of the native queue). */
  maxQueuedMs: number
}

/**
 * Writable: PCM in, real LiveKit `AudioFrame`s out through `AudioSource.captureFrame`, awaited
 * (real backpressure from LiveKit's queue: bursty TTS never overflows it). Frames are owned
 * Int16Arrays (`byteOffset` 0; LiveKit passes the whole ArrayBuffer to native code).
 * `clear()` and destroy (an abort) call `clearQueue()`, so queued speech stops at once.
 *
 * @example
 * ```ts
 * import { AudioSource } from '@livekit/rtc-node'
 * const source = new AudioSource(24000, 1, 1000)
 * const pcm = client.pcm(req)
 * await pipeline(pcm, new LiveKitAudioSink({ source, format: pcm.format }))
 * ```
 * @category Sinks
 */
export class LiveKitAudioSink extends Writable {
  readonly #source: LiveKitAudioSourceLike
  readonly #format: PcmFormat
  readonly #framer: FramerCore
  readonly #wait: boolean
  #AudioFrame: AudioFrameCtor | undefined
  readonly #m: LiveKitSinkMetrics = { framesCaptured: 0, samplesCaptured: 0, lateFrames: 0, driftMs: 0, maxQueuedMs: 0 }
  /** When the queued audio will have played out (performance.now() ms); 0 when nothing is queued yet. */
  #playoutEnd = 0

  constructor(options: LiveKitAudioSinkOptions) {
    super({ decodeStrings: true })
    const f = options.format
    assertPcmFormat(f, 'LiveKitAudioSink format')
    if (f.encoding !== 's16le') throw new AudioFormatError('LiveKit takes 16-bit samples: s16le only')
    if (options.source.sampleRate !== f.sampleRate || options.source.numChannels !== f.channels) {
      throw new AudioFormatError(
        `LiveKit AudioSource is ${options.source.sampleRate} Hz ${options.source.numChannels} ch but the PCM is ${f.sampleRate} Hz ${f.channels} ch: add convertPcm()`,
      )
    }
    this.#source = options.source
    this.#format = { ...f }
    this.#framer = createFramer({ format: f, frameMs: options.frameMs ?? 10 })
    this.#wait = options.waitForPlayout ?? false
  }

  /** Frames captured so far. */
  get framesCaptured(): number {
    return this.#m.framesCaptured
  }

  /** Frames and samples captured, late frames and drift, queue depth. */
  get metrics(): LiveKitSinkMetrics {
    return { ...this.#m }
  }

  /** Barge-in: drops the source's queued audio now. */
  clear(): void {
    this.#source.clearQueue()
    this.#playoutEnd = 0
  }

  async #capture(frames: Buffer[]): Promise<void> {
    if (!this.#AudioFrame) {
      const mod = (await import('@livekit/rtc-node' as string)) as { AudioFrame: AudioFrameCtor }
      this.#AudioFrame = mod.AudioFrame
    }
    const ch = this.#format.channels
    for (const f of frames) {
      const samples = new Int16Array(f.buffer, f.byteOffset, f.length >> 1) // owned: byteOffset 0
      const perChannel = samples.length / ch
      this.#account(perChannel)
      await this.#source.captureFrame(new this.#AudioFrame(samples, this.#format.sampleRate, ch, perChannel))
      this.#m.framesCaptured++
      this.#m.samplesCaptured += perChannel
    }
  }

  /** Playout bookkeeping, the model LiveKit's own `queuedDuration` uses: the queue drains in realtime. */
  #account(perChannel: number): void {
    const now = performance.now()
    const ms = (perChannel / this.#format.sampleRate) * 1000
    if (this.#playoutEnd !== 0 && now > this.#playoutEnd) {
      this.#m.lateFrames++
      this.#m.driftMs += now - this.#playoutEnd
    }
    this.#playoutEnd = Math.max(now, this.#playoutEnd) + ms
    this.#m.maxQueuedMs = Math.max(this.#m.maxQueuedMs, this.#playoutEnd - now)
  }

  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#capture(this.#framer.push(chunk)).then(() => callback(), callback)
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    let tail: Buffer[]
    try {
      tail = this.#framer.flush()
    } catch (err) {
      callback(err as Error)
      return
    }
    this.#capture(tail)
      .then(() => (this.#wait ? this.#source.waitForPlayout?.() : undefined))
      .then(() => callback(), callback)
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error || !this.writableFinished) this.#source.clearQueue()
    callback(error)
  }
}
