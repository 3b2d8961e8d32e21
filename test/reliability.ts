import t from 'tap'
import { createHash } from 'node:crypto'
import { ApiError, LightningClient, type RetryInfo, type TtsRequest } from '../lib/index.js'
import { resolveRetry, retryAfterMs, retryDelay } from '../lib/client/retry.js'
import { renderTone, startEmulator, type Emulator } from '../lib/emulator/index.js'
import { collectBytes, errorOf, until } from './fixtures/helpers.js'
import { FaultAgent } from './fixtures/fault-agent.js'

const req: TtsRequest = { text: 'Faults must never look like success.', voice_id: 'magnus' }
const pcm = renderTone({ ...req, sample_rate: 24000 })
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const FRAME = 960 // 20 ms at 24 kHz

let emu: Emulator
t.before(async () => {
  emu = await startEmulator({ maxConcurrent: 8 })
})
t.teardown(() => emu.close())

/** A client whose requests carry `fault` in the test-only header. */
function faulty(fault: string, options: ConstructorParameters<typeof LightningClient>[0] = {}) {
  const dispatcher = new FaultAgent(() => fault)
  const client = new LightningClient({ baseUrl: emu.url, dispatcher, retry: { baseDelayMs: 5 }, ...options })
  const close = client.close.bind(client)
  client.close = async () => {
    await close()
    await dispatcher.close()
  }
  return client
}

interface Case {
  fault: string
  options?: ConstructorParameters<typeof LightningClient>[0]
  /** Expected error: code, plus fields to match. Absent: byte-exact success. */
  error?: Record<string, unknown>
  retries?: number
}

const matrix: Record<string, Case> = {
  'drop the connection after chunk 3': { fault: 'drop-after=3', error: { code: 'ERR_CONNECTION', delivered: { chunks: 4, bytes: 4 * FRAME } } },
  'malformed JSON in chunk 2': { fault: 'malformed-json-at=2', error: { code: 'ERR_CHUNK_INVALID_JSON', chunkIndex: 2, delivered: { chunks: 2, bytes: 2 * FRAME } } },
  'invalid base64 in chunk 1': { fault: 'bad-base64-at=1', error: { code: 'ERR_CHUNK_INVALID_BASE64', chunkIndex: 1, delivered: { chunks: 1, bytes: FRAME } } },
  'an error event at chunk 2': { fault: 'error-frame-at=2', error: { code: 'ERR_SERVER_ERROR_FRAME', serverMessage: 'Injected synthesis failure', delivered: { chunks: 2 } } },
  'the terminator missing': { fault: 'no-terminator', error: { code: 'ERR_STREAM_TRUNCATED', delivered: { bytes: pcm.length } } },
  'a stall before the first byte beyond the headers timeout': { fault: 'stall-before=400', options: { timeouts: { headers: 100 } }, error: { code: 'ERR_TIMEOUT', phase: 'headers' } },
  'a stall after chunk 2 beyond the idle timeout': { fault: 'stall-after=2,stall-ms=600', options: { timeouts: { idle: 150 } }, error: { code: 'ERR_TIMEOUT', phase: 'idle', delivered: { chunks: 3, bytes: 3 * FRAME } } },
  'events written one byte at a time': { fault: 'split-writes' },
  'CRLF framing written one byte at a time': { fault: 'line-ending=crlf,split-writes' },
  'bare CR framing': { fault: 'line-ending=cr' },
  'a stall after chunk 2 within the idle timeout': { fault: 'stall-after=2,stall-ms=100' },
  '503 twice, then success': { fault: 'fail-status=503,fail-count=2,key=a', retries: 2 },
  '500, 502 and 504 are retried': { fault: 'fail-status=502,fail-count=1,key=b', retries: 1 },
  '429 with Retry-After as an HTTP date': { fault: `fail-status=429,fail-count=1,key=c,fail-retry-after=${new Date(Date.now() - 1000).toUTCString()}`, retries: 1 },
  '500 five times exhausts 3 retries': { fault: 'fail-status=500,fail-count=5,key=d', error: { code: 'ERR_API', status: 500 }, retries: 3 },
  '400 is never retried': { fault: 'fail-status=400,fail-count=1,key=e', error: { code: 'ERR_API', status: 400 }, retries: 0 },
  '401 is never retried': { fault: 'fail-status=401,fail-count=1,key=f', error: { code: 'ERR_API', status: 401 }, retries: 0 },
  '403 is never retried': { fault: 'fail-status=403,fail-count=1,key=g', error: { code: 'ERR_API', status: 403 }, retries: 0 },
  'retry: false surfaces the first 503': { fault: 'fail-status=503,fail-count=1,key=h', options: { retry: false }, error: { code: 'ERR_API', status: 503 }, retries: 0 },
  'a Retry-After beyond the deadline is not waited for': { fault: 'fail-status=429,fail-count=1,key=i,fail-retry-after=5', options: { retry: { deadlineMs: 1000 } }, error: { code: 'ERR_API', status: 429 }, retries: 0 },
}

