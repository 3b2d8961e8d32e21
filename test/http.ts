// sendAudio over real HTTP: failures before the first byte become statuses with a JSON body,
// failures after it end the response cleanly with the audio so far still decodable, a client
// that leaves aborts synthesis. Every assertion is a status, a header, a count or a decode.
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LightningClient, audioErrorResponse, sendAudio, type HttpAudioFormat, type SendAudioErrorInfo, type SendAudioOptions, type TtsRequest } from '../lib/index.js'
import { REQUEST_DEFAULTS } from '../lib/core.js'
import { startEmulator, toneSamples } from '../lib/emulator/index.js'
import { FaultAgent } from './fixtures/fault-agent.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { closeServer, listen } from './fixtures/helpers.js'
import { ffmpegForLibrary } from './fixtures/tools.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-http-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
ffmpegForLibrary() // sendAudio's mp3 runs the library's ffmpeg: give it the one the tests found
const SECRET = 'sk_test_secret_that_must_never_leak'
const req: TtsRequest = { text: 'Speech over HTTP.', voice_id: 'magnus' }

interface Served {
  error?: Error | undefined
  calls: { error: Error; info: SendAudioErrorInfo }[]
}

/** An HTTP server whose handler calls sendAudio with what `route` returns for the URL. */
async function serve(t: Test, route: (url: URL) => { input: TtsRequest; options: SendAudioOptions & { client: LightningClient } }) {
  const served: Served[] = []
  const server = createServer((q: IncomingMessage, res: ServerResponse) => {
    const url = new URL(q.url!, 'http://x')
    const { input, options: { client, ...options } } = route(url)
    const record: Served = { calls: [] }
    served.push(record)
    const onError = options.onError
    sendAudio(res, () => client.pcm(input), {
      ...options,
      onError: (error, info) => {
        record.calls.push({ error, info })
        return onError?.(error, info)
      },
    }).then(
      () => (record.error = undefined),
      (err: Error) => (record.error = err),
    )
  })
  // No idle timeout: on a busy machine a blocking ffprobe can outlast it, and the next fetch would
  // reuse a socket the server is closing (ECONNRESET), a keep-alive race, not what is tested here.
  server.keepAliveTimeout = 0
  t.teardown(() => closeServer(server))
  const base = await listen(server)
  /** Waits for the handler's promise to settle (the response is complete before it does). */
  const settled = async (i: number) => {
    for (let k = 0; k < 1000 && (!served[i] || !('error' in served[i]!)); k++) await new Promise((r) => setTimeout(r, 5))
    return served[i]!
  }
  return { base, served, settled }
}

