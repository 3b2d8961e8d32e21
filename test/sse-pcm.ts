// The fused SSE → PCM core (lib/audio/sse-pcm.core.ts): its fast path must give exactly what the
// general path (the SseParser then the AudioChunkDecoder core, what those stages run) gives, for
// every input and every chunking: the same audio after every chunk, the same error (class, code,
// message, chunk index, delivered), the same `delivered`.
import t from 'tap'
import fc from 'fast-check'
import { inspect, isDeepStrictEqual } from 'node:util'
import { LightningStreamError } from '../lib/index.js'
import type { OutputFormat } from '../lib/core.js'
import { createSseParser } from '../lib/sse/sse-parser.core.js'
import { createAudioChunkDecoder } from '../lib/audio/audio-chunk-decoder.core.js'
import { createSsePcmDecoder } from '../lib/audio/sse-pcm.core.js'
import { wavHeader } from '../lib/audio/wav-header.js'
import { sseChunkFrame, sseTerminator, splitChunks } from '../lib/emulator/index.js'
import { chunkSizes, splitAt, splitEvery } from './fixtures/helpers.js'

interface Outcome {
  /** Audio out after each chunk (cumulative byte counts), then after the end of input. */
  progress: number[]
  audio: Buffer
  error?: { name: string; code: string; message: string; chunkIndex?: unknown; delivered?: unknown } | undefined
  delivered: unknown
}

interface Opts {
  outputFormat?: OutputFormat
  maxEventSize?: number
}

const describeError = (err: unknown): NonNullable<Outcome['error']> => {
  if (!(err instanceof LightningStreamError)) throw err // anything but a coded error is a bug
  const e = err as LightningStreamError & { chunkIndex?: unknown }
  return { name: e.name, code: e.code, message: e.message, chunkIndex: e.chunkIndex, delivered: e.delivered }
}

/** The general path as the Transforms run it: the SseParser core, then the AudioChunkDecoder core, event by event. */
function viaGeneral(chunks: Buffer[], opts: Opts = {}): Outcome {
  const sse = createSseParser(opts)
  const decoder = createAudioChunkDecoder({ ...opts, sampleRate: 24000 })
  const out: Buffer[] = []
  const progress: number[] = []
  let n = 0
  const take = (b: Buffer | null) => {
    if (b) {
      out.push(b)
      n += b.length
    }
  }
  try {
    for (const c of chunks) {
      for (const ev of sse.push(c)) take(decoder.push(ev))
      if (sse.failure) throw sse.failure
      progress.push(n)
    }
    for (const ev of sse.flush()) take(decoder.push(ev))
    if (sse.failure) throw sse.failure
    decoder.flush()
    progress.push(n)
    return { progress, audio: Buffer.concat(out), delivered: decoder.delivered() }
  } catch (err) {
    progress.push(n)
    return { progress, audio: Buffer.concat(out), error: describeError(err), delivered: decoder.delivered() }
  }
}

/** The fused core, fast path on (or off). */
function viaFused(chunks: Buffer[], opts: Opts = {}, fastPath = true): Outcome & { fastEvents: number; pieces: number } {
  const core = createSsePcmDecoder({ ...opts, sampleRate: 24000, fastPath })
  const out: Buffer[] = []
  const progress: number[] = []
  let n = 0
  let pieces = 0
  const take = (b: Buffer | null) => {
    if (b) {
      if (core.format.encoding === 's16le' && b.length % 2 !== 0) throw new Error('misaligned output')
      out.push(b)
      n += b.length
      pieces++
    }
  }
  try {
    for (const c of chunks) {
      take(core.push(c))
      if (core.failure) throw core.failure
      progress.push(n)
    }
    take(core.flush())
    if (core.failure) throw core.failure
    progress.push(n)
    return { progress, audio: Buffer.concat(out), delivered: core.delivered(), fastEvents: core.fastEvents, pieces }
  } catch (err) {
    progress.push(n)
    return { progress, audio: Buffer.concat(out), error: describeError(err), delivered: core.delivered(), fastEvents: core.fastEvents, pieces }
  }
}

