// The idle-timeout rule of the SSE source (lib/client/idle-watch.ts), without sockets or timers.
import t from 'tap'
import { checkIdle } from '../lib/client/idle-watch.js'

t.test('a starving reader times out once nothing arrived for idleMs, not before', async (t) => {
  t.same(checkIdle({ idleMs: 100, lastDataAt: 1000, now: 1099, starving: true }), { timedOut: false, lastDataAt: 1000, checkInMs: 1 })
  t.same(checkIdle({ idleMs: 100, lastDataAt: 1000, now: 1100, starving: true }), { timedOut: true })
  t.same(checkIdle({ idleMs: 100, lastDataAt: 1000, now: 5000, starving: true }), { timedOut: true })
})

t.test('the next check is due when the limit would be reached', async (t) => {
  t.same(checkIdle({ idleMs: 100, lastDataAt: 1000, now: 1030, starving: true }), { timedOut: false, lastDataAt: 1000, checkInMs: 70 })
})

t.test('a slow reader (backpressure, or bytes waiting) is never idle: the clock restarts', async (t) => {
  t.same(checkIdle({ idleMs: 100, lastDataAt: 1000, now: 9000, starving: false }), { timedOut: false, lastDataAt: 9000, checkInMs: 100 })
  // ... and once it reads again, the server has the whole limit from that moment.
  t.same(checkIdle({ idleMs: 100, lastDataAt: 9000, now: 9099, starving: true }), { timedOut: false, lastDataAt: 9000, checkInMs: 1 })
  t.same(checkIdle({ idleMs: 100, lastDataAt: 9000, now: 9100, starving: true }), { timedOut: true })
})

t.test('a simulated stall: timed out exactly once the reader starved for idleMs', async (t) => {
  // Chunks every 40 ms until 200 ms, then nothing; the reader always wants data. Tick as the source does.
  let last = 0
  let now = 0
  let verdict = checkIdle({ idleMs: 100, lastDataAt: last, now, starving: true })
  const arrivals = [40, 80, 120, 160, 200]
  while (!verdict.timedOut) {
    now += verdict.checkInMs
    while (arrivals.length && arrivals[0]! <= now) last = arrivals.shift()!
    verdict = checkIdle({ idleMs: 100, lastDataAt: last, now, starving: true })
    if (!verdict.timedOut) last = verdict.lastDataAt
  }
  t.equal(now, 300, 'timed out 100 ms after the last chunk (at 200 ms)')
})
