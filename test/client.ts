import t from 'tap'
import { createHash } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { inspect } from 'node:util'
import { AbortError, ApiError, LightningClient, LightningStreamError, StreamTruncatedError, TimeoutError, type TtsRequest } from '../lib/index.js'
import { renderTone, startEmulator, toneSamples, type EmulatorOptions } from '../lib/emulator/index.js'
import { collectBytes, errorOf, until } from './fixtures/helpers.js'

const KEY = 'sk_test_0123456789abcdef'
const req: TtsRequest = { text: 'Streaming speech, one frame at a time.', voice_id: 'magnus' }
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const expected = (r: TtsRequest) => renderTone({ ...r, sample_rate: r.sample_rate ?? 24000 })

async function withEmulator(t: { teardown(fn: () => unknown): void }, options: EmulatorOptions = {}) {
  const emu = await startEmulator(options)
  const client = new LightningClient({ baseUrl: emu.url, apiKey: KEY })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  return { emu, client }
}

t.test('pcm(): byte-exact PCM (sha256) with format and response ids', async (t) => {
  const { client, emu } = await withEmulator(t, { apiKey: KEY })
  const r = { ...req, session_id: 'sess-1', request_id: 'req.1' }
  const pcm = client.pcm(r)
  const info = new Promise<Record<string, unknown>>((resolve) => pcm.once('response', resolve))
  t.same(pcm.format, { sampleRate: 24000, channels: 1, encoding: 's16le' })
  const audio = await collectBytes(pcm)
  t.equal(sha(audio), sha(expected(r)))
  t.match(pcm.delivered, { bytes: audio.length, chunks: Math.ceil(audio.length / 960) })
  t.match(await info, { status: 200, externalSessionId: 'sess-1', externalRequestId: 'req.1', requestId: /^[0-9a-f-]{36}$/ })
  t.equal(emu.stats.active, 0, 'the emulator released the unit')
})

const framings: [string, EmulatorOptions, TtsRequest][] = [
  ['odd chunk sizes splitting samples (333 B)', { chunkBytes: 333 }, req],
  ['1-byte chunks', { chunkBytes: 1 }, { ...req, text: 'Tiny.' }],
  ['CRLF line endings', { lineEnding: '\r\n' }, req],
  ['bare CR line endings', { lineEnding: '\r' }, req],
  ['legacy frame shape', { frameShape: 'legacy' }, req],
  ['44.1 kHz, speed 1.5', {}, { ...req, sample_rate: 44100, speed: 1.5 }],
  ['8 kHz, 100 ms chunks', { chunkMs: 100 }, { ...req, sample_rate: 8000 }],
  ['wav over SSE (per-chunk headers stripped)', { chunkBytes: 1001 }, { ...req, output_format: 'wav', sample_rate: 16000 }],
]
for (const [name, options, r] of framings) {
  t.test(`pcm() is byte-exact with ${name}`, async (t) => {
    const { client } = await withEmulator(t, options)
    t.equal(sha(await collectBytes(client.pcm(r))), sha(expected(r)))
  })
}

