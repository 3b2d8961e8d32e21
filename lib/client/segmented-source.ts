/**
 * The SSE transport of {@link TextToSpeechStream}, also used by `LightningClient.pcm()` for long
 * text: the text is cut into sentences ({@link createSentenceSegmenter}), each segment is one
 * `POST /waves/v1/tts/live` request through `pcm()`, and their PCM is stitched, byte for byte, into
 * one stream.
 *
 * - Segments not yet requested are merged while the result stays within `targetChars` (140 by
 *   default, the vendor's sweet spot), never over `maxChars` (250). The first segment goes out
 *   alone, as soon as its sentence is decided.
 * - Prefetch: while segment N is read, segment N+1 (up to `prefetch` ahead) is already requested;
 *   the client's `maxConcurrent` slots decide how many run at once. A prefetched segment's audio is
 *   held until its turn.
 * - Memory: each request is read to its end as its bytes arrive, so it frees its concurrency slot
 *   at once, whatever the reader's pace; a new request starts only while less than
 *   {@link LEAD_SECONDS} of audio waits to be read. The audio held is bounded by that lead plus
 *   the segments in flight: (1 + `prefetch`) × `maxChars` characters of speech, about 15 s
 *   (720 KB at 24 kHz) per segment.
 * - A failure is reported with the failing segment (`{ index, text }`); the stream the caller
 *   reads gives it `delivered` across all segments so far and `segment`, on a copy (the segment's
 *   own error is left as its request reported it).
 * - The SSE route has no word timestamps, so there are no `'word'` events (a `word_timestamps`
 *   request is refused up front by `streamText()`).
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { LightningStreamError, SegmentInfo } from '../errors.js'
import { createSentenceSegmenter, TARGET_SEGMENT_CHARS, MAX_SEGMENT_CHARS, type SentenceSegmenter } from '../text/sentence-segmenter.js'
import type { RetryInfo } from './retry.js'
import type { TtsRequest } from './request.js'
import type { TtsResponseInfo } from './tts-source.js'
import type { SynthesisTransport } from './ws-transport.js'
import type { PcmSink } from './pcm-stream.js'

/**
 * A new segment is requested only while less than this much audio waits to be read, seconds:
 * enough to cover a request's time to first audio (the vendor quotes 500–800 ms from afar),
 * small enough that a slow reader does not pull the whole text into memory.
 */
export const LEAD_SECONDS = 5

export type { SegmentInfo }

/** Issues one SSE request for a segment (the client's `pcm()` with segmentation off). @internal */
export type SegmentRequester = (request: TtsRequest, signal: AbortSignal) => Readable

/** Options of the segmented transport. @internal */
export interface SegmentedInit {
  /** The request without `text`. */
  base: Omit<TtsRequest, 'text'>
  request: SegmentRequester
  /** Segments requested ahead of the one being read. @defaultValue `1` */
  prefetch: number
  maxChars?: number | undefined
  targetChars?: number | undefined
  /** Forwarded: the first segment's `'response'`. */
  onResponse?: ((info: TtsResponseInfo) => void) | undefined
}

interface Segment {
  index: number
  text: string
  pcm: Readable
  held: Buffer[]
  done: boolean
}

/** The SSE transport (see the module notes). @internal */
export class SegmentedTransport implements SynthesisTransport {
  readonly #init: SegmentedInit
  readonly #hooks: PcmSink
  readonly #segmenter: SentenceSegmenter
  readonly #abort = new AbortController()
  readonly #target: number
  readonly #max: number
  #queue: string[] = []
  #inflight: Segment[] = []
  #next = 0
  #ended = false
  #closed = false
  #responded = false

  constructor(init: SegmentedInit, hooks: PcmSink) {
    this.#init = init
    this.#hooks = hooks
    this.#max = init.maxChars ?? MAX_SEGMENT_CHARS
    this.#target = Math.min(init.targetChars ?? TARGET_SEGMENT_CHARS, this.#max)
    this.#segmenter = createSentenceSegmenter({ maxChars: this.#max })
  }

