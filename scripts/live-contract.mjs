// `npm run test:live`: an opt-in contract check against the real Lightning API. It runs the SSE,
// sync, voices and WebSocket routes on the real API and on the local emulator, compares what
// matters (framing, ids, error shapes, word timestamps) and prints every difference.
// Without SMALLEST_API_KEY it says so and exits 0. It is never part of `npm test` or CI.
// Needs a build (`npm run build`). Costs a few short syntheses on your account.
import { WebSocket } from 'ws'
import { LightningClient } from '../dist/esm/index.js'
import { startEmulator } from '../dist/esm/emulator/index.js'

const key = process.env.SMALLEST_API_KEY
if (!key) {
  console.log('test:live: SKIPPED: SMALLEST_API_KEY is not set. This check talks to the real API and never runs in npm test or CI.')
  process.exit(0)
}
const realBase = process.env.LIGHTNING_BASE_URL ?? 'https://api.smallest.ai'
const emu = await startEmulator({ apiKey: key })
const targets = { real: realBase, emulator: emu.url }
const differences = []
const report = (what, real, emulator) => {
  const a = JSON.stringify(real)
  const b = JSON.stringify(emulator)
  const same = a === b
  if (!same) differences.push(what)
  console.log(`${same ? 'same' : 'DIFF'}  ${what}\n        real:     ${a}\n        emulator: ${b}`)
}
const shape = (v) => (Array.isArray(v) ? [v.length ? shape(v[0]) : 'empty'] : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])])) : typeof v)
const VOICE = process.env.LIGHTNING_VOICE ?? 'meher' // a voice that emits word timestamps
const TEXT = 'Contract check. Two sentences.'

async function sse(base) {
  const client = new LightningClient({ apiKey: key, baseUrl: base })
  const src = client.stream({ text: TEXT, voice_id: VOICE, request_id: 'live-check.1' })
  let raw = ''
  for await (const c of src) raw += c.toString() // the request goes out on the first read
  const info = src.response
  await client.close()
  const events = raw.split(/\r?\n\r?\n/).filter(Boolean).map((e) => {
    const lines = e.split(/\r?\n/)
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')
    let json
    try {
      json = JSON.parse(data)
    } catch {
      json = data
    }
    return { fields: lines.map((l) => l.split(':')[0]).sort(), json }
  })
  const chunk = events.find((e) => e.json?.audio)
  const last = events.at(-1)
  return {
    ids: { requestId: /^[0-9a-f-]{36}$/.test(info.requestId ?? ''), externalRequestId: info.externalRequestId ?? null },
    contentType: info.headers['content-type'],
    chunkFields: chunk?.fields,
    chunk: shape({ ...chunk?.json, audio: '' }),
    terminator: last && { fields: last.fields, json: last.json },
  }
}

async function sync(base) {
  const client = new LightningClient({ apiKey: key, baseUrl: base })
  const r = await client.synthesize({ text: TEXT, voice_id: VOICE, output_format: 'wav' })
  await client.close()
  return { status: r.status, contentType: r.headers['content-type'], riff: r.audio.toString('latin1', 0, 4), ids: Boolean(r.requestId) }
}

async function voices(base) {
  const client = new LightningClient({ apiKey: key, baseUrl: base })
  const list = await client.voices()
  await client.close()
  return { hasVoice: list.some((v) => v.voiceId === VOICE), entry: shape(list[0]) }
}

async function badRequest(base) {
  const client = new LightningClient({ apiKey: key, baseUrl: base, retry: false })
  try {
    await client.synthesize({ text: TEXT, voice_id: 'no-such-voice-xyz' })
    return 'accepted'
  } catch (err) {
    return { status: err.status, body: shape(err.body) }
  } finally {
    await client.close()
  }
}

function ws(base, messages) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/waves/v1/tts/live`, { headers: { authorization: `Bearer ${key}` } })
    const frames = []
    const timer = setTimeout(() => socket.terminate(), 30_000)
    socket.on('open', () => messages.forEach((m) => socket.send(JSON.stringify(m))))
    socket.on('message', (d) => frames.push(JSON.parse(d.toString())))
    socket.on('close', (code) => {
      clearTimeout(timer)
      resolve({ frames, code })
    })
    socket.on('error', reject)
  })
}

async function wsRoute(base) {
  const cfg = { voice_id: VOICE, sample_rate: 24000, word_timestamps: true, request_id: 'live-ws.1' }
  const { frames, code } = await ws(base, [
    { ...cfg, text: 'Contract check. ', continue: true, flush: false },
    { ...cfg, text: 'Two sentences.', continue: true, flush: false },
    { ...cfg, text: '', continue: false, flush: true, complete_backoff_ms: 0 },
  ])
  const statuses = [...new Set(frames.map((f) => f.status))]
  const words = frames.filter((f) => f.status === 'word_timestamp').map((f) => f.data.word)
  const chunk = frames.find((f) => f.status === 'chunk')
  const bad = await ws(base, [{ voice_id: 'no-such-voice-xyz', text: 'x', continue: false, flush: true }])
  return {
    statuses,
    chunk: shape({ ...chunk, data: { ...chunk?.data, audio: '' } }),
    complete: shape(frames.find((f) => f.status === 'complete')),
    closeAfterComplete: code,
    words,
    wordTimesIncrease: frames.filter((f) => f.status === 'word_timestamp').every((f, i, a) => i === 0 || f.data.start >= a[i - 1].data.start),
    errorFrame: shape(bad.frames.find((f) => f.status === 'error')),
  }
}

try {
  for (const [name, fn] of Object.entries({ sse, sync, voices, badRequest, websocket: wsRoute })) {
    const [real, emulator] = await Promise.all([fn(targets.real).catch((e) => ({ failed: String(e.message ?? e) })), fn(targets.emulator).catch((e) => ({ failed: String(e.message ?? e) }))])
    for (const k of new Set([...Object.keys(real ?? {}), ...Object.keys(emulator ?? {})])) report(`${name}.${k}`, real?.[k], emulator?.[k])
  }
} finally {
  await emu.close()
}
console.log(`\ntest:live: ${differences.length} difference(s) between the real API and the emulator${differences.length ? `: ${differences.join(', ')}` : ''}`)