t.test('before the first byte a failure is an HTTP status with a JSON body (request id, never the key)', async (t) => {
  const emu = await startEmulator({ apiKey: SECRET, maxConcurrent: 8 })
  t.teardown(() => emu.close())
  const clients: LightningClient[] = []
  let key = 0
  const client = (fault?: string, extra: Partial<ConstructorParameters<typeof LightningClient>[0]> = {}) => {
    const header = fault && `${fault}, key=k${key++}` // failCount is counted per key: one per case
    const c = new LightningClient({ baseUrl: emu.url, apiKey: SECRET, retry: false, ...(header ? { dispatcher: new FaultAgent(() => header) } : {}), ...extra })
    clients.push(c)
    return c
  }
  t.teardown(() => Promise.all(clients.map((c) => c.close())))
  const cases: Record<string, { client: LightningClient; input?: TtsRequest; status: number; code: string; retryAfter?: string; requestId: boolean }> = {
    invalid: { client: client(), input: { text: '', voice_id: 'magnus' }, status: 400, code: 'ERR_INVALID_REQUEST', requestId: false },
    'upstream-400': { client: client('fail-status=400'), status: 400, code: 'ERR_API', requestId: true },
    'upstream-401': { client: new LightningClient({ baseUrl: emu.url, apiKey: 'sk_wrong_key', retry: false }), status: 502, code: 'ERR_API', requestId: false },
    'upstream-403': { client: client('fail-status=403'), status: 502, code: 'ERR_API', requestId: true },
    'upstream-429': { client: client('fail-status=429, fail-retry-after=7'), status: 503, code: 'ERR_API', retryAfter: '7', requestId: true },
    'upstream-429-no-hint': { client: client('fail-status=429'), status: 503, code: 'ERR_API', retryAfter: '1', requestId: true },
    'upstream-500': { client: client('fail-status=500'), status: 502, code: 'ERR_API', requestId: true },
    'upstream-503': { client: client('fail-status=503'), status: 502, code: 'ERR_API', requestId: true },
    connection: { client: new LightningClient({ baseUrl: 'http://127.0.0.1:9', apiKey: SECRET, retry: false }), status: 502, code: 'ERR_CONNECTION', requestId: false },
    timeout: { client: client('stall-before=3000', { timeouts: { headers: 150 } }), status: 504, code: 'ERR_TIMEOUT', requestId: false },
    'error-frame-first': { client: client('error-frame-at=0'), status: 502, code: 'ERR_SERVER_ERROR_FRAME', requestId: true },
  }
  clients.push(cases['upstream-401']!.client, cases['connection']!.client)
  const { base, settled } = await serve(t, (url) => {
    const c = cases[url.searchParams.get('case')!]!
    return { input: c.input ?? req, options: { client: c.client, format: 'wav' } }
  })
  let i = 0
  for (const [name, c] of Object.entries(cases)) {
    const res = await fetch(`${base}/?case=${name}`)
    const text = await res.text()
    t.equal(res.status, c.status, `${name}: HTTP ${res.status}`)
    t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', `${name}: a JSON body`)
    if (c.retryAfter) t.equal(res.headers.get('retry-after'), c.retryAfter, `${name}: Retry-After ${c.retryAfter}`)
    const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string | null } }
    t.equal(body.error.code, c.code, `${name}: code ${body.error.code}`)
    t.equal(typeof body.error.requestId === 'string', c.requestId, `${name}: request id ${body.error.requestId}`)
    t.notOk(text.includes(SECRET), `${name}: the key is not in the body`)
    const s = await settled(i++)
    t.equal((s.error as { code?: string } | undefined)?.code, c.code, `${name}: sendAudio rejected with ${c.code}`)
    t.same(
      s.calls.map((x) => [x.info.phase, x.info.response.status, x.info.bytesSent]),
      [['before-audio', c.status, 0]],
      `${name}: onError told once, before any audio`,
    )
  }
})

t.test('onError can answer instead of the default; a throwing onError still leaves the default answer', async (t) => {
  const emu = await startEmulator({ faults: { failStatus: 500, failCount: 100 } })
  const client = new LightningClient({ baseUrl: emu.url, retry: false })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const { base } = await serve(t, (url) => ({
    input: req,
    options: {
      client,
      onError: url.searchParams.has('throw')
        ? () => {
            throw new Error('logging failed')
          }
        : (err, info) => ({ status: 418, headers: { 'x-why': (err as { code?: string }).code ?? '' }, body: `teapot ${info.response.status}` }),
    },
  }))
  const custom = await fetch(`${base}/`)
  t.equal(custom.status, 418)
  t.equal(custom.headers.get('x-why'), 'ERR_API')
  t.equal(await custom.text(), 'teapot 502', 'the callback saw the default it replaced')
  const fallback = await fetch(`${base}/?throw`)
  t.equal(fallback.status, 502)
})