const speech = (bytes: number, seed = 1): Buffer => {
  const b = Buffer.alloc(bytes)
  let s = seed
  for (let i = 0; i < bytes; i++) b[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24
  return b
}

/** A documented stream: 20 ms events of 24 kHz mono, then the terminator. */
const documented = (pcm: Buffer, eol = '\n') => Buffer.from(splitChunks(pcm, 960).map((c) => sseChunkFrame(c, 'current', eol)).join('') + sseTerminator('current', eol))

t.test('a documented stream: exact PCM at every chunking, every event on the fast path', async (t) => {
  const pcm = speech(960 * 40 + 2)
  const bytes = documented(pcm)
  const events = Math.ceil(pcm.length / 960)
  for (const size of [...chunkSizes(bytes.length), 16 * 1024, 65536]) {
    const got = viaFused(splitEvery(bytes, size))
    t.equal(got.error, undefined, `chunks of ${size}: no error`)
    t.ok(got.audio.equals(pcm), `chunks of ${size}: exact PCM`)
    t.equal(got.fastEvents, events, `chunks of ${size}: ${got.fastEvents} of ${events} events on the fast path`)
    t.same(got.delivered, { chunks: events, bytes: pcm.length, durationMs: (pcm.length / 48000) * 1000 })
    t.same(got.progress, viaGeneral(splitEvery(bytes, size)).progress, `chunks of ${size}: audio out after the same chunks as the general path`)
  }
  const whole = viaFused([bytes])
  t.equal(whole.pieces, 1, 'one network chunk, one Buffer')
  const perEvent = viaFused(splitEvery(bytes, Buffer.byteLength(sseChunkFrame(pcm.subarray(0, 960)))))
  t.equal(perEvent.pieces, events, 'one event per chunk: one Buffer each')
})

t.test('odd-length events: the carried byte is delivered in order on both paths', async (t) => {
  const pcm = speech(4001, 7)
  const chunks = [961, 959, 1, 3, 1000, 77, 1000].reduce<Buffer[]>((acc, n) => {
    const off = acc.reduce((s, b) => s + b.length, 0)
    acc.push(pcm.subarray(off, off + n))
    return acc
  }, [])
  const body = Buffer.from(chunks.map((c) => sseChunkFrame(c)).join('') + sseTerminator())
  for (const size of chunkSizes(body.length)) {
    const want = viaGeneral(splitEvery(body, size))
    const got = viaFused(splitEvery(body, size))
    t.equal(want.error?.code, 'ERR_AUDIO_FORMAT', 'the odd total ends with half a sample on the general path')
    t.same(got, { ...want, fastEvents: got.fastEvents, pieces: got.pieces }, `chunks of ${size}: same outcome`)
    t.ok(got.fastEvents >= 5, `${got.fastEvents} fast events`)
  }
})

t.test('everything that is not the documented event takes the general path, with identical results', async (t) => {
  const pcm = speech(960 * 3)
  const f = (c: Buffer) => sseChunkFrame(c)
  const a = pcm.subarray(0, 960)
  const b = pcm.subarray(960, 1920)
  const c = pcm.subarray(1920)
  const cases: Record<string, string> = {
    comments: `${f(a)}: keep-alive\n\n${f(b)}:x\n${f(c)}${sseTerminator()}`,
    'id and retry fields': `${f(a)}id: 7\nretry: 100\n${f(b)}${f(c)}${sseTerminator()}`,
    'multi-line data': `${f(a)}event: audio\ndata: {"audio":\ndata: "${b.toString('base64')}"}\n\n${f(c)}${sseTerminator()}`,
    'other keys and key orders': `${f(a)}event: audio\ndata: {"status":"206","done":false,"audio":"${b.toString('base64')}"}\n\n${f(c)}${sseTerminator()}`,
    'legacy events': `${f(a)}${sseChunkFrame(b, 'legacy')}${f(c)}${sseTerminator('legacy')}`,
    'an error event': `${f(a)}${f(b)}data: {"status":"error","message":"boom"}\n\n${f(c)}`,
    'CR line endings mid-stream': `${f(a)}${sseChunkFrame(b, 'current', '\r')}${f(c)}${sseTerminator()}`,
    'CRLF line endings mid-stream': `${f(a)}${sseChunkFrame(b, 'current', '\r\n')}${f(c)}${sseTerminator()}`,
    'a BOM': `\uFEFF${f(a)}${f(b)}${f(c)}${sseTerminator()}`,
    'a BOM after the first event (not the stream start: not stripped)': `${f(a)}\uFEFF${f(b)}${f(c)}${sseTerminator()}`,
    'a Latin-1 BOM after the first event': `${f(a)}\u00EF\u00BB\u00BF${f(b)}${f(c)}${sseTerminator()}`,
    'a Latin-1 BOM first': `\u00EF\u00BB\u00BF${f(a)}${f(b)}${f(c)}${sseTerminator()}`,
    'URL-safe base64': `${f(a)}event: audio\ndata: {"audio":"${b.toString('base64url')}","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'a character outside the alphabet': `${f(a)}event: audio\ndata: {"audio":"AA!*AA==","done":false,"status":"206"}\n\n${f(c)}${sseTerminator()}`,
    'whitespace inside the base64': `${f(a)}event: audio\ndata: {"audio":"AAAA\\nAAAA","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'a line break inside the base64': `${f(a)}event: audio\ndata: {"audio":"AAAA\nAAAA","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'a blank line inside the base64': `${f(a)}event: audio\ndata: {"audio":"AAAA\n\nAAAA","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'escaped slashes (valid JSON)': `${f(a)}event: audio\ndata: {"audio":"${b.toString('base64').replace(/\//g, '\\/')}","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'bad padding': `${f(a)}event: audio\ndata: {"audio":"AAA==","done":false,"status":"206"}\n\n${sseTerminator()}`,
    'malformed JSON': `${f(a)}event: audio\ndata: {"audio":"AAAA","done":fal\n\n${sseTerminator()}`,
    'events after the terminator are ignored': `${f(a)}${sseTerminator()}${f(b)}${f(c)}`,
    'no terminator': `${f(a)}${f(b)}${f(c)}`,
    'a truncated event': `${f(a)}${f(b)}${f(c).slice(0, 100)}`,
    'the terminator ended by CR at EOF': `${f(a)}${f(b)}data: {"status":"200","done":true}\r\r`,
    'an extra blank line between events': `${f(a)}\n${f(b)}\n\n${f(c)}${sseTerminator()}`,
    'an event whose event line is missing': `${f(a)}data: {"audio":"${b.toString('base64')}","done":false,"status":"206"}\n\n${f(c)}${sseTerminator()}`,
  }
  for (const [name, text] of Object.entries(cases)) {
    const bytes = Buffer.from(text, 'utf8')
    for (const size of chunkSizes(bytes.length)) {
      const want = viaGeneral(splitEvery(bytes, size))
      const got = viaFused(splitEvery(bytes, size))
      const { fastEvents: _f, pieces: _p, ...outcome } = got
      t.same(outcome, want, `${name}, chunks of ${size}`)
      const { fastEvents: _g, pieces: _q, ...slow } = viaFused(splitEvery(bytes, size), {}, false)
      t.same(slow, want, `${name}, chunks of ${size}, fast path off`)
    }
  }
})

t.test('wav output: events that start with a RIFF header are checked and stripped by the general path', async (t) => {
  const pcm = speech(960 * 4)
  const hdr = wavHeader({ sampleRate: 24000, channels: 1, encoding: 's16le' }, 960)
  const wrong = wavHeader({ sampleRate: 16000, channels: 1, encoding: 's16le' }, 960)
  const payloads = [Buffer.concat([hdr, pcm.subarray(0, 960)]), pcm.subarray(960, 1920), Buffer.concat([hdr, pcm.subarray(1920, 2880)]), pcm.subarray(2880)]
  const good = Buffer.from(payloads.map((c) => sseChunkFrame(c)).join('') + sseTerminator())
  const bad = Buffer.from(sseChunkFrame(pcm.subarray(0, 960)) + sseChunkFrame(Buffer.concat([wrong, pcm.subarray(960, 1920)])) + sseTerminator())
  for (const size of chunkSizes(good.length)) {
    const want = viaGeneral(splitEvery(good, size), { outputFormat: 'wav' })
    const got = viaFused(splitEvery(good, size), { outputFormat: 'wav' })
    t.ok(want.audio.equals(pcm), 'the general path strips the headers')
    t.same({ ...got, fastEvents: 0, pieces: 0 }, { ...want, fastEvents: 0, pieces: 0 }, `chunks of ${size}`)
    const wantBad = viaGeneral(splitEvery(bad, size), { outputFormat: 'wav' })
    t.equal(wantBad.error?.code, 'ERR_AUDIO_FORMAT')
    t.same({ ...viaFused(splitEvery(bad, size), { outputFormat: 'wav' }), fastEvents: 0, pieces: 0 }, { ...wantBad, fastEvents: 0, pieces: 0 }, `bad header, chunks of ${size}`)
  }
})

t.test('ulaw passes through unaligned, odd events and all', async (t) => {
  const g711 = speech(481, 3)
  const bytes = Buffer.from(splitChunks(g711, 97).map((c) => sseChunkFrame(c)).join('') + sseTerminator())
  for (const size of chunkSizes(bytes.length)) {
    const got = viaFused(splitEvery(bytes, size), { outputFormat: 'ulaw' })
    t.ok(got.audio.equals(g711), `chunks of ${size}`)
    t.same({ ...got, fastEvents: 0, pieces: 0 }, { ...viaGeneral(splitEvery(bytes, size), { outputFormat: 'ulaw' }), fastEvents: 0, pieces: 0 })
  }
})

t.test('maxEventSize: an event over the bound takes the general path and fails there, at every chunking', async (t) => {
  const pcm = speech(3000)
  const max = 2048
  const bytes = Buffer.from(sseChunkFrame(pcm.subarray(0, 960)) + sseChunkFrame(pcm.subarray(960)) + sseTerminator())
  for (const size of chunkSizes(bytes.length)) {
    const want = viaGeneral(splitEvery(bytes, size), { maxEventSize: max })
    t.equal(want.error?.code, 'ERR_SSE_PARSE')
    t.same({ ...viaFused(splitEvery(bytes, size), { maxEventSize: max }), fastEvents: 0, pieces: 0 }, { ...want, fastEvents: 0, pieces: 0 }, `chunks of ${size}`)
  }
})

t.test('a pending event keeps copies, not views of the network chunk', async (t) => {
  const pcm = speech(960 * 3)
  const bytes = documented(pcm)
  const core = createSsePcmDecoder({ sampleRate: 24000 })
  const cut = bytes.length - 500
  const first = Buffer.from(bytes.subarray(0, cut))
  core.push(first)
  first.fill(0) // a caller (or a socket) reusing its buffer must not change the pending event
  const rest = core.push(bytes.subarray(cut))
  t.equal(core.flush(), null)
  t.ok(rest && rest.equals(pcm.subarray(pcm.length - rest.length)), 'the tail decodes from the copy')
})

t.test('push returns the audio before a bad event; the error follows at once via failure, and again on the next call', async (t) => {
  const pcm = speech(960 * 2)
  const bytes = Buffer.from(sseChunkFrame(pcm.subarray(0, 960)) + sseChunkFrame(pcm.subarray(960)) + 'event: audio\ndata: {"audio":"A-B_","done":false,"status":"206"}\n\n')
  const core = createSsePcmDecoder({ sampleRate: 24000 })
  const out = core.push(bytes)
  t.ok(out?.equals(pcm), 'the audio of the two good events')
  t.match(core.failure, { code: 'ERR_CHUNK_INVALID_BASE64', chunkIndex: 2, delivered: { chunks: 2, bytes: 1920 } })
  t.throws(() => core.push(Buffer.from('x')), { code: 'ERR_CHUNK_INVALID_BASE64' })
  t.throws(() => core.flush(), { code: 'ERR_CHUNK_INVALID_BASE64' })
  const alone = createSsePcmDecoder({ sampleRate: 24000 })
  t.throws(() => alone.push(Buffer.from('data: {"status":"error","message":"no"}\n\n')), { code: 'ERR_SERVER_ERROR_FRAME' }, 'no audio first: push throws')
})

// ---- properties: fast path ≡ general path on random inputs and random chunkings ----

type Token =
  | { kind: 'chunk'; pcm: Uint8Array; eol: string }
  | { kind: 'legacy'; pcm: Uint8Array }
  | { kind: 'done'; legacy: boolean; eol: string }
  | { kind: 'comment' | 'id' | 'retry' | 'blank' | 'error' | 'malformed' | 'multiline' | 'reordered' }
  | { kind: 'badBase64'; text: string }
  | { kind: 'raw'; text: string }

const eolArb = fc.constantFrom('\n', '\n', '\n', '\r\n', '\r')
const tokenArb: fc.Arbitrary<Token> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('chunk' as const), pcm: fc.uint8Array({ maxLength: 130 }), eol: fc.constantFrom('\n', '\n', '\n', '\n', '\r\n', '\r') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('legacy' as const), pcm: fc.uint8Array({ maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('done' as const), legacy: fc.boolean(), eol: eolArb }) },
  { weight: 2, arbitrary: fc.constantFrom('comment', 'id', 'retry', 'blank', 'error', 'malformed', 'multiline', 'reordered').map((kind) => ({ kind }) as Token) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badBase64' as const), text: fc.constantFrom('A-B_', 'AA!*AA==', 'AAA==', 'A', 'AA=A', 'AAAA====', ' AAAA', 'QUJD\u00ff', 'AAAA\\n', 'UklGRg==') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), text: fc.string({ unit: fc.constantFrom('\n', '\r', '"', ':', 'data: ', 'event: audio', '{"audio":"', 'A', '=', '}', ',"done":false,"status":"206"}', '\uFEFF', 'é') }) }) },
)

