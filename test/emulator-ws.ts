/** The emulator's WebSocket route against the contract (`reference/lightning-api.md` §9), with a raw `ws` client. */
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { renderTone, startEmulator, toneWords, type EmulatorOptions } from '../lib/emulator/index.js'

const KEY = 'sk_test_emulator_ws'
const base = { voice_id: 'magnus', sample_rate: 24000, word_timestamps: true }

async function emulator(t: Test, options: EmulatorOptions = {}) {
  const emu = await startEmulator({ apiKey: KEY, ...options })
  t.teardown(() => emu.close())
  return emu
}

/** Opens a socket; resolves with it, or with the refused upgrade's status, headers and body. */
function open(url: string, query = '', key: string | null = KEY) {
  return new Promise<{ ws: WebSocket } | { status: number; headers: Record<string, unknown>; body: unknown }>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/waves/v1/tts/live${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(body) })
      })
    })
    ws.once('error', reject)
  })
}

async function socket(t: Test, url: string, query = '') {
  const r = await open(url, query)
  if (!('ws' in r)) throw new Error(`upgrade refused: ${r.status}`)
  t.teardown(() => r.ws.terminate())
  const frames: Record<string, unknown>[] = []
  r.ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>))
  const closed = new Promise<number>((resolve) => r.ws.once('close', (code) => resolve(code)))
  const until = async (pred: (f: Record<string, unknown>) => boolean) => {
    while (!frames.some(pred)) await new Promise((r) => setTimeout(r, 5))
  }
  return { ws: r.ws, frames, closed, until }
}

const send = (ws: WebSocket, msg: Record<string, unknown>) => ws.send(JSON.stringify({ ...base, ...msg }))
const audioOf = (frames: Record<string, unknown>[]) =>
  Buffer.concat(frames.filter((f) => f['status'] === 'chunk').map((f) => Buffer.from((f['data'] as { audio: string }).audio, 'base64')))

t.test('chunk, word_timestamp and complete frames; close after complete', async (t) => {
  const emu = await emulator(t)
  const s = await socket(t, emu.url)
  send(s.ws, { text: 'Hello ', continue: true, flush: false, session_id: 'my-session', request_id: 'my.req' })
  send(s.ws, { text: 'world.', continue: true, flush: false })
  send(s.ws, { text: '', continue: false, flush: true, complete_backoff_ms: 0 })
  t.equal(await s.closed, 1000, 'closed normally after complete')
  const chunk = s.frames.find((f) => f['status'] === 'chunk')
  t.match(chunk, { session_id: /^ws_/, request_id: /^task_/, external_session_id: 'my-session', external_request_id: 'my.req', data: { audio: String } })
  t.ok(audioOf(s.frames).equals(renderTone({ text: 'Hello world.', ...base })))
  const words = s.frames.filter((f) => f['status'] === 'word_timestamp').map((f) => f['data'])
  t.same(words, toneWords('Hello world.', base).map((w, id) => ({ id, ...w })))
  // Each word frame comes just before the chunk in which the word starts (audio-time order).
  const second = s.frames.findIndex((f) => f['status'] === 'word_timestamp' && (f['data'] as { id: number }).id === 1)
  const chunksBefore = s.frames.slice(0, second).filter((f) => f['status'] === 'chunk').length
  t.equal(chunksBefore, Math.floor((0.36 * 24000 * 2) / 960), 'word 1 (starts at 0.36 s) after the chunks before 0.36 s')
  t.match(s.frames.at(-1), { status: 'complete', session_id: chunk?.['session_id'] })
  t.notOk('done' in (s.frames.at(-1) ?? {}))
  t.equal(emu.stats.active, 0)
})

t.test('flush synthesises what is buffered; max_buffer_flush_ms flushes on time; whitespace-only text adds nothing', async (t) => {
  const emu = await emulator(t)
  const s = await socket(t, emu.url)
  send(s.ws, { text: 'One.', continue: true, flush: false })
  send(s.ws, { text: ' ', continue: true, flush: false })
  await new Promise((r) => setTimeout(r, 100))
  t.equal(audioOf(s.frames).length, 0, 'no flush, no audio')
  send(s.ws, { text: '', continue: true, flush: true })
  await s.until((f) => f['status'] === 'chunk')
  send(s.ws, { text: ' Two.', continue: true, flush: false, max_buffer_flush_ms: 50 })
  await s.until(() => audioOf(s.frames).length === renderTone({ text: 'One. Two.', ...base }).length)
  t.ok(audioOf(s.frames).equals(renderTone({ text: 'One. Two.', ...base })), 'the tone continues across flushes')
  send(s.ws, { text: '', continue: false, flush: true, complete_backoff_ms: 0 })
  await s.closed
})

