/**
 * The clock between a bursty network and a realtime sink that has no clock of its own (node-webrtc's
 * `RTCAudioSource` takes frames when it is called): frames leave on the wall clock, a start cushion
 * absorbs jitter, underruns are filled with silence, and a bounded lead backpressures a fast
 * source instead of buffering it without limit. (A sink that pulls, like Discord's player, needs
 * no second clock: see `playout.core.ts`.)
 *
 * After the event loop stalls (a busy host, a long synchronous task), the frames that fell due
 * during the stall leave at once: the clock catches up and does not drift, and no audio is
 * dropped. No frame leaves more than `maxBurstMs` after its slot; a longer stall moves the clock
 * by the rest (counted in `driftMs`), so no window of one frame length ever holds more than
 * `maxBurstMs / frameMs + 2` frames and a receiver's jitter buffer is never flooded. Slots that fell due while there was no
 * audio either are not filled with silence after the fact.
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'
import { createPcmFramer as createFramer, type PcmFramerCore as FramerCore } from '../audio/pcm-framer.core.js'

/** Options of {@link Pacer}. @category Stages */
export interface PacerOptions {
  /** The PCM format of the input (and of the frames out). */
  format: PcmFormat
  /** Frame length, ms: 20 for Discord and Opus, 10 for WebRTC. @defaultValue `20` */
  frameMs?: number | undefined
  /** Playback speed as a multiple of realtime (2 = twice as fast). @defaultValue `1` */
  rate?: number | undefined
  /** Audio to buffer before the first frame leaves: the jitter cushion, ms. @defaultValue `60` */
  leadMs?: number | undefined
  /**
   * Most audio held ahead of the clock, ms; past it, writes wait (backpressure reaches the
   * socket). @defaultValue `1000`
   */
  maxLeadMs?: number | undefined
  /**
   * On underrun (a frame is due and none has arrived), send a silence frame so a realtime sink
   * keeps playing, and count it. With `false` the clock waits for data instead.
   * @defaultValue `true`
   */
  fillSilence?: boolean | undefined
  /**
   * The latest a frame may leave after its slot, ms: after a stall the due frames leave at once,
   * at most `maxBurstMs / frameMs + 2` of them within one frame length; a longer stall moves the clock by the excess
   * instead (`metrics.driftMs`). @defaultValue `200`
   */
  maxBurstMs?: number | undefined
  /**
   * Pad the short last frame with silence to a whole frame. An Opus encoder after the pacer pads
   * (and records the true length for the Ogg end granule) itself, so it wants `false`.
   * @defaultValue `fillSilence`
   */
  padLast?: boolean | undefined
}

/** What a {@link Pacer} has done. @category Stages */
export interface PacerMetrics {
  /** Frames sent, audio and silence. */
  framesOut: number
  /** Silence frames sent to cover underruns. */
  silenceFrames: number
  /** Underrun episodes (a run of silence frames counts once). */
  underruns: number
  /** Audio queued now, ms. */
  queuedMs: number
  /** The most audio ever queued, ms. */
  maxQueuedMs: number
  /** Frames dropped by {@link Pacer.clear} (barge-in). */
  clearedFrames: number
  /** How late the latest frame left against its slot on the clock, ms. */
  lateMs: number
  /** The latest any frame left against its slot, ms. */
  maxLateMs: number
  /** Frames that left more than one frame length after their slot (an event-loop stall). */
  lateFrames: number
  /** How far the clock was moved back: stalls longer than `maxBurstMs`, and slots skipped while no audio was queued, ms. */
  driftMs: number
  /** The most frames sent within one frame length of wall time (a catch-up burst); at most `maxBurstMs / frameMs + 2`. */
  maxBurstFrames: number
}

/**
 * Transform: PCM in, exact frames out on the wall clock (one every `frameMs / rate`), with a start
 * cushion, drift correction against the monotonic clock, silence fill on underrun and a bounded
 * lead. Every frame is an owned Buffer. `clear()` drops queued audio at once (barge-in); the
 * pacer stays usable.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req)
 * await pipeline(pcm, new Pacer({ format: pcm.format, frameMs: 10 }), realtimeSink)
 * ```
 * @category Stages
 */
