// Fuzzing the SSE → PCM path with fast-check: random bytes, random valid and invalid chunk
// messages, random splits. No input may throw anything but a coded LightningStreamError, hang, or
// deliver misaligned or wrong audio. CI runs FUZZ_RUNS (default 2 000) cases; `npm run fuzz`
// runs 100 000.
import t from 'tap'
import fc from 'fast-check'
import { LightningStreamError } from '../lib/index.js'
import { createSseParser } from '../lib/sse/sse-parser.core.js'
import { createAudioChunkDecoder } from '../lib/audio/audio-chunk-decoder.core.js'
import { createSsePcmDecoder } from '../lib/audio/sse-pcm.core.js'
import { createOggOpusMuxer, oggCrc32 } from '../lib/codecs/ogg-opus-muxer.core.js'
import { opusPacketSamples } from '../lib/codecs/opus-packet.js'
import { splitAt } from './fixtures/helpers.js'
import { demuxOggOpus } from './fixtures/ogg-opus.js'

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2000)
const MAX_EVENT = 4096
let cases = 0

type Path = 'general' | 'fused'
const PATHS: Path[] = ['general', 'fused']

/**
 * Runs bytes through the general path (the pure SSE parser and chunk-decoder cores, as SseParser and
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
    const sse = createSseParser({ maxEventSize: MAX_EVENT })
    const decoder = createAudioChunkDecoder({ sampleRate: 24000 })
    for (const c of chunks) {
      for (const ev of sse.push(c)) {
        const b = decoder.push(ev)
        if (b) out.push(b)
      }
      if (sse.failure) throw sse.failure
    }
    for (const ev of sse.flush()) {
      const b = decoder.push(ev)
      if (b) out.push(b)
    }
    if (sse.failure) throw sse.failure
    decoder.flush()
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
        const whole = run([Buffer.from(bytes)], path) // run() rethrows anything uncoded
        const split = run(splitAt(Buffer.from(bytes), cuts), path)
        // Aligned, and the same audio and the same coded error however the bytes were split.
        return split.audio.length % 2 === 0 && split.audio.equals(whole.audio) && split.error?.code === whole.error?.code
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: 1 },
    )
    t.pass('no uncaught exception')
  })
}

type ChunkMsg =
  | { kind: 'chunk'; pcm: Uint8Array; legacy: boolean }
  | { kind: 'malformed' | 'badBase64' | 'errorEvent' | 'comment' | 'empty' | 'done' | 'huge' }

const msgArb: fc.Arbitrary<ChunkMsg> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('chunk' as const), pcm: fc.uint8Array({ maxLength: 97 }), legacy: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constantFrom('malformed', 'badBase64', 'errorEvent', 'comment', 'empty', 'done', 'huge').map((kind) => ({ kind }) as ChunkMsg) },
)

function render(f: ChunkMsg, eol: string): string {
  switch (f.kind) {
    case 'chunk': {
      const b64 = Buffer.from(f.pcm).toString('base64')
      return `event: audio${eol}data: ${f.legacy ? `{"audio":"${b64}"}` : `{"audio":"${b64}","done":false,"status":"206"}`}${eol}${eol}`
    }
    case 'malformed':
      return `data: {"audio":${eol}${eol}`
    case 'badBase64':
      return `data: {"audio":"A-B_"}${eol}${eol}`
    case 'errorEvent':
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

/** What a correct decoder must produce for a list of chunk messages. */
function expected(msgs: ChunkMsg[]): { audio: Buffer; fails: boolean } {
  const out: Buffer[] = []
  for (const [i, f] of msgs.entries()) {
    if (f.kind === 'done') {
      // Events after the terminator are ignored, but bytes over the SSE memory bound still fail.
      const audio = Buffer.concat(out)
      return { audio, fails: audio.length % 2 === 1 || msgs.slice(i + 1).some((g) => g.kind === 'huge') }
    }
    if (f.kind === 'chunk') out.push(Buffer.from(f.pcm))
    else if (f.kind !== 'comment' && f.kind !== 'empty') return { audio: Buffer.concat(out), fails: true }
  }
  return { audio: Buffer.concat(out), fails: true } // no terminator: truncated
}