t.test('stream() gives the raw SSE bytes; ulaw via synthesize()', async (t) => {
  const { client } = await withEmulator(t)
  const sse = (await collectBytes(client.stream({ ...req, text: 'Hi.' }))).toString()
  t.match(sse, /^event: audio\ndata: \{"audio":"[^"]+","done":false,"status":"206"\}\n\n/)
  t.ok(sse.endsWith('data: {"status":"200","done":true}\n\n'))
  const u = await client.synthesize({ ...req, output_format: 'ulaw', sample_rate: 8000 })
  t.equal(u.audio.length, expected({ ...req, sample_rate: 8000 }).length / 2)
  t.same(u.format, { sampleRate: 8000, channels: 1, encoding: 'ulaw' })
  t.throws(() => client.pcm({ ...req, output_format: 'mp3' }), { code: 'ERR_INVALID_REQUEST', field: 'output_format' })
  for (const law of ['ulaw', 'alaw'] as const) {
    const pcm = client.pcm({ ...req, output_format: law, sample_rate: 8000 })
    t.same(pcm.format, { sampleRate: 8000, channels: 1, encoding: 's16le' })
    const { decodeG711, encodeG711 } = await import('../lib/core.js')
    const want = decodeG711(encodeG711(expected({ ...req, sample_rate: 8000 }), law), law)
    t.ok((await collectBytes(pcm)).equals(want), `pcm() decodes ${law} to s16le`)
    t.equal(pcm.delivered.bytes, want.length / 2, 'delivered counts the G.711 bytes decoded')
  }
})

t.test('synthesize(): pcm and wav bodies, ids; voices()', async (t) => {
  const { client } = await withEmulator(t)
  const pcm = await client.synthesize(req)
  t.equal(sha(pcm.audio), sha(expected(req)))
  t.equal(pcm.outputFormat, 'pcm')
  t.match(pcm.requestId, /^[0-9a-f-]{36}$/)
  const wav = await client.synthesize({ ...req, output_format: 'wav' })
  t.equal(wav.audio.toString('latin1', 0, 4), 'RIFF')
  t.same(wav.audio.subarray(44), expected(req))
  const voices = await client.voices()
  t.ok(voices.some((v) => v.voiceId === 'magnus'))
})

t.test('invalid requests are rejected before any byte is sent', async (t) => {
  const { client, emu } = await withEmulator(t)
  t.throws(() => client.pcm({ ...req, speed: 5 }), { code: 'ERR_INVALID_REQUEST', field: 'speed' })
  t.throws(() => client.stream({ ...req, voice_id: '' }), { code: 'ERR_INVALID_REQUEST' })
  await t.rejects(client.synthesize({ ...req, sample_rate: 48000 as 8000 }), { code: 'ERR_INVALID_REQUEST', field: 'sample_rate' })
  t.equal(emu.stats.requests, 0)
})

t.test('HTTP errors become ApiError with status, parsed body and details (both 400 shapes)', async (t) => {
  const zod = await withEmulator(t)
  const e1 = await errorOf(() => collectBytes(zod.client.pcm({ ...req, voice_id: 'nobody' })))
  t.ok(e1 instanceof ApiError)
  t.match(e1, { code: 'ERR_API', status: 400, details: ['voice_id: Invalid Voice ID'], body: { error: [{ path: ['voice_id'] }] } })
  t.match(e1.message, /400 invalid request: voice_id: Invalid Voice ID/)
  const doc = await withEmulator(t, { errorShape: 'documented' })
  const e2 = await errorOf(() => doc.client.synthesize({ ...req, voice_id: 'nobody' }))
  t.match(e2, { status: 400, body: { error: 'InvalidRequest' }, details: ['voice_id: Invalid Voice ID'] })
})

t.test('401 with a wrong key; the key never appears in errors, inspect or JSON', async (t) => {
  const emu = await startEmulator({ apiKey: 'sk_the_right_one' })
  const secret = 'sk_wrong_but_secret_value_42'
  const client = new LightningClient({ baseUrl: emu.url, apiKey: secret })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const err = await errorOf(() => collectBytes(client.pcm(req)))
  t.match(err, { code: 'ERR_API', status: 401 })
  const views = [
    err.message,
    String(err),
    err.stack ?? '',
    inspect(err, { depth: Infinity, showHidden: true }),
    JSON.stringify(err),
    inspect(client, { depth: Infinity, showHidden: true }),
    JSON.stringify(client),
    String(client),
  ]
  for (const v of views) t.notMatch(v, secret)
  t.match(inspect(client), "apiKey: '[redacted]'")
})

t.test('client options are checked; the key is never sent over plain http to a remote host', async (t) => {
  t.throws(() => new LightningClient({ apiKey: KEY, baseUrl: 'http://api.example.com' }), { code: 'ERR_INVALID_OPTION', option: 'baseUrl' })
  t.ok(new LightningClient({ apiKey: KEY, baseUrl: 'http://api.example.com', allowInsecureHttp: true }))
  t.ok(new LightningClient({ apiKey: KEY, baseUrl: 'http://localhost:1' }))
  t.throws(() => new LightningClient({ baseUrl: 'ftp://x' }), { code: 'ERR_INVALID_OPTION', option: 'baseUrl' })
  t.throws(() => new LightningClient({ baseUrl: 'not a url' }), { code: 'ERR_INVALID_OPTION', option: 'baseUrl' })
  t.throws(() => new LightningClient({ apiKey: 'sk_a\r\nX-Evil: 1' }), { code: 'ERR_INVALID_OPTION', option: 'apiKey' })
  t.throws(() => new LightningClient({ maxConcurrent: 0 }), { code: 'ERR_INVALID_OPTION', option: 'maxConcurrent' })
  t.throws(() => new LightningClient({ timeouts: { idle: -1 } }), { code: 'ERR_INVALID_OPTION', option: 'timeouts.idle' })
  const saved = process.env['SMALLEST_API_KEY']
  delete process.env['SMALLEST_API_KEY']
  t.teardown(() => {
    if (saved !== undefined) process.env['SMALLEST_API_KEY'] = saved
  })
  const noKey = new LightningClient()
  t.throws(() => noKey.pcm(req), { code: 'ERR_MISSING_API_KEY' })
  await t.rejects(noKey.voices(), { code: 'ERR_MISSING_API_KEY' })
})

t.test('retired and unknown routes map to 410 and 404', async (t) => {
  const { emu } = await withEmulator(t)
  const { request } = await import('undici')
  const r410 = await request(`${emu.url}/waves/v1/lightning-v2/get_speech`, { method: 'POST', body: '{}' })
  t.equal(r410.statusCode, 410)
  t.match(await r410.body.json(), { error_code: 'MODEL_DEPRECATED' })
  const r404 = await request(`${emu.url}/waves/v1/lightning-v3.1/get_speech`, { method: 'POST', body: '{}' })
  t.equal(r404.statusCode, 404)
  await r404.body.dump()
})

t.test('concurrency: the client queues (FIFO) instead of hitting the server limit', async (t) => {
  const { client, emu } = await withEmulator(t, { realtimeFactor: 20 })
  const order: number[] = []
  const runs = [0, 1, 2].map(async (i) => {
    const audio = await collectBytes(client.pcm({ ...req, text: `Request ${i}.` }))
    order.push(i)
    return audio.length
  })
  await until('one request running and two queued', () => client.queue.active === 1 && client.queue.waiting === 2)
  t.same(client.queue, { active: 1, waiting: 2 })
  const lengths = await Promise.all(runs)
  t.same(order, [0, 1, 2])
  t.same(lengths, [0, 1, 2].map((i) => 2 * toneSamples({ ...req, text: `Request ${i}.`, sample_rate: 24000 })), 'each got its whole utterance, to the byte')
  t.equal(emu.stats.requests, 3, 'no request was refused with 429')
})

t.test('a second client over the account limit gets 429 with Retry-After', async (t) => {
  const { client, emu } = await withEmulator(t, { realtimeFactor: 10 })
  const other = new LightningClient({ baseUrl: emu.url, apiKey: KEY, retry: false })
  t.teardown(() => other.close())
  // A long first request, in flight on the server before the second one is sent.
  const first = collectBytes(client.pcm({ ...req, text: req.text.repeat(5) }))
  await until('the first request to be in flight', () => emu.stats.active === 1)
  let retried = 0
  const second = other.pcm(req)
  second.on('retry', () => retried++)
  const err = await errorOf(() => collectBytes(second))
  t.match(err, { code: 'ERR_API', status: 429, headers: { 'retry-after': '1' } })
  t.equal(retried, 0, 'retry: false')
  t.equal((await first).length, 2 * toneSamples({ ...req, text: req.text.repeat(5), sample_rate: 24000 }), 'the first request got its whole utterance')
})

t.test('abort before sending sends nothing; abort mid-stream closes the socket with AbortError', async (t) => {
  const { client, emu } = await withEmulator(t, { realtimeFactor: 5 })
  const pre = new AbortController()
  pre.abort()
  const e0 = await errorOf(() => collectBytes(client.pcm(req, { signal: pre.signal })))
  t.ok(e0 instanceof AbortError)
  t.equal(emu.stats.requests, 0)

  const ac = new AbortController()
  const pcm = client.pcm({ ...req, text: req.text.repeat(4) }, { signal: ac.signal })
  let got = 0
  const done = pipeline(
    pcm,
    new Writable({
      write(c: Buffer, _e, cb) {
        got += c.length
        if (got > 4000) ac.abort()
        cb()
      },
    }),
  )
  const err = await errorOf(() => done)
  t.equal(err.code, 'ERR_ABORTED')
  t.ok((err as unknown as AbortError).delivered!.bytes >= 4000, 'the error says how much audio was delivered')
  await until('the emulator to see the close', () => emu.stats.active === 0)
  t.equal(emu.stats.active, 0, 'the emulator saw the close')
  t.equal(emu.stats.clientAborts, 1)
  t.same(client.queue, { active: 0, waiting: 0 }, 'the slot was released')
})

t.test('destroying the returned stream closes the request', async (t) => {
  const { client, emu } = await withEmulator(t, { realtimeFactor: 5 })
  const pcm = client.pcm(req)
  pcm.once('data', () => pcm.destroy())
  await new Promise((r) => pcm.once('close', r))
  await until('the emulator to see the close', () => emu.stats.active === 0)
  t.equal(emu.stats.active, 0)
  t.same(client.queue, { active: 0, waiting: 0 })
})

t.test('timeouts: headers and total become TimeoutError with the phase', async (t) => {
  const slow = await startEmulator({ firstByteDelayMs: 300 })
  const c1 = new LightningClient({ baseUrl: slow.url, timeouts: { headers: 50 } })
  t.teardown(() => Promise.all([c1.close(), slow.close()]))
  const e1 = await errorOf(() => collectBytes(c1.pcm(req)))
  t.ok(e1 instanceof TimeoutError)
  t.equal(e1['phase'], 'headers')

  const paced = await startEmulator({ realtimeFactor: 1 })
  const c2 = new LightningClient({ baseUrl: paced.url, timeouts: { total: 150 } })
  t.teardown(() => Promise.all([c2.close(), paced.close()]))
  const e2 = await errorOf(() => collectBytes(c2.pcm(req)))
  t.match(e2, { code: 'ERR_TIMEOUT', phase: 'total' })
  t.ok((e2['delivered'] as { bytes: number }).bytes > 0, 'with the audio delivered before it')

  const { createServer } = await import('node:http')
  const stall = createServer((_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`event: audio\ndata: {"audio":"${Buffer.alloc(96).toString('base64')}","done":false,"status":"206"}\n\n`)
    setTimeout(() => res.end('data: {"done":true}\n\n'), 1500).unref()
  })
  await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    stall.closeAllConnections()
    return new Promise((r) => stall.close(r))
  })
  const c3 = new LightningClient({ baseUrl: `http://127.0.0.1:${(stall.address() as { port: number }).port}`, timeouts: { idle: 100 } })
  t.teardown(() => c3.close())
  const e3 = await errorOf(() => collectBytes(c3.pcm(req)))
  t.match(e3, { code: 'ERR_TIMEOUT', phase: 'idle', delivered: { chunks: 1, bytes: 96 } })
})

