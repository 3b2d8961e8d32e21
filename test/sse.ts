import t from 'tap'
import fc from 'fast-check'
import { SseParser, SseParseError } from '../lib/index.js'
import { createSseDecoder, type SseEvent } from '../lib/core.js'
import { chunkSizes, runStage, splitAt, splitEvery } from './fixtures/helpers.js'

const decodeAll = (chunks: Buffer[], maxEventSize?: number): SseEvent[] => {
  const d = createSseDecoder(maxEventSize === undefined ? {} : { maxEventSize })
  const out: SseEvent[] = []
  for (const c of chunks) out.push(...d.push(c))
  out.push(...d.flush())
  return out
}

const fixtures: { name: string; input: string; events: SseEvent[] }[] = [
  {
    name: 'LF framing, audio event and terminator without event line',
    input: 'event: audio\ndata: {"audio":"AAA="}\n\ndata: {"status":"200","done":true}\n\n',
    events: [
      { event: 'audio', data: '{"audio":"AAA="}', id: undefined },
      { event: 'message', data: '{"status":"200","done":true}', id: undefined },
    ],
  },
  {
    name: 'CRLF framing',
    input: 'event: audio\r\ndata: one\r\n\r\ndata: two\r\n\r\n',
    events: [
      { event: 'audio', data: 'one', id: undefined },
      { event: 'message', data: 'two', id: undefined },
    ],
  },
  {
    name: 'bare CR framing, final event ended by CR at EOF',
    input: 'data: one\r\rdata: two\r\r',
    events: [
      { event: 'message', data: 'one', id: undefined },
      { event: 'message', data: 'two', id: undefined },
    ],
  },
  {
    name: 'comments, id and retry fields, multi-line data',
    input: ': keep-alive\n\nid: 7\nretry: 1000\ndata: a\ndata: b\n\n:x\n',
    events: [{ event: 'message', data: 'a\nb', id: '7' }],
  },
  {
    name: 'leading UTF-8 BOM and multi-byte characters',
    input: '\uFEFFdata: héllo — 日本語 🎧\n\n',
    events: [{ event: 'message', data: 'héllo — 日本語 🎧', id: undefined }],
  },
  {
    name: 'an unterminated event at EOF is not dispatched',
    input: 'data: complete\n\ndata: partial\n',
    events: [{ event: 'message', data: 'complete', id: undefined }],
  },
]

for (const f of fixtures) {
  t.test(f.name, async (t) => {
    const bytes = Buffer.from(f.input, 'utf8')
    for (const size of chunkSizes(bytes.length)) {
      t.same(decodeAll(splitEvery(bytes, size)), f.events, `pure core, chunks of ${size}`)
      t.same(await runStage<SseEvent>(new SseParser(), splitEvery(bytes, size)), f.events, `Transform, chunks of ${size}`)
    }
  })
}

t.test('a CRLF split between chunks is one line ending, not two', async (t) => {
  const d = createSseDecoder()
  t.same(d.push(Buffer.from('data: x\r')), [])
  t.same(d.push(Buffer.from('\n\r')), [], 'the blank line is a CR that may be half a CRLF: held')
  t.same(d.push(Buffer.from('\ndata: y\r\n\r\n')), [
    { event: 'message', data: 'x', id: undefined },
    { event: 'message', data: 'y', id: undefined },
  ])
  t.same(d.flush(), [])
})

t.test('an event larger than maxEventSize fails with ERR_SSE_PARSE', async (t) => {
  const big = Buffer.from(`data: ${'A'.repeat(5000)}\n\n`)
  t.throws(() => decodeAll([big], 1024), { code: 'ERR_SSE_PARSE' })
  t.throws(() => decodeAll(splitEvery(Buffer.from(`data: a\n${'data: bbbbbbbb\n'.repeat(200)}\n`), 13), 1024), SseParseError)
  await t.rejects(runStage(new SseParser({ maxEventSize: 1024 }), [big]), { code: 'ERR_SSE_PARSE' })
  t.same(decodeAll([big], 8192).length, 1, 'the same event fits a larger bound')
  t.throws(() => createSseDecoder({ maxEventSize: 3 }), { code: 'ERR_INVALID_OPTION', option: 'maxEventSize' })
})

t.test('property: any chunking of a valid stream yields the same events', async (t) => {
  const event = fc.record({
    event: fc.constantFrom('audio', 'message', 'ping'),
    data: fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')), { minLength: 1, maxLength: 3 }),
  })
  const eol = fc.constantFrom('\n', '\r\n', '\r')
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), eol, fc.array(fc.nat(), { maxLength: 12 }), (events, nl, cuts) => {
      const text = events
        .map((e) => `${e.event === 'message' ? '' : `event: ${e.event}${nl}`}${e.data.map((l) => `data: ${l}`).join(nl)}${nl}${nl}`)
        .join('')
      const bytes = Buffer.from(text, 'utf8')
      const whole = decodeAll([bytes])
      const split = decodeAll(splitAt(bytes, cuts.map((c) => c % (bytes.length + 1))))
      return (
        JSON.stringify(split) === JSON.stringify(whole) &&
        whole.length === events.length &&
        whole.every((w, i) => w.data === events[i]!.data.join('\n'))
      )
    }),
    { numRuns: 500, seed: 42 },
  )
  t.pass('500 random streams and chunkings agreed')
})