t.test('mp3 with no ffmpeg: a 500 with ERR_FFMPEG before any audio, not a dropped connection', async (t) => {
  const emu = await startEmulator()
  const client = new LightningClient({ baseUrl: emu.url, retry: false })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const { base, settled } = await serve(t, () => ({ input: req, options: { client, format: 'mp3', ffmpegPath: '/nonexistent/ffmpeg' } }))
  const res = await fetch(`${base}/`)
  t.equal(res.status, 500)
  const body = (await res.json()) as { error: { code: string; message: string } }
  t.equal(body.error.code, 'ERR_FFMPEG')
  t.equal(body.error.message, 'This server could not encode the audio')
  const s = await settled(0)
  t.equal((s.error as { code?: string } | undefined)?.code, 'ERR_FFMPEG', 'sendAudio rejected with ERR_FFMPEG')
  t.same(s.calls.map((x) => [x.info.phase, x.info.response.status, x.info.bytesSent]), [['before-audio', 500, 0]], 'onError told once, before any audio')
  t.equal(emu.stats.requests, 0, 'checked before any synthesis was asked for')
})

t.test('after the first byte a failure ends the response cleanly: the audio so far decodes (wav, ogg, mp3)', async (t) => {
  // The error event replaces chunk 25: 24 chunks of 20 ms (480 ms) of audio came before it.
  const emu = await startEmulator({ maxConcurrent: 4, faults: { errorFrameAt: 24 } })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4, retry: false })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const { base, settled } = await serve(t, (url) => ({ input: { ...req, sample_rate: 24000 }, options: { client, format: url.searchParams.get('f') as HttpAudioFormat } }))
  const deliveredSamples = 24 * 480 // at 24 kHz
  let i = 0
  for (const f of ['wav', 'ogg', 'mp3'] as const) {
    const res = await fetch(`${base}/?f=${f}`)
    t.equal(res.status, 200, `${f}: the answer had started`)
    const bytes = Buffer.from(await res.arrayBuffer()) // a clean end: no socket error
    const file = join(dir, `cut.${f}`)
    writeFileSync(file, bytes)
    const samples = ffmpeg(['-i', file, '-f', 's16le', '-ac', '1', '-ar', '24000', '-']).length / 2
    if (f === 'wav') t.equal(samples, deliveredSamples, 'wav: every delivered sample, streaming header and all')
    else t.ok(samples >= deliveredSamples - 480 && samples <= deliveredSamples + 1200, `${f}: ${samples} samples decoded for ${deliveredSamples} delivered`)
    if (f === 'ogg') t.equal(ffprobe(file).streams[0]!['codec_name'], 'opus', 'ogg: a complete Ogg Opus stream (final page written)')
    const s = await settled(i++)
    t.equal((s.error as { code?: string } | undefined)?.code, 'ERR_SERVER_ERROR_FRAME', `${f}: sendAudio rejected with the failure`)
    t.equal(s.calls.length, 1)
    t.equal(s.calls[0]?.info.phase, 'after-audio', `${f}: onError told it happened after the audio started`)
    t.ok((s.calls[0]?.info.bytesSent ?? 0) > 0, `${f}: ${s.calls[0]?.info.bytesSent} bytes had been sent`)
  }
})

