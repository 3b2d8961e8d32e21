import t from 'tap'
import fc from 'fast-check'
import { InvalidOptionError } from '../lib/index.js'
import { createSentenceSegmenter, mergeSegments, segmentText, MAX_SEGMENT_CHARS } from '../lib/core.js'

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300)

/** Feeds `text` in pieces cut at `cuts` and returns every segment. */
function feed(text: string, cuts: number[], maxChars?: number): string[] {
  const seg = createSentenceSegmenter({ maxChars })
  const points = [...new Set(cuts.filter((c) => c > 0 && c < text.length))].sort((a, b) => a - b)
  const out: string[] = []
  let prev = 0
  for (const p of [...points, text.length]) {
    out.push(...seg.push(text.slice(prev, p)))
    prev = p
  }
  return [...out, ...seg.flush()]
}

const whole = (text: string, maxChars?: number) => feed(text, [], maxChars)

t.test('sentence ends, and what is not one', async (t) => {
  t.same(whole('Hello there. How are you? Fine!'), ['Hello there. ', 'How are you? ', 'Fine!'])
  t.same(whole('Dr. Smith arrived. Mr. and Mrs. Jones left.'), ['Dr. Smith arrived. ', 'Mr. and Mrs. Jones left.'], 'titles (Node 20 V8 splits after "Dr. ")')
  t.same(whole('It costs $3.14 today. Then 2.5 more.'), ['It costs $3.14 today. ', 'Then 2.5 more.'], 'decimals')
  t.same(whole('Use e.g. this, i.e. that. Next.'), ['Use e.g. this, i.e. that. ', 'Next.'], 'e.g. and i.e.')
  t.same(whole('Visit example.com or docs.smallest.ai now. Bye.'), ['Visit example.com or docs.smallest.ai now. ', 'Bye.'], 'domains')
  t.same(whole('J. R. R. Tolkien wrote it. The U.S. Army read it.'), ['J. R. R. Tolkien wrote it. ', 'The U.S. Army read it.'], 'initials')
  t.same(whole('See No. 5 and Fig. 3 here. The answer is No. It ends.'), ['See No. 5 and Fig. 3 here. ', 'The answer is No. ', 'It ends.'], '"No." before a number only')
  t.same(whole('你好。再见！好吗？'), ['你好。', '再见！', '好吗？'], 'CJK marks')
  t.same(whole('नमस्ते। ठीक है॥ चलो'), ['नमस्ते। ', 'ठीक है॥ ', 'चलो'], 'Devanagari danda and double danda')
  t.same(whole('Qué? Sí! مرحبا؟ نعم'), ['Qué? ', 'Sí! ', 'مرحبا؟ ', 'نعم'], 'Arabic question mark')
})

t.test('never decides on a fragment ending in "Dr." or "3." before the next one arrives', async (t) => {
  const seg = createSentenceSegmenter()
  t.same(seg.push('I met Dr.'), [])
  t.same(seg.push(' Smith. It cost 3.'), ['I met Dr. Smith. '], 'the title did not end the sentence; "3." waits')
  t.equal(seg.pending, 'It cost 3.'.length)
  t.same(seg.push('14 dollars.'), [], 'the last sentence stays undecided until text follows')
  t.same(seg.push(' OK'), ['It cost 3.14 dollars. '])
  t.same(seg.flush(), ['OK'])
  const s2 = createSentenceSegmenter()
  t.same(s2.push('Hi. '), [], 'a space is not enough: "Hi. w" is one sentence for ICU, "Hi. W" two')
  t.same(s2.push('w'), [])
  t.same(s2.push('ell. Yes'), ['Hi. well. '])
})

