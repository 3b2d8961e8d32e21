/**
 * What a {@link LightningClient} is configured with, and the one place those options are checked:
 * the key, the origin (no key over plain http to a remote host), the per-phase time limits, the
 * concurrency limit, the retry policy and the dispatcher. Per-call options live here too.
 * @module
 */
import type { Dispatcher } from 'undici'
import { InvalidOptionError } from '../errors.js'
import { resolveRetry, type RetryOptions, type RetryPolicy } from './retry.js'

/** The vendor's API host. */
export const DEFAULT_BASE_URL = 'https://api.smallest.ai'

/** Per-phase time limits, in milliseconds. @category Client */
export interface Timeouts {
  /** TCP/TLS connect. Applies when the client owns its dispatcher. @defaultValue `10000` */
  connect?: number | undefined
  /** From sending the request to the response headers (time to first byte). @defaultValue `30000` */
  headers?: number | undefined
  /** Longest gap between two body chunks. @defaultValue `30000` */
  idle?: number | undefined
  /** Whole request, headers to last byte. @defaultValue none */
  total?: number | undefined
}

/** Options of {@link LightningClient}. @category Client */
export interface LightningClientOptions {
  /** API key (`sk_…`). @defaultValue `process.env.SMALLEST_API_KEY` (an empty variable counts as unset) */
  apiKey?: string | undefined
  /** API origin, or the emulator's `url`. @defaultValue `'https://api.smallest.ai'` */
  baseUrl?: string | undefined
  /** Per-phase time limits. */
  timeouts?: Timeouts | undefined
  /**
   * Requests in flight at once; more wait in a FIFO queue. The vendor's default account allows one
   * and answers a second with 429. @defaultValue `1`
   */
  maxConcurrent?: number | undefined
  /** An undici dispatcher (Agent, Pool, MockAgent) to send requests through. */
  dispatcher?: Dispatcher | undefined
  /**
   * Retries before the response: connect errors and timeouts, 429, 500/502/503/504, with
   * exponential backoff and jitter, honouring `Retry-After`. Never after audio has flowed.
   * `false` disables it. @defaultValue `{ retries: 3, baseDelayMs: 500, maxDelayMs: 30000, deadlineMs: 60000 }`
   */
  retry?: RetryOptions | false | undefined
  /**
   * Allow sending the API key over plain `http://` to a host that is not loopback.
   * @defaultValue `false`
   */
  allowInsecureHttp?: boolean | undefined
}

/** Per-call options. @category Client */
export interface CallOptions {
  /** Aborts the call: nothing is sent if it fires first; mid-stream it closes the socket. */
  signal?: AbortSignal | undefined
}

/** Options of `LightningClient.pcm()`. @category Client */
export interface PcmOptions {
  /** Aborts the call: nothing is sent if it fires first; mid-stream it closes the socket. */
  signal?: AbortSignal | undefined
  /**
   * Text longer than `maxChars` (250) is cut into sentences, one SSE request each, stitched into
   * one gapless stream, so the first audio comes after the first sentence rather than after the
   * whole text. `false` sends the text as one request; an object sets the segmenter's limits.
   * @defaultValue `true`
   */
  segment?: boolean | SegmentOptions | undefined
}

/** The segmenter's limits for `pcm()` on long text. @category Client */
export interface SegmentOptions {
  /** Longest request, characters; text up to this length is sent whole. @defaultValue `250` */
  maxChars?: number | undefined
  /** Short sentences are merged up to this length, characters. @defaultValue `140` */
  targetChars?: number | undefined
  /** Segments requested ahead of the one being read. @defaultValue `1` */
  prefetch?: number | undefined
}

/** Every time limit, defaults applied. @internal */
export interface ResolvedTimeouts {
  connect: number
  headers: number
  idle: number
  total: number | undefined
}

/** The options after checking, defaults applied. @internal */
export interface ResolvedClientOptions {
  apiKey: string | undefined
  /** Without a trailing slash. */
  baseUrl: string
  timeouts: ResolvedTimeouts
  maxConcurrent: number
  retry: RetryPolicy
  /** The caller's dispatcher, or undefined: the client then owns one. */
  dispatcher: Dispatcher | undefined
}

const DEFAULT_TIMEOUTS = { connect: 10_000, headers: 30_000, idle: 30_000 } as const

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

function checkTimeout(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidOptionError(`timeouts.${name}`, `must be a positive number of milliseconds (got ${String(v)})`)
  }
  return v
}

/**
 * Checks a client's options and applies the defaults.
 * @throws {@link InvalidOptionError} for a key with whitespace, a bad URL, a key over plain http to
 * a remote host (without `allowInsecureHttp`), a non-positive timeout or `maxConcurrent`.
 * @internal
 */
export function resolveClientOptions(options: LightningClientOptions): ResolvedClientOptions {
  const apiKey = options.apiKey ?? (process.env['SMALLEST_API_KEY'] || undefined)
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0 || /[\r\n\s]/.test(apiKey))) {
    throw new InvalidOptionError('apiKey', 'must be a non-empty string without whitespace')
  }
  let url: URL
  try {
    url = new URL(options.baseUrl ?? DEFAULT_BASE_URL)
  } catch {
    throw new InvalidOptionError('baseUrl', `not a URL: ${String(options.baseUrl)}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidOptionError('baseUrl', `must be http: or https: (got ${url.protocol})`)
  }
  if (url.protocol === 'http:' && apiKey && !isLoopback(url.hostname) && options.allowInsecureHttp !== true) {
    throw new InvalidOptionError(
      'baseUrl',
      `refusing to send the API key over plain http to ${url.hostname}; use https or set allowInsecureHttp: true`,
    )
  }
  const t = options.timeouts ?? {}
  const timeouts: ResolvedTimeouts = {
    connect: checkTimeout('connect', t.connect) ?? DEFAULT_TIMEOUTS.connect,
    headers: checkTimeout('headers', t.headers) ?? DEFAULT_TIMEOUTS.headers,
    idle: checkTimeout('idle', t.idle) ?? DEFAULT_TIMEOUTS.idle,
    total: checkTimeout('total', t.total),
  }
  const maxConcurrent = options.maxConcurrent ?? 1
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new InvalidOptionError('maxConcurrent', `must be an integer ≥ 1 (got ${String(maxConcurrent)})`)
  }
  return {
    apiKey,
    baseUrl: url.href.replace(/\/+$/, ''),
    timeouts,
    maxConcurrent,
    retry: resolveRetry(options.retry),
    dispatcher: options.dispatcher,
  }
}
