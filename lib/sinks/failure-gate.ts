/**
 * The head of a sink's encoding chain that turns a failing source into a clean end: everything
 * the source delivered flows on and the encoders flush (a WAV stays playable, an Ogg gets its last
 * page, ffmpeg writes its last frames), and the failure is kept for the sink to report after its
 * last byte instead of tearing the chain down with audio still inside it.
 * @module
 */
import { PassThrough, type Readable } from 'node:stream'
import { AbortError } from '../errors.js'

/**
 * A PassThrough fed by `source` (piped, with backpressure). When `source` errors, or closes
 * before its end, the gate ends cleanly and keeps the error in {@link FailureGate.failure}.
 * Destroying the gate (the sink's consumer went away) destroys `source`. @internal
 */
export class FailureGate extends PassThrough {
  readonly #source: Readable
  #failure: Error | undefined
  #firstData = false
  #settleFirst: (outcome: boolean | Error) => void = () => {}
  /**
   * Settles with `true` at the source's first chunk, `false` when it ended without any, or the
   * error when it failed (or the gate was destroyed) before its first chunk.
   */
  readonly first: Promise<boolean | Error> = new Promise((resolve) => (this.#settleFirst = resolve))

  constructor(source: Readable) {
    super({ objectMode: source.readableObjectMode, highWaterMark: source.readableHighWaterMark })
    this.#source = source
    source.once('error', (err: Error) => this.#fail(err))
    source.once('close', () => {
      if (!source.readableEnded) this.#fail(new AbortError('The audio source closed before its end'))
    })
    source.once('end', () => this.#settleFirst(false))
    source.once('data', () => {
      this.#firstData = true
      this.#settleFirst(true)
    })
    source.pipe(this)
  }

  /** Why the source stopped early, once it did. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /** The source delivered at least one chunk. */
  get started(): boolean {
    return this.#firstData
  }

  #fail(err: Error): void {
    if (this.#failure || this.destroyed) return
    this.#failure = err
    this.#settleFirst(err)
    this.#source.unpipe(this)
    this.end()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#source.destroyed) this.#source.destroy()
    this.#settleFirst(error ?? new AbortError('The audio source was closed before its first chunk'))
    callback(error)
  }
}