export class Pacer extends Transform {
  /** The PCM format. */
  readonly format: PcmFormat
  /** Frame length, ms. */
  readonly frameMs: number
  readonly #period: number
  readonly #leadFrames: number
  readonly #maxFrames: number
  readonly #fill: boolean
  /** The latest a frame may leave after its slot, ms (`maxBurstMs`). */
  readonly #maxLateMs: number
  #burstStart = -Infinity
  #burst = 0
  readonly #framer: FramerCore
  readonly #frameBytes: number
  #queue: Buffer[] = []
  #timer: NodeJS.Timeout | undefined
  #t0 = 0
  #n = 0
  #started = false
  #ended = false
  #inUnderrun = false
  #inTick = false
  #heldWrite: TransformCallback | undefined
  #pending: Buffer | undefined // the part of the current write not framed yet (lead bound)
  #flushed: TransformCallback | undefined
  readonly #m: PacerMetrics = {
    framesOut: 0,
    silenceFrames: 0,
    underruns: 0,
    queuedMs: 0,
    maxQueuedMs: 0,
    clearedFrames: 0,
    lateMs: 0,
    maxLateMs: 0,
    lateFrames: 0,
    driftMs: 0,
    maxBurstFrames: 0,
  }

  constructor(options: PacerOptions) {
    super({ objectMode: false, readableHighWaterMark: 4 * 1024 })
    assertPcmFormat(options.format, 'Pacer format')
    const frameMs = options.frameMs ?? 20
    const rate = options.rate ?? 1
    if (!(rate > 0) || !Number.isFinite(rate)) throw new InvalidOptionError('rate', `must be a positive number (got ${rate})`)
    this.format = { ...options.format }
    this.frameMs = frameMs
    this.#fill = options.fillSilence ?? true
    this.#framer = createFramer({ format: this.format, frameMs, padLast: options.padLast ?? this.#fill })
    this.#frameBytes = this.#framer.frameBytes
    this.#period = frameMs / rate
    this.#leadFrames = Math.max(1, Math.ceil((options.leadMs ?? 60) / frameMs))
    this.#maxFrames = Math.max(this.#leadFrames + 1, Math.ceil((options.maxLeadMs ?? 1000) / frameMs))
    const burst = options.maxBurstMs ?? 200
    if (!(burst > 0) || !Number.isFinite(burst)) throw new InvalidOptionError('maxBurstMs', `must be a positive number of ms (got ${burst})`)
    this.#maxLateMs = Math.max(burst, frameMs)
  }

  /** Counters: frames out, silence, underruns, queue depth, drift. */
  get metrics(): PacerMetrics {
    return { ...this.#m, queuedMs: this.#queue.length * this.frameMs }
  }

  /**
   * Barge-in: drops every queued frame now (the frame being played is not recalled) and returns
   * how many milliseconds of audio were dropped. The pacer keeps running for what comes next.
   */
  clear(): number {
    const pendingFrames = Math.ceil((this.#pending?.length ?? 0) / this.#frameBytes)
    const dropped = this.#queue.length + pendingFrames
    this.#queue = []
    this.#pending = undefined
    this.#m.clearedFrames += dropped
    this.#feed()
    return dropped * this.frameMs
  }

  /**
   * Frames the pending write while the queue has room (at most `maxLeadMs` ahead), and completes
   * the write once all of it is framed: a single huge write cannot overfill the queue.
   */
  #feed(): void {
    try {
      while (this.#pending && this.#queue.length < this.#maxFrames) {
        const room = (this.#maxFrames - this.#queue.length) * this.#frameBytes
        const part = this.#pending.subarray(0, room)
        this.#pending = this.#pending.length > room ? this.#pending.subarray(room) : undefined
        this.#enqueue(this.#framer.push(part))
      }
    } catch (err) {
      this.#pending = undefined
      const cb = this.#heldWrite
      this.#heldWrite = undefined
      cb?.(err as Error)
      return
    }
    const cb = this.#heldWrite
    if (!this.#pending && cb) {
      this.#heldWrite = undefined
      cb()
    }
  }

  #enqueue(frames: Buffer[]): void {
    for (const f of frames) this.#queue.push(f)
    const ms = this.#queue.length * this.frameMs
    if (ms > this.#m.maxQueuedMs) this.#m.maxQueuedMs = ms
    if (!this.#started && (this.#queue.length >= this.#leadFrames || this.#ended)) this.#start()
  }

  #start(): void {
    this.#started = true
    this.#t0 = performance.now()
    this.#n = 0
    this.#tick()
  }

  /**
   * One timer callback: sends every frame whose slot has come, then sleeps until the next slot.
   * Slots are `t0 + n × period` on the monotonic clock. No frame leaves more than `maxBurstMs`
   * after its slot: past that the clock moves instead, so no window of one frame length holds
   * more than `maxBurstMs / frameMs + 2` frames, even when the process is descheduled mid-burst.
   */
  #tick = (): void => {
    this.#timer = undefined
    if (this.destroyed) return
    for (;;) {
      const now = performance.now()
      let slot = this.#t0 + this.#n * this.#period
      if (slot > now) break
      if (now - slot > this.#maxLateMs) {
        // A stall longer than the bound: move the clock rather than send later still.
        this.#shift(now - slot - this.#maxLateMs)
        slot = now - this.#maxLateMs
      }
      const frame = this.#queue.shift()
      if (frame) {
        this.#inUnderrun = false
        this.push(frame)
        // Completing the held write can end the input and run _flush synchronously, inside this
        // tick: it must not tick again (one frame early, and a second timer chain).
        this.#inTick = true
        try {
          this.#feed()
        } finally {
          this.#inTick = false
        }
      } else if (this.#ended) {
        const done = this.#flushed
        this.#flushed = undefined
        done?.()
        return
      } else if (this.#fill) {
        // Nothing queued: no silence for slots already past; one silence frame for the latest one.
        const past = Math.floor((now - slot) / this.#period)
        if (past > 0) {
          this.#shift(past * this.#period)
          slot += past * this.#period
        }
        if (!this.#inUnderrun) this.#m.underruns++
        this.#inUnderrun = true
        this.push(Buffer.alloc(this.#frameBytes))
        this.#m.silenceFrames++
      } else {
        // No data and no silence wanted: stop the clock; the next write restarts it.
        this.#started = false
        return
      }
      const late = now - slot
      this.#m.lateMs = late
      if (late > this.#m.maxLateMs) this.#m.maxLateMs = late
      if (late > this.#period) this.#m.lateFrames++
      this.#m.framesOut++
      this.#n++
      // Frames sent within one frame length of wall time: 1 (or 2) on time, more in a catch-up.
      if (now - this.#burstStart > this.#period) {
        this.#burstStart = now
        this.#burst = 0
      }
      if (++this.#burst > this.#m.maxBurstFrames) this.#m.maxBurstFrames = this.#burst
    }
    this.#schedule()
  }

  /** Moves the clock later by `ms` (a stall beyond the burst bound, or slots with nothing to send). */
  #shift(ms: number): void {
    this.#t0 += ms
    this.#m.driftMs += ms
  }

  #schedule(): void {
    const wait = this.#t0 + this.#n * this.#period - performance.now()
    this.#timer = setTimeout(this.#tick, Math.max(0, wait))
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#pending = chunk
    this.#heldWrite = callback
    this.#feed()
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      const tail = this.#framer.flush()
      this.#ended = true
      this.#flushed = callback
      this.#enqueue(tail)
      if (!this.#started) this.#start()
      else if (!this.#timer && !this.#inTick) this.#tick()
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#queue = []
    callback(error)
  }
}
