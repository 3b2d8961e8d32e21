// Real headless Chromium (driven by playwright-core) against sendAudio() endpoints: a failure
// before the first byte reaches the page as the mapped HTTP status with its JSON body, and an
// <audio> element pointed at a working endpoint plays — its currentTime advances — while the
// emulator is still synthesising. The test fails (never skips) without Chromium.
import t from 'tap'
import { createServer } from 'node:http'
import { chromium } from 'playwright-core'
import { LightningClient, sendAudio, type HttpAudioFormat } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'
import { FaultAgent } from './fixtures/fault-agent.js'
import { chromiumPath } from './fixtures/tools.js'

const CHROMIUM = chromiumPath()
const text = 'A long sentence that takes several seconds to synthesise at realtime speed. '.repeat(2)

t.test('Chromium gets the mapped statuses, and plays a streamed response while it is synthesised', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 1, maxConcurrent: 4 })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  let key = 0
  const faulty = (fault: string) => new LightningClient({ baseUrl: emu.url, retry: false, dispatcher: new FaultAgent(() => `${fault}, key=b${key++}`) })
  const failing: Record<string, LightningClient> = {
    '401': faulty('fail-status=401'),
    '429': faulty('fail-status=429, fail-retry-after=4'),
    '500': faulty('fail-status=500'),
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><audio id="a" src="/speech?f=${url.searchParams.get('f')}" autoplay></audio>`)
      return
    }
    const upstream = url.searchParams.get('upstream')
    const input = url.searchParams.has('empty') ? { text: '', voice_id: 'magnus' } : { text, voice_id: 'magnus' }
    sendAudio(res, input, { client: upstream ? failing[upstream]! : client, format: (url.searchParams.get('f') ?? 'ogg') as HttpAudioFormat }).catch(() => {
      // Answered already (a status, or a cleanly ended stream): the status is what this test checks.
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  })
  t.teardown(async () => {
    await browser.close()
    await new Promise<void>((r) => server.close(() => r()))
    await Promise.all([client, ...Object.values(failing)].map((c) => c.close()))
    await emu.close()
  })
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`

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
  await page.close()

  for (const f of ['ogg', 'wav'] as const) {
    const player = await browser.newPage()
    await player.goto(`${base}/?f=${f}`)
    let currentTime = 0
    let stillSending = false
    for (let polls = 0; polls < 300; polls++) {
      currentTime = (await player.evaluate("document.getElementById('a').currentTime")) as number
      stillSending = emu.stats.active > 0
      if (currentTime > 0.5) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const error = (await player.evaluate("document.getElementById('a').error?.message ?? null")) as string | null
    t.equal(error, null, `${f}: no media error`)
    t.ok(currentTime > 0.5, `${f}: <audio> played ${currentTime.toFixed(2)} s of media`)
    t.ok(stillSending, `${f}: ...while the emulator was still sending`)
    await player.close()
  }
})
