// Real headless Chromium (driven by playwright-core) against sendAudio() endpoints: a failure
// before the first byte reaches the page as the mapped HTTP status with its JSON body, and an
// <audio> element pointed at a working endpoint starts playing (its currentTime advances) while
// the emulator is still sending. Chromium
// comes from CHROMIUM_PATH, the system PATH, or @sparticuz/chromium (test/fixtures/tools.ts); this
// test fails (never skips) without one, at once, with the fix in one line.
import t from 'tap'
import { createServer } from 'node:http'
import { chromium } from 'playwright-core'
import { LightningClient, sendAudio, type HttpAudioFormat } from '../lib/index.js'
import { startEmulator, toneSamples } from '../lib/emulator/index.js'
import { closeServer, listen } from './fixtures/helpers.js'
import { FaultAgent } from './fixtures/fault-agent.js'
import { requireChromium } from './fixtures/tools.js'

// ~64 s of speech, sent at 4× realtime. Chromium buffers a lot before it starts a stream of unknown
// length (here about 25 s of Ogg Opus and 14 s of WAV, whatever the send rate), so the utterance is
// long enough that it starts mid-stream with a wide margin, busy machine or not. Closing each page
// aborts its request, so the test does not wait the utterance out.
const text = 'A long sentence that takes several seconds to synthesise at realtime speed. '.repeat(14)
const audioMs = (toneSamples({ text, voice_id: 'magnus', sample_rate: 24000 }) / 24000) * 1000
const CHUNK_MS = 20 // the emulator's SSE chunk: one frame of stats.framesWritten

t.test('Chromium gets the mapped statuses, and plays a streamed TTS response while it is still being synthesised', async (t) => {
  const tool = await requireChromium()
  const emu = await startEmulator({ realtimeFactor: 4, maxConcurrent: 4, chunkMs: CHUNK_MS })
  t.teardown(() => emu.close())
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  t.teardown(() => client.close())
  let key = 0
  const faulty = (fault: string) => new LightningClient({ baseUrl: emu.url, retry: false, dispatcher: new FaultAgent(() => `${fault}, key=b${key++}`) })
  const failing: Record<string, LightningClient> = {
    '401': faulty('fail-status=401'),
    '429': faulty('fail-status=429, fail-retry-after=4'),
    '500': faulty('fail-status=500'),
  }
  t.teardown(() => Promise.all(Object.values(failing).map((c) => c.close())))
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><audio id="a" src="/speech?f=${url.searchParams.get('f')}" autoplay></audio>`)
      return
    }
    const upstream = url.searchParams.get('upstream')
    const input = url.searchParams.has('empty') ? { text: '', voice_id: 'magnus' } : { text, voice_id: 'magnus' }
    sendAudio(res, () => (upstream ? failing[upstream]! : client).pcm(input), { format: (url.searchParams.get('f') ?? 'ogg') as HttpAudioFormat }).catch(() => {
      // Answered already (a status, or a cleanly ended stream): the status is what this test checks.
    })
  })
  t.teardown(() => closeServer(server))
  const base = await listen(server)
  const browser = await chromium.launch({ executablePath: tool.path, args: tool.args, timeout: 60_000 })
  t.teardown(() => browser.close().catch(() => {}))
  t.comment(`Chromium ${browser.version()} from ${tool.origin}`)
  const totalFrames = Math.ceil(audioMs / CHUNK_MS)
  // One page for both formats (leaving it aborts the request): @sparticuz/chromium runs as a single
  // process, which does not survive closing its last page.
  const page = await browser.newPage()
  await page.goto(`${base}/?f=none`)
  const statuses = (await page.evaluate(async (paths: string[]) => {
    const out = []
    for (const p of paths) {
      const r = await fetch(p)
      out.push({ status: r.status, retryAfter: r.headers.get('retry-after'), code: ((await r.json()) as { error: { code: string } }).error.code })
    }
    return out
  }, ['/speech?empty', '/speech?upstream=401', '/speech?upstream=429', '/speech?upstream=500'])) as { status: number; retryAfter: string | null; code: string }[]
  t.same(
    statuses,
    [
      { status: 400, retryAfter: null, code: 'ERR_INVALID_REQUEST' },
      { status: 502, retryAfter: null, code: 'ERR_API' },
      { status: 503, retryAfter: '4', code: 'ERR_API' },
      { status: 502, retryAfter: null, code: 'ERR_API' },
    ],
    'the browser sees 400, 502, 503 + Retry-After, 502 with JSON bodies (no reset sockets)',
  )
  for (const f of ['ogg', 'wav'] as const) {
    const framesBefore = emu.stats.framesWritten
    await page.goto(`${base}/?f=${f}`)
    // Waits until half a second has played, the element fails, or the stream ended. The timeout only
    // guards against a hang: the assertions below are on the stream's own counts.
    await page.waitForFunction("(() => { const a = document.getElementById('a'); return !!a.error || a.ended || a.currentTime > 0.5 })()", undefined, { timeout: 60_000, polling: 50 })
    const framesSent = emu.stats.framesWritten - framesBefore
    const active = emu.stats.active
    const currentTime = (await page.evaluate("document.getElementById('a').currentTime")) as number
    const error = (await page.evaluate("document.getElementById('a').error?.message ?? null")) as string | null
    t.equal(error, null, `${f}: no media error`)
    t.ok(currentTime > 0.5, `${f}: <audio> currentTime advanced to ${currentTime.toFixed(2)} s`)
    t.ok(active > 0 && framesSent < totalFrames, `${f}: ...while the emulator was still sending (${framesSent} of ${totalFrames} ${CHUNK_MS} ms chunks sent)`)
    t.ok(framesSent * CHUNK_MS >= currentTime * 1000, `${f}: it played only audio that had arrived (${(currentTime * 1000).toFixed(0)} ms played of ${framesSent * CHUNK_MS} ms sent)`)
    await page.goto('about:blank')
  }
})
