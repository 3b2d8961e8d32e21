// The playout core of the Discord stream, driven without streams or clocks: every read is one
// player tick, so each property is a count.
import t from 'tap'
import fc from 'fast-check'
import { createPlayout } from '../lib/sinks/playout.core.js'

const opts = { frameMs: 20, leadFrames: 3, maxFrames: 5 }

t.test('reads wait for the start cushion, then take frames in order; the last frame says so', async (t) => {
  const p = createPlayout<number>(opts)
  p.push(1)
  p.push(2)
  t.same(p.read(), { kind: 'wait' }, 'two frames queued, cushion is three')
  t.notOk(p.started)
  p.push(3)
  t.ok(p.started)
  t.same(p.read(), { kind: 'audio', frame: 1, last: false })
  p.end()
  t.same(p.read(), { kind: 'audio', frame: 2, last: false })
  t.same(p.read(), { kind: 'audio', frame: 3, last: true }, 'synthesis ended and nothing follows')
  t.ok(p.done)
  t.same(p.read(), { kind: 'end' })
  t.same(p.read(), { kind: 'end' }, 'stays ended')
})

t.test('silence only while synthesis is behind and not finished; a run of it is one underrun', async (t) => {
  const p = createPlayout<number>(opts)
  for (const f of [1, 2, 3]) p.push(f)
  t.same(
    [p.read(), p.read(), p.read(), p.read(), p.read()].map((r) => r.kind),
    ['audio', 'audio', 'audio', 'silence', 'silence'],
  )
  p.push(4)
  t.same(p.read(), { kind: 'audio', frame: 4, last: false }, 'real audio again as soon as it is buffered')
  t.equal(p.read().kind, 'silence')
  p.end()
  t.same(p.read(), { kind: 'end' }, 'finished and empty: end, never silence')
  t.match(p.metrics(), { framesOut: 7, audioFrames: 4, silenceFrames: 3, underruns: 2 })
})

t.test('an utterance shorter than the cushion starts at its end; an empty one just ends', async (t) => {
  const p = createPlayout<number>(opts)
  p.push(1)
  p.end()
  t.same(p.read(), { kind: 'audio', frame: 1, last: true })
  const q = createPlayout<number>(opts)
  q.end()
  t.same(q.read(), { kind: 'end' })
  t.equal(q.metrics().framesOut, 0)
})

t.test('full at maxFrames (the shell holds writes there); clear() drops the queue for barge-in', async (t) => {
  const p = createPlayout<number>(opts)
  for (let i = 0; i < 5; i++) p.push(i)
  t.ok(p.full)
  t.equal(p.metrics().queuedMs, 100)
  p.read()
  t.notOk(p.full, 'one read makes room for one write')
  t.equal(p.clear(), 4)
  t.equal(p.queued, 0)
  t.match(p.metrics(), { clearedFrames: 4, maxQueuedMs: 100, queuedMs: 0 })
  t.equal(p.read().kind, 'silence', 'still running after clear(): what comes next plays')
})

t.test('a reader that is not a player: real frames regardless of the cushion, never silence', async (t) => {
  const p = createPlayout<number>(opts)
  p.push(1)
  t.same(p.read({ silence: false }), { kind: 'audio', frame: 1, last: false })
  t.same(p.read({ silence: false }), { kind: 'wait' })
  t.equal(p.metrics().silenceFrames, 0)
})

t.test('property: every pushed frame is read exactly once, in order; silence only when empty and not ended', async (t) => {
  // A schedule of pushes and reads (true = push, false = read), then the end and a drain.
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (schedule, lead) => {
      const p = createPlayout<number>({ frameMs: 20, leadFrames: lead, maxFrames: 1000 })
      let next = 0
      const got: number[] = []
      let silence = 0
      const take = () => {
        const queuedBefore = p.queued
        const r = p.read()
        if (r.kind === 'audio') got.push(r.frame)
        if (r.kind === 'silence') {
          silence++
          if (queuedBefore !== 0 || p.ended) return false
        }
        if (r.kind === 'wait' && (p.started || queuedBefore >= lead)) return false
        return true
      }
      for (const push of schedule) {
        if (push) p.push(next++)
        else if (!take()) return false
      }
      p.end()
      for (let guard = 0; guard < 2000 && !p.done; guard++) if (!take()) return false
      return got.length === next && got.every((f, i) => f === i) && p.metrics().silenceFrames === silence && p.read().kind === 'end'
    }),
    { seed: 13, numRuns: 300 },
  )
  t.pass('held for 300 seeded schedules')
})
