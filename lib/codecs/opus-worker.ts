/**
 * The worker thread of {@link OpusEncoderPool}: holds one Opus encoder per stream session and
 * encodes batches of frames in the order they arrive. Messages are plain objects; frames and
 * packets travel as transferred ArrayBuffers (no copy).
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { readFileSync } from 'node:fs'
import { createOpusEngine, type OpusEngine, type OpusEngineName, type OpusEngineSettings } from './opus-engines.js'

/** Messages from the pool. @internal */
export type ToWorker =
  | { t: 'open'; id: number; settings: OpusEngineSettings; engines: readonly OpusEngineName[] }
  | { t: 'enc'; jobs: EncodeJob[] }
  | { t: 'close'; id: number }
  | { t: 'cpu'; id: number }
  | { t: 'crash' }

/** One stream's batch of whole frames. @internal */
export interface EncodeJob {
  id: number
  frames: ArrayBuffer
  n: number
  frameBytes: number
  frameSamples: number
}

/** Messages to the pool. @internal */
export type FromWorker =
  | { t: 'opened'; id: number; name: OpusEngineName; preSkip: number }
  | { t: 'packets'; results: { id: number; data: ArrayBuffer; sizes: Uint16Array }[] }
  | { t: 'cpu'; id: number; us: number }
  | { t: 'error'; id: number; message: string; code: string | undefined }

const port = parentPort
if (!port) throw new Error('opus-worker runs as a worker thread of OpusEncoderPool')

// @evan/opus's native binding is not thread-safe: every thread that loads it shares one static
// output buffer (two workers encoding at once would mix their packets), and a worker that exits
// with it loaded crashes the process (SIGSEGV, seen with 1.0.3 on Node 20). Here it loads its
// WebAssembly build instead, which each thread instantiates for itself. This thread's
// `process.env` is its own copy.
process.env['OPUS_FORCE_WASM'] = '1'

const engines = new Map<number, Promise<OpusEngine>>()
const ready = new Map<number, OpusEngine>()
/** Results are sent back at least this often while a long message is being worked through, ms. */
const REPLY_EVERY_MS = 1

/** This thread's CPU time in µs (Linux: /proc/thread-self/stat), or -1 where it cannot be read. */
function threadCpuUs(): number {
  try {
    const f = readFileSync('/proc/thread-self/stat', 'latin1')
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return ((Number(parts[11]) + Number(parts[12])) * 1e6) / 100 // utime + stime, in clock ticks (USER_HZ 100)
  } catch {
    return -1
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'open': {
      const engine = createOpusEngine(msg.settings, msg.engines)
      engines.set(msg.id, engine)
      engine.then(
        (e) => {
          ready.set(msg.id, e)
          port.postMessage({ t: 'opened', id: msg.id, name: e.name, preSkip: e.preSkip } satisfies FromWorker)
        },
        (err: Error & { code?: string }) => {
          engines.delete(msg.id)
          port.postMessage({ t: 'error', id: msg.id, message: err.message, code: err.code } satisfies FromWorker)
        },
      )
      return
    }
    case 'enc': {
      // Batches of many streams arrive in one message (the pool sends one per tick per worker);
      // results go back in one message too, sent early when the work runs long.
      let results: { id: number; data: ArrayBuffer; sizes: Uint16Array }[] = []
      let transfer: ArrayBuffer[] = []
      let since = performance.now()
      const send = () => {
        if (results.length === 0) return
        port.postMessage({ t: 'packets', results } satisfies FromWorker, transfer)
        results = []
        transfer = []
        since = performance.now()
      }
      for (const job of msg.jobs) {
        const e = ready.get(job.id)
        if (!e) continue // closed meanwhile
        const frames = Buffer.from(job.frames)
        const packets: Buffer[] = []
        let total = 0
        try {
          for (let i = 0; i < job.n; i++) {
            const p = e.encode(frames.subarray(i * job.frameBytes, (i + 1) * job.frameBytes), job.frameSamples)
            packets.push(p)
            total += p.length
          }
        } catch (err) {
          send()
          port.postMessage({ t: 'error', id: job.id, message: (err as Error).message, code: (err as { code?: string }).code } satisfies FromWorker)
          continue
        }
        const out = new Uint8Array(total)
        const sizes = new Uint16Array(packets.length)
        let off = 0
        packets.forEach((p, i) => {
          out.set(p, off)
          off += p.length
          sizes[i] = p.length
        })
        results.push({ id: job.id, data: out.buffer, sizes })
        transfer.push(out.buffer)
        if (performance.now() - since >= REPLY_EVERY_MS) send()
      }
      send()
      return
    }
    case 'close': {
      const engine = engines.get(msg.id)
      engines.delete(msg.id)
      ready.delete(msg.id)
      void engine?.then((e) => e.free(), () => {})
      return
    }
    case 'cpu':
      port.postMessage({ t: 'cpu', id: msg.id, us: threadCpuUs() } satisfies FromWorker)
      return
    case 'crash':
      // Test hook: fail this thread the way a native crash in an engine would end it.
      setImmediate(() => {
        throw new Error('opus worker crashed (test hook)')
      })
      return
  }
})
