// SSE → PCM benchmark: lightning-stream's pure cores (SseParser + AudioChunkDecoder cores) against, in the
// same run: the hand-written floor (eventsource-parser 3 + StringDecoder + JSON.parse +
// Buffer.from(base64), no checks); the vendor docs' snippet (buffer += chunk.toString(),
// split('\n\n')), which is what users write today; and memcpy of the decoded PCM (the limit).
// Scenarios are named by network chunk size. Every variant's PCM is checked byte for byte.
import { StringDecoder } from 'node:string_decoder'
import { createParser } from 'eventsource-parser'
import { createAudioChunkDecoder, createSseParser } from '../dist/esm/core.js'
import { sseChunkFrame, sseTerminator, splitChunks } from '../dist/esm/emulator/index.js'
import { chunks, interleave, machine, QUICK, speechLike } from './lib.mjs'

const REPS = QUICK ? 2 : 7
const rows = []

function fixture(seconds) {
  const pcm = speechLike(24000, seconds)
  const frames = splitChunks(pcm, 960) // 20 ms per event, as the vendor sends
  const sse = Buffer.from(frames.map((f) => sseChunkFrame(f)).join('') + sseTerminator())
  return { pcm, sse, events: frames.length }
}

function ours(pieces) {
  const sse = createSseParser()
  const dec = createAudioChunkDecoder({ sampleRate: 24000 })
  const out = []
  for (const p of pieces) for (const ev of sse.push(p)) {
    const b = dec.push(ev)
    if (b) out.push(b)
  }
  for (const ev of sse.flush()) dec.push(ev)
  dec.flush()
  return Buffer.concat(out)
}

function floor(pieces) {
  const out = []
  const text = new StringDecoder('utf8')
  const parser = createParser({
    onEvent(ev) {
      const msg = JSON.parse(ev.data)
      if (msg.audio) out.push(Buffer.from(msg.audio, 'base64'))
    },
  })
  for (const p of pieces) parser.feed(text.write(p))
  return Buffer.concat(out)
}

function docsSnippet(pieces) {
  const out = []
  let buffer = ''
  for (const p of pieces) {
    buffer += p.toString()
    const parts = buffer.split('\n\n')
    buffer = parts.pop()
    for (const part of parts) {
      const line = part.split('\n').find((l) => l.startsWith('data: '))
      if (!line) continue
      const msg = JSON.parse(line.slice(6))
      if (msg.audio) out.push(Buffer.from(msg.audio, 'base64'))
    }
  }
  return Buffer.concat(out)
}

for (const [label, size, seconds] of [
  ['1-byte chunks', 1, QUICK ? 0.2 : 1],
  ['64-byte chunks', 64, QUICK ? 1 : 10],
  ['one 20 ms event per chunk', 'event', QUICK ? 1 : 10],
  ['8 KiB chunks', 8192, QUICK ? 1 : 10],
  ['whole stream', 'whole', QUICK ? 1 : 10],
]) {
  const { pcm, sse, events } = fixture(seconds)
  const eventBytes = Math.ceil(sse.length / events)
  const pieces = size === 'whole' ? [sse] : chunks(sse, size === 'event' ? eventBytes : size)
  const same = (b) => {
    if (!b.equals(pcm)) throw new Error(`${label}: wrong PCM`)
  }
  const ms = interleave(
    [
      { name: 'lightning-stream (SseParser + AudioChunkDecoder cores)', run: () => ours(pieces), check: same },
      { name: 'eventsource-parser + JSON + base64 by hand (floor)', run: () => floor(pieces), check: same },
      // The snippet decodes split UTF-8 and CRLF streams wrongly; on this ASCII LF stream it is correct.
      { name: "vendor docs snippet (split('\\n\\n'))", run: () => docsSnippet(pieces), check: same },
      { name: 'memcpy of the decoded PCM (limit)', run: () => Buffer.concat(chunks(pcm, 960).map((c) => Buffer.from(c))) },
    ],
    size === 1 ? Math.min(REPS, 3) : REPS,
  )
  const floorMs = ms['eventsource-parser + JSON + base64 by hand (floor)']
  for (const [name, t] of Object.entries(ms)) {
    rows.push({ stage: 'SSE → PCM', scenario: label, name, usPerChunk: (t * 1000) / events, xRealtime: seconds / (t / 1000), vsFloor: t / floorMs })
  }
}
console.log(JSON.stringify({ benchmark: 'sse', unit: 'µs per 20 ms event', machine: machine(), rows }, null, 2))