for (const path of PATHS) {
  t.test(`${path} path: random chunk message lists, line endings and splits: exact audio or a coded error, never a silent cut`, async (t) => {
    fc.assert(
      fc.property(fc.array(msgArb, { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(3000), { maxLength: 10 }), (msgs, eol, cuts) => {
        cases++
        const bytes = Buffer.from(msgs.map((f) => render(f, eol)).join(''), 'utf8')
        const got = run(splitAt(bytes, cuts), path)
        const want = expected(msgs)
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

// The Ogg muxer core takes whole packets: fuzz it with random packet sizes (across the 255-byte
// lacing boundaries), random TOC bytes, page lengths and true lengths, and read the pages back.
const packetArb = fc
  .record({ toc: fc.integer({ min: 0, max: 255 }), count: fc.integer({ min: 1, max: 4 }), size: fc.oneof(fc.integer({ min: 2, max: 600 }), fc.constantFrom(255, 256, 510, 511, 765)) })
  .map(({ toc, count, size }) => {
    const p = Buffer.alloc(size, 0x5a)
    p[0] = toc
    p[1] = count // the frame count when the TOC says code 3
    return p
  })

t.test('OggOpusMuxer core: random packets, page lengths and true lengths: the pages give back the packets and the granules', async (t) => {
  fc.assert(
    fc.property(
      fc.array(packetArb, { maxLength: 40 }),
      fc.constantFrom(2.5, 10, 20, 60, 120, 1000),
      fc.option(fc.nat(50_000), { nil: undefined }),
      fc.constantFrom(0, 120, 312, 3840),
      (packets, maxPageMs, inputSamples, preSkip) => {
        cases++
        const core = createOggOpusMuxer({ head: { channels: 2, inputSampleRate: 24000, preSkip }, maxPageMs, serial: 5 })
        const items: (Buffer | { inputSamples: number })[] = [...packets]
        if (inputSamples !== undefined) items.push({ inputSamples })
        const ogg = Buffer.concat([...items.flatMap((i) => core.push(i)), ...core.flush()])
        const file = demuxOggOpus(ogg)
        if (file.preSkip !== preSkip || file.channels !== 2 || file.inputSampleRate !== 24000) return false
        if (file.packets.length !== packets.length || !file.packets.every((p, i) => p.equals(packets[i]!))) return false
        // Every page: a valid CRC, BOS on the first only, EOS on the last only, granules never decrease.
        const pages: { flags: number; granule: number }[] = []
        for (let off = 0; off < ogg.length; ) {
          const nseg = ogg[off + 26]!
          const len = 27 + nseg + [...ogg.subarray(off + 27, off + 27 + nseg)].reduce((a, b) => a + b, 0)
          const page = Buffer.from(ogg.subarray(off, off + len))
          const crc = page.readUInt32LE(22)
          page.writeUInt32LE(0, 22)
          if (oggCrc32(page) !== crc || page.readUInt32LE(18) !== pages.length) return false
          pages.push({ flags: page[5]!, granule: Number(page.readBigInt64LE(6)) })
          off += len
        }
        if (!pages.every((p, i) => p.flags === (i === 0 ? 0x02 : 0) + (i === pages.length - 1 ? 0x04 : 0))) return false
        const granules = pages.slice(2).map((p) => p.granule)
        if (granules.some((g, i) => i > 0 && g < granules[i - 1]!)) return false
        // The end granule: what the packets carry, trimmed to pre-skip + the true length when it
        // came, within the last page (never below the page before it).
        const carried = packets.reduce((a, p) => a + opusPacketSamples(p), 0)
        const previous = granules.length > 1 ? granules.at(-2)! : 0
        const end = inputSamples === undefined ? carried : Math.max(previous, Math.min(preSkip + inputSamples, carried))
        return granules.at(-1) === end
      },
    ),
    { numRuns: Math.ceil(RUNS / 4), seed: 3 },
  )
  t.pass('every case read back')
})

t.teardown(() => {
  console.error(`fuzz: ${cases} cases (FUZZ_RUNS=${RUNS})`)
})
