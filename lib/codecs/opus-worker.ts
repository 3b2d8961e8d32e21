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
  | { t: 'enc'; id: number; frames: ArrayBuffer; n: number; frameBytes: number; frameSamples: number }
  | { t: 'close'; id: number }
  | { t: 'cpu'; id: number }
  | { t: 'crash' }

/** Messages to the pool. @internal */
export type FromWorker =
  | { t: 'opened'; id: number; name: OpusEngineName; preSkip: number }
  | { t: 'packets'; id: number; data: ArrayBuffer; sizes: Uint16Array }
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
        (e) => port.postMessage({ t: 'opened', id: msg.id, name: e.name, preSkip: e.preSkip } satisfies FromWorker),
        (err: Error & { code?: string }) => {
          engines.delete(msg.id)
          port.postMessage({ t: 'error', id: msg.id, message: err.message, code: err.code } satisfies FromWorker)
        },
      )
      return
    }
    case 'enc': {
      const engine = engines.get(msg.id)
      if (!engine) return
      void engine.then((e) => {
        const frames = Buffer.from(msg.frames)
        const packets: Buffer[] = []
        let total = 0
        try {
          for (let i = 0; i < msg.n; i++) {
            const p = e.encode(frames.subarray(i * msg.frameBytes, (i + 1) * msg.frameBytes), msg.frameSamples)
            packets.push(p)
            total += p.length
          }
        } catch (err) {
          port.postMessage({ t: 'error', id: msg.id, message: (err as Error).message, code: (err as { code?: string }).code } satisfies FromWorker)
          return
        }
        const out = new Uint8Array(total)
        const sizes = new Uint16Array(packets.length)
        let off = 0
        packets.forEach((p, i) => {
          out.set(p, off)
          off += p.length
          sizes[i] = p.length
        })
        port.postMessage({ t: 'packets', id: msg.id, data: out.buffer, sizes } satisfies FromWorker, [out.buffer])
      })
      return
    }
    case 'close': {
      const engine = engines.get(msg.id)
      engines.delete(msg.id)
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
