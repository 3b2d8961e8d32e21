/**
 * A playout buffer clocked by its reader: the pure core of the Discord stream. No stream import,
 * no clock, no timer. Audio frames go in as synthesis delivers them; each read by the player takes
 * exactly one frame out: the oldest real frame if one is queued, a silence frame only when the
 * queue is empty while synthesis is still running (synthesis is behind), and `end` once
 * synthesis has finished and the last real frame was read.
 *
 * Why the reader is the clock: how a second clock ended plays early. `@discordjs/voice` drives
 * every AudioPlayer from one loop anchored when `play()` adds the player (`nextTime = Date.now()`,
 * then `nextTime += 20` per tick). The loop catches up: when its process fell behind, it fires the
 * overdue ticks back to back, one per event-loop turn (about 1 ms apart), and in Playing state
 * each tick pulls one packet; `maxMissedFrames` (5) empty pulls in a row stop the resource. The
 * previous design put a timer-driven `Pacer` in front of the player: its own clock started only
 * when its start cushion was full, and it released one frame per 20 ms of wall time, however much
 * audio it held. Anything that delays the event loop between `play()` and the first frame (the
 * request, the first encodes, engine set-up, and under CPU contention simply not being scheduled)
 * puts the player's clock in debt while the pacer's clock does not exist yet. When the stream
 * turns readable during the player's catch-up burst, the player pulls far faster than the pacer
 * releases, finds nothing 5 times in a row, and stops, with up to a second of audio sitting in
 * the pacer's queue and the pacer reporting no underrun. Under contention every turn is slow, so
 * the burst lasts long enough to overlap the start of playback; a 400 ms synchronous stall right
 * after `play()` ends every play early even on an idle machine. A stall mid-utterance does not:
 * both clocks then owe the same and repay in lockstep, one frame released and one pulled per turn.
 * Answering every pull from the buffer removes the second clock: a catch-up burst is served from
 * what is buffered, as voice's plain buffered path always was.
 *
 * State: `#queue` holds real frames not yet read (bounded by `maxFrames`: {@link Playout.full}
 * tells the shell to hold writes, which backpressures the socket); `#started` flips once the
 * start cushion (`leadFrames`) is queued or synthesis ended; `#ended` once no more frames will
 * come; `#inUnderrun` marks a run of silence so a run counts as one underrun.
 * @module
 */

/** Options of {@link createPlayout}. @category Cores */
export interface PlayoutOptions {
  /** Length of one frame, ms (metrics are also given in ms). */
  frameMs: number
  /** Frames queued before the first read is answered: the start cushion. At least 1. */
  leadFrames: number
  /** Frames held at most; at or past it {@link Playout.full} is true. At least `leadFrames`. */
  maxFrames: number
}

/** What one read takes out of a {@link Playout}. @category Cores */
export type PlayoutRead<T> = PlayoutAudio<T> | PlayoutSilence | PlayoutEnd | PlayoutWait

/** The oldest queued real frame. @category Cores */
export interface PlayoutAudio<T> {
  /** Discriminant. */
  kind: 'audio'
  /** The frame. */
  frame: T
  /** Synthesis has ended and no frame follows this one. */
  last: boolean
}

/** Synthesis is behind (nothing queued, not finished): play one frame of silence. @category Cores */
export interface PlayoutSilence {
  /** Discriminant. */
  kind: 'silence'
}

/** Synthesis finished and every frame was read: end the stream. @category Cores */
export interface PlayoutEnd {
  /** Discriminant. */
  kind: 'end'
}

/** Not started (the cushion is not queued yet), or nothing to give without silence. @category Cores */
export interface PlayoutWait {
  /** Discriminant. */
  kind: 'wait'
}

