/**
 * Opus on every core: a pool of `worker_threads`, each holding the Opus encoders of the streams
 * assigned to it. Node runs JavaScript on one thread, and Opus is ~90 % of the CPU of a Discord
 * stream; a pool lets one process use every core for it.
 *
 * - **Shared, sticky.** A stream's encoder lives on one worker for its whole life (Opus keeps
 *   state between frames); a new stream goes to the worker with the fewest streams. Frames of a
 *   stream are encoded and returned in order.
 * - **Bounded.** At most `maxQueuedFrames` frames are in flight per worker; more wait in the pool,
 *   first come first served, and the waiting caller (an {@link OpusEncoder}'s `_transform`) does
 *   not call back: backpressure reaches the source.
 * - **Lifetime.** Workers start with the first stream and stop `idleTimeoutMs` after the last one
 *   closes. While nothing is in flight they do not keep the process alive.
 * - **Failures.** When a worker dies (a crash in a native engine, an uncaught error), the streams
 *   on it fail with {@link OpusWorkerError} (`ERR_OPUS_WORKER`); the other workers' streams go on,
 *   and the pool starts a replacement at once.
 *
 * Frames and packets cross threads as transferred ArrayBuffers, one message per batch (a network
 * chunk's worth of frames), not one per frame.
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { InvalidOptionError, LightningStreamError, type ErrorCode } from '../errors.js'
import type { OpusEngine, OpusEngineName, OpusEngineSettings } from './opus-engines.js'
import type { EncodeJob, FromWorker, ToWorker } from './opus-worker.js'
import opusWorkerFile from './opus-worker-path.cjs'

/** An Opus worker stopped: the streams it encoded fail with this. @category Errors */
export class OpusWorkerError extends LightningStreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, 'ERR_OPUS_WORKER', options)
  }
}

/** Options of {@link OpusEncoderPool}. @category Stages */
export interface OpusEncoderPoolOptions {
  /** Worker threads. @defaultValue `os.availableParallelism()` */
  workers?: number | undefined
  /**
   * Frames sent to one worker and not yet encoded; further batches wait in the pool.
   * @defaultValue `64` (1.28 s of 20 ms frames)
   */
  maxQueuedFrames?: number | undefined
  /** How long workers stay up after the last stream closed, ms (they never hold the process). @defaultValue `1000` */
  idleTimeoutMs?: number | undefined
}

/** Work in an {@link OpusEncoderPool}, across its workers. @category Stages */
export interface OpusPoolQueue {
  /** Frames sent to workers and not encoded yet. */
  inFlight: number
  /** Batches waiting in the pool for room on their worker. */
  waiting: number
}

/** Worker starts of an {@link OpusEncoderPool}. @category Stages */
export interface OpusPoolStats {
  /** Workers started so far. */
  started: number
  /** Of those, replacements for a worker that died. */
  replaced: number
}

/** An Opus engine on a pool worker: {@link OpusEngine} plus asynchronous batches. @category Stages */
export interface PooledOpusEngine extends OpusEngine {
  /** Encodes whole frames in order; resolves with one packet per frame. */
  encodeBatch(frames: readonly Buffer[], frameSamples: number): Promise<Buffer[]>
}

interface Job {
  session: Session
  frames: ArrayBuffer
  n: number
  frameBytes: number
  frameSamples: number
  resolve: (packets: Buffer[]) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  index: number
  sessions: Map<number, Session>
  inFlight: number
  waiting: Job[]
  /** Batches to send with the next message (one message per tick per worker). */
  outbox: EncodeJob[]
  outboxTransfer: ArrayBuffer[]
  flushQueued: boolean
  dead: boolean
  cpu: ((us: number) => void)[]
}

interface Session {
  id: number
  slot: Slot
  sent: Job[]
  open: { resolve: (v: { name: OpusEngineName; preSkip: number }) => void; reject: (err: Error) => void } | undefined
  failure: Error | undefined
  closed: boolean
}

