// The Pacer's core (lib/sinks/pacer.core.ts) on a hand-moved clock: no timers, no streams. The
// start cushion, one frame per period, the bounded catch-up after a stall, one silence frame per
// underrun slot, the stopped clock, clear(), the lead bound, the last frame, and byte-exactness at
// every chunking.
import t from 'tap'
import fc from 'fast-check'
import type { PcmFormat } from '../lib/audio/format.js'
import { createPacerCore, type PacerCore, type PacerCoreOptions, type PacerDecision } from '../lib/core.js'
import { chunkSizes, splitAt, splitEvery } from './fixtures/helpers.js'

const format: PcmFormat = { sampleRate: 8000, channels: 1, encoding: 's16le' } // 20 ms = 320 bytes, 10 ms = 160
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200)

/** `n` bytes of a pattern that shows any lost, doubled or reordered byte. */
function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 255
  return b
}

type Sent = Extract<PacerDecision, { kind: 'frame' | 'silence' }> & { at: number }

/**
 * Plays `chunks` through a core as the Pacer shell does, on a clock that jumps to each `wait`:
 * a chunk is written whenever the core is not holding one, `end()` after the last, and the clock
 * starts once the core is ready. `advance` may move the clock further than the core asked (a stall).
 */
function play(core: PacerCore, chunks: Buffer[], advance: (atMs: number, now: number) => number = (at) => at): { sent: Sent[]; endAt: number } {
  let now = 0
  let i = 0
  const sent: Sent[] = []
  const feed = (): void => {
    while (i < chunks.length && !core.blocked) core.write(chunks[i++]!)
    if (i === chunks.length && !core.blocked && !core.ended) core.end()
    if (core.ready) core.start(now)
  }
  feed()
  for (let guard = 0; guard < 1e6; guard++) {
    const d = core.next(now)
    if (d.kind === 'frame' || d.kind === 'silence') {
      sent.push({ ...d, at: now })
      feed()
    } else if (d.kind === 'wait') {
      if (!(d.atMs > now)) throw new Error(`wait for ${d.atMs} at ${now}: not a later slot`)
      now = Math.max(advance(d.atMs, now), d.atMs)
    } else if (d.kind === 'end') {
      return { sent, endAt: now }
    } else {
      feed()
      if (!core.started) throw new Error(`stopped at ${now} with nothing to start on`)
    }
  }
  throw new Error('no end')
}

const audio = (sent: Sent[]) => sent.filter((s) => s.kind === 'frame').map((s) => s.frame)

