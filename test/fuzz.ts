// Fuzzing the SSE → PCM path with fast-check: random bytes, random valid and invalid frames,
// random splits. No input may throw anything but a coded LightningStreamError, hang, or deliver
// misaligned or wrong audio. CI runs FUZZ_RUNS (default 2 000) cases; `npm run fuzz` runs 100 000.
import t from 'tap'
import fc from 'fast-check'
import { LightningStreamError } from '../lib/index.js'
import { createFrameDecoder, createSseDecoder, createSsePcmDecoder } from '../lib/core.js'
import { splitAt } from './fixtures/helpers.js'

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000)
const MAX_EVENT = 4096
let cases = 0

type Path = 'general' | 'fused'
const PATHS: Path[] = ['general', 'fused']

/**
 * Runs bytes through the general path (the pure SSE and frame cores, as SseParser and
 * AudioChunkDecoder run them) or the fused core that `pcm()` runs (fast path on); returns the
 * audio or the coded error.
 */
function run(chunks: Buffer[], path: Path = 'general'): { audio: Buffer; error?: LightningStreamError } {
  const out: Buffer[] = []
  try {
    if (path === 'fused') {
      const core = createSsePcmDecoder({ sampleRate: 24000, maxEventSize: MAX_EVENT })
      for (const c of chunks) {
        const b = core.push(c)
        if (b) out.push(b)
        if (core.failure) throw core.failure
      }
      const b = core.flush()
      if (b) out.push(b)
      if (core.failure) throw core.failure
      return { audio: Buffer.concat(out) }
    }
    const sse = createSseDecoder({ maxEventSize: MAX_EVENT })
    const frames = createFrameDecoder({ sampleRate: 24000 })
    for (const c of chunks) {
      for (const ev of sse.push(c)) {
        const b = frames.push(ev)
        if (b) out.push(b)
      }
      if (sse.failure) throw sse.failure
    }
    for (const ev of sse.flush()) {
      const b = frames.push(ev)
      if (b) out.push(b)
    }
    if (sse.failure) throw sse.failure
    frames.flush()
    return { audio: Buffer.concat(out) }
  } catch (err) {
    if (!(err instanceof LightningStreamError)) throw err // a non-library error is a bug
    return { audio: Buffer.concat(out), error: err }
  }
}

for (const path of PATHS) {
  t.test(`${path} path: random bytes at random splits: only coded errors, aligned output`, async (t) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 8 }), (bytes, cuts) => {
        cases++
        return run(splitAt(Buffer.from(bytes), cuts), path).audio.length % 2 === 0 // run() rethrows anything uncoded
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: 1 },
    )
    t.pass('no uncaught exception')
  })
}

type Frame =
  | { kind: 'chunk'; pcm: Uint8Array; legacy: boolean }
  | { kind: 'malformed' | 'badBase64' | 'errorFrame' | 'comment' | 'empty' | 'done' | 'huge' }

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('chunk' as const), pcm: fc.uint8Array({ maxLength: 97 }), legacy: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constantFrom('malformed', 'badBase64', 'errorFrame', 'comment', 'empty', 'done', 'huge').map((kind) => ({ kind }) as Frame) },
)

function render(f: Frame, eol: string): string {
  switch (f.kind) {
    case 'chunk': {
      const b64 = Buffer.from(f.pcm).toString('base64')
      return `event: audio${eol}data: ${f.legacy ? `{"audio":"${b64}"}` : `{"audio":"${b64}","done":false,"status":"206"}`}${eol}${eol}`
    }
    case 'malformed':
      return `data: {"audio":${eol}${eol}`
    case 'badBase64':
      return `data: {"audio":"A-B_"}${eol}${eol}`
    case 'errorFrame':
      return `data: {"status":"error","message":"boom"}${eol}${eol}`
    case 'comment':
      return `: ping${eol}`
    case 'empty':
      return `data:${eol}${eol}`
    case 'done':
      return `data: {"status":"200","done":true}${eol}${eol}`
    case 'huge':
      return `data: "${'x'.repeat(MAX_EVENT + 10)}"${eol}${eol}`
  }
}

/** What a correct decoder must produce for a frame list. */
function expected(frames: Frame[]): { audio: Buffer; fails: boolean } {
  const out: Buffer[] = []
  for (const [i, f] of frames.entries()) {
    if (f.kind === 'done') {
      // Events after the terminator are ignored, but bytes over the SSE memory bound still fail.
      const audio = Buffer.concat(out)
      return { audio, fails: audio.length % 2 === 1 || frames.slice(i + 1).some((g) => g.kind === 'huge') }
    }
    if (f.kind === 'chunk') out.push(Buffer.from(f.pcm))
    else if (f.kind !== 'comment' && f.kind !== 'empty') return { audio: Buffer.concat(out), fails: true }
  }
  return { audio: Buffer.concat(out), fails: true } // no terminator: truncated
}

for (const path of PATHS) {
  t.test(`${path} path: random frame lists, line endings and splits: exact audio or a coded error, never a silent cut`, async (t) => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(3000), { maxLength: 10 }), (frames, eol, cuts) => {
        cases++
        const bytes = Buffer.from(frames.map((f) => render(f, eol)).join(''), 'utf8')
        const got = run(splitAt(bytes, cuts), path)
        const want = expected(frames)
        if (got.audio.length % 2 !== 0) return false
        if (want.fails) {
          // Everything delivered is a sample-aligned prefix of the true audio, and an error says so.
          return got.error !== undefined && want.audio.subarray(0, got.audio.length).equals(got.audio)
        }
        return got.error === undefined && got.audio.equals(want.audio)
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: 2 },
    )
    t.pass('every case matched the model')
  })
}

t.teardown(() => {
  console.error(`fuzz: ${cases} cases (FUZZ_RUNS=${RUNS})`)
})
