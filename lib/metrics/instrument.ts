/**
 * Measuring a pipeline without changing it: {@link instrument} wraps any Transform and counts
 * what goes through it and the time spent inside it; {@link stageMetrics} reads the counts.
 * (design.md called this `Meter`; see the README's "Metrics" section for why it is a function.)
 *
 * Nothing here runs unless you ask for it: an un-instrumented stage costs nothing.
 * @module
 */
import type { Transform, TransformCallback } from 'node:stream'

/** What {@link instrument} counts for one stage. @category Stages */
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

const kRegistry = Symbol.for('lightning-stream.metrics')

/**
 * The metrics of every instrumented stage, keyed by the stage. One map per process, found through
 * a registered symbol, so two copies of the package (ESM and CommonJS) see the same stages.
 */
function registry(): WeakMap<object, StageMetrics> {
  const g = globalThis as unknown as Record<symbol, WeakMap<object, StageMetrics> | undefined>
  return (g[kRegistry] ??= new WeakMap())
}

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
 * @category Stages
 */
export function instrument<T extends Transform>(stage: T, name: string = stage.constructor.name): T {
  const m: StageMetrics = { name, chunksIn: 0, chunksOut: 0, bytesIn: 0, bytesOut: 0, busyNs: 0, maxChunkNs: 0, blockedNs: 0 }
  registry().set(stage, m)
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

/** The metrics of an instrumented stage (a snapshot), or undefined if it was not instrumented. @category Stages */
export function stageMetrics(stage: Transform): StageMetrics | undefined {
  const m = registry().get(stage)
  return m ? { ...m } : undefined
}
