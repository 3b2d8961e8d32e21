// The stream ends at the `done: true` terminator, not when the server hangs up: a server that
// keeps the response open after the terminator must not hold the PCM stream, the socket or the
// concurrency slot. The idle timeout is set far beyond the guard, so only the fix can pass.
import t from 'tap'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { LightningClient } from '../lib/index.js'
import { wavHeader } from '../lib/core.js'
import { collectBytes } from './fixtures/helpers.js'

const AUDIO = Buffer.alloc(960, 9) // 20 ms at 24 kHz mono

interface Held {
  server: Server
  url: string
  /** What the server saw, in order. */
  log: string[]
  /** Responses still open (never ended by the server). */
  open: Set<ServerResponse>
}

/** A server that answers with one audio event and the terminator, then keeps every response open. */
async function holdingServer(): Promise<Held> {
  const log: string[] = []
  const open = new Set<ServerResponse>()
  let n = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const id = ++n
    log.push(`request ${id} ${req.url}`)
    res.on('close', () => {
      open.delete(res)
      log.push(`request ${id} closed`)
    })
    open.add(res)
    req.resume()
    req.on('end', () => {
      if (req.url === '/waves/v1/tts/live') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(`event: audio\ndata: ${JSON.stringify({ audio: AUDIO.toString('base64'), done: false, status: '206' })}\n\n`)
        res.write('data: {"status":"200","done":true}\n\n')
      } else if (req.url === '/waves/v1/tts') {
        res.writeHead(200, { 'content-type': 'audio/wav' }) // chunked: no Content-Length
        res.write(Buffer.concat([wavHeader({ sampleRate: 24000, channels: 1, encoding: 's16le' }, AUDIO.length), AUDIO]))
      }
      // ...and never res.end(): the server holds the response open.
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return { server, url: `http://127.0.0.1:${port}`, log, open }
}

async function close(h: Held) {
  for (const res of h.open) res.destroy()
  await new Promise((r) => h.server.close(r))
}

/** Resolves with `p`, or 'hung' after `ms` (a guard: the bug holds the stream for the idle timeout, 60 s). */
function guard<T>(p: Promise<T>, ms = 10_000): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout
  return Promise.race([p, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)))]).finally(() => clearTimeout(timer))
}

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const until = Date.now() + ms
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 5))
  return cond()
}

t.test('pcm(): two utterances in a row with maxConcurrent 1, the server holding each response open', async (t) => {
  const h = await holdingServer()
  t.teardown(() => close(h))
  const client = new LightningClient({ baseUrl: h.url, maxConcurrent: 1, timeouts: { idle: 60_000 }, retry: false })
  t.teardown(() => client.close())
  for (const n of [1, 2]) {
    const pcm = client.pcm({ text: `utterance ${n}`, voice_id: 'magnus' })
    const audio = await guard(collectBytes(pcm))
    t.not(audio, 'hung', `utterance ${n} ended at its terminator`)
    t.same(audio, AUDIO, `utterance ${n}: all of its audio`)
    t.same(client.queue, { active: 0, waiting: 0 }, 'the slot is free')
    t.ok(await waitFor(() => h.log.includes(`request ${n} closed`)), `the server saw request ${n} closed`)
  }
  t.same(h.log, ['request 1 /waves/v1/tts/live', 'request 1 closed', 'request 2 /waves/v1/tts/live', 'request 2 closed'])
})

t.test('pcm() with ulaw output ends at the terminator too', async (t) => {
  const h = await holdingServer()
  t.teardown(() => close(h))
  const client = new LightningClient({ baseUrl: h.url, timeouts: { idle: 60_000 }, retry: false })
  t.teardown(() => client.close())
  const audio = await guard(collectBytes(client.pcm({ text: 'x', voice_id: 'magnus', output_format: 'ulaw' })))
  t.not(audio, 'hung')
  t.equal((audio as Buffer).length, AUDIO.length * 2, 'each G.711 byte became one 16-bit sample')
  t.ok(await waitFor(() => h.log.includes('request 1 closed')))
})

t.test('a second utterance queued behind the first starts as soon as the first terminator arrives', async (t) => {
  const h = await holdingServer()
  t.teardown(() => close(h))
  const client = new LightningClient({ baseUrl: h.url, maxConcurrent: 1, timeouts: { idle: 60_000 }, retry: false })
  t.teardown(() => client.close())
  const both = Promise.all([collectBytes(client.pcm({ text: 'a', voice_id: 'magnus' })), collectBytes(client.pcm({ text: 'b', voice_id: 'magnus' }))])
  const result = await guard(both)
  t.not(result, 'hung', 'both utterances ended')
  t.same(result, [AUDIO, AUDIO])
})

t.test('synthesize() with output_format wav completes at the RIFF size while the server holds the response', async (t) => {
  const h = await holdingServer()
  t.teardown(() => close(h))
  const client = new LightningClient({ baseUrl: h.url, maxConcurrent: 1, timeouts: { idle: 60_000 }, retry: false })
  t.teardown(() => client.close())
  for (const n of [1, 2]) {
    const r = await guard(client.synthesize({ text: 'x', voice_id: 'magnus', output_format: 'wav' }))
    t.not(r, 'hung', `synthesize ${n} resolved`)
    if (r === 'hung') return
    t.equal(r.audio.length, 44 + AUDIO.length)
    t.same(r.audio.subarray(44), AUDIO)
    t.ok(await waitFor(() => h.log.includes(`request ${n} closed`)), `the server saw request ${n} closed`)
  }
  t.same(client.queue, { active: 0, waiting: 0 })
})
