// End to end against the emulator, which runs in a child process so this process's CPU is the
// client's alone. (1) Time to first audio added by the library: client.pcm() vs a raw
// undici.request() that parses the same stream by hand up to its first audio frame, interleaved;
// goal < 1 ms. (2) Client CPU per second of audio for SSE → PCM, and the realtime streams one
// core could carry (1000 / ms-per-second); goal ≥ 10 000.
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { createParser } from 'eventsource-parser'
import { LightningClient } from '../dist/esm/index.js'
import { machine, median, QUICK } from './lib.mjs'

const cli = fileURLToPath(new URL('../dist/esm/cli/main.js', import.meta.url))
const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--max-concurrent', '64', '--engine', 'tone'], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(d.toString().trim())))
const body = (text) => ({ text, voice_id: 'magnus', sample_rate: 24000, output_format: 'pcm' })

async function rawFirstAudio(text) {
  const t0 = performance.now()
  const res = await request(`${url}/waves/v1/tts/live`, { method: 'POST', body: JSON.stringify(body(text)), headers: { 'content-type': 'application/json' } })
  const sd = new StringDecoder('utf8')
  let first
  const parser = createParser({
    onEvent(ev) {
      const m = JSON.parse(ev.data)
      if (first === undefined && m.audio) {
        Buffer.from(m.audio, 'base64')
        first = performance.now() - t0
      }
    },
  })
  for await (const c of res.body) {
    parser.feed(sd.write(c))
    if (first !== undefined) break
  }
  return first
}

async function libFirstAudio(client, text) {
  const t0 = performance.now()
  const pcm = client.pcm(body(text))
  const first = await new Promise((resolve, reject) => {
    pcm.once('data', () => resolve(performance.now() - t0))
    pcm.once('error', reject)
  })
  pcm.destroy()
  await new Promise((r) => pcm.once('close', r))
  return first
}

const client = new LightningClient({ baseUrl: url, maxConcurrent: 64 })
const N = QUICK ? 20 : 200
const lib = []
const raw = []
for (let i = 0; i < N + 5; i++) {
  const text = `Time to first audio, request ${i}.`
  const a = await libFirstAudio(client, text)
  const b = await rawFirstAudio(text)
  if (i >= 5) {
    lib.push(a)
    raw.push(b)
  }
}
const diffs = lib.map((v, i) => v - raw[i])

// Client CPU per second of audio: many streams in parallel, consumed as fast as possible.
const STREAMS = QUICK ? 40 : 400
const text = 'Throughput of the SSE to PCM path, measured in CPU time per second of audio. '.repeat(2)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
let bytes = 0
for (let i = 0; i < STREAMS; i += 32) {
  await Promise.all(
    Array.from({ length: Math.min(32, STREAMS - i) }, async () => {
      for await (const c of client.pcm(body(text))) bytes += c.length
    }),
  )
}
const cpu = process.cpuUsage(cpu0)
const wall = performance.now() - t0
const audioSeconds = bytes / 48000
const cpuMs = (cpu.user + cpu.system) / 1000
await client.close()
child.kill('SIGTERM')

console.log(
  JSON.stringify(
    {
      benchmark: 'e2e',
      machine: machine(),
      ttfa: { requests: N, libraryMedianMs: median(lib), rawUndiciMedianMs: median(raw), addedMedianMs: median(diffs), goalMs: 1 },
      throughput: { streams: STREAMS, audioSeconds, clientCpuMs: cpuMs, wallMs: wall, cpuMsPerAudioSecond: cpuMs / audioSeconds, realtimeStreamsPerCore: audioSeconds / (cpuMs / 1000), goal: 10000 },
    },
    null,
    2,
  ),
)