t.test('options: defaults, shapes, and the same errors as the Pacer', async (t) => {
  const core = createPacerCore({ format })
  t.equal(core.frameMs, 20)
  t.equal(core.frameBytes, 320)
  t.equal(core.periodMs, 20)
  t.equal(createPacerCore({ format, frameMs: 10, rate: 2 }).periodMs, 5, 'rate 2: a slot every frameMs / 2')
  t.same(core.format, format)
  t.not(core.format, format, 'the format is a copy')
  t.same(core.metrics, { framesOut: 0, silenceFrames: 0, underruns: 0, queuedMs: 0, maxQueuedMs: 0, clearedFrames: 0, lateMs: 0, maxLateMs: 0, lateFrames: 0, driftMs: 0, maxBurstFrames: 0 })
  t.same([core.ready, core.started, core.ended, core.blocked], [false, false, false, false])
  t.same(core.next(0), { kind: 'stop' }, 'next() before start(): the clock is stopped')

  for (const rate of [0, -1, NaN, Infinity]) {
    t.throws(() => createPacerCore({ format, rate }), { name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION', option: 'rate', message: `Invalid option rate: must be a positive number (got ${rate})` })
  }
  for (const maxBurstMs of [0, -5, NaN, Infinity]) {
    t.throws(() => createPacerCore({ format, maxBurstMs }), {
      code: 'ERR_INVALID_OPTION',
      option: 'maxBurstMs',
      message: `Invalid option maxBurstMs: must be a positive number of ms (got ${maxBurstMs})`,
    })
  }
  t.throws(() => createPacerCore({ format: { sampleRate: 22050, channels: 1, encoding: 's16le' }, frameMs: 10 }), { code: 'ERR_INVALID_OPTION', option: 'frameMs' })
  t.throws(() => createPacerCore({ format: { sampleRate: 0, channels: 1, encoding: 's16le' } }), { code: 'ERR_AUDIO_FORMAT', message: /^Pacer format\.sampleRate/ })
  t.throws(() => createPacerCore({} as PacerCoreOptions), { code: 'ERR_AUDIO_FORMAT', message: 'Pacer format must be a PcmFormat object' })
})

t.test('the start cushion: the first frame only once leadMs of audio is queued (or the input ended)', async (t) => {
  const core = createPacerCore({ format, frameMs: 20, leadMs: 60 }) // 3 frames
  t.equal(core.write(pattern(2 * 320)), true)
  t.equal(core.write(pattern(319)), true)
  t.equal(core.ready, false, '59.9 ms queued: not ready')
  t.equal(core.metrics.queuedMs, 40)
  t.equal(core.write(pattern(1)), true)
  t.equal(core.ready, true, '60 ms queued: ready')
  core.start(1000)
  t.same([core.ready, core.started], [false, true])
  const first = core.next(1000)
  t.equal(first.kind, 'frame')
  t.equal(first.kind === 'frame' && first.lateMs, 0, 'the first slot is the start time')
  t.same(core.next(1000), { kind: 'wait', atMs: 1020 })

  // Leading with less than the cushion: end() makes it ready.
  const short = createPacerCore({ format, frameMs: 20, leadMs: 100 })
  short.write(pattern(320))
  t.equal(short.ready, false)
  short.end()
  t.same([short.ready, short.ended], [true, true])
  // leadMs rounds up to whole frames, and at least one.
  const one = createPacerCore({ format, frameMs: 20, leadMs: 0 })
  one.write(pattern(320))
  t.equal(one.ready, true, 'leadMs 0: one frame is enough')
})

t.test('one frame per period on the clock, then end', async (t) => {
  const input = pattern(10 * 320)
  const { sent, endAt } = play(createPacerCore({ format, frameMs: 20, leadMs: 20 }), [input])
  t.same(sent.map((s) => s.at), [0, 20, 40, 60, 80, 100, 120, 140, 160, 180], 'a frame every 20 ms')
  t.same(sent.map((s) => s.lateMs), Array(10).fill(0), 'each on its slot')
  t.equal(endAt, 200, 'end falls due at the slot after the last frame')

  const fast = createPacerCore({ format, frameMs: 20, leadMs: 20, rate: 2 })
  t.same(play(fast, [input]).sent.map((s) => s.at), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90], 'rate 2: a 20 ms frame every 10 ms')
  const m = fast.metrics
  t.same([m.framesOut, m.silenceFrames, m.underruns, m.lateFrames, m.driftMs, m.maxBurstFrames, m.queuedMs], [10, 0, 0, 0, 0, 2, 0], "on time: at most 2 frames within one period (its two ends)")
})

t.test('after a stall the due frames leave at once; past maxBurstMs the clock moves (driftMs)', async (t) => {
  const core = createPacerCore({ format, frameMs: 10, leadMs: 10, maxLeadMs: 1000, maxBurstMs: 50 })
  core.write(pattern(100 * 160))
  core.start(0)
  t.equal(core.next(0).kind, 'frame')
  t.same(core.next(0), { kind: 'wait', atMs: 10 })
  // A 35 ms stall: the slots at 10, 20 and 30 ms are caught up at once, no drift.
  const caught = [core.next(35), core.next(35), core.next(35)]
  t.same(caught.map((d) => d.kind === 'frame' && d.lateMs), [25, 15, 5], 'three frames, late by 25, 15, 5 ms')
  t.same(core.next(35), { kind: 'wait', atMs: 40 }, 'back on the grid: no drift')
  t.same([core.metrics.driftMs, core.metrics.maxBurstFrames, core.metrics.lateFrames], [0, 3, 2])

  // A 300 ms stall: no frame leaves more than 50 ms late; the clock moves by the other 250 ms.
  const burst: PacerDecision[] = []
  for (let d = core.next(340); d.kind === 'frame'; d = core.next(340)) burst.push(d)
  t.same(burst.map((d) => d.kind === 'frame' && d.lateMs), [50, 40, 30, 20, 10, 0], 'six frames: the slots from 290 to 340 ms')
  t.same(core.next(340), { kind: 'wait', atMs: 350 })
  const m = core.metrics
  t.equal(m.driftMs, 250, 'driftMs counts the excess over maxBurstMs')
  t.equal(m.maxLateMs, 50)
  t.equal(m.lateMs, 0)
  t.equal(m.maxBurstFrames, 6, 'at most maxBurstMs / frameMs + 2 frames in one frame length')
  t.ok(m.maxBurstFrames <= 50 / 10 + 2)
  t.equal(m.lateFrames, 2 + 4, 'frames more than one period late')
  t.equal(m.framesOut, 10)
  t.equal(m.silenceFrames, 0)

  // maxBurstMs below one frame is raised to one frame.
  const tight = createPacerCore({ format, frameMs: 20, leadMs: 20, maxBurstMs: 1 })
  tight.write(pattern(10 * 320))
  tight.start(0)
  tight.next(0)
  const late = tight.next(100)
  t.equal(late.kind === 'frame' && late.lateMs, 20)
  t.equal(tight.metrics.driftMs, 60)
})

t.test('underrun: one silence frame per slot with nothing queued, no back-fill', async (t) => {
  const core = createPacerCore({ format, frameMs: 20, leadMs: 60 })
  core.write(pattern(3 * 320))
  core.start(0)
  t.same([core.next(0), core.next(20), core.next(40)].map((d) => d.kind), ['frame', 'frame', 'frame'])
  const s1 = core.next(60)
  t.equal(s1.kind, 'silence')
  if (s1.kind === 'silence') {
    t.equal(s1.frame.length, 320)
    t.ok(s1.frame.every((b) => b === 0), 'silence is zeros')
    t.equal(s1.frame.byteOffset, 0)
    t.equal(s1.lateMs, 0)
  }
  t.same(core.next(60), { kind: 'wait', atMs: 80 }, 'one silence frame for the slot, not more')
  t.same([core.metrics.underruns, core.metrics.silenceFrames], [1, 1])

  // 120 ms with nothing to send (six slots): one silence frame for the latest slot, the rest skipped.
  const s2 = core.next(200)
  t.equal(s2.kind, 'silence')
  t.equal(s2.kind === 'silence' && s2.lateMs, 0)
  t.same(core.next(200), { kind: 'wait', atMs: 220 }, 'no back-fill: the next slot is after now')
  t.same([core.metrics.underruns, core.metrics.silenceFrames, core.metrics.driftMs], [1, 2, 120], 'one underrun episode; the skipped slots are drift')

  // Audio again, then a second underrun episode.
  core.write(pattern(320, 9))
  const back = core.next(220)
  t.equal(back.kind, 'frame')
  t.same(back.kind === 'frame' && back.frame, pattern(320, 9))
  t.equal(core.next(240).kind, 'silence')
  const m = core.metrics
  t.same([m.underruns, m.silenceFrames, m.framesOut], [2, 3, 7])
  // Ending while underrun: end at the next slot.
  core.end()
  t.same(core.next(250), { kind: 'wait', atMs: 260 })
  t.same(core.next(260), { kind: 'end' })
})

t.test('fillSilence: false stops the clock on underrun; the cushion restarts it', async (t) => {
  const core = createPacerCore({ format, frameMs: 20, leadMs: 40, fillSilence: false })
  core.write(pattern(2 * 320))
  core.start(0)
  t.same([core.next(0), core.next(20)].map((d) => d.kind), ['frame', 'frame'])
  t.same(core.next(40), { kind: 'stop' })
  t.same([core.started, core.ready], [false, false])
  core.write(pattern(320))
  t.equal(core.ready, false, 'one frame is short of the cushion')
  core.write(pattern(320))
  t.equal(core.ready, true)
  core.start(500)
  const d = core.next(500)
  t.equal(d.kind === 'frame' && d.lateMs, 0, 'the restarted clock is anchored at the restart')
  t.same(core.next(500), { kind: 'wait', atMs: 520 })
  t.same([core.metrics.silenceFrames, core.metrics.underruns, core.metrics.driftMs], [0, 0, 0])
  core.next(520)
  core.end()
  t.same(core.next(540), { kind: 'end' }, 'ended: end, not stop')
})

t.test('clear(): drops the queue and the held write, returns the ms dropped, keeps working', async (t) => {
  const core = createPacerCore({ format, frameMs: 20, leadMs: 60, maxLeadMs: 100 }) // at most 5 frames queued
  t.equal(core.write(pattern(50 * 320)), false, '1 s against a 100 ms bound: held')
  t.equal(core.blocked, true)
  core.start(0)
  t.equal(core.next(0).kind, 'frame')
  t.equal(core.next(20).kind, 'frame')
  t.equal(core.metrics.queuedMs, 100, 'refilled to the bound')
  t.equal(core.clear(), 960, '48 frames not sent: 960 ms')
  t.same([core.blocked, core.metrics.queuedMs, core.metrics.clearedFrames], [false, 0, 48])
  t.equal(core.clear(), 0, 'nothing left to clear')
  t.equal(core.next(40).kind, 'silence', 'the clock keeps running')
  core.write(pattern(320, 5))
  const d = core.next(60)
  t.same(d.kind === 'frame' && d.frame, pattern(320, 5), 'and plays what comes next')
  // A held partial frame counts as a whole one.
  const part = createPacerCore({ format, frameMs: 20, leadMs: 20, maxLeadMs: 40 })
  part.write(pattern(3 * 320 + 10))
  t.equal(part.clear(), 40 + 40)
  t.equal(part.metrics.clearedFrames, 4)
})

t.test('maxLeadMs: a write larger than the bound is accepted in part; the rest as frames leave', async (t) => {
  const core = createPacerCore({ format, frameMs: 20, leadMs: 40, maxLeadMs: 100 })
  t.equal(core.write(pattern(20 * 320)), false, 'accepted only in part')
  t.equal(core.metrics.queuedMs, 100, 'exactly maxLeadMs queued')
  core.start(0)
  let sent = 0
  let now = 0
  while (core.blocked) {
    const d = core.next(now)
    if (d.kind === 'frame') sent++
    else if (d.kind === 'wait') now = d.atMs
    t.ok(core.metrics.queuedMs <= 100)
  }
  t.equal(sent, 15, 'the write completes once the last of it is queued: 15 frames sent, 5 queued')
  t.equal(core.metrics.queuedMs, 100)
  t.equal(core.metrics.maxQueuedMs, 100)
  // The bound is at least the cushion plus one frame.
  const low = createPacerCore({ format, frameMs: 20, leadMs: 100, maxLeadMs: 20 })
  t.equal(low.write(pattern(10 * 320)), false)
  t.equal(low.metrics.queuedMs, 120)
  t.equal(low.ready, true)
  // A write while one is held is appended to it.
  t.equal(low.write(pattern(320)), false)
  t.equal(low.clear(), (10 + 1) * 20)
})

t.test('the last frame: padded with silence by default, short with padLast or fillSilence false', async (t) => {
  const input = pattern(2 * 320 + 10)
  const padded = audio(play(createPacerCore({ format, frameMs: 20, leadMs: 20 }), [input]).sent)
  t.same(padded.map((f) => f.length), [320, 320, 320])
  t.same(padded[2]!.subarray(0, 10), input.subarray(640))
  t.ok(padded[2]!.subarray(10).every((b) => b === 0), 'padding is silence')
  for (const opts of [{ padLast: false }, { fillSilence: false }]) {
    const short = audio(play(createPacerCore({ format, frameMs: 20, leadMs: 20, ...opts }), [input]).sent)
    t.same(short.map((f) => f.length), [320, 320, 10], `${JSON.stringify(opts)}: the short tail as is`)
    t.same(Buffer.concat(short), input)
  }
  t.same(audio(play(createPacerCore({ format, frameMs: 20, fillSilence: false, padLast: true }), [input]).sent).at(-1)!.length, 320, 'padLast wins over fillSilence')
  const odd = createPacerCore({ format })
  odd.write(pattern(321))
  t.throws(() => odd.end(), { code: 'ERR_AUDIO_FORMAT' }, 'ending mid-sample-frame')
  t.equal(odd.ended, false)
})

t.test('byte-exact: the audio frames are the input, fed whole, one byte at a time, at odd sizes', async (t) => {
  const input = pattern(37 * 160 + 6, 3) // 37 frames of 10 ms and a short tail
  for (const size of chunkSizes(input.length)) {
    const { sent } = play(createPacerCore({ format, frameMs: 10, leadMs: 30, maxLeadMs: 100, padLast: false }), splitEvery(input, size))
    const frames = audio(sent)
    t.same(Buffer.concat(frames), input, `chunks of ${size}`)
    t.equal(frames.length, 38)
    t.ok(frames.every((f) => f.byteOffset === 0 && f.buffer.byteLength === f.length), 'every frame owns its ArrayBuffer')
    t.equal(sent.length, 38, 'no silence: the writer kept up')
  }
})

t.test('property: any chunking, any stalls: the same audio, frames on or after their slot, bounded burst and lead', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6000 }).map((n) => n * 2),
      fc.array(fc.nat(12000), { maxLength: 40 }),
      fc.array(fc.oneof(fc.constant(0), fc.nat(400)), { minLength: 1, maxLength: 20 }),
      fc.constantFrom(10, 20),
      fc.constantFrom(0, 20, 60, 200),
      fc.constantFrom(20, 100, 1000),
      fc.constantFrom(5, 50, 200),
      fc.boolean(),
      (len, cuts, stalls, frameMs, leadMs, maxLeadMs, maxBurstMs, fillSilence) => {
        const input = pattern(len, len)
        const frameBytes = (frameMs * 8000 * 2) / 1000
        const reference = audio(play(createPacerCore({ format, frameMs, leadMs, maxLeadMs, maxBurstMs, fillSilence, padLast: false }), [input]).sent)
        let k = 0
        const core = createPacerCore({ format, frameMs, leadMs, maxLeadMs, maxBurstMs, fillSilence, padLast: false })
        const { sent } = play(core, splitAt(input, cuts), (at) => at + stalls[k++ % stalls.length]!)
        const frames = audio(sent)
        const m = core.metrics
        return (
          Buffer.concat(frames).equals(input) &&
          frames.length === Math.ceil(len / frameBytes) &&
          frames.every((f, i) => f.equals(reference[i]!)) &&
          sent.every((s) => s.lateMs >= 0 && s.lateMs <= Math.max(maxBurstMs, frameMs)) &&
          m.maxBurstFrames <= Math.max(maxBurstMs, frameMs) / frameMs + 2 &&
          // The bound, plus the short tail that end() queues behind a full queue.
          m.maxQueuedMs <= (Math.max(Math.ceil(maxLeadMs / frameMs), Math.max(1, Math.ceil(leadMs / frameMs)) + 1) + 1) * frameMs &&
          m.framesOut === sent.length &&
          m.silenceFrames === sent.length - frames.length &&
          (fillSilence || m.silenceFrames === 0)
        )
      },
    ),
    { numRuns: RUNS, seed: 14 },
  )
  t.pass(`${RUNS} runs`)
})