function render(tok: Token): string {
  switch (tok.kind) {
    case 'chunk':
      return sseChunkFrame(Buffer.from(tok.pcm), 'current', tok.eol)
    case 'legacy':
      return sseChunkFrame(Buffer.from(tok.pcm), 'legacy')
    case 'done':
      return sseTerminator(tok.legacy ? 'legacy' : 'current', tok.eol)
    case 'comment':
      return ': ping\n'
    case 'id':
      return 'id: 42\n'
    case 'retry':
      return 'retry: 10\n'
    case 'blank':
      return '\n'
    case 'error':
      return 'data: {"status":"error","message":"boom"}\n\n'
    case 'malformed':
      return 'event: audio\ndata: {"audio":"AAAA","done":fal\n\n'
    case 'multiline':
      return 'event: audio\ndata: {"audio":\ndata: "AAAA","done":false}\n\n'
    case 'reordered':
      return 'event: audio\ndata: {"done":false,"audio":"AAAA","status":"206"}\n\n'
    case 'badBase64':
      return `event: audio\ndata: {"audio":"${tok.text}","done":false,"status":"206"}\n\n`
    case 'raw':
      return tok.text
  }
}

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000)

const mutationArb = fc.oneof(fc.constant([]), fc.array(fc.record({ at: fc.nat(), byte: fc.constantFrom(0x0a, 0x0d, 0x22, 0x3d, 0x2d, 0x5f, 0x41, 0x5c, 0xc3, 0x20, 0x00, 0x7b) }), { maxLength: 2 }))