t.test('a server that drops the connection mid-stream: a coded error, never a silent end', async (t) => {
  const { createServer } = await import('node:http')
  const server = createServer((_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(`event: audio\ndata: {"audio":"${Buffer.alloc(960).toString('base64')}","done":false,"status":"206"}\n\n`)
    setTimeout(() => res.destroy(), 20)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise((r) => server.close(r)))
  const { port } = server.address() as { port: number }
  const client = new LightningClient({ baseUrl: `http://127.0.0.1:${port}` })
  t.teardown(() => client.close())
  const err = await errorOf(() => collectBytes(client.pcm(req)))
  t.ok(err instanceof LightningStreamError)
  t.ok(['ERR_CONNECTION', 'ERR_STREAM_TRUNCATED'].includes(err.code as string), `code ${String(err.code)}`)
  t.match(err['delivered'], { chunks: 1, bytes: 960 })

  const cleanEnd = createServer((_q, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(`event: audio\ndata: {"audio":"${Buffer.alloc(96).toString('base64')}","done":false,"status":"206"}\n\n`)
  })
  await new Promise<void>((r) => cleanEnd.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise((r) => cleanEnd.close(r)))
  const c2 = new LightningClient({ baseUrl: `http://127.0.0.1:${(cleanEnd.address() as { port: number }).port}` })
  t.teardown(() => c2.close())
  const e2 = await errorOf(() => collectBytes(c2.pcm(req)))
  t.ok(e2 instanceof StreamTruncatedError, 'a clean EOF without the terminator is a truncation')
})

t.test('startEmulator refuses an engine that is not one (a Promise not awaited) with InvalidOptionError', async (t) => {
  const notAwaited = Promise.resolve({ name: 'x', render: () => Buffer.alloc(0) })
  const err = await errorOf(() => startEmulator({ engine: notAwaited as unknown as EmulatorOptions['engine'] }))
  t.equal((err as { code?: string }).code, 'ERR_INVALID_OPTION')
  t.match(err.message, /await createEspeakEngine\(\)/, err.message)
  const other = await errorOf(() => startEmulator({ engine: {} as unknown as EmulatorOptions['engine'] }))
  t.equal((other as { code?: string }).code, 'ERR_INVALID_OPTION')
})
