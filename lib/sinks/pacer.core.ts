/**
 * The core of {@link Pacer}: the clock between a bursty network and a realtime sink that has no
 * clock of its own (node-webrtc's `RTCAudioSource` takes frames when it is called). Pure: no
 * stream import, no clock and no timer; the time is passed in (`nowMs`, any monotonic clock in
 * ms, e.g. `performance.now()`).
 *
 * Audio goes in with {@link PacerCore.write}, is cut into exact frames and queued; at most
 * `maxLeadMs` is queued, and the rest of a write is held (the writer waits) until frames leave.
 * Once the start cushion (`leadMs`) is queued, {@link PacerCore.start} anchors the clock: slot
 * `n` is `t0 + n × frameMs / rate`. Each {@link PacerCore.next} call makes one decision for the
 * current time: send the queued frame whose slot has come, send one silence frame (underrun),
 * end, stop the clock, or wait until a given time.
 *
 * After a stall (the caller could not call `next` on time), the frames that fell due leave at
 * once: the clock catches up and does not drift, and no audio is dropped. No frame leaves more
 * than `maxBurstMs` after its slot; a longer stall moves the clock by the rest (counted in
 * `driftMs`), so no window of one frame length ever holds more than `maxBurstMs / frameMs + 2`
 * frames. Slots that fell due while there was no audio either are not filled with silence after
 * the fact: one silence frame covers the latest of them.
 * @module
 */
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'
import { createPcmFramer, type PcmFramerCore } from '../audio/pcm-framer.core.js'