t.test('streams wav/ogg/mp3 as it synthesises; resolves when done; a disconnect aborts synthesis', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 5, maxConcurrent: 4 })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const { base, settled } = await serve(t, (url) => ({ input: req, options: { client, format: (url.searchParams.get('f') ?? 'ogg') as HttpAudioFormat } }))
  let i = 0
  const samples = toneSamples({ ...req, sample_rate: REQUEST_DEFAULTS.sample_rate })
  for (const [f, type, codec] of [['wav', 'audio/wav', 'pcm_s16le'], ['ogg', 'audio/ogg', 'opus'], ['mp3', 'audio/mpeg', 'mp3']] as const) {
    const res = await fetch(`${base}/?f=${f}`)
    t.equal(res.status, 200)
    t.equal(res.headers.get('content-type'), type)
    t.equal(res.headers.get('content-length'), null, 'no Content-Length: streamed')
    t.equal(res.headers.get('transfer-encoding'), 'chunked')
    t.match(res.headers.get('x-request-id'), /\S/, 'the TTS request id is passed on')
    const file = join(dir, `http.${f}`)
    writeFileSync(file, Buffer.from(await res.arrayBuffer()))
    t.equal(ffprobe(file).streams[0]!['codec_name'], codec)
    if (f === 'wav') t.equal(ffmpeg(['-i', file, '-f', 's16le', '-']).length / 2, samples, 'wav: every sample')
    const s = await settled(i++)
    t.equal(s.error, undefined, `${f}: sendAudio resolved`)
    t.same(s.calls, [], `${f}: onError never called`)
  }
  const before = emu.stats.clientAborts
  const ac = new AbortController()
  const res = await fetch(`${base}/?f=wav`, { signal: ac.signal })
  const reader = res.body!.getReader()
  await reader.read()
  ac.abort()
  for (let k = 0; k < 400 && emu.stats.clientAborts === before; k++) await new Promise((r) => setTimeout(r, 5))
  t.equal(emu.stats.clientAborts, before + 1, 'the HTTP client left: the TTS request was aborted')
  for (let k = 0; k < 400 && emu.stats.active > 0; k++) await new Promise((r) => setTimeout(r, 5))
  t.equal(emu.stats.active, 0, 'no synthesis left running')
  const s = await settled(i++)
  t.equal((s.error as { code?: string } | undefined)?.code, 'ERR_ABORTED', 'sendAudio rejected with ERR_ABORTED')
  t.same(s.calls, [], 'a disconnect is not reported through onError')
})

t.test('audioErrorResponse: the default mapping, table-driven', async (t) => {
  const { ApiError, ConnectionError, InvalidOptionError, MissingApiKeyError, TimeoutError, StreamTruncatedError, AbortError, LightningStreamError } = await import('../lib/index.js')
  const api = (status: number, headers: Record<string, string> = {}) => new ApiError({ status, body: {}, details: [], headers, ids: { requestId: 'rid-1', sessionId: undefined, externalRequestId: undefined, externalSessionId: undefined } })
  const table: [unknown, number, string?][] = [
    [api(400), 400],
    [api(413), 400],
    [api(401), 502],
    [api(403), 502],
    [api(404), 502],
    [api(429, { 'retry-after': '2.5' }), 503, '3'],
    [api(429, { 'retry-after-ms': '200' }), 503, '1'],
    [api(500), 502],
    [api(504), 502],
    [new ConnectionError('refused'), 502],
    [new TimeoutError('headers', 100), 504],
    [new TimeoutError('idle', 100), 504],
    [new StreamTruncatedError({ chunks: 0, bytes: 0 }), 502],
    [new MissingApiKeyError(), 500],
    [new InvalidOptionError('format', 'bad'), 500],
    [new AbortError(), 503],
    [new LightningStreamError('ffmpeg was not found', 'ERR_FFMPEG'), 500],
    [new LightningStreamError('no Opus engine', 'ERR_OPUS_ENGINE_MISSING'), 500],
    [new TypeError('boom'), 500],
  ]
  for (const [err, status, retryAfter] of table) {
    const r = audioErrorResponse(err, 'rid-2')
    t.equal(r.status, status, `${(err as Error).constructor.name} ${(err as { status?: number }).status ?? ''} → ${status}`)
    if (retryAfter) t.equal(r.headers?.['retry-after'], retryAfter)
    const body = r.body as { error: { requestId: string } }
    t.equal(body.error.requestId, err instanceof ApiError ? 'rid-1' : 'rid-2')
  }
})

t.test('sendAudio takes PCM: a TTS request passed by mistake is answered (500) and refused, naming client.pcm(request)', async (t) => {
  let rejected: unknown
  const server = createServer((_q, res) => {
    sendAudio(res, req as never).catch((err: unknown) => (rejected = err))
  })
  t.teardown(() => closeServer(server))
  const base = await listen(server)
  const r = await fetch(`${base}/`)
  t.equal(r.status, 500)
  t.equal(((await r.json()) as { error: { code: string } }).error.code, 'ERR_INVALID_OPTION')
  t.match(rejected, { code: 'ERR_INVALID_OPTION', option: 'pcm', message: /client\.pcm\(request\)/ })
})
