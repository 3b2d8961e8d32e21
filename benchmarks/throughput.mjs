// SSE → PCM over HTTP: client CPU per 20 ms event, and so realtime streams per core, against a
// replay server in its own process (replay-server.mjs: pre-rendered frames, so the server is not
// the bottleneck). Variants, interleaved, measured in the same run:
//
// - floor: undici.request + the minimal decode (find each "audio":"…" payload, base64 → one PCM
//   buffer per chunk), no checks at all: what the goal is measured against;
// - before: client.stream() → SseParser → AudioChunkDecoder in pipeline(), which is what pcm()
//   ran before the fused path;
// - lightning-stream: client.pcm().
//
// Two deliveries, reported separately: burst (the whole body in one write: many frames per socket
// read) and realtime-paced (one frame per 20 ms per stream: one frame per socket read, so the
// per-read cost of Node's streams dominates). CPU is process.cpuUsage() around each variant's batch
// of concurrent streams; every repetition runs every variant (gc() before each); reported: the
// median over repetitions of µs per event, and the median (min–max) of per-repetition ratios to the
// floor. Every variant's PCM byte count is checked.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { AudioChunkDecoder, LightningClient, SseParser } from '../dist/esm/index.js'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { machine, median, QUICK } from './lib.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const server = spawn(process.execPath, [`${here}replay-server.mjs`], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(d.toString().trim())))

const body = JSON.stringify({ text: 'replayed', voice_id: 'magnus', sample_rate: 24000, output_format: 'pcm' })
const req = { text: 'replayed', voice_id: 'magnus', sample_rate: 24000, output_format: 'pcm' }

/** The minimal decode, no checks: each payload between "audio":" and the next quote, into one buffer per chunk. */
function minimalDecoder(onPcm) {
  const KEY = Buffer.from('"audio":"')
  let carry = null // the start of an event cut by the chunk boundary
  const scan = (buf, p, end, texts) => {
    let total = 0
    for (;;) {
      const k = buf.indexOf(KEY, p)
      if (k === -1 || k >= end) return total
      const q = buf.indexOf(34, k + 9)
      const s = buf.latin1Slice(k + 9, q)
      texts.push(s)
      total += Buffer.byteLength(s, 'base64')
      p = q + 1
    }
  }
  return (chunk) => {
    const texts = []
    let total = 0
    let p = 0
    if (carry) {
      const e = chunk.indexOf('\n\n')
      if (e === -1) {
        carry = Buffer.concat([carry, chunk])
        return
      }
      const ev = Buffer.concat([carry, chunk.subarray(0, e + 2)])
      carry = null
      total += scan(ev, 0, ev.length, texts)
      p = e + 2
    }
    const last = chunk.lastIndexOf('\n\n')
    const end = last === -1 || last + 2 < p ? p : last + 2
    total += scan(chunk, p, end, texts)
    if (end < chunk.length) carry = chunk.subarray(end)
    if (total === 0) return
    const out = Buffer.allocUnsafe(total)
    let off = 0
    for (const s of texts) off += out.write(s, off, 'base64')
    onPcm(out)
  }
}

const floorAgent = new Agent({ keepAliveTimeout: 60_000 })
async function floorStream(base) {
  const res = await request(`${base}/waves/v1/tts/live`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: floorAgent })
  let bytes = 0
  const decode = minimalDecoder((pcm) => (bytes += pcm.length))
  await new Promise((resolve, reject) => {
    res.body.on('data', decode)
    res.body.once('end', resolve)
    res.body.once('error', reject)
  })
  return bytes
}

function consume(readable) {
  let bytes = 0
  return new Promise((resolve, reject) => {
    readable.on('data', (c) => (bytes += c.length))
    readable.once('end', () => resolve(bytes))
    readable.once('error', reject)
  })
}

const clients = new Map()
const clientFor = (base) => {
  let c = clients.get(base)
  if (!c) clients.set(base, (c = new LightningClient({ baseUrl: base, maxConcurrent: 1000, retry: false })))
  return c
}

async function beforeStream(base) {
  const client = clientFor(base)
  const dec = new AudioChunkDecoder({ sampleRate: 24000 })
  let bytes = 0
  await pipeline(client.stream(req), new SseParser(), dec, new Writable({ write(c, _e, cb) { bytes += c.length; cb() } }))
  return bytes
}

const ours = (base) => consume(clientFor(base).pcm(req))

const VARIANTS = [
  ['floor: undici.request + minimal decode, no checks', floorStream],
  ['before: stream() → SseParser → AudioChunkDecoder', beforeStream],
  ['lightning-stream: client.pcm()', ours],
]

async function scenario(mode, { streams, seconds, reps }) {
  const base = `${url}/${mode}/${seconds}`
  const events = Math.ceil((24000 * seconds * 2) / 960)
  const expectBytes = 24000 * 2 * seconds
  const cpu = Object.fromEntries(VARIANTS.map(([n]) => [n, []]))
  for (let r = 0; r <= reps; r++) {
    // Every repetition runs every variant; the order alternates so drift hits all alike.
    for (const [name, fn] of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      globalThis.gc?.()
      const c0 = process.cpuUsage()
      const got = await Promise.all(Array.from({ length: streams }, () => fn(base)))
      const c = process.cpuUsage(c0)
      for (const b of got) if (b !== expectBytes) throw new Error(`${name}: ${b} PCM bytes, expected ${expectBytes}`)
      if (r > 0) cpu[name].push((c.user + c.system) / (streams * events))
    }
  }
  const floorName = VARIANTS[0][0]
  return VARIANTS.map(([name]) => {
    const ratios = cpu[name].map((v, i) => v / cpu[floorName][i])
    const us = median(cpu[name])
    return {
      delivery: mode,
      name,
      usPerEvent: us,
      streamsPerCore: 1e6 / (us * 50),
      vsFloor: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      reps: cpu[name].length,
    }
  })
}

const only = process.env.DELIVERY
const burst = only === 'paced' ? [] : await scenario('burst', QUICK ? { streams: 10, seconds: 1, reps: 2 } : { streams: 100, seconds: 5, reps: Number(process.env.REPS ?? 15) })
const paced = only === 'burst' ? [] : await scenario('paced', QUICK ? { streams: 10, seconds: 0.5, reps: 2 } : { streams: Number(process.env.PACED_STREAMS ?? 200), seconds: 2, reps: Number(process.env.REPS ?? 15) })

server.kill('SIGTERM')
await floorAgent.close()
for (const c of clients.values()) await c.close()
console.log(JSON.stringify({ benchmark: 'throughput', machine: machine(), unit: 'client CPU µs per 20 ms event', rows: [...burst, ...paced] }, null, 2))
