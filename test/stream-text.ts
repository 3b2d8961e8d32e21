import t, { type Test } from 'tap'
import fc from 'fast-check'
import { once } from 'node:events'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import {
  AbortError,
  ApiError,
  ConnectionError,
  ChunkError,
  InvalidOptionError,
  InvalidRequestError,
  LightningClient,
  ServerStreamError,
  StreamTruncatedError,
  TimeoutError,
  type LightningClientOptions,
  type StreamTextOptions,
  type StreamTextRequest,
  type RetryInfo,
  type TextToSpeechStream,
  type WordTimestamp,
} from '../lib/index.js'
import { renderTone, startEmulator, toneWords, type EmulatorOptions } from '../lib/emulator/index.js'
import { errorOf } from './fixtures/helpers.js'

const KEY = 'sk_test_streamtext'
const RUNS = Number(process.env['STREAM_TEXT_RUNS'] ?? 12)
const req: StreamTextRequest = { voice_id: 'magnus' }
const CHUNK = 960 // bytes per 20 ms emulator chunk at 24 kHz
const tone = (text: string, r: StreamTextRequest = req) => renderTone({ text, voice_id: r.voice_id, sample_rate: r.sample_rate ?? 24000, speed: r.speed })
const words = (text: string, offset = 0) =>
  toneWords(text, { voice_id: 'magnus', sample_rate: 24000 }).map((w, i) => ({ word: w.word, start: w.start + offset, end: w.end + offset, index: i }))

async function setup(t: Test, options: EmulatorOptions = {}, clientOptions: LightningClientOptions = {}) {
  const emu = await startEmulator({ apiKey: KEY, ...options })
  const client = new LightningClient({ baseUrl: emu.url, apiKey: KEY, ...clientOptions })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const messages: Record<string, unknown>[] = []
  emu.events.on('ws-message', (m: Record<string, unknown>) => messages.push(m))
  return { emu, client, messages }
}

/** A sink that keeps what it gets. */
function collector() {
  const chunks: Buffer[] = []
  const writable = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c)
      cb()
    },
  })
  return { writable, chunks, audio: () => Buffer.concat(chunks) }
}

/** Streams `fragments` through streamText and returns the audio and the words. */
async function speak(client: LightningClient, fragments: (string | Buffer)[], r: StreamTextRequest = req, options: StreamTextOptions = {}) {
  const tts = client.streamText(r, options)
  const got: WordTimestamp[] = []
  tts.on('word', (w: WordTimestamp) => got.push(w))
  const sink = collector()
  await pipeline(Readable.from(fragments, { objectMode: true }), tts, sink.writable)
  return { audio: sink.audio(), words: got, tts }
}

/** Cuts `text` at `cuts`. */
function cut(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < text.length))].sort((a, b) => a - b)
  const out: string[] = []
  let prev = 0
  for (const p of [...points, text.length]) {
    out.push(text.slice(prev, p))
    prev = p
  }
  return out
}