t.test('a sentence over the cap is split at a clause, else at a space, else at a grapheme', async (t) => {
  const clause = `${'alpha beta gamma '.repeat(8)}delta, ${'epsilon zeta eta '.repeat(8)}theta.`
  const parts = whole(clause, 200)
  t.ok(parts.length >= 2)
  t.match(parts[0], /, $/, 'cut after the comma')
  const words = `${'word '.repeat(100)}end.`
  const wp = whole(words, 100)
  t.ok(wp.every((p) => p.length <= 100))
  t.ok(wp.slice(0, -1).every((p) => p.endsWith(' ')), 'cut after spaces, never inside a word')
  const cjk = '一二三四五六七八九十'.repeat(30)
  const cp = whole(cjk, 50)
  t.ok(cp.every((p) => p.length <= 50))
  t.equal(cp.join(''), cjk)
  const emoji = '👍🏽'.repeat(40)
  const ep = whole(emoji, 21)
  t.ok(ep.every((p) => p.length <= 21 && !/^[\uDC00-\uDFFF]/.test(p)), 'no surrogate pair or emoji modifier split')
  t.equal(ep.join(''), emoji)
})

t.test('while a long sentence is still arriving, complete words are cut off at the cap', async (t) => {
  const seg = createSentenceSegmenter({ maxChars: 40 })
  const out: string[] = []
  for (const word of 'one two three four five six seven eight nine ten eleven twelve thirteen'.split(' ')) out.push(...seg.push(`${word} `))
  t.ok(out.length >= 1, 'segments left before the sentence ended')
  t.ok(out.every((s) => s.length <= 40 && s.endsWith(' ')))
})

t.test('merging: short sentences up to the target, the first one alone', async (t) => {
  t.same(mergeSegments(['a. ', 'b. ', 'c. '], { targetChars: 6 }), ['a. b. ', 'c. '])
  const text = Array.from({ length: 30 }, (_, i) => `Sentence ${i}.`).join(' ')
  const segs = segmentText(text)
  t.equal(segs[0], 'Sentence 0. ', 'the first sentence alone: first audio after one sentence')
  t.ok(segs.slice(1, -1).every((s) => s.length > 100 && s.length <= 140), 'the others merged near the target')
  t.equal(segs.join(''), text)
})

t.test('option checks', async (t) => {
  t.throws(() => createSentenceSegmenter({ maxChars: 5 }), InvalidOptionError)
  t.throws(() => createSentenceSegmenter().push(3 as unknown as string), InvalidOptionError)
})

const sentenceArb = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom('Dr.', 'e.g.', '$3.14', 'example.com', 'U.S.', 'No.', '5', '3.', 'हिन्दी', '你好', '👍🏽', 'a', 'Zebra', 'x'.repeat(30)),
        fc.string({ unit: 'grapheme', maxLength: 8 }),
      ),
      { maxLength: 12 },
    ),
    fc.constantFrom('.', '!', '?', '。', '।', '', ',', ' —'),
  )
  .map(([words, end]) => words.join(' ') + end)
const textArb = fc.array(sentenceArb, { maxLength: 10 }).chain((ss) => fc.constantFrom(' ', '\n', '  ', '').map((sep) => ss.join(sep)))

t.test('property: segments joined equal the input, none exceeds the cap, at any fragment boundaries', async (t) => {
  fc.assert(
    fc.property(textArb, fc.array(fc.nat(400), { maxLength: 12 }), fc.constantFrom(20, 33, 80, MAX_SEGMENT_CHARS), (text, cuts, max) => {
      const segs = feed(text, cuts, max)
      return segs.join('') === text && segs.every((s) => s.length > 0 && s.length <= max)
    }),
    { numRuns: RUNS, seed: 15 },
  )
  fc.assert(
    fc.property(textArb, fc.integer({ min: 20, max: 300 }), fc.integer({ min: 1, max: 300 }), (text, max, target) => {
      const segs = segmentText(text, { maxChars: max, targetChars: target })
      return segs.join('') === text && segs.every((s) => s.length <= max)
    }),
    { numRuns: RUNS, seed: 16 },
  )
})

t.test('property: sentence ends are found the same whole or in fragments (no cap reached)', async (t) => {
  fc.assert(
    fc.property(textArb, fc.array(fc.nat(400), { maxLength: 12 }), (text, cuts) => {
      fc.pre(text.length < 200)
      const a = feed(text, cuts, 1000)
      const b = whole(text, 1000)
      return JSON.stringify(a) === JSON.stringify(b)
    }),
    { numRuns: RUNS, seed: 17 },
  )
})