for (const [name, c] of Object.entries(matrix)) {
  t.test(`fault: ${name}`, async (t) => {
    const client = faulty(c.fault, c.options)
    t.teardown(() => client.close())
    const retries: RetryInfo[] = []
    const stream = client.pcm(req)
    stream.on('retry', (info: RetryInfo) => retries.push(info))
    if (c.error) {
      const err = await errorOf(() => collectBytes(stream))
      t.match(err, c.error, `${String(err.code)}: ${err.message}`)
    } else {
      t.equal(sha(await collectBytes(stream)), sha(pcm), 'recovered: byte-exact audio')
    }
    if (c.retries !== undefined) t.equal(retries.length, c.retries, `${retries.length} retries`)
  })
}

t.test('partial audio never ends without an error (every fault that cuts the stream)', async (t) => {
  const cuts = ['drop-after=0', 'drop-after=7', 'malformed-json-at=5', 'bad-base64-at=0', 'error-frame-at=0', 'no-terminator']
  for (const fault of cuts) {
    const client = faulty(fault, { retry: false })
    const stream = client.pcm(req)
    let bytes = 0
    stream.on('data', (c: Buffer) => (bytes += c.length))
    const outcome = await new Promise<string>((resolve) => {
      stream.on('error', (e: { code: string }) => resolve(e.code))
      stream.on('end', () => resolve('end'))
    })
    t.not(outcome, 'end', `${fault}: ${outcome} after ${bytes} bytes`)
    t.ok(bytes <= pcm.length)
    await client.close()
  }
})

t.test('429 honours Retry-After in seconds', async (t) => {
  const client = faulty('fail-status=429,fail-count=1,key=ra,fail-retry-after=1')
  t.teardown(() => client.close())
  const delays: number[] = []
  const stream = client.pcm(req)
  stream.on('retry', (i: RetryInfo) => delays.push(i.delayMs))
  const t0 = performance.now()
  t.equal(sha(await collectBytes(stream)), sha(pcm))
  t.same(delays, [1000])
  t.ok(performance.now() - t0 >= 950, 'waited about a second')
})

t.test('synthesize() and voices() retry too; onRetry hook sees each retry', async (t) => {
  const seen: RetryInfo[] = []
  const client = faulty('fail-status=503,fail-count=1,key=sy', { retry: { baseDelayMs: 5, onRetry: (i) => seen.push(i) } })
  t.teardown(() => client.close())
  t.equal(sha((await client.synthesize(req)).audio), sha(pcm))
  t.equal(seen.length, 1)
  t.ok(seen[0]!.error instanceof ApiError)
  t.equal(seen[0]!.attempt, 1)
})

