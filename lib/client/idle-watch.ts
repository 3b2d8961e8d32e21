/**
 * The idle-timeout rule of an HTTP response body, as a pure decision the source ticks with a
 * timer (undici's own `bodyTimeout` is not enforced in every socket state, so the source owns
 * the rule).
 *
 * A body is idle when the reader wants data, nothing is buffered for it, and nothing arrived for
 * `idleMs`. A slow reader (backpressure, or bytes still waiting to be read) is never idle: while
 * it is slow the clock restarts, so a long pause in reading is not blamed on the server.
 * @internal
 * @module
 */

/** What the rule looks at, at one instant. */
export interface IdleState {
  /** The limit, ms. */
  idleMs: number
  /** When the last body chunk arrived (or the clock last restarted), ms on the `now` clock. */
  lastDataAt: number
  /** Now, ms (`performance.now()` in the source; any monotonic clock in tests). */
  now: number
  /** The reader wants data and nothing is buffered for it. */
  starving: boolean
}

/** The decision: time out now, or check again later with a (possibly restarted) clock. */
export type IdleVerdict =
  | { timedOut: true }
  | {
      timedOut: false
      /** The clock to keep: `now` when the reader was slow, else unchanged. */
      lastDataAt: number
      /** When to check again, ms from now (at least 1). */
      checkInMs: number
    }

/** Applies the idle rule (see the module notes). */
export function checkIdle(s: IdleState): IdleVerdict {
  if (s.starving && s.now - s.lastDataAt >= s.idleMs) return { timedOut: true }
  const lastDataAt = s.starving ? s.lastDataAt : s.now
  return { timedOut: false, lastDataAt, checkInMs: Math.max(1, lastDataAt + s.idleMs - s.now) }
}
