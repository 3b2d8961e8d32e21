// A replay server for client benchmarks: serves one pre-rendered Lightning SSE body (20 ms frames
// of 24 kHz mono, as the vendor and the emulator frame them) on POST …/waves/v1/tts/live, so the
// server costs almost nothing and the client is what is measured. Runs in its own process.
//
//   node replay-server.mjs            prints its URL, then serves
//   base URL paths:  <url>/burst/<seconds>   the whole body in one write
//                    <url>/paced/<seconds>   one frame per 20 ms per stream (realtime)
//
// Paced streams share one 20 ms ticker; each writes the frame its stream is due (catching up after
// a late tick), so every frame reaches the client in its own socket read, as realtime TTS does.
import { createServer } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import { sseChunkFrame, sseTerminator, splitChunks } from '../dist/esm/emulator/index.js'
import { speechLike } from './lib.mjs'

const bodies = new Map()
/** The SSE frames of `seconds` of speech-like audio (cached). */
function framesFor(seconds) {
  let f = bodies.get(seconds)
  if (!f) {
    const pcm = speechLike(24000, seconds)
    f = [...splitChunks(pcm, 960).map((c) => Buffer.from(sseChunkFrame(c))), Buffer.from(sseTerminator())]
    f.whole = Buffer.concat(f)
    bodies.set(seconds, f)
  }
  return f
}

const paced = new Set()
let ticker
function tick() {
  const now = performance.now()
  for (const s of paced) {
    const due = Math.min(s.frames.length, Math.floor((now - s.t0) / 20) + 1)
    while (s.next < due && !s.res.destroyed) s.res.write(s.frames[s.next++])
    if (s.next >= s.frames.length || s.res.destroyed) {
      paced.delete(s)
      s.res.end()
    }
  }
  if (paced.size === 0) {
    clearInterval(ticker)
    ticker = undefined
  }
}

const tls = process.argv.includes('--tls')
const handler = (req, res) => {
  const m = /^\/(burst|paced)\/([\d.]+)\/waves\/v1\/tts\/live$/.exec(req.url ?? '')
  req.resume()
  if (!m || req.method !== 'POST') {
    res.writeHead(404).end()
    return
  }
  req.once('end', () => {
    const frames = framesFor(Number(m[2]))
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    if (m[1] === 'burst') {
      res.end(frames.whole)
      return
    }
    paced.add({ res, frames, next: 0, t0: performance.now() })
    ticker ??= setInterval(tick, 20)
  })
}
const server = tls
  ? createTlsServer({ key: readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url)), cert: readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url)) }, handler)
  : createServer(handler)
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address()
  console.log(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`)
})
process.on('SIGTERM', () => process.exit(0))
process.on('disconnect', () => process.exit(0))