  text(fragment: string): void {
    if (this.#closed) return
    this.#enqueue(this.#segmenter.push(fragment))
  }

  flush(): void {
    if (this.#closed) return
    this.#enqueue(this.#segmenter.flush())
  }

  end(): void {
    if (this.#closed) return
    this.#ended = true
    this.#enqueue(this.#segmenter.flush())
  }

  /**
   * No-op: segments are read to their end as they arrive, so each request frees its concurrency
   * slot as early as possible (a paused SSE request would hold it for the whole playback, and the
   * next segment could not start). New requests wait for the reader instead ({@link LEAD_SECONDS}).
   */
  pause(): void {}

  /** No-op (see {@link SegmentedTransport.pause}). */
  resume(): void {}

  /** The reader took audio: a waiting segment may start. */
  drained(): void {
    if (this.#queue.length && this.#inflight.length < 1 + this.#init.prefetch && this.#hooks.queued() < LEAD_SECONDS * this.#hooks.bytesPerSecond) this.#pump()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#abort.abort()
    for (const s of this.#inflight) s.pcm.destroy()
    this.#inflight = []
    this.#queue = []
  }

  #enqueue(segments: string[]): void {
    for (const s of segments) if (s.trim()) this.#queue.push(s)
      else if (this.#queue.length) this.#queue[this.#queue.length - 1] += s
    this.#pump()
  }

  /** Starts requests while fewer than 1 + prefetch are in flight; finishes when all are done. */
  #pump(): void {
    const lead = LEAD_SECONDS * this.#hooks.bytesPerSecond
    while (!this.#closed && this.#queue.length && this.#inflight.length < 1 + this.#init.prefetch && this.#hooks.queued() < lead) {
      let text = this.#queue.shift() as string
      // Merge segments not yet requested, except into the very first request.
      while (this.#next > 0 && this.#queue.length && text.length + (this.#queue[0] as string).length <= this.#target) text += this.#queue.shift()
      this.#start(text)
    }
    if (!this.#closed && this.#ended && !this.#queue.length && !this.#inflight.length) {
      this.close()
      this.#hooks.complete()
    }
  }

  #start(text: string): void {
    const index = this.#next++
    const pcm = this.#init.request({ ...this.#init.base, text }, this.#abort.signal)
    const seg: Segment = { index, text, pcm, held: [], done: false }
    this.#hooks.emit('segment', { index, text })
    this.#inflight.push(seg)
    pcm.on('retry', (info: RetryInfo) => this.#hooks.emit('retry', info))
    pcm.once('response', (info: TtsResponseInfo) => {
      this.#hooks.mark('requestSent')
      this.#hooks.mark('responseHeaders')
      if (!this.#responded) {
        this.#responded = true
        this.#init.onResponse?.(info)
      }
    })
    pcm.on('data', (chunk: Buffer) => {
      this.#hooks.mark('firstFrame')
      this.#hooks.mark('firstAudioEvent')
      if (this.#inflight[0] === seg) this.#hooks.audio(chunk)
      else {
        seg.held.push(chunk)
        // A prefetched segment is read to its end (bounded by maxChars of text), not paused:
        // its request then frees its slot as early as possible.
      }
    })
    pcm.once('end', () => {
      seg.done = true
      this.#advance()
    })
    pcm.once('error', (err: LightningStreamError) => {
      if (this.#closed) return
      this.close()
      // The stream the caller reads adds the whole stream's delivered and this segment, on a copy.
      this.#hooks.fail(err, { index, text })
    })
  }

  /** Hands the next segment's held audio over once the head is done, in order. */
  #advance(): void {
    while (this.#inflight[0]?.done) {
      this.#inflight.shift()
      const head = this.#inflight[0]
      if (!head) break
      for (const c of head.held) this.#hooks.audio(c)
      head.held = []
    }
    this.#pump()
  }
}