t.test('property: fast path ≡ general path, random streams, random mutations, random chunkings', async (t) => {
  let fastSeen = 0
  let casesWithFast = 0
  let cases = 0
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(tokenArb, { maxLength: 14 }),
      mutationArb,
      fc.array(fc.nat(4000), { maxLength: 12 }),
      fc.constantFrom<OutputFormat>('pcm', 'pcm', 'wav', 'ulaw'),
      fc.constantFrom(undefined, undefined, undefined, 256, 600),
      (bom, tokens, mutations, cuts, outputFormat, maxEventSize) => {
        const bytes = Buffer.from((bom ? '\uFEFF' : '') + tokens.map(render).join(''), 'utf8')
        for (const m of mutations) if (bytes.length > 0) bytes[m.at % bytes.length] = m.byte
        const chunks = splitAt(bytes, cuts)
        const opts: Opts = { outputFormat, ...(maxEventSize === undefined ? {} : { maxEventSize }) }
        const want = viaGeneral(chunks, opts)
        const { fastEvents, pieces, ...got } = viaFused(chunks, opts)
        fastSeen += fastEvents
        cases++
        if (fastEvents > 0) casesWithFast++
        if (pieces > chunks.length + 1) throw new Error(`${pieces} Buffers for ${chunks.length} chunks`)
        if (!isDeepStrictEqual(got, want)) throw new Error(`fused ${inspect(got, { depth: 4 })}\ngeneral ${inspect(want, { depth: 4 })}`)
        return true
      },
    ),
    { numRuns: Math.ceil(RUNS / 2), seed: 16 },
  )
  t.ok(casesWithFast > cases / 5, `the fast path decoded ${fastSeen} events, in ${casesWithFast} of ${cases} cases`)
})

t.test('property: documented streams, random chunkings: the fast path takes every event', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(30000), { maxLength: 20 }), (sizes, cuts) => {
      const pcm = speech(sizes.reduce((a, b) => a + b, 0) & ~1, sizes.length)
      const parts: Buffer[] = []
      let off = 0
      for (const n of sizes) {
        parts.push(pcm.subarray(off, Math.min(pcm.length, off + n)))
        off += n
      }
      const bytes = Buffer.from(parts.map((p) => sseChunkFrame(p)).join('') + sseTerminator())
      const chunks = splitAt(bytes, cuts)
      const got = viaFused(chunks)
      return got.error === undefined && got.audio.equals(pcm) && got.fastEvents === sizes.length && got.pieces <= chunks.length
    }),
    { numRuns: Math.ceil(RUNS / 4), seed: 61 },
  )
  t.pass('every case decoded exactly')
})
