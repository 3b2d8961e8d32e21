// Streaming text in (issue 15), against the emulator in a child process (tone engine, synthesis as
// fast as possible), so this process's CPU is the client's alone. Each scenario runs interleaved
// with its baseline, repeated; results give median and range (min–max) across repetitions.
//
// 1. First text fragment → first PCM byte over the WebSocket: streamText() vs a raw `ws` client
//    that sends the same one-sentence message and decodes the first chunk frame. Both include the
//    connection; the difference is what the library adds (goal < 2 ms).
// 2. End of input → last PCM byte, with the socket open and audio flowing: streamText().endInput()
//    → 'end' (the last byte read), vs the raw client's final message → its last chunk frame.
// 3. WebSocket vs SSE-segmented for the same token stream (40 tokens/s): first token → first PCM
//    byte, and end of input → last byte.
// 4. Client CPU per second of audio: streamText() (WebSocket) vs pcm() (SSE), same text.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { LightningClient } from '../dist/esm/index.js'
import { machine, median, QUICK } from './lib.mjs'

const cli = fileURLToPath(new URL('../dist/esm/cli/bin.js', import.meta.url))
const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--max-concurrent', '64', '--engine', 'tone'], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(d.toString().trim())))
const client = new LightningClient({ baseUrl: url, maxConcurrent: 64 })
const config = { voice_id: 'magnus', sample_rate: 24000, output_format: 'pcm', complete_backoff_ms: 0 }
const range = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) })

/**
 * Raw ws: sends the sentence with a flush; once its first chunk arrived, sends the end of input.
 * Resolves { first: ms from the start to the first chunk, last: ms from the end message to the
 * last chunk }, checking the byte count.
 */
function raw(text, expectedBytes) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const ws = new WebSocket(`${url.replace('http', 'ws')}/waves/v1/tts/live`, { perMessageDeflate: false })
    let first
    let bytes = 0
    let endAt
    let lastAt
    ws.on('open', () => ws.send(JSON.stringify({ ...config, text, continue: true, flush: true })))
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString())
      if (m.status === 'chunk') {
        bytes += Buffer.from(m.data.audio, 'base64').length
        lastAt = performance.now()
        if (first === undefined) {
          first = lastAt - t0
          endAt = performance.now()
          ws.send(JSON.stringify({ ...config, text: '', continue: false, flush: true }))
        }
      } else if (m.status === 'complete') {
        if (bytes !== expectedBytes) reject(new Error(`raw: ${bytes} bytes, expected ${expectedBytes}`))
        resolve({ first, last: lastAt - endAt })
        ws.close()
      }
    })
    ws.on('error', reject)
  })
}

/** streamText, the same exchange: { first, last } as above ('end' marks the last byte read). */
async function lib(text, expectedBytes) {
  const t0 = performance.now()
  const tts = client.streamText({ voice_id: 'magnus' })
  let first
  let endAt
  let bytes = 0
  const ended = new Promise((resolve, reject) => {
    tts.on('data', (c) => {
      bytes += c.length
      if (first === undefined) {
        first = performance.now() - t0
        endAt = performance.now()
        tts.endInput()
      }
    })
    tts.once('end', () => resolve(performance.now()))
    tts.once('error', reject)
  })
  tts.pushText(text)
  tts.flush()
  const lastAt = await ended
  if (bytes !== expectedBytes) throw new Error(`lib: ${bytes} bytes, expected ${expectedBytes}`)
  return { first, last: lastAt - endAt }
}

// 1 + 2: the library over a raw client, interleaved.
const N = QUICK ? 10 : 200
const sentence = 'How fast does the first sound come?'
const sentenceBytes = sentence.length * 1440 * 2
const libFirst = []
const rawFirst = []
const libLast = []
const rawLast = []
for (let i = 0; i < N + 5; i++) {
  const a = await lib(sentence, sentenceBytes)
  const b = await raw(sentence, sentenceBytes)
  if (i < 5) continue
  libFirst.push(a.first)
  rawFirst.push(b.first)
  libLast.push(a.last)
  rawLast.push(b.last)
}
const addedFirst = libFirst.map((v, i) => v - rawFirst[i])

// 3: WebSocket vs SSE-segmented, same token stream.
const reply = 'Sure, I can help with that. The first step is to open the settings page. Then choose your voice and press save.'
async function tokenRun(transport) {
  const tts = client.streamText({ voice_id: 'magnus' }, { transport })
  let bytes = 0
  let firstAt
  let firstTokenAt
  const ended = new Promise((resolve, reject) => {
    tts.on('data', (c) => {
      bytes += c.length
      firstAt ??= performance.now()
    })
    tts.once('end', () => resolve(performance.now()))
    tts.once('error', reject)
  })
  for (const token of reply.match(/\S+\s*/g)) {
    firstTokenAt ??= performance.now()
    tts.pushText(token)
    await sleep(25)
  }
  const endAt = performance.now()
  tts.endInput()
  const lastAt = await ended
  if (bytes !== reply.length * 2880) throw new Error(`${transport}: ${bytes} bytes`)
  return { first: firstAt - firstTokenAt, last: lastAt - endAt }
}
const T = QUICK ? 3 : 30
const tok = { websocket: { first: [], last: [] }, sse: { first: [], last: [] } }
for (let i = 0; i < T + 1; i++) {
  for (const transport of ['websocket', 'sse']) {
    const r = await tokenRun(transport)
    if (i === 0) continue
    tok[transport].first.push(r.first)
    tok[transport].last.push(r.last)
  }
}

// 4: client CPU per second of audio, streamText (WebSocket) vs pcm() (SSE), interleaved.
const long = 'Client CPU time per second of audio, measured over the WebSocket and over SSE. '.repeat(QUICK ? 2 : 3)
const C = QUICK ? 3 : 15
const STREAMS = QUICK ? 8 : 32
const cpu = { websocket: [], pcm: [] }
for (let i = 0; i < C + 1; i++) {
  for (const kind of ['websocket', 'pcm']) {
    const c0 = process.cpuUsage()
    let bytes = 0
    await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const s = kind === 'pcm' ? client.pcm({ text: long, voice_id: 'magnus' }, { segment: false }) : client.streamText({ voice_id: 'magnus' })
        if (kind === 'websocket') s.end(long)
        for await (const c of s) bytes += c.length
      }),
    )
    const used = process.cpuUsage(c0)
    if (i > 0) cpu[kind].push((used.user + used.system) / 1000 / (bytes / 48000))
  }
}

await client.close()
child.kill('SIGTERM')
console.log(
  JSON.stringify(
    {
      benchmark: 'streaming-text',
      machine: machine(),
      firstAudio: { reps: N, libraryMs: range(libFirst), rawWsMs: range(rawFirst), addedMs: range(addedFirst), goalAddedMs: 2 },
      endToLastByte: { libraryMs: range(libLast), rawWsMs: range(rawLast) },
      tokenStream: {
        reps: T,
        tokensPerSecond: 40,
        websocket: { firstAudioMs: range(tok.websocket.first), endToLastByteMs: range(tok.websocket.last) },
        sse: { firstAudioMs: range(tok.sse.first), endToLastByteMs: range(tok.sse.last) },
      },
      cpuMsPerAudioSecond: { reps: C, streams: STREAMS, websocket: range(cpu.websocket), pcmSse: range(cpu.pcm) },
    },
    null,
    2,
  ),
)
