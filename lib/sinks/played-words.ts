/**
 * Words as they are **played**, not as they are received: a bot that is interrupted (barge-in)
 * then knows exactly which words the listener heard. The word times of a
 * {@link TextToSpeechStream} are in seconds of its audio; a sink's playhead says how much of that
 * audio has been played; a word is heard once the playhead passes its end. LiveKit agents sync
 * transcriptions to playout the same way.
 *
 * The playhead of each sink ({@link playheadOf}):
 * - `WrtcAudioSink`: audio frames handed to `onData` (10 ms each), not counting silence fill;
 * - `LiveKitAudioSink`: frames captured minus what LiveKit still queues (`queuedDuration`);
 * - `createDiscordStream`'s result: audio frames the player read (20 ms each), not counting
 *   silence fill (ahead of the speaker by voice's send path, about one frame);
 * - or any function returning milliseconds of the stream's audio played.
 * @module
 */
import { EventEmitter } from 'node:events'
import { InvalidOptionError } from '../errors.js'
import type { WordTimestamp } from '../client/ws-protocol.js'

/**
 * Milliseconds of the stream's audio played so far.
 * @inline
 */
export type Playhead = () => number

/**
 * The frame counts of a paced sink (`PacerMetrics`).
 * @inline
 */
export interface PacedFrameCounts {
  /** Frames sent, audio and silence. */
  framesOut: number
  /** Silence frames sent to cover underruns. */
  silenceFrames: number
}

/**
 * A paced sink: `WrtcAudioSink` (10 ms frames).
 * @inline
 */
export interface PacedSinkLike {
  /** Its frame counts. */
  readonly metrics: PacedFrameCounts
}

/**
 * What `createDiscordStream()` returns: frame counts and the frame length.
 * @inline
 */
export interface PacedStreamLike extends PacedSinkLike {
  /** Frame length, ms (20 for Discord). */
  readonly frameMs: number
}

/**
 * A capturing sink: `LiveKitAudioSink`.
 * @inline
 */
export interface CapturingSinkLike {
  /** Frames handed to the source so far. */
  readonly framesCaptured: number
}

/**
 * A sink that {@link playheadOf} can read.
 * @inline
 */
export type PlayheadSink = PacedSinkLike | PacedStreamLike | CapturingSinkLike

/** Options of {@link PlayedWords}. @category Sinks */
export interface PlayedWordsOptions {
  /** How often the playhead is read, ms. @defaultValue `20` */
  intervalMs?: number | undefined
}

/**
 * The playhead of a WebRTC, LiveKit or Discord sink (see the module notes), in ms.
 * @param frameMs - the sink's frame length when it cannot be read from the sink (LiveKit: its
 *   `frameMs` option, 10 by default; WebRTC: 10).
 * @param queuedMs - LiveKit: what the source still queues, e.g. `() => source.queuedDuration`.
 * @category Sinks
 */
export function playheadOf(sink: PlayheadSink, frameMs = 10, queuedMs?: () => number): Playhead {
  if ('framesCaptured' in sink) return () => Math.max(0, sink.framesCaptured * frameMs - (queuedMs?.() ?? 0))
  // WrtcAudioSink keeps its Pacer (and its frame length) on a protected field.
  const paced = sink as { frameMs?: unknown; pacer?: { frameMs?: unknown } }
  const ms = typeof paced.frameMs === 'number' ? paced.frameMs : typeof paced.pacer?.frameMs === 'number' ? paced.pacer.frameMs : frameMs
  return () => (sink.metrics.framesOut - sink.metrics.silenceFrames) * ms
}

/**
 * Follows a stream's `'word'` events and a sink's playhead, and emits `'word'` when a word has been
 * played. `heard` lists the words played so far, in order; `pending` those received but not yet
 * played (after a barge-in: what the listener never heard).
 *
 * @example
 * ```ts
 * const tts = client.streamText({ voice_id: 'meher', word_timestamps: true })
 * const sink = new WrtcAudioSink({ source, format: tts.format })
 * const played = new PlayedWords(tts, playheadOf(sink))
 * // … on barge-in:
 * tts.destroy(); sink.clear()
 * console.log('heard:', played.stop().map((w) => w.word).join(' '))
 * ```
 * @category Sinks
 */
export class PlayedWords extends EventEmitter {
  readonly #playhead: Playhead
  readonly #words: WordTimestamp[] = []
  #heard = 0
  #timer: NodeJS.Timeout | undefined
  readonly #onWord = (w: WordTimestamp) => {
    this.#words.push(w)
    this.#start()
  }
  readonly #source: EventEmitter
  readonly #intervalMs: number

  constructor(source: EventEmitter, playhead: Playhead, options: PlayedWordsOptions = {}) {
    super()
    const ms = options.intervalMs ?? 20
    if (!(ms > 0)) throw new InvalidOptionError('intervalMs', `must be a positive number (got ${String(ms)})`)
    if (typeof playhead !== 'function') throw new InvalidOptionError('playhead', 'must be a function returning ms played')
    this.#intervalMs = ms
    this.#playhead = playhead
    this.#source = source
    source.on('word', this.#onWord)
  }

  /** Words played so far. */
  get heard(): WordTimestamp[] {
    return this.#words.slice(0, this.#heard)
  }

  /** Words received and not played yet. */
  get pending(): WordTimestamp[] {
    return this.#words.slice(this.#heard)
  }

  /** Reads the playhead now and emits `'word'` for every word it passed. */
  poll(): void {
    const ms = this.#playhead()
    while (this.#heard < this.#words.length && (this.#words[this.#heard] as WordTimestamp).end * 1000 <= ms + 1e-6) {
      this.emit('word', this.#words[this.#heard++])
    }
    if (this.#heard === this.#words.length && this.#timer) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  /** Polls one last time, stops following, and returns the words heard. */
  stop(): WordTimestamp[] {
    this.poll()
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.#source.off('word', this.#onWord)
    return this.heard
  }

  #start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => this.poll(), this.#intervalMs)
    this.#timer.unref()
  }
}
