// The Opus encoder pool (lib/codecs/opus-pool.ts): the same packets as encoding on this thread,
// in order, for many streams at once; bounded in-flight work; backpressure; workers stopped with
// the last stream; a worker crash fails only its streams, with a coded error, and is replaced.
// Counts only, no wall-clock: it runs under `busy.sh` too.
import t from 'tap'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { OpusEncoder, OpusEncoderPool, type OpusEngineName, type PcmFormat } from '../lib/index.js'
import { encode, sine } from './fixtures/signal.js'
import { errorOf, splitEvery } from './fixtures/helpers.js'

const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
// opusscript is WebAssembly in both places, so its packets are bit-identical on and off the pool.
const ENGINES: OpusEngineName[] = ['opusscript']

const tone = (hz: number, seconds: number) => encode(sine(48000, hz, seconds, 0.3), 's16le', 2)

async function packetsOf(pcm: Buffer, options: { pool?: OpusEncoderPool; chunk?: number } = {}): Promise<Buffer[]> {
  const out: Buffer[] = []
  await pipeline(
    Readable.from(splitEvery(pcm, options.chunk ?? 3840 * 3 + 17)),
    new OpusEncoder({ format: stereo48, engines: ENGINES, ...(options.pool ? { pool: options.pool } : {}) }),
    new Writable({
      objectMode: true,
      write(p: Buffer, _e, cb) {
        out.push(p)
        cb()
      },
    }),
  )
  return out
}

const same = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((p, i) => p.equals(b[i]!))

// Two pools for the whole file: starting a worker is the slow part (more so on a busy host).
const poolA = new OpusEncoderPool({ workers: 2, idleTimeoutMs: 0 })
const poolB = new OpusEncoderPool({ workers: 1, maxQueuedFrames: 8, idleTimeoutMs: 50 })
t.teardown(() => Promise.all([poolA.close(), poolB.close()]))

t.test('pooled packets are the packets encoded on this thread, for 12 streams at once on 2 workers', async (t) => {
  const pool = poolA
  const inputs = Array.from({ length: 12 }, (_, i) => tone(200 + 97 * i, 0.2 + 0.02 * i))
  const local = await Promise.all(inputs.map((pcm) => packetsOf(pcm)))
  const pooled = await Promise.all(inputs.map((pcm, i) => packetsOf(pcm, { pool, chunk: 1 + 997 * i })))
  for (const [i, p] of pooled.entries()) t.ok(same(p, local[i]!), `stream ${i}: ${p.length} packets, identical and in order`)
  t.equal(pool.stats.started, 2, 'two workers served them')
  t.equal(pool.workerCount, 0, 'and stopped with the last stream (idleTimeoutMs: 0)')
  t.equal(pool.streams, 0)
})

t.test('bounded: frames in flight per worker never exceed maxQueuedFrames; the rest wait (backpressure)', async (t) => {
  const pool = poolB
  let maxInFlight = 0
  let maxWaiting = 0
  const sample = () => {
    maxInFlight = Math.max(maxInFlight, pool.queue.inFlight)
    maxWaiting = Math.max(maxWaiting, pool.queue.waiting)
  }
  const runs = Array.from({ length: 6 }, async (_, i) => {
    const enc = new OpusEncoder({ format: stereo48, engines: ENGINES, pool })
    let written = 0
    let accepted = 0
    // Write 4-frame chunks as fast as the encoder accepts them.
    const source = new Readable({
      read() {
        if (written++ >= 10) {
          this.push(null)
          return
        }
        sample()
        this.push(tone(300 + i, 0.08))
      },
    })
    await pipeline(
      source,
      enc,
      new Writable({
        objectMode: true,
        write(_p, _e, cb) {
          accepted++
          sample()
          cb()
        },
      }),
    )
    return accepted
  })
  const counts = await Promise.all(runs)
  // 40 frames in, plus one packet that flushes the encoder's lookahead (pre-skip 312 < 960).
  t.same(counts, Array(6).fill(41), 'every stream got its 41 packets (40 frames and the lookahead flush)')
  t.ok(maxInFlight <= 8, `at most ${maxInFlight} frames in flight (bound 8)`)
  t.ok(maxWaiting > 0, `batches waited in the pool (up to ${maxWaiting})`)
  t.ok(maxWaiting <= 6, 'at most one batch per stream waits: the encoder does not call back before its batch is encoded')
})

t.test('a worker crash fails only its streams with ERR_OPUS_WORKER; the pool replaces it', async (t) => {
  const pool = poolA
  const replacedBefore = pool.stats.replaced
  // Two streams, one per worker. Each sends its first chunk and then waits at a gate, so both are
  // open (and have produced a packet) when worker 0 dies, however slow the host: no race with the end.
  const feed = (hz: number) => {
    const chunks = splitEvery(tone(hz, 0.6), 3840 * 3)
    let i = 0
    let first!: () => void
    let release!: () => void
    const started = new Promise<void>((r) => (first = r))
    const gate = new Promise<void>((r) => (release = r))
    const source = new Readable({
      read() {
        if (i === 0) this.push(chunks[i++])
        else if (i < chunks.length) void gate.then(() => setImmediate(() => this.push(chunks[i++])))
        else this.push(null)
      },
    })
    const out: Buffer[] = []
    const enc = new OpusEncoder({ format: stereo48, engines: ENGINES, pool })
    const done = pipeline(
      source,
      enc,
      new Writable({
        objectMode: true,
        write(p: Buffer, _e, cb) {
          if (out.push(p) === 1) first()
          cb()
        },
      }),
    )
    return { started, release, done, out }
  }
  t.equal(pool.workerCount, 0, 'no worker left from the earlier streams (idleTimeoutMs: 0)')
  // One after the other: the first stream starts worker 0; the second finds it busy and starts worker 1.
  const a = feed(440)
  await a.started
  const b = feed(660)
  await b.started
  t.equal(pool.workerCount, 2)
  pool.crashWorker(0)
  a.release()
  b.release()
  const errA = await errorOf(() => a.done)
  t.equal(errA.code, 'ERR_OPUS_WORKER', `the stream on the crashed worker failed: ${errA.message}`)
  await b.done
  t.ok(same(b.out, await packetsOf(tone(660, 0.6))), 'the other stream finished with exactly its packets')
  t.equal(pool.stats.replaced, replacedBefore + 1, 'the pool started a replacement')
  const after = await packetsOf(tone(500, 0.3), { pool })
  t.ok(same(after, await packetsOf(tone(500, 0.3))), 'and a new stream encodes on it')
})

t.test('a missing engine is reported when the encoder is constructed, with a pool as without', async (t) => {
  // No engine to try: the constructor throws before any audio flows or any worker starts.
  t.throws(() => new OpusEncoder({ format: stereo48, engines: [], pool: poolA }), { code: 'ERR_OPUS_ENGINE_MISSING', name: 'OpusEngineMissingError' })
  t.throws(() => new OpusEncoder({ format: stereo48, engines: [] }), { code: 'ERR_OPUS_ENGINE_MISSING', name: 'OpusEngineMissingError' })
})

t.test('workers stop after the idle timeout, and an idle pool does not hold the process', async (t) => {
  const pool = poolB
  await packetsOf(tone(300, 0.2), { pool })
  t.equal(pool.workerCount, 1, 'lingers after the last stream')
  for (let i = 0; i < 500 && pool.workerCount > 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.equal(pool.workerCount, 0, 'stopped after the idle timeout')
  t.throws(() => new OpusEncoderPool({ workers: 0 }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => new OpusEncoderPool({ maxQueuedFrames: 0 }), { code: 'ERR_INVALID_OPTION' })
})