/**
 * A pool of Opus encoder worker threads, shared by streams. Pass it (or `true`, for the shared
 * default pool) as `pool` to {@link OpusEncoder} or {@link createDiscordStream}.
 *
 * @example
 * ```ts
 * const pool = new OpusEncoderPool({ workers: 2 })
 * const { stream, inputType } = createDiscordStream(client.pcm(req), { pool })
 * ```
 * @category Stages
 */
export class OpusEncoderPool {
  /** Worker threads this pool runs at most. */
  readonly size: number
  readonly #maxQueued: number
  readonly #idleMs: number
  readonly #slots: Slot[] = []
  #nextId = 1
  #sessions = 0
  #idleTimer: NodeJS.Timeout | undefined
  #closed = false
  #started = 0
  #replaced = 0

  constructor(options: OpusEncoderPoolOptions = {}) {
    const workers = options.workers ?? availableParallelism()
    if (!Number.isInteger(workers) || workers < 1) throw new InvalidOptionError('workers', `must be an integer ≥ 1 (got ${String(workers)})`)
    const maxQueued = options.maxQueuedFrames ?? 64
    if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new InvalidOptionError('maxQueuedFrames', `must be an integer ≥ 1 (got ${String(maxQueued)})`)
    const idle = options.idleTimeoutMs ?? 1000
    if (!Number.isFinite(idle) || idle < 0) throw new InvalidOptionError('idleTimeoutMs', `must be ≥ 0 ms (got ${String(idle)})`)
    this.size = workers
    this.#maxQueued = maxQueued
    this.#idleMs = idle
  }

  /** Workers running now. */
  get workerCount(): number {
    return this.#slots.length
  }

  /** Streams holding an encoder in the pool now. */
  get streams(): number {
    return this.#sessions
  }

  /** Frames sent to workers and not yet encoded, and batches waiting in the pool, across workers. */
  get queue(): OpusPoolQueue {
    let inFlight = 0
    let waiting = 0
    for (const s of this.#slots) {
      inFlight += s.inFlight
      waiting += s.waiting.length
    }
    return { inFlight, waiting }
  }

  /** Workers started so far, and how many of them replaced a worker that died. */
  get stats(): OpusPoolStats {
    return { started: this.#started, replaced: this.#replaced }
  }

  /**
   * Creates an encoder for one stream on the least busy worker (starting one if fewer than
   * `size` run). Resolves once the engine loaded there.
   * @throws {@link OpusEngineMissingError} (from the worker) when no engine is installed, {@link OpusWorkerError}
   */
  async open(settings: OpusEngineSettings, engines: readonly OpusEngineName[]): Promise<PooledOpusEngine> {
    if (this.#closed) throw new OpusWorkerError('the Opus encoder pool is closed')
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer)
      this.#idleTimer = undefined
    }
    const slot = this.#pickSlot()
    const session: Session = { id: this.#nextId++, slot, sent: [], open: undefined, failure: undefined, closed: false }
    slot.sessions.set(session.id, session)
    this.#sessions++
    let info: { name: OpusEngineName; preSkip: number }
    try {
      info = await new Promise((resolve, reject) => {
        session.open = { resolve, reject }
        this.#post(slot, { t: 'open', id: session.id, settings, engines: [...engines] })
      })
    } catch (err) {
      this.#closeSession(session)
      throw err
    }
    return {
      name: info.name,
      preSkip: info.preSkip,
      encode: () => {
        throw new OpusWorkerError('a pooled Opus engine encodes with encodeBatch()')
      },
      encodeBatch: (frames, frameSamples) => this.#encode(session, frames, frameSamples),
      free: () => this.#closeSession(session),
    }
  }

  /** Per-thread CPU time of each worker, µs (Linux; -1 elsewhere). For benchmarks. */
  async workerCpuUs(): Promise<number[]> {
    return Promise.all(
      this.#slots.map(
        (slot) =>
          new Promise<number>((resolve) => {
            slot.cpu.push(resolve)
            this.#post(slot, { t: 'cpu', id: 0 })
          }),
      ),
    )
  }

