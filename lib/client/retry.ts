/**
 * Retry policy: only before the response (no audio has reached the caller), only for failures
 * that a later attempt can fix, with exponential backoff, jitter and a deadline.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ApiError, ConnectionError, InvalidOptionError, LightningStreamError, TimeoutError } from '../errors.js'

/** Options of the client's `retry`. @category Client */
export interface RetryOptions {
  /** Retries after the first attempt. @defaultValue `3` */
  retries?: number | undefined
  /** First backoff delay, ms; doubled each retry (vendor guidance: from 500 ms). @defaultValue `500` */
  baseDelayMs?: number | undefined
  /** Longest single wait, ms; also caps `Retry-After`. @defaultValue `30000` */
  maxDelayMs?: number | undefined
  /** No retry starts later than this many ms after the first attempt. @defaultValue `60000` */
  deadlineMs?: number | undefined
  /** Called before each retry, for logging. */
  onRetry?: ((info: RetryInfo) => void) | undefined
}

/** What a retry hook or `'retry'` event receives. @category Client */
export interface RetryInfo {
  /** 1 for the first retry, 2 for the second, … */
  attempt: number
  /** How long the client waits before it, ms. */
  delayMs: number
  /** Why: the failure of the previous attempt. */
  error: LightningStreamError
}

/** A retry policy with every default filled in. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number
  /** First backoff delay, ms. */
  baseDelayMs: number
  /** Longest wait, ms. */
  maxDelayMs: number
  /** Latest start of a retry after the first attempt, ms. */
  deadlineMs: number
  /** Hook called before each retry. */
  onRetry: ((info: RetryInfo) => void) | undefined
}

/** HTTP statuses worth retrying. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504])

/** Checks and fills retry options; `false` disables retries. */
export function resolveRetry(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return { retries: 0, baseDelayMs: 0, maxDelayMs: 0, deadlineMs: 0, onRetry: undefined }
  const o = options ?? {}
  const num = (name: keyof RetryOptions, v: unknown, def: number, min: number): number => {
    if (v === undefined) return def
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new InvalidOptionError(`retry.${name}`, `must be a number ≥ ${min} (got ${String(v)})`)
    return v
  }
  const retries = num('retries', o.retries, 3, 0)
  if (!Number.isInteger(retries)) throw new InvalidOptionError('retry.retries', `must be an integer (got ${retries})`)
  if (o.onRetry !== undefined && typeof o.onRetry !== 'function') throw new InvalidOptionError('retry.onRetry', 'must be a function')
  return {
    retries,
    baseDelayMs: num('baseDelayMs', o.baseDelayMs, 500, 0),
    maxDelayMs: num('maxDelayMs', o.maxDelayMs, 30_000, 0),
    deadlineMs: num('deadlineMs', o.deadlineMs, 60_000, 0),
    onRetry: o.onRetry,
  }
}

/** True when a later attempt may succeed: connect failures, connect timeouts, 429 and 5xx gateways. */
export function isRetryable(err: LightningStreamError): boolean {
  if (err instanceof ApiError) return RETRY_STATUSES.has(err.status)
  if (err instanceof TimeoutError) return err.phase === 'connect'
  return err instanceof ConnectionError
}

/**
 * The server's requested wait, ms: `retry-after-ms`, else `Retry-After` as seconds or an HTTP
 * date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = headers['retry-after-ms']
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms)
  const ra = headers['retry-after']?.trim()
  if (!ra) return undefined
  if (/^\d+(\.\d+)?$/.test(ra)) return Number(ra) * 1000
  const date = Date.parse(ra)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The wait before retry `attempt` (1-based): the server's request if any, else backoff with jitter. */
export function retryDelay(policy: RetryPolicy, attempt: number, err: LightningStreamError, random = Math.random): number {
  const asked = err instanceof ApiError ? retryAfterMs(err.headers) : undefined
  if (asked !== undefined) return Math.min(asked, policy.maxDelayMs)
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return backoff / 2 + random() * (backoff / 2) // "equal jitter": never less than half the backoff
}

/**
 * Runs `attempt` until it succeeds or the policy gives up: retryable failures ({@link isRetryable})
 * are retried after {@link retryDelay}, within `retries` and `deadlineMs`; the wait is cut short by
 * `signal`. Used for every route before its first audio byte (an SSE request, the WebSocket
 * upgrade); never after audio has flowed.
 * @throws the last attempt's error, or an abort error mapped by `mapAbort` when `signal` fires while waiting.
 * @internal
 */
export async function retrying<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  options: {
    signal?: AbortSignal | undefined
    onRetry?: ((info: RetryInfo) => void) | undefined
    mapAbort: (err: unknown) => LightningStreamError
  },
): Promise<T> {
  const { signal } = options
  const started = Date.now()
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      const error = err as LightningStreamError
      const delayMs = n <= policy.retries && isRetryable(error) && !signal?.aborted ? retryDelay(policy, n, error) : -1
      if (delayMs < 0 || Date.now() - started + delayMs > policy.deadlineMs) throw error
      const info: RetryInfo = { attempt: n, delayMs, error }
      policy.onRetry?.(info)
      options.onRetry?.(info)
      try {
        await sleep(delayMs, undefined, signal ? { signal } : {})
      } catch (abortErr) {
        throw options.mapAbort(abortErr)
      }
    }
  }
}
