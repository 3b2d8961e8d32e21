// The SSE parser's output does not depend on how the bytes are split. The case that broke it:
// `c3 af c2 bb c2 bf` is the UTF-8 of the three characters "ï»¿" (not a BOM). The line
// "ï»¿data:x" has the field name "ï»¿data", which the spec ignores: no event, whole or split.
import t from 'tap'
import fc from 'fast-check'
import { createSseDecoder, type SseEvent } from '../lib/core.js'
import { chunkSizes, splitAt, splitEvery } from './fixtures/helpers.js'

function parse(chunks: Buffer[]): SseEvent[] {
  const d = createSseDecoder()
  return [...chunks.flatMap((c) => d.push(c)), ...d.flush()]
}

const LATIN1_BOM_TEXT = Buffer.concat([Buffer.from([0xc3, 0xaf, 0xc2, 0xbb, 0xc2, 0xbf]), Buffer.from('data:x\n\n')])
const REAL_BOM = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data:x\n\n')])

t.test('"ï»¿data:x" gives no event, whole or at every split size', async (t) => {
  for (const size of chunkSizes(LATIN1_BOM_TEXT.length)) t.same(parse(splitEvery(LATIN1_BOM_TEXT, size)), [], `split every ${size} bytes`)
})

t.test('a real BOM (ef bb bf) is stripped, whole or at every split size', async (t) => {
  for (const size of chunkSizes(REAL_BOM.length)) t.same(parse(splitEvery(REAL_BOM, size)), [{ event: 'message', data: 'x', id: undefined }], `split every ${size} bytes`)
})

t.test('property: any split of a stream with BOM-like text, multi-byte characters and CR/LF parses the same', async (t) => {
  const corpus = Buffer.concat([
    LATIN1_BOM_TEXT,
    Buffer.from('event: audio\r\ndata: {"audio":"AAAA","text":"héllo ✓ 𝄞"}\r\n\r\n'),
    Buffer.from('data: ï»¿ in the middle\n\n: comment\rdata: two\rdata: lines\r\r'),
    Buffer.from('data: {"status":"200","done":true}\n\n'),
  ])
  const whole = parse([corpus])
  t.equal(whole.length, 4)
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: corpus.length - 1 }), { maxLength: 12 }), (cuts) => {
      t.same(parse(splitAt(corpus, cuts)), whole)
      return true
    }),
    { numRuns: 300, seed: 12 },
  )
})
