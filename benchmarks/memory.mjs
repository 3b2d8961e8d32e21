// Memory per stream under a consumer that never reads: N streams are opened against the replay
// server (which sends a 30 s utterance at once), started, and never read; once the sockets have
// stopped moving, the process's array buffers (socket reads, SSE bytes, PCM) and JavaScript heap
// are measured after gc() and divided by N. Variants in one process, one after another, each from
// a clean baseline after a 2-stream warm-up (code and caches are not per-stream memory):
//   floor: undici.request, body never read (undici's default 64 KiB high-water mark);
//   before: stream() → SseParser → AudioChunkDecoder (pcm() before the fused path);
//   lightning-stream: client.pcm().
// Over plain HTTP on loopback (the emulator's case: one socket read can be 64 KiB) and over HTTPS
// (what the vendor serves: TLS hands data over in records of at most 16 KiB).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { pipeline } from 'node:stream'
import { Agent, request } from 'undici'
import { AudioChunkDecoder, LightningClient, SseParser } from '../dist/esm/index.js'
import { machine, QUICK } from './lib.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const N = QUICK ? 8 : 40
const SETTLE_MS = QUICK ? 400 : 2000
const ca = readFileSync(`${here}fixtures/localhost-cert.pem`)
const req = { text: 'memory', voice_id: 'magnus', sample_rate: 24000 }

const mem = () => {
  globalThis.gc()
  globalThis.gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, buffers: m.arrayBuffers }
}

async function measure(tls, kind, n = N) {
  const server = spawn(process.execPath, [`${here}replay-server.mjs`, ...(tls ? ['--tls'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(d.toString().trim())))
  const base = `${url}/burst/30`
  const agent = new Agent({ connect: { ca } })
  const client = new LightningClient({ baseUrl: base, maxConcurrent: 1000, retry: false, dispatcher: agent })
  const held = []
  const m0 = mem()
  for (let i = 0; i < n; i++) {
    if (kind === 'floor') {
      held.push(await request(`${base}/waves/v1/tts/live`, { method: 'POST', body: JSON.stringify(req), dispatcher: agent }))
    } else if (kind === 'after') {
      const s = client.pcm(req)
      s.read(0) // start it; never read
      held.push(s)
    } else {
      const dec = new AudioChunkDecoder({ sampleRate: 24000 })
      pipeline(client.stream(req), new SseParser(), dec, () => {})
      dec.read(0)
      held.push(dec)
    }
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const m1 = mem()
  const out = { buffersKiB: (m1.buffers - m0.buffers) / n / 1024, heapKiB: (m1.heap - m0.heap) / n / 1024 }
  for (const h of held) (h.body ?? h).destroy()
  await agent.destroy()
  server.kill('SIGTERM')
  return out
}

const NAMES = { floor: 'floor: undici.request, body never read', before: 'before: stream() → SseParser → AudioChunkDecoder', after: 'lightning-stream: client.pcm()' }
const rows = []
for (const tls of [false, true]) {
  for (const kind of ['floor', 'before', 'after']) {
    await measure(tls, kind, 2) // warm-up: code and caches are not per-stream memory
    const r = await measure(tls, kind)
    rows.push({ transport: tls ? 'https' : 'http (loopback)', kind, name: NAMES[kind], ...r, totalKiB: r.buffersKiB + r.heapKiB })
  }
}
console.log(JSON.stringify({ benchmark: 'memory', machine: machine(), streams: N, rows, goalKiB: 96 }, null, 2))
