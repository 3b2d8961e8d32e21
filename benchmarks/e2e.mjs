// Time to first audio added by the library, against the emulator in a child process:
// client.pcm() vs a raw undici.request() that parses the same stream by hand up to its first audio
// frame, interleaved, 200 pairs; the median of the paired differences; goal < 1 ms. (Client CPU per
// event and streams per core are measured by throughput.mjs, against a replay server.)
import { spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { createParser } from 'eventsource-parser'
import { LightningClient } from '../dist/esm/index.js'
import { machine, median, QUICK } from './lib.mjs'

const cli = fileURLToPath(new URL('../dist/esm/cli/bin.js', import.meta.url))
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

await client.close()
child.kill('SIGTERM')

console.log(
  JSON.stringify(
    {
      benchmark: 'e2e',
      machine: machine(),
      ttfa: { requests: N, libraryMedianMs: median(lib), rawUndiciMedianMs: median(raw), addedMedianMs: median(diffs), goalMs: 1 },
    },
    null,
    2,
  ),
)