t.test('complete_backoff_ms: complete comes that long after the last chunk', async (t) => {
  const emu = await emulator(t)
  const s = await socket(t, emu.url)
  const times: number[] = []
  s.ws.on('message', () => times.push(performance.now()))
  send(s.ws, { text: 'Wait for it.', continue: false, flush: true, complete_backoff_ms: 300 })
  await s.closed
  const lastChunk = times[times.length - 2] as number
  t.ok((times.at(-1) as number) - lastChunk >= 290, 'at least the backoff')
})

t.test('reuse switch: a second synthesis on the same socket', async (t) => {
  const emu = await emulator(t, { wsReuse: true })
  const s = await socket(t, emu.url)
  send(s.ws, { text: 'First.', continue: false, flush: true, complete_backoff_ms: 0 })
  await s.until((f) => f['status'] === 'complete')
  t.equal(emu.stats.active, 0, 'the unit is released at complete')
  send(s.ws, { text: 'Second.', continue: false, flush: true, complete_backoff_ms: 0 })
  await s.until(() => s.frames.filter((f) => f['status'] === 'complete').length === 2)
  const [a, b] = s.frames.filter((f) => f['status'] === 'complete')
  t.equal(a?.['session_id'], b?.['session_id'], 'session_id is per connection')
  t.not(a?.['request_id'], b?.['request_id'], 'request_id is per synthesis')
  t.equal(s.ws.readyState, WebSocket.OPEN)
})

t.test('idle timeout with ?timeout: the documented flat error frame, then close', async (t) => {
  const emu = await emulator(t)
  const s = await socket(t, emu.url, '?timeout=1')
  await s.closed
  t.same(s.frames, [{ status: 'error', message: 'Connection timed out after 1 seconds of inactivity' }])
  const bad = await open(emu.url, '?timeout=abc')
  t.match(bad, { status: 400 })
})

t.test('auth, per-key concurrency and injected upgrade failures', async (t) => {
  const emu = await emulator(t, { maxConcurrent: 1, retryAfter: 2 })
  t.match(await open(emu.url, '', null), { status: 401, body: { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' } })
  t.match(await open(emu.url, '', 'sk_wrong'), { status: 401 })
  const s = await socket(t, emu.url)
  t.match(await open(emu.url), { status: 429, headers: { 'retry-after': '2' }, body: { error: 'TooManyRequests' } }, 'an open synthesis holds the unit')
  s.ws.terminate()
  await s.closed
  await new Promise((r) => setTimeout(r, 50))
  const again = await open(emu.url)
  t.ok('ws' in again, 'the unit was freed by the close')
  if ('ws' in again) again.ws.terminate()
  const faulty = await emulator(t, { faults: { failStatus: 429, failCount: 1, failRetryAfter: '0' } })
  t.match(await open(faulty.url), { status: 429, headers: { 'retry-after': '0' } })
  t.ok('ws' in (await open(faulty.url).then((r) => ('ws' in r ? (r.ws.terminate(), r) : r))))
})

t.test('error frames: nested shape by default, flat with wsErrorShape; invalid messages close the socket', async (t) => {
  for (const [shape, expected] of [
    [undefined, { status: 'error', error: { message: 'voice_id: Invalid Voice ID', code: '400' } }],
    ['flat', { status: 'error', message: 'voice_id: Invalid Voice ID' }],
  ] as const) {
    const emu = await emulator(t, shape ? { wsErrorShape: shape } : {})
    const s = await socket(t, emu.url)
    send(s.ws, { text: 'Hi.', voice_id: 'nobody', continue: false, flush: true })
    t.equal(await s.closed, 1008)
    t.match(s.frames, [expected])
  }
  const emu = await emulator(t)
  const s = await socket(t, emu.url)
  s.ws.send('{not json')
  await s.closed
  t.match(s.frames, [{ status: 'error', error: { message: 'Message is not valid JSON.' } }])
  const r = await socket(t, emu.url)
  send(r.ws, { text: 'x', continue: 'yes' })
  await r.closed
  t.match(r.frames, [{ status: 'error', error: { message: /continue/ } }])
})

t.test('reused socket over the concurrency limit gets an error frame with code 429', async (t) => {
  const emu = await emulator(t, { wsReuse: true, maxConcurrent: 1 })
  const a = await socket(t, emu.url)
  send(a.ws, { text: 'First.', continue: false, flush: true, complete_backoff_ms: 0 })
  await a.until((f) => f['status'] === 'complete')
  const b = await socket(t, emu.url) // takes the unit a released
  send(a.ws, { text: 'Again.', continue: false, flush: true })
  await a.closed
  t.match(a.frames.at(-1), { status: 'error', error: { code: '429' } })
  b.ws.terminate()
})
