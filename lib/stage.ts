/**
 * The one Transform shell every stage is built on. A stage is two files: `<stage>.core.ts`, a
 * pure incremental core (`push(input) → output`, `flush() → output`, no stream import), and
 * `<stage>.ts`, a {@link CoreStage} subclass that adapts it. The shell owns what every stage
 * would otherwise repeat:
 *
 * - **Errors go through the callback.** A core that throws fails the stream through
 *   `callback(err)`, never out of `_transform`. A core that returns output and records a
 *   `failure` (the SSE cores do, so what is delivered before an error does not depend on how the
 *   bytes were split) has the output pushed first, then the failure passed on.
 * - **Object modes are forced per side**, after the caller's `streamOptions`: a stage decides
 *   what it reads and writes (bytes, or discrete items such as SSE events and Opus packets).
 * - **High-water marks are explicit**: 16 KiB on a byte side and 16 items on an object side
 *   unless a stage or the caller says otherwise. Node 22 raised the default byte mark from 16 to
 *   64 KiB; explicit marks keep the bytes held per stage the same on every supported version.
 *
 * Output of one call is pushed as it comes: each item of an array, a non-empty Buffer, nothing
 * for `null` or an empty Buffer.
 * @module
 */
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream'

/** Transform options a stage passes through: the stage fixes the object modes and the callbacks. */
export type StageStreamOptions = Omit<TransformOptions, 'objectMode' | 'readableObjectMode' | 'writableObjectMode' | 'transform' | 'flush' | 'final' | 'destroy' | 'construct' | 'read' | 'write' | 'writev'>

/** A pure incremental core: what every `<stage>.core.ts` returns. */
export interface StageCore<In, Out> {
  /** Takes one input chunk; returns the output it completes (possibly none). */
  push(chunk: In): Out
  /** Ends the input; returns what is left, or throws a coded error when the input ended badly. */
  flush(): Out
  /**
   * Set when `push` returned output that came before an error: the shell pushes the output, then
   * fails with this.
   */
  readonly failure?: Error | undefined
}

/** What a side of a stage carries: bytes, or discrete items (object mode). */
export type StageSide = 'bytes' | 'objects'

/** The sides of a stage and their buffering, fixed by the stage. */
export interface StageShape {
  /** What the stage reads. */
  writable: StageSide
  /** What the stage emits. */
  readable: StageSide
  /** Input buffered before backpressure, when the caller sets none. @defaultValue 16 KiB, or 16 items */
  writableHighWaterMark?: number | undefined
  /** Output buffered before backpressure, when the caller sets none. @defaultValue 16 KiB, or 16 items */
  readableHighWaterMark?: number | undefined
}

const DEFAULT_BYTES_HWM = 16 * 1024
const DEFAULT_OBJECTS_HWM = 16

/**
 * The Transform around a {@link StageCore}: `_transform` pushes the core's output for one chunk,
 * `_flush` the core's final output; a throw or a recorded `failure` becomes `callback(err)`.
 * A subclass constructs its core, hands it to `super`, and adds only what is its own (a `format`,
 * an event, a resource to free).
 *
 * @typeParam In - what the core takes (a Buffer, an SSE event, an Opus packet).
 * @typeParam Out - what the core returns for one call.
 * @typeParam Core - the core's own type, for subclasses that read its counters.
 */
export abstract class CoreStage<In, Out, Core extends StageCore<In, Out> = StageCore<In, Out>> extends Transform {
  /** The pure core this stage runs. */
  protected readonly core: Core

  constructor(core: Core, shape: StageShape, streamOptions: StageStreamOptions | undefined) {
    const hwm = (side: StageSide) => (side === 'bytes' ? DEFAULT_BYTES_HWM : DEFAULT_OBJECTS_HWM)
    super({
      readableHighWaterMark: shape.readableHighWaterMark ?? hwm(shape.readable),
      writableHighWaterMark: shape.writableHighWaterMark ?? hwm(shape.writable),
      ...streamOptions,
      objectMode: false, // Node ORs this into both sides: a caller's `objectMode` must not override the stage's
      readableObjectMode: shape.readable === 'objects',
      writableObjectMode: shape.writable === 'objects',
    })
    this.core = core
  }

  /**
   * Pushes one call's output downstream, then calls `done`. A stage overrides it to observe its
   * output (a timeline mark) or to finish it asynchronously (an encoder on a worker); it must
   * call `done` exactly once.
   */
  protected deliver(out: Out, done: (err?: Error | null) => void): void {
    pushOutput(this, out)
    done()
  }

  /** Runs one step of the core (`push` or `flush`), delivers its output, and calls back. */
  protected run(step: () => Out, callback: TransformCallback): void {
    let out: Out
    try {
      out = step()
    } catch (err) {
      callback(err as Error)
      return
    }
    try {
      this.deliver(out, (err) => callback(err ?? this.core.failure))
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _transform(chunk: In, _enc: BufferEncoding, callback: TransformCallback): void {
    this.run(() => this.core.push(chunk), callback)
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    this.run(() => this.core.flush(), callback)
  }
}

/** Pushes a core's output: each item of an array, a non-empty Buffer; null pushes nothing. */
function pushOutput(stream: Transform, out: unknown): void {
  if (out === null || out === undefined) return
  if (Array.isArray(out)) {
    for (const item of out) stream.push(item)
  } else if (!(out instanceof Uint8Array) || out.length > 0) stream.push(out)
}