/** Options of {@link createPacerCore} (and of {@link Pacer}). @category Cores */
export interface PacerCoreOptions {
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

/** What a {@link Pacer} (or a {@link PacerCore}) has done. @category Stages */
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

/** One decision of {@link PacerCore.next}. @category Cores */
export type PacerDecision = PacerFrame | PacerSilence | PacerEnd | PacerStop | PacerWait

/** Send this queued audio frame now. @category Cores */
export interface PacerFrame {
  /** Discriminant. */
  kind: 'frame'
  /** The frame: an owned Buffer of `frameBytes` (the short last frame is shorter unless `padLast`). */
  frame: Buffer
  /** How late it leaves against its slot, ms (0 to `maxBurstMs`). */
  lateMs: number
}

/** Underrun: a frame is due and none is queued; send this silence frame now. @category Cores */
export interface PacerSilence {
  /** Discriminant. */
  kind: 'silence'
  /** A zeroed, owned Buffer of `frameBytes`. */
  frame: Buffer
  /** How late it leaves against its slot, ms (less than one period: past slots are skipped). */
  lateMs: number
}

/** The input ended and every frame was sent: end the output. @category Cores */
export interface PacerEnd {
  /** Discriminant. */
  kind: 'end'
}

/**
 * The clock is stopped: nothing queued and `fillSilence` is `false` (the clock stops here), or it
 * was never started. It starts again with {@link PacerCore.start} once {@link PacerCore.ready}.
 * @category Cores
 */
export interface PacerStop {
  /** Discriminant. */
  kind: 'stop'
}

/** The next slot is still ahead: call {@link PacerCore.next} again at `atMs`. @category Cores */
export interface PacerWait {
  /** When the next slot falls due, on the clock passed to `next` and `start`, ms. */
  atMs: number
  /** Discriminant. */
  kind: 'wait'
}

/** The pacer returned by {@link createPacerCore}. Nothing happens between calls. @category Cores */
export interface PacerCore {
  /** The PCM format (a copy). */
  readonly format: PcmFormat
  /** Frame length, ms of audio. */
  readonly frameMs: number
  /** Bytes in one whole frame. */
  readonly frameBytes: number
  /** Time between slots on the clock, ms: `frameMs / rate`. */
  readonly periodMs: number
  /**
   * Takes one chunk of PCM: frames as much of it as the queue has room for (`maxLeadMs`) and
   * holds the rest. Returns `true` when all of it is queued (the writer may go on), `false` when
   * part is held: {@link PacerCore.blocked} stays true until `next` (or `clear`) made room for
   * all of it, and the writer should wait until then (a further write is appended to the held part).
   */
  write(chunk: Buffer): boolean
  /**
   * The input ended: queues the short last frame (padded with silence with `padLast`).
   * @throws {@link AudioFormatError} when the input ended mid-sample-frame.
   */
  end(): void
  /**
   * Barge-in: drops every queued frame and the held part of a write (which is then complete),
   * and returns how much audio was dropped, ms (a held partial frame counts as a whole frame).
   * The pacer stays usable; a running clock keeps running.
   */
  clear(): number
  /** Drops the queue and the held write without counting them (the owner was destroyed). */
  dispose(): void
  /** The clock is not running and may start: the start cushion is queued, or the input ended. */
  readonly ready: boolean
  /** The clock is running. */
  readonly started: boolean
  /** {@link PacerCore.end} was called. */
  readonly ended: boolean
  /** Part of a write is held: the queue is at `maxLeadMs`. */
  readonly blocked: boolean
  /** Starts the clock: the first slot is `nowMs` (ms). */
  start(nowMs: number): void
  /**
   * One decision at `nowMs` (ms, the clock passed to `start`): `frame` or `silence` (send it;
   * call again), `end`, `stop`, or `wait` (call again at `atMs`). A `frame` refills the queue
   * from the held write, which may complete it (`blocked` turns false).
   */
  next(nowMs: number): PacerDecision
  /** A snapshot of the counters. */
  readonly metrics: PacerMetrics
}

/**
 * Creates a {@link PacerCore}: a wall-clock pacer with a start cushion, bounded catch-up, silence
 * on underrun and a bounded lead, driven by a clock its caller moves.
 *
 * @example
 * ```ts
 * const pacer = createPacerCore({ format: { sampleRate: 48000, channels: 1, encoding: 's16le' }, frameMs: 10 })
 * pacer.write(pcm) // false: wait until pacer.blocked is false before writing more
 * if (pacer.ready) pacer.start(performance.now())
 * for (let d = pacer.next(performance.now()); d.kind === 'frame' || d.kind === 'silence'; d = pacer.next(performance.now())) send(d.frame)
 * // 'wait': call next() again at d.atMs; 'end': done; 'stop': start() again once pacer.ready
 * ```
 * @throws {@link AudioFormatError} for a bad format; {@link InvalidOptionError} (`ERR_INVALID_OPTION`)
 *   for a `rate` or `maxBurstMs` that is not a positive finite number, or a `frameMs` that is not a
 *   whole number of samples.
 * @category Cores
 */
export function createPacerCore(options: PacerCoreOptions): PacerCore {
  assertPcmFormat(options.format, 'Pacer format')
  const frameMs = options.frameMs ?? 20
  const rate = options.rate ?? 1
  if (!(rate > 0) || !Number.isFinite(rate)) throw new InvalidOptionError('rate', `must be a positive number (got ${rate})`)
  const format: PcmFormat = { ...options.format }
  const fill = options.fillSilence ?? true
  const framer: PcmFramerCore = createPcmFramer({ format, frameMs, padLast: options.padLast ?? fill })
  const frameBytes = framer.frameBytes
  const period = frameMs / rate
  const leadFrames = Math.max(1, Math.ceil((options.leadMs ?? 60) / frameMs))
  const maxFrames = Math.max(leadFrames + 1, Math.ceil((options.maxLeadMs ?? 1000) / frameMs))
  const burst = options.maxBurstMs ?? 200
  if (!(burst > 0) || !Number.isFinite(burst)) throw new InvalidOptionError('maxBurstMs', `must be a positive number of ms (got ${burst})`)
  /** The latest a frame may leave after its slot, ms. */
  const maxLateMs = Math.max(burst, frameMs)

  let queue: Buffer[] = []
  let pending: Buffer | undefined // the part of the writes not framed yet (lead bound)
  let t0 = 0
  let n = 0
  let started = false
  let ended = false
  let inUnderrun = false
  let burstStart = -Infinity
  let burstFrames = 0
  const m: PacerMetrics = {
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

  /** Frames the held write while the queue has room: a single huge write cannot overfill it. */
  const feed = (): void => {
    while (pending && queue.length < maxFrames) {
      const room = (maxFrames - queue.length) * frameBytes
      const part = pending.subarray(0, room)
      pending = pending.length > room ? pending.subarray(room) : undefined
      enqueue(framer.push(part))
    }
  }

  const enqueue = (frames: Buffer[]): void => {
    for (const f of frames) queue.push(f)
    const ms = queue.length * frameMs
    if (ms > m.maxQueuedMs) m.maxQueuedMs = ms
  }

  /** Moves the clock later by `ms` (a stall beyond the burst bound, or slots with nothing to send). */
  const shift = (ms: number): void => {
    t0 += ms
    m.driftMs += ms
  }

  /** Counts one frame sent at `now` for `slot`. */
  const sent = (now: number, slot: number): number => {
    const late = now - slot
    m.lateMs = late
    if (late > m.maxLateMs) m.maxLateMs = late
    if (late > period) m.lateFrames++
    m.framesOut++
    n++
    // Frames sent within one frame length of wall time: 1 (or 2) on time, more in a catch-up.
    if (now - burstStart > period) {
      burstStart = now
      burstFrames = 0
    }
    if (++burstFrames > m.maxBurstFrames) m.maxBurstFrames = burstFrames
    return late
  }

  return {
    format,
    frameMs,
    frameBytes,
    periodMs: period,
    write(chunk) {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk
      try {
        feed()
      } catch (err) {
        pending = undefined
        throw err
      }
      return !pending
    },
    end() {
      const tail = framer.flush()
      ended = true
      enqueue(tail)
    },
    clear() {
      const pendingFrames = Math.ceil((pending?.length ?? 0) / frameBytes)
      const dropped = queue.length + pendingFrames
      queue = []
      pending = undefined
      m.clearedFrames += dropped
      return dropped * frameMs
    },
    dispose() {
      queue = []
      pending = undefined
    },
    get ready() {
      return !started && (queue.length >= leadFrames || ended)
    },
    get started() {
      return started
    },
    get ended() {
      return ended
    },
    get blocked() {
      return pending !== undefined
    },
    start(nowMs) {
      started = true
      t0 = nowMs
      n = 0
    },
    next(now) {
      if (!started) return { kind: 'stop' }
      let slot = t0 + n * period
      if (slot > now) return { kind: 'wait', atMs: slot }
      if (now - slot > maxLateMs) {
        // A stall longer than the bound: move the clock rather than send later still.
        shift(now - slot - maxLateMs)
        slot = now - maxLateMs
      }
      const frame = queue.shift()
      if (frame) {
        inUnderrun = false
        feed()
        return { kind: 'frame', frame, lateMs: sent(now, slot) }
      }
      if (ended) return { kind: 'end' }
      if (fill) {
        // Nothing queued: no silence for slots already past; one silence frame for the latest one.
        const past = Math.floor((now - slot) / period)
        if (past > 0) {
          shift(past * period)
          slot += past * period
        }
        if (!inUnderrun) m.underruns++
        inUnderrun = true
        m.silenceFrames++
        return { kind: 'silence', frame: Buffer.alloc(frameBytes), lateMs: sent(now, slot) }
      }
      // No data and no silence wanted: stop the clock; it starts again once the cushion is queued.
      started = false
      return { kind: 'stop' }
    },
    get metrics() {
      return { ...m, queuedMs: queue.length * frameMs }
    },
  }
}