  /** Stops every worker now; their streams fail with {@link OpusWorkerError}. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    const slots = this.#slots.splice(0)
    for (const slot of slots) this.#failSlot(slot, new OpusWorkerError('the Opus encoder pool was closed'))
    await Promise.all(slots.map((s) => s.worker.terminate()))
  }

  /** Test hook: makes worker `index` die as a crash in a native engine would. @internal */
  crashWorker(index: number): void {
    const slot = this.#slots[index]
    if (slot) this.#post(slot, { t: 'crash' })
  }

  #pickSlot(): Slot {
    const live = this.#slots.filter((s) => !s.dead)
    const idle = live.find((s) => s.sessions.size === 0)
    if (idle) return idle
    if (live.length < this.size) return this.#startWorker()
    return live.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a))
  }

  #startWorker(): Slot {
    const worker = new Worker(opusWorkerFile)
    const slot: Slot = { worker, index: this.#started++, sessions: new Map(), inFlight: 0, waiting: [], outbox: [], outboxTransfer: [], flushQueued: false, dead: false, cpu: [] }
    this.#slots.push(slot)
    worker.unref() // referenced only while work is in flight (see #post / #settle)
    worker.on('message', (m: FromWorker) => this.#onMessage(slot, m))
    worker.on('error', (err) => this.#onDeath(slot, err))
    worker.on('exit', (code) => {
      if (!slot.dead && !this.#closed) this.#onDeath(slot, new Error(`exited with code ${code}`))
    })
    return slot
  }

  #post(slot: Slot, msg: ToWorker, transfer?: ArrayBuffer[]): void {
    if (slot.dead) return
    slot.worker.ref()
    slot.worker.postMessage(msg, transfer)
  }

  #encode(session: Session, frames: readonly Buffer[], frameSamples: number): Promise<Buffer[]> {
    if (session.failure) return Promise.reject(session.failure)
    if (session.closed) return Promise.reject(new OpusWorkerError('this pooled Opus encoder was freed'))
    if (frames.length === 0) return Promise.resolve([])
    const frameBytes = (frames[0] as Buffer).length
    const data = new Uint8Array(frameBytes * frames.length)
    frames.forEach((f, i) => data.set(f, i * frameBytes))
    return new Promise((resolve, reject) => {
      const job: Job = { session, frames: data.buffer, n: frames.length, frameBytes, frameSamples, resolve, reject }
      const slot = session.slot
      slot.waiting.push(job)
      this.#pump(slot)
    })
  }

  /** Sends waiting batches while the worker has room (always at least one). */
  #pump(slot: Slot): void {
    while (slot.waiting.length > 0 && !slot.dead) {
      const job = slot.waiting[0] as Job
      if (slot.inFlight > 0 && slot.inFlight + job.n > this.#maxQueued) return
      slot.waiting.shift()
      slot.inFlight += job.n
      job.session.sent.push(job)
      slot.outbox.push({ id: job.session.id, frames: job.frames, n: job.n, frameBytes: job.frameBytes, frameSamples: job.frameSamples })
      slot.outboxTransfer.push(job.frames)
      if (!slot.flushQueued) {
        slot.flushQueued = true
        queueMicrotask(() => this.#flush(slot))
      }
    }
  }

  /** Sends the batches queued this tick for `slot` in one message. */
  #flush(slot: Slot): void {
    slot.flushQueued = false
    if (slot.outbox.length === 0) return
    const jobs = slot.outbox
    const transfer = slot.outboxTransfer
    slot.outbox = []
    slot.outboxTransfer = []
    this.#post(slot, { t: 'enc', jobs }, transfer)
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    if (m.t === 'cpu') {
      slot.cpu.shift()?.(m.us)
      this.#settle(slot)
      return
    }
    if (m.t === 'packets') {
      for (const r of m.results) {
        const job = slot.sessions.get(r.id)?.sent.shift()
        if (!job) continue
        slot.inFlight -= job.n
        const data = Buffer.from(r.data)
        const packets: Buffer[] = []
        let off = 0
        for (const size of r.sizes) {
          packets.push(data.subarray(off, off + size))
          off += size
        }
        job.resolve(packets)
      }
      this.#pump(slot)
      this.#settle(slot)
      return
    }
    const session = slot.sessions.get(m.id)
    if (!session) return
    if (m.t === 'opened') {
      const open = session.open
      session.open = undefined
      open?.resolve({ name: m.name, preSkip: m.preSkip })
    } else {
      // An engine that is missing or refuses the settings keeps its code; anything else is the worker's.
      const err = m.code?.startsWith('ERR_') && m.code !== 'ERR_OPUS_WORKER' ? new LightningStreamError(m.message, m.code as ErrorCode) : new OpusWorkerError(m.message)
      const open = session.open
      session.open = undefined
      if (open) open.reject(err)
      else this.#failSession(session, err)
    }
    this.#settle(slot)
  }

  /** Unreferences an idle worker, so an idle pool never holds the process open. */
  #settle(slot: Slot): void {
    if (slot.dead || slot.inFlight > 0 || slot.waiting.length > 0 || slot.cpu.length > 0) return
    for (const s of slot.sessions.values()) if (s.open) return
    slot.worker.unref()
  }

  #failSession(session: Session, err: Error): void {
    session.failure ??= err
    const slot = session.slot
    for (const job of session.sent.splice(0)) {
      slot.inFlight -= job.n
      job.reject(err)
    }
    slot.waiting = slot.waiting.filter((job) => {
      if (job.session !== session) return true
      job.reject(err)
      return false
    })
  }

  #failSlot(slot: Slot, err: Error): void {
    slot.dead = true
    for (const session of slot.sessions.values()) {
      if (session.open) session.open.reject(err)
      this.#failSession(session, err)
    }
    for (const resolve of slot.cpu.splice(0)) resolve(-1)
  }

  #onDeath(slot: Slot, cause: Error): void {
    if (slot.dead) return
    const i = this.#slots.indexOf(slot)
    if (i >= 0) this.#slots.splice(i, 1)
    this.#failSlot(slot, new OpusWorkerError(`Opus worker ${slot.index} stopped (${cause.message}): its ${slot.sessions.size} stream(s) failed`, { cause }))
    void slot.worker.terminate()
    if (!this.#closed) {
      this.#replaced++
      this.#startWorker() // the replacement takes new streams at once; stopped with the last stream as usual
      if (this.#sessions === 0) this.#scheduleStop()
    }
  }

  #closeSession(session: Session): void {
    if (session.closed) return
    session.closed = true
    const slot = session.slot
    this.#failSession(session, new OpusWorkerError('this pooled Opus encoder was freed'))
    slot.sessions.delete(session.id)
    this.#sessions--
    this.#post(slot, { t: 'close', id: session.id })
    this.#settle(slot)
    if (this.#sessions === 0 && !this.#closed) this.#scheduleStop()
  }

  #scheduleStop(): void {
    if (this.#idleMs === 0) return this.#stopAll()
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => this.#stopAll(), this.#idleMs)
    this.#idleTimer.unref()
  }

  #stopAll(): void {
    this.#idleTimer = undefined
    if (this.#sessions > 0) return
    for (const slot of this.#slots.splice(0)) {
      slot.dead = true
      void slot.worker.terminate()
    }
  }
}

let shared: OpusEncoderPool | undefined

/**
 * The process-wide pool `{ pool: true }` uses: one worker per core
 * (`os.availableParallelism()`), started with the first stream, stopped a second after the last.
 */
export function sharedOpusEncoderPool(): OpusEncoderPool {
  shared ??= new OpusEncoderPool()
  return shared
}