/** What the reader actually got from a {@link Playout}. @category Cores */
export interface PlayoutMetrics {
  /** Frames handed to the reader: audio plus silence. */
  framesOut: number
  /** Real audio frames handed to the reader. */
  audioFrames: number
  /** Silence frames handed to the reader because synthesis was behind. */
  silenceFrames: number
  /** Underrun episodes: runs of silence frames, each counted once. */
  underruns: number
  /** Audio queued now, ms. */
  queuedMs: number
  /** The most audio ever queued, ms. */
  maxQueuedMs: number
  /** Frames dropped by {@link Playout.clear} (barge-in). */
  clearedFrames: number
}

/** The playout buffer. Every method is O(1) amortised; nothing happens between calls. @category Cores */
export interface Playout<T> {
  /** Queues one real frame. */
  push(frame: T): void
  /** Synthesis finished: no more frames will come. */
  end(): void
  /**
   * Takes what the reader gets now. With `silence: false` (a reader that is not a realtime
   * player) it never answers with silence and ignores the start cushion.
   */
  read(options?: { silence?: boolean | undefined }): PlayoutRead<T>
  /** Barge-in: drops every queued frame and returns how many were dropped. */
  clear(): number
  /** The start cushion is queued, or synthesis ended: reads are answered. */
  readonly started: boolean
  /** Frames queued reached `maxFrames`: the writer should wait. */
  readonly full: boolean
  /** {@link Playout.end} was called. */
  readonly ended: boolean
  /** Ended and every frame was read. */
  readonly done: boolean
  /** Frames queued now. */
  readonly queued: number
  /** A snapshot of the counters. */
  metrics(): PlayoutMetrics
}

/**
 * Creates a {@link Playout}.
 *
 * @example
 * ```ts
 * const p = createPlayout<Buffer>({ frameMs: 20, leadFrames: 5, maxFrames: 50 })
 * p.push(frame) // as synthesis delivers
 * const r = p.read() // on each player read: { kind: 'audio' | 'silence' | 'end' | 'wait' }
 * ```
 * @category Cores
 */
export function createPlayout<T>(options: PlayoutOptions): Playout<T> {
  const { frameMs } = options
  const leadFrames = Math.max(1, Math.floor(options.leadFrames))
  const maxFrames = Math.max(leadFrames, Math.floor(options.maxFrames))
  // A ring of slots would save the shift; frames are 20 ms, so the array stays ≤ maxFrames long
  // and shift() on it is cheap next to one Opus encode.
  let queue: T[] = []
  let started = false
  let ended = false
  let inUnderrun = false
  const m: PlayoutMetrics = { framesOut: 0, audioFrames: 0, silenceFrames: 0, underruns: 0, queuedMs: 0, maxQueuedMs: 0, clearedFrames: 0 }

  return {
    push(frame) {
      queue.push(frame)
      if (queue.length * frameMs > m.maxQueuedMs) m.maxQueuedMs = queue.length * frameMs
      if (queue.length >= leadFrames) started = true
    },
    end() {
      ended = true
      started = true
    },
    read(opts) {
      const silence = opts?.silence ?? true
      if (silence && !started) return { kind: 'wait' }
      const frame = queue.shift()
      if (frame !== undefined) {
        inUnderrun = false
        m.framesOut++
        m.audioFrames++
        return { kind: 'audio', frame, last: ended && queue.length === 0 }
      }
      if (ended) return { kind: 'end' }
      if (!silence) return { kind: 'wait' }
      if (!inUnderrun) m.underruns++
      inUnderrun = true
      m.framesOut++
      m.silenceFrames++
      return { kind: 'silence' }
    },
    clear() {
      const n = queue.length
      queue = []
      m.clearedFrames += n
      return n
    },
    get started() {
      return started
    },
    get full() {
      return queue.length >= maxFrames
    },
    get ended() {
      return ended
    },
    get done() {
      return ended && queue.length === 0
    },
    get queued() {
      return queue.length
    },
    metrics() {
      return { ...m, queuedMs: queue.length * frameMs }
    },
  }
}
