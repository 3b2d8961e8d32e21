/**
 * Measuring a pipeline without changing it: {@link instrument} wraps any Transform and counts
 * what goes through it and the time spent inside it; {@link TtsTimeline} records when each step
 * of a request happened, to answer "why is my first audio late?".
 *
 * Nothing here runs unless you ask for it: an un-instrumented stage costs nothing, and the
 * timeline is a handful of `performance.now()` calls per request.
 * @module
 */
import type { Transform, TransformCallback } from 'node:stream'

/** What {@link instrument} counts for one stage. */
export interface StageMetrics {
  /** The stage's name in reports. */
  name: string
  /** Chunks written into the stage. */
  chunksIn: number
  /** Chunks the stage pushed out. */
  chunksOut: number
  /** Bytes written in (for object chunks: the `data` string length or buffer length, when present). */
  bytesIn: number
  /** Bytes pushed out (same rule). */
  bytesOut: number
  /** Time spent inside the stage's `_transform` and `_flush`, ns. */
  busyNs: number
  /** The longest single `_transform` call, ns. */
  maxChunkNs: number
  /**
   * Time the stage's output sat full (its `push()` returned false until the next stage asked for
   * more), ns: backpressure from downstream.
   */
  blockedNs: number
}

const kMetrics = Symbol.for('lightning-stream.metrics')

function sizeOf(chunk: unknown): number {
  if (chunk === null || chunk === undefined) return 0
  if (typeof chunk === 'string') return chunk.length
  if (chunk instanceof Uint8Array) return chunk.length
  const data = (chunk as { data?: unknown }).data
  if (typeof data === 'string' || data instanceof Uint8Array) return data.length
  return 0
}

/**
 * Instruments a Transform in place and returns it: `_transform`, `_flush`, `push` and `_read` are
 * wrapped to fill a {@link StageMetrics}, readable later with {@link stageMetrics}. Its output is
 * unchanged. Costs about two `process.hrtime.bigint()` calls per chunk.
 *
 * @example
 * ```ts
 * const stages = [instrument(new SseParser(), 'sse'), instrument(new AudioChunkDecoder(), 'decode')]
 * await pipeline(client.stream(req), ...stages, sink)
 * console.table(stages.map(stageMetrics))
 * ```
 */
export function instrument<T extends Transform>(stage: T, name: string = stage.constructor.name): T {
  const m: StageMetrics = { name, chunksIn: 0, chunksOut: 0, bytesIn: 0, bytesOut: 0, busyNs: 0, maxChunkNs: 0, blockedNs: 0 }
  Object.defineProperty(stage, kMetrics, { value: m })
  const transform = stage._transform.bind(stage)
  const flush = stage._flush?.bind(stage)
  const push = stage.push.bind(stage)
  const read = stage._read.bind(stage)
  let blockedAt: bigint | undefined
  stage.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null) {
      m.chunksOut++
      m.bytesOut += sizeOf(chunk)
    }
    const ok = push(chunk, encoding)
    if (!ok && chunk !== null && blockedAt === undefined) blockedAt = process.hrtime.bigint()
    return ok
  }
  stage._read = (size: number) => {
    if (blockedAt !== undefined) {
      m.blockedNs += Number(process.hrtime.bigint() - blockedAt)
      blockedAt = undefined
    }
    read(size)
  }
  stage._transform = (chunk: unknown, encoding: BufferEncoding, callback: TransformCallback) => {
    m.chunksIn++
    m.bytesIn += sizeOf(chunk)
    const t0 = process.hrtime.bigint()
    transform(chunk, encoding, (err?: Error | null, data?: unknown) => {
      const ns = Number(process.hrtime.bigint() - t0)
      m.busyNs += ns
      if (ns > m.maxChunkNs) m.maxChunkNs = ns
      callback(err, data)
    })
  }
  if (flush) {
    stage._flush = (callback: TransformCallback) => {
      const t0 = process.hrtime.bigint()
      flush((err?: Error | null, data?: unknown) => {
        m.busyNs += Number(process.hrtime.bigint() - t0)
        callback(err, data)
      })
    }
  }
  return stage
}

/** The metrics of an instrumented stage (a snapshot), or undefined if it was not instrumented. */
export function stageMetrics(stage: Transform): StageMetrics | undefined {
  const m = (stage as unknown as Record<symbol, StageMetrics | undefined>)[kMetrics]
  return m ? { ...m } : undefined
}

/** When each step of one TTS request happened, in ms since `start` (undefined: not reached). */
export interface TtsTimings {
  /** `performance.now()` when the call was made (the origin of the other fields). */
  start: number
  /** The request was sent (after waiting for a concurrency slot). */
  requestSent?: number | undefined
  /** Response headers arrived: time to first byte, as the server saw it plus the network. */
  responseHeaders?: number | undefined
  /** The first body byte of the SSE stream was read. */
  firstSseByte?: number | undefined
  /** The first frame carrying audio was decoded. */
  firstAudioEvent?: number | undefined
  /** The first PCM byte left the client's last stage: time to first audio. */
  firstPcmByte?: number | undefined
  /** The stream ended (terminator and EOF) or failed. */
  end?: number | undefined
}

/** A per-request summary: the timeline plus audio duration and realtime factor. */
export interface TtsMetrics extends TtsTimings {
  /** Audio bytes delivered. */
  audioBytes: number
  /** Audio delivered, ms. */
  audioMs: number
  /** Audio duration divided by the wall time from start to end (2 = twice as fast as realtime). */
  realtimeFactor: number | undefined
  /** Retries made before the response. */
  retries: number
  /** True when the stream failed or was aborted. */
  failed: boolean
}

/** Records a request's timeline. Used by `LightningClient.pcm()`; usable by your own stages. */
export class TtsTimeline {
  readonly #start = performance.now()
  readonly #marks: Partial<Record<keyof Omit<TtsTimings, 'start'>, number>> = {}
  /** Retries counted. */
  retries = 0

  /** Records `step` now, the first time only. */
  mark(step: keyof Omit<TtsTimings, 'start'>): void {
    this.#marks[step] ??= performance.now() - this.#start
  }

  /** The timeline so far, with audio totals. */
  snapshot(audioBytes: number, audioMs: number, failed: boolean): TtsMetrics {
    const end = this.#marks.end
    return {
      start: this.#start,
      ...this.#marks,
      audioBytes,
      audioMs,
      realtimeFactor: end ? audioMs / end : undefined,
      retries: this.retries,
      failed,
    }
  }
}