/** Waits until `cond()` holds (polling), or fails after `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await sleep(5)
  }
}

t.test('byte-exact PCM and exact word timings at random fragment boundaries (fast-check)', async (t) => {
  const { client, emu } = await setup(t)
  const sentence = fc
    .array(fc.constantFrom('Hello', 'there', 'Dr.', 'Smith', '$3.14', 'e.g.', 'naïve', 'café', 'x', 'déjà', 'vu'), { minLength: 1, maxLength: 6 })
    .chain((ws) => fc.constantFrom('.', '!', '?', ',').map((end) => ws.join(' ') + end))
  const textArb = fc.array(sentence, { minLength: 1, maxLength: 5 }).map((ss) => ss.join(' '))
  await fc.assert(
    fc.asyncProperty(textArb, fc.array(fc.nat(200), { maxLength: 10 }), fc.boolean(), async (text, cuts, asBuffers) => {
      // As Buffers, cuts fall on bytes, so a character may be split between two writes.
      const fragments = asBuffers ? cut(text, cuts).map((s) => Buffer.from(s)).flatMap((b, i) => (i % 2 ? [b.subarray(0, 1), b.subarray(1)] : [b])) : cut(text, cuts)
      const r = { ...req, word_timestamps: true }
      const { audio, words: got } = await speak(client, fragments, r)
      t.equal(audio.length, tone(text).length)
      t.ok(audio.equals(tone(text)), 'byte-exact')
      t.same(got, words(text), 'exact word timings')
    }),
    { numRuns: RUNS, seed: 1515 },
  )
  t.equal(emu.stats.active, 0, 'every unit released')
})

t.test('whitespace-only fragments are carried into the next one; no message is whitespace only', async (t) => {
  const { client, messages } = await setup(t)
  const fragments = ['Hello', ' ', '  ', 'world', '\n', 'again.', ' ']
  const { audio } = await speak(client, fragments)
  const text = 'Hello   world\nagain.'
  t.ok(audio.equals(tone(text)), 'words never run together')
  const texts = messages.map((m) => m['text'] as string)
  t.equal(texts.join(''), text)
  t.notOk(texts.some((s) => s !== '' && !s.trim()), 'no whitespace-only text message')
})

t.test('a character split across two Buffer writes arrives whole (stateful UTF-8)', async (t) => {
  const { client, messages } = await setup(t)
  const bytes = Buffer.from('Smörgåsbord, 你好.')
  const fragments = [...bytes].map((b) => Buffer.from([b]))
  const { audio } = await speak(client, fragments)
  t.ok(audio.equals(tone('Smörgåsbord, 你好.')))
  t.notOk(messages.some((m) => String(m['text']).includes('\uFFFD')), 'no replacement character sent')
})

t.test('flush() sends flush:true, continue:true on the same socket; audio of the first part arrives before the input ends', async (t) => {
  const { client, messages, emu } = await setup(t)
  const tts = client.streamText(req, { autoFlush: false })
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  tts.pushText('Part one')
  tts.flush()
  await until(() => sink.audio().length === tone('Part one').length)
  t.match(messages.at(-1), { text: '', flush: true, continue: true }, 'the mid-stream flush message')
  tts.pushText(' and part two')
  tts.endInput()
  await done
  t.ok(sink.audio().equals(tone('Part one and part two')))
  t.match(messages.at(-1), { text: '', flush: true, continue: false }, 'the final message')
  t.equal(messages.filter((m) => m['flush'] === true).length, 2)
  t.equal(emu.stats.requests, 1, 'one socket')
})

t.test('autoFlush: each sentence is flushed when the next one starts, so it is spoken before the input ends', async (t) => {
  const { client, messages } = await setup(t)
  const tts = client.streamText(req)
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  tts.pushText('First sentence. Seco')
  await until(() => sink.audio().length === tone('First sentence. ').length)
  t.match(messages, [{ text: 'First sentence. ', flush: false }, { text: '', flush: true, continue: true }, { text: 'Seco' }])
  tts.end('nd one.')
  await done
  t.ok(sink.audio().equals(tone('First sentence. Second one.')))
})

t.test('the stream ends after complete, once all audio was read; end() with no text never connects', async (t) => {
  const { client, emu } = await setup(t)
  const tts = client.streamText(req)
  tts.end('Short.')
  await once(tts, 'readable')
  let ended = false
  tts.once('end', () => (ended = true))
  await sleep(50)
  t.notOk(ended, 'not before the audio is read')
  const chunks: Buffer[] = []
  for await (const c of tts) chunks.push(c as Buffer)
  t.ok(Buffer.concat(chunks).equals(tone('Short.')))
  const empty = client.streamText(req)
  empty.end()
  const rest: Buffer[] = []
  for await (const c of empty) rest.push(c as Buffer)
  t.equal(rest.length, 0)
  t.equal(emu.stats.requests, 1, 'no socket for an empty input')
})

t.test('the request is validated before anything is sent; bad chunks are typed errors', async (t) => {
  const { client, emu } = await setup(t)
  t.throws(() => client.streamText({ voice_id: 'magnus', text: 'hi' } as never), InvalidRequestError)
  t.throws(() => client.streamText({ voice_id: 'magnus', max_buffer_flush_ms: 5000 }), InvalidRequestError)
  t.throws(() => client.streamText(req, { transport: 'carrier-pigeon' as never }), InvalidOptionError)
  t.throws(() => client.streamText({ ...req, word_timestamps: true }, { transport: 'sse' }), InvalidRequestError, 'the SSE route has no word timestamps: refused up front')
  t.throws(() => client.streamText(req, { keepAliveMs: 5 }), InvalidOptionError)
  const tts = client.streamText(req)
  tts.write(42)
  const err = await errorOf(() => pipeline(tts, collector().writable))
  t.ok(err instanceof InvalidOptionError)
  t.equal(emu.stats.requests, 0)
})

async function failing(t: Test, options: EmulatorOptions, text = 'A fault is coming up now.', clientOptions: LightningClientOptions = {}, streamOptions: StreamTextOptions = {}) {
  const { client, emu } = await setup(t, options, { retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...clientOptions })
  const tts = client.streamText(req, streamOptions)
  const retries: unknown[] = []
  tts.on('retry', (i) => retries.push(i))
  const sink = collector()
  const err = (await errorOf(() => pipeline(Readable.from([text]), tts, sink.writable))) as Error & Record<string, unknown>
  t.same((err['delivered'] as { bytes: number }).bytes, sink.audio().length, 'delivered equals what the sink got')
  t.ok(sink.audio().equals(tone(text).subarray(0, sink.audio().length)), 'what was delivered is the start of the right audio')
  await until(() => emu.stats.active === 0)
  t.equal(client.queue.active, 0, 'the slot is free')
  return { err, audio: sink.audio(), retries, emu }
}

t.test('faults give coded errors with delivered', async (t) => {
  t.test('drop (TCP reset mid-audio) → StreamTruncatedError', async (t) => {
    const { err, audio } = await failing(t, { faults: { dropAfterChunk: 3 } })
    t.ok(err instanceof StreamTruncatedError)
    t.equal(err['code'], 'ERR_STREAM_TRUNCATED')
    t.equal(audio.length, 4 * CHUNK, 'every chunk sent before the drop was delivered')
  })
  t.test('close without complete → StreamTruncatedError with all audio delivered', async (t) => {
    const { err, audio } = await failing(t, { faults: { noTerminator: true } })
    t.ok(err instanceof StreamTruncatedError)
    t.equal(audio.length, tone('A fault is coming up now.').length)
  })
  for (const shape of ['nested', 'flat'] as const) {
    t.test(`error frame (${shape} shape) → ServerStreamError with the server's message`, async (t) => {
      const { err, audio } = await failing(t, { faults: { errorFrameAt: 2 }, wsErrorShape: shape })
      t.ok(err instanceof ServerStreamError)
      t.equal(err['code'], 'ERR_SERVER_ERROR_FRAME')
      t.equal(err['serverMessage'], 'Injected synthesis failure')
      t.equal(audio.length, 2 * CHUNK)
    })
  }
  t.test('bad base64 → ChunkError ERR_CHUNK_INVALID_BASE64', async (t) => {
    const { err, audio } = await failing(t, { faults: { badBase64At: 1 } })
    t.ok(err instanceof ChunkError)
    t.equal(err['code'], 'ERR_CHUNK_INVALID_BASE64')
    t.equal(audio.length, CHUNK)
  })
  t.test('malformed JSON → ChunkError ERR_CHUNK_INVALID_JSON', async (t) => {
    const { err } = await failing(t, { faults: { malformedJsonAt: 2 } })
    t.equal(err['code'], 'ERR_CHUNK_INVALID_JSON')
  })
  t.test('stall longer than timeouts.idle while audio is owed → TimeoutError (idle)', async (t) => {
    const { err, audio } = await failing(t, { faults: { stallAfterChunk: 1, stallMs: 4000 } }, undefined, { timeouts: { idle: 1000 } })
    t.ok(err instanceof TimeoutError)
    t.equal(err['phase'], 'idle')
    t.equal(audio.length, 2 * CHUNK)
  })
  t.test('upgrade 401 → ApiError, not retried', async (t) => {
    const { err, retries } = await failing(t, { faults: { failStatus: 401 } })
    t.ok(err instanceof ApiError)
    t.equal(err['status'], 401)
    t.match(err['details'], ['Bearer token is missing or invalid.'])
    t.equal(retries.length, 0)
  })
  t.test('upgrade 503 beyond the retries → ApiError after the retries', async (t) => {
    const { err, retries } = await failing(t, { faults: { failStatus: 503, failCount: 10 } }, undefined, { retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 } })
    t.ok(err instanceof ApiError)
    t.equal(err['status'], 503)
    t.equal(retries.length, 2)
  })
})

t.test('recoveries', async (t) => {
  t.test('upgrade 429 twice → retried before the first audio (Retry-After honoured), then byte-exact', async (t) => {
    const { client } = await setup(t, { faults: { failStatus: 429, failCount: 2, failRetryAfter: '0' } })
    const tts = client.streamText(req)
    const retries: RetryInfo[] = []
    tts.on('retry', (i) => retries.push(i))
    const sink = collector()
    await pipeline(Readable.from(['Retried until it works.']), tts, sink.writable)
    t.ok(sink.audio().equals(tone('Retried until it works.')))
    t.same(retries.map((r) => [r.attempt, (r.error as ApiError).status]), [[1, 429], [2, 429]])
    t.equal(tts.metrics.retries, 2)
  })
  t.test('a stall shorter than timeouts.idle is not an error', async (t) => {
    const { client } = await setup(t, { faults: { stallAfterChunk: 2, stallMs: 150 } }, { timeouts: { idle: 3000 } })
    const { audio } = await speak(client, ['Slow but fine.'])
    t.ok(audio.equals(tone('Slow but fine.')))
  })
  t.test('connection refused → ConnectionError after the retries', async (t) => {
    const emu = await startEmulator()
    const url = emu.url
    await emu.close()
    const client = new LightningClient({ baseUrl: url, retry: { retries: 1, baseDelayMs: 1 } })
    t.teardown(() => client.close())
    const tts = client.streamText(req)
    const retries: unknown[] = []
    tts.on('retry', (i) => retries.push(i))
    const err = await errorOf(() => pipeline(Readable.from(['Anyone there?']), tts, collector().writable))
    t.ok(err instanceof ConnectionError)
    t.equal(retries.length, 1)
  })
})

t.test('a pause in the model output is not an error; the idle timeout runs only while audio is owed', async (t) => {
  const { client, emu } = await setup(t, {}, { timeouts: { idle: 1000 } })
  const tts = client.streamText(req, { keepAliveMs: 300 })
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  tts.pushText('Thinking')
  await sleep(1300) // text sent, no flush: no audio is owed
  tts.pushText(' aloud. Then')
  await sleep(1300) // the first sentence was flushed and spoken; the rest waits for more text
  tts.end(' more.')
  await done
  t.ok(sink.audio().equals(tone('Thinking aloud. Then more.')))
  t.equal(emu.stats.requests, 1, 'one socket: the keep-alive held it through the pauses')
})

t.test("the server's idle timeout in the middle of a sentence: a new socket at once, the unfinished sentence sent again", async (t) => {
  const { client, emu, messages } = await setup(t, {}, { timeouts: { idle: 1000 } })
  const tts = client.streamText(req, { keepAliveMs: false })
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  tts.pushText('Thinking')
  await until(() => emu.stats.requests === 2, 5000) // the server timed out after 1 s; the client reconnected at once
  tts.end(' aloud.')
  await done
  t.ok(sink.audio().equals(tone('Thinking aloud.')), 'nothing lost, nothing doubled')
  t.equal(messages.filter((m) => m['text'] === 'Thinking').length, 2, 'sent on both sockets')
  t.equal(tts.metrics.reconnects, 1)
})

t.test("keep-alive keeps the socket through a pause longer than the server's idle timeout", async (t) => {
  const { client, messages, emu } = await setup(t, {}, { timeouts: { idle: 1000 } })
  const tts = client.streamText(req, { keepAliveMs: 250 })
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  tts.pushText('Before the pause. ')
  await sleep(1600) // ?timeout=1 on the server
  tts.end('After it.')
  await done
  t.ok(sink.audio().equals(tone('Before the pause. After it.')), 'the keep-alive adds no audio')
  t.ok(messages.filter((m) => m['text'] === ' ' && m['continue'] === true && m['flush'] === false).length >= 3, 'one-space keep-alives were sent')
  t.equal(emu.stats.requests, 1, 'one socket throughout')
  t.equal(tts.metrics.reconnects, 0)
})

t.test('a socket lost between utterances is reopened lazily; word times are offset by the audio before it', async (t) => {
  const { client, emu } = await setup(t, {}, { timeouts: { idle: 1000 } })
  const tts = client.streamText({ ...req, word_timestamps: true }, { keepAliveMs: false })
  const got: WordTimestamp[] = []
  tts.on('word', (w: WordTimestamp) => got.push(w))
  const reconnects: { offsetSeconds: number }[] = []
  tts.on('reconnect', (i) => reconnects.push(i))
  const sink = collector()
  const done = pipeline(tts, sink.writable)
  const one = 'First part.'
  tts.pushText(one)
  tts.flush()
  await until(() => sink.audio().length === tone(one).length)
  t.equal(client.queue.active, 1, 'the open synthesis holds its slot while idle')
  await until(() => emu.stats.requests === 1 && emu.stats.active === 0, 5000) // the server's 1 s idle timeout closed it
  tts.end('Second part.')
  await done
  t.ok(sink.audio().equals(Buffer.concat([tone(one), tone('Second part.')])), 'the new socket restarts the tone')
  const offset = tone(one).length / 2 / 24000
  t.same(reconnects.map((r) => r.offsetSeconds), [offset])
  t.same(got, [...words(one), ...words('Second part.', offset).map((w, i) => ({ ...w, index: i + 2 }))].map((w) => ({ ...w })), 'offset word times, continuous indices')
  t.equal(emu.stats.requests, 2)
})

t.test('the concurrency limiter counts open syntheses: a second stream waits for the slot, no 429', async (t) => {
  const { client } = await setup(t, { maxConcurrent: 1 }, { maxConcurrent: 1 })
  const a = client.streamText(req)
  const b = client.streamText(req)
  const retries: unknown[] = []
  b.on('retry', (i) => retries.push(i))
  const sa = collector()
  const sb = collector()
  const da = pipeline(a, sa.writable)
  const db = pipeline(b, sb.writable)
  a.pushText('Holding the slot.')
  await until(() => client.queue.active === 1)
  b.pushText('Waiting.')
  await until(() => client.queue.waiting === 1)
  b.end()
  await sleep(100)
  t.equal(sb.chunks.length, 0, 'b has not started')
  a.end()
  await Promise.all([da, db])
  t.ok(sa.audio().equals(tone('Holding the slot.')))
  t.ok(sb.audio().equals(tone('Waiting.')))
  t.equal(retries.length, 0, 'no 429 from the server')
})

t.test('backpressure: a slow reader pauses the socket; PCM held stays bounded', async (t) => {
  const { client, emu } = await setup(t)
  // ~240 s of audio, ~15 MB of frames: well past what the loopback socket buffers absorb (~3.8 MB here).
  const text = 'Backpressure all the way to the server. '.repeat(100).trim()
  const tts = client.streamText(req, { highWaterMark: 32 * 1024 })
  tts.end(text)
  await until(() => emu.stats.blockedWrites > 0, 20_000)
  await sleep(100)
  t.ok(tts.bufferedBytes <= 32 * 1024 + 64 * 1024, `PCM held inside: ${tts.bufferedBytes} bytes`)
  const chunks: Buffer[] = []
  for await (const c of tts) chunks.push(c as Buffer)
  t.ok(Buffer.concat(chunks).equals(tone(text)), 'nothing lost')
})

t.test('barge-in: destroy() closes the socket at once, at most one more frame reaches the sink, the slot is freed', async (t) => {
  for (const how of ['destroy', 'signal'] as const) {
    // The server stalls after chunk 8, so it cannot finish before the barge-in at frame 5, however busy the host.
    const { client, emu } = await setup(t, { faults: { stallAfterChunk: 8, stallMs: 5000 } })
    const ac = new AbortController()
    const tts = client.streamText(req, { signal: ac.signal })
    const frames: number[] = []
    let bargedAt = -1
    const closed = new Promise<{ completed: boolean }>((resolve) => emu.events.once('request-closed', resolve))
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        frames.push(c.length)
        if (frames.length === 5) {
          bargedAt = frames.length
          if (how === 'destroy') tts.destroy()
          else ac.abort()
        }
        cb()
      },
    })
    const done = pipeline(tts, sink).catch((e: unknown) => e)
    tts.end('This reply is long enough to be interrupted by the listener before it ends.')
    const err = await done
    t.equal(bargedAt, 5)
    t.ok(frames.length <= bargedAt + 1, `${how}: ${frames.length} frames reached the sink after barge-in at frame ${bargedAt}`)
    if (how === 'signal') t.ok(err instanceof AbortError)
    t.match(await closed, { completed: false }, 'the server saw the socket close before complete')
    await until(() => emu.stats.active === 0 && emu.stats.connections === 0)
    t.equal(client.queue.active, 0)
  }
})

t.test('the API key appears nowhere: inspect, errors, metrics', async (t) => {
  const { client } = await setup(t, { faults: { failStatus: 401 } })
  const tts = client.streamText(req)
  const err = await errorOf(() => pipeline(Readable.from(['Secret?']), tts, collector().writable))
  for (const text of [inspect(tts, { depth: 5, showHidden: true }), JSON.stringify(err), inspect(err, { depth: 5 }), JSON.stringify(tts.metrics)]) {
    t.notMatch(text, KEY)
  }
})

t.test("transport 'sse': one request per sentence segment, stitched byte-exact, prefetching the next", async (t) => {
  const { client, emu } = await setup(t, { maxConcurrent: 2 }, { maxConcurrent: 2 })
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(120), { maxLength: 8 }), async (cuts) => {
      const text = 'One sentence here. Another one follows! A third? And the last, with a comma.'
      const tts = client.streamText(req, { transport: 'sse' })
      const segments: string[] = []
      tts.on('segment', (s: { text: string }) => segments.push(s.text))
      const sink = collector()
      await pipeline(Readable.from(cut(text, cuts)), tts, sink.writable)
      t.equal(segments.join(''), text)
      t.ok(sink.audio().equals(Buffer.concat(segments.map((s) => tone(s)))), 'byte-exact concatenation')
      t.equal(segments[0], 'One sentence here. ', 'the first sentence goes out alone')
    }),
    { numRuns: 6, seed: 15 },
  )
  t.equal(emu.stats.active, 0)
})

t.test("transport 'sse': a failure carries delivered across segments and the failing segment", async (t) => {
  const { client } = await setup(t, { chunkMs: 5, faults: { dropAfterChunk: 100 } })
  const first = 'Hi. '
  const second = 'This second sentence is long enough to be cut by the injected drop after one hundred chunks.'
  const tts = client.streamText(req, { transport: 'sse' })
  const sink = collector()
  const err = await errorOf(() => pipeline(Readable.from([first, second]), tts, sink.writable))
  t.ok(err instanceof StreamTruncatedError || err instanceof ConnectionError, String(err))
  t.match(err['segment'], { index: 1, text: second })
  const firstBytes = tone(first).length
  t.equal((err['delivered'] as { bytes: number }).bytes, sink.audio().length)
  t.ok(sink.audio().length > firstBytes, 'delivered counts both segments')
  t.ok(sink.audio().subarray(0, firstBytes).equals(tone(first)))
})

t.test('pcm() segments long text: first audio after the first sentence; { segment: false } sends one request', async (t) => {
  const { client, emu } = await setup(t)
  const text = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i} of a long answer.`).join(' ')
  t.ok(text.length > 250)
  const pcm = client.pcm({ text, voice_id: 'magnus' })
  const segments: string[] = []
  pcm.on('segment', (s: { text: string }) => segments.push(s.text))
  t.same(pcm.format, { sampleRate: 24000, channels: 1, encoding: 's16le' })
  const chunks: Buffer[] = []
  for await (const c of pcm) chunks.push(c as Buffer)
  t.equal(segments[0], 'This is sentence number 0 of a long answer. ')
  t.ok(segments.every((s) => s.length <= 250))
  t.equal(segments.join(''), text)
  t.ok(Buffer.concat(chunks).equals(Buffer.concat(segments.map((s) => tone(s)))))
  t.equal(pcm.delivered.bytes, Buffer.concat(chunks).length)
  const before = emu.stats.requests
  const whole: Buffer[] = []
  for await (const c of client.pcm({ text, voice_id: 'magnus' }, { segment: false })) whole.push(c as Buffer)
  t.ok(Buffer.concat(whole).equals(tone(text)))
  t.equal(emu.stats.requests - before, 1)
})

t.test('pcm() on long text with a reader that does not read: no more than the lead and the segments in flight are fetched', async (t) => {
  const { client } = await setup(t, { maxConcurrent: 4 }, { maxConcurrent: 4 })
  const text = Array.from({ length: 40 }, (_, i) => `Sentence ${i} is here to make a long text.`).join(' ') // ~100 s of audio
  const pcm = client.pcm({ text, voice_id: 'magnus' }) // long text: a segmented stream
  const started: string[] = []
  pcm.on('segment', (s: { text: string }) => started.push(s.text))
  await until(() => started.length >= 1)
  await sleep(300)
  const bound = 5 * 48000 + 2 * 250 * tone('x').length // the 5 s lead + (1 + prefetch) segments of at most 250 characters
  t.ok(started.length <= 4, `${started.length} segments requested before anything was read`)
  t.ok(pcm.bufferedBytes <= bound, `${pcm.bufferedBytes} bytes held (bound ${bound})`)
  const chunks: Buffer[] = []
  for await (const c of pcm) chunks.push(c as Buffer)
  t.equal(started.join(''), text)
  t.ok(Buffer.concat(chunks).equals(Buffer.concat(started.map((s) => tone(s)))), 'all of it, byte-exact, once read')
})

t.test('metrics: the streaming timeline', async (t) => {
  const { client } = await setup(t)
  const { tts } = await speak(client, ['Measure ', 'me.'], { ...req, word_timestamps: true })
  const m = tts.metrics
  t.ok(m.firstText !== undefined && m.firstPcmByte !== undefined && m.inputEnd !== undefined && m.lastPcmByte !== undefined && m.end !== undefined)
  t.ok((m.firstText ?? 0) <= (m.firstPcmByte ?? 0) && (m.firstPcmByte ?? 0) <= (m.lastPcmByte ?? 0))
  t.match(m, { fragments: 2, words: 2, reconnects: 0, audioBytes: tone('Measure me.').length, failed: false })
})