t.test('abort mid-stream: the emulator sees the close before it sends another chunk', async (t) => {
  const paced = await startEmulator({ realtimeFactor: 2 })
  const client = new LightningClient({ baseUrl: paced.url })
  t.teardown(() => Promise.all([client.close(), paced.close()]))
  const ac = new AbortController()
  const stream = client.pcm(req, { signal: ac.signal })
  const closed = new Promise<{ completed: boolean; chunks: number }>((resolve) =>
    paced.events.once('request-closed', (e: { completed: boolean }) => resolve({ completed: e.completed, chunks: paced.stats.framesWritten })),
  )
  // Abort after five chunks have arrived: counted, not timed.
  let chunksAtAbort = -1
  let received = 0
  stream.on('data', () => {
    if (++received === 5) {
      chunksAtAbort = paced.stats.framesWritten
      ac.abort()
    }
  })
  const err = await errorOf(() => collectBytes(stream))
  t.equal(err.code, 'ERR_ABORTED')
  const { completed, chunks } = await closed
  t.equal(completed, false, 'the server saw a client abort, not a finished response')
  t.ok(chunks - chunksAtAbort <= 1, `the emulator sent ${chunks - chunksAtAbort} chunk(s) after the abort (at most one)`)
  t.ok(chunks < pcm.length / FRAME, `it stopped at chunk ${chunks} of ${Math.ceil(pcm.length / FRAME)}`)
})

t.test('an abort while queued leaves the queue and sends nothing', async (t) => {
  const paced = await startEmulator({ realtimeFactor: 10 })
  const client = new LightningClient({ baseUrl: paced.url })
  t.teardown(() => Promise.all([client.close(), paced.close()]))
  const first = collectBytes(client.pcm(req))
  const ac = new AbortController()
  const queued = client.pcm(req, { signal: ac.signal })
  const queuedDone = errorOf(() => collectBytes(queued))
  await until('one request running and one queued', () => client.queue.active === 1 && client.queue.waiting === 1)
  t.same(client.queue, { active: 1, waiting: 1 })
  ac.abort()
  t.equal((await queuedDone).code, 'ERR_ABORTED')
  t.same(client.queue, { active: 1, waiting: 0 })
  t.ok((await first).length > 0)
  t.equal(paced.stats.requests, 1, 'the aborted request never reached the server')
})

t.test('retry helpers: Retry-After forms, jittered backoff, option checks', async (t) => {
  t.equal(retryAfterMs({ 'retry-after': '3' }), 3000)
  t.equal(retryAfterMs({ 'retry-after': '1.5' }), 1500)
  t.equal(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }), 250)
  t.equal(retryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000)
  t.equal(retryAfterMs({ 'retry-after': 'soon' }), undefined)
  t.equal(retryAfterMs({}), undefined)
  const policy = resolveRetry({})
  t.match(policy, { retries: 3, baseDelayMs: 500, maxDelayMs: 30_000, deadlineMs: 60_000 })
  const err = new ApiError({ status: 503, body: '', details: [], headers: {}, ids: {} as never })
  t.equal(retryDelay(policy, 1, err, () => 0), 250, 'attempt 1: between 250 and 500 ms')
  t.equal(retryDelay(policy, 1, err, () => 1), 500)
  t.equal(retryDelay(policy, 4, err, () => 1), 4000, 'doubles each retry')
  t.equal(retryDelay(policy, 20, err, () => 1), 30_000, 'capped at maxDelayMs')
  const asked = new ApiError({ status: 429, body: '', details: [], headers: { 'retry-after': '120' }, ids: {} as never })
  t.equal(retryDelay(policy, 1, asked), 30_000, 'Retry-After is capped too')
  t.same(resolveRetry(false).retries, 0)
  t.throws(() => resolveRetry({ retries: -1 }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => resolveRetry({ retries: 1.5 }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => resolveRetry({ baseDelayMs: NaN }), { code: 'ERR_INVALID_OPTION' })
})
