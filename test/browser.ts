// Real headless Chromium (Debian's, driven by playwright-core): an <audio> element pointed at a
// sendAudio() endpoint starts playing — its currentTime advances — while the emulator is still
// synthesising. .ci/run installs chromium; this test fails (never skips) without it.
import t from 'tap'
import { createServer } from 'node:http'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { LightningClient, sendAudio, type HttpAudioFormat } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

t.test('Chromium plays a streamed TTS response while it is still being synthesised', async (t) => {
  t.ok(existsSync(CHROMIUM), `Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`)
  const emu = await startEmulator({ realtimeFactor: 1, maxConcurrent: 4 })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  const text = 'A long sentence that takes several seconds to synthesise at realtime speed. '.repeat(2)
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><audio id="a" src="/speech?f=${url.searchParams.get('f')}" autoplay></audio>`)
      return
    }
    sendAudio(res, { text, voice_id: 'magnus' }, { client, format: (url.searchParams.get('f') ?? 'ogg') as HttpAudioFormat }).catch(() => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  })
  t.teardown(async () => {
    await browser.close()
    server.close()
    await client.close()
    await emu.close()
  })
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  for (const f of ['ogg', 'wav'] as const) {
    const page = await browser.newPage()
    await page.goto(`${base}/?f=${f}`)
    let currentTime = 0
    let stillSending = false
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      currentTime = (await page.evaluate("document.getElementById('a').currentTime")) as number
      stillSending = emu.stats.active > 0
      if (currentTime > 0.5) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const error = (await page.evaluate("document.getElementById('a').error?.message ?? null")) as string | null
    t.equal(error, null, `${f}: no media error`)
    t.ok(currentTime > 0.5, `${f}: <audio> currentTime advanced to ${currentTime.toFixed(2)} s`)
    t.ok(stillSending, `${f}: ...while the emulator was still sending`)
    await page.close()
  }
})
