/**
 * The clock between a bursty network and a realtime sink that has no clock of its own (node-webrtc's
 * `RTCAudioSource` takes frames when it is called): frames leave on the wall clock, a start cushion
 * absorbs jitter, underruns are filled with silence, and a bounded lead backpressures a fast
 * source instead of buffering it without limit. (A sink that pulls, like Discord's player, needs
 * no second clock: see `playout.core.ts`.)
 *
 * The Transform shell of {@link createPacerCore} (`pacer.core.ts`), which holds the queue, the
 * clock's slots, the catch-up bound and the metrics. The shell owns only what is not pure: the
 * stream callbacks, `performance.now()` and the timer that wakes the core at its next slot.
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { PcmFormat } from '../audio/format.js'
import { createPacerCore, type PacerCore, type PacerCoreOptions, type PacerMetrics } from './pacer.core.js'

export type { PacerMetrics } from './pacer.core.js'

/** Options of {@link Pacer}: those of its core. @category Stages */
export interface PacerOptions extends PacerCoreOptions {}

/**
 * Transform: PCM in, exact frames out on the wall clock (one every `frameMs / rate`), with a start
 * cushion, drift correction against the monotonic clock, silence fill on underrun and a bounded
 * lead. Every frame is an owned Buffer. `clear()` drops queued audio at once (barge-in); the
 * pacer stays usable. The shell of {@link createPacerCore}.
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
  readonly #core: PacerCore
  #timer: NodeJS.Timeout | undefined
  #inTick = false
  #heldWrite: TransformCallback | undefined
  #flushed: TransformCallback | undefined

  constructor(options: PacerOptions) {
    super({ objectMode: false, readableHighWaterMark: 4 * 1024 })
    this.#core = createPacerCore(options)
    this.format = { ...this.#core.format }
    this.frameMs = this.#core.frameMs
  }

  /** Counters: frames out, silence, underruns, queue depth, drift. */
  get metrics(): PacerMetrics {
    return this.#core.metrics
  }

  /**
   * Barge-in: drops every queued frame now (the frame being played is not recalled) and returns
   * how many milliseconds of audio were dropped. The pacer keeps running for what comes next.
   */
  clear(): number {
    const ms = this.#core.clear()
    this.#release()
    return ms
  }

  /** Completes the held write once the core has queued all of it. */
  #release(): void {
    const cb = this.#heldWrite
    if (cb && !this.#core.blocked) {
      this.#heldWrite = undefined
      cb()
    }
  }

  #start(): void {
    this.#core.start(performance.now())
    this.#tick()
  }

  /**
   * One timer callback: sends every frame the core releases now (one per slot that has come,
   * a catch-up burst after a stall), then sleeps until the next slot.
   */
  #tick = (): void => {
    this.#timer = undefined
    if (this.destroyed) return
    for (;;) {
      const d = this.#core.next(performance.now())
      switch (d.kind) {
        case 'frame':
          this.push(d.frame)
          // Completing the held write can end the input and run _flush synchronously, inside this
          // tick: it must not tick again (one frame early, and a second timer chain).
          this.#inTick = true
          try {
            this.#release()
          } finally {
            this.#inTick = false
          }
          break
        case 'silence':
          this.push(d.frame)
          break
        case 'end': {
          const done = this.#flushed
          this.#flushed = undefined
          done?.()
          return
        }
        case 'stop': // no data and no silence wanted: the next write restarts the clock
          return
        case 'wait':
          this.#timer = setTimeout(this.#tick, Math.max(0, d.atMs - performance.now()))
          return
      }
    }
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#heldWrite = callback
    try {
      this.#core.write(chunk)
    } catch (err) {
      this.#heldWrite = undefined
      callback(err as Error)
      return
    }
    if (this.#core.ready) this.#start()
    this.#release()
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      this.#core.end()
    } catch (err) {
      callback(err as Error)
      return
    }
    this.#flushed = callback
    if (this.#core.ready) this.#start()
    if (!this.#timer && !this.#inTick) this.#tick()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#core.dispose()
    callback(error)
  }
}
