/**
 * Fault injection for reliability tests: which faults exist ({@link EmulatorFaults}), how the
 * test-only `x-emulator-fault` header names them ({@link parseFaultHeader}), and the canned bodies
 * of injected HTTP failures.
 * @module
 */

/**
 * Faults to inject, for reliability tests. Set them for every request with
 * `startEmulator({ faults })`, or per request with the test-only header
 * `x-emulator-fault: drop-after=3, stall-ms=200` (see {@link parseFaultHeader}).
 */
export interface EmulatorFaults {
  /** Wait this long before answering (before the response headers). */
  stallBeforeMs?: number | undefined
  /** Stall `stallMs` after chunk message K (0-based) was written. */
  stallAfterChunk?: number | undefined
  /** Length of the `stallAfterChunk` stall, ms. @defaultValue `1000` */
  stallMs?: number | undefined
  /** Destroy the connection after chunk message K was written (no terminator). */
  dropAfterChunk?: number | undefined
  /** Chunk message K carries malformed JSON. */
  malformedJsonAt?: number | undefined
  /** Chunk message K carries invalid base64. */
  badBase64At?: number | undefined
  /** Send an error event `{"status":"error","message":…}` instead of chunk message K, then end. */
  errorFrameAt?: number | undefined
  /** Write every SSE event one byte at a time. */
  splitWrites?: boolean | undefined
  /** End the stream cleanly without the `done: true` terminator. */
  noTerminator?: boolean | undefined
  /** Answer the first `failCount` requests (counted per fault key) with this HTTP status. */
  failStatus?: 400 | 401 | 403 | 429 | 500 | 502 | 503 | 504 | undefined
  /** How many requests get `failStatus`. @defaultValue `1` */
  failCount?: number | undefined
  /** `Retry-After` value sent with an injected 429/503 (seconds or an HTTP date). */
  failRetryAfter?: string | undefined
  /** Groups requests for `failCount` (e.g. one key per test case). @defaultValue `'default'` */
  key?: string | undefined
  /** SSE line ending for this request (overrides the emulator's `lineEnding`). */
  lineEnding?: '\n' | '\r\n' | '\r' | undefined
}

const FAULT_FIELDS: Record<string, keyof EmulatorFaults> = {
  'stall-before': 'stallBeforeMs',
  'stall-after': 'stallAfterChunk',
  'stall-ms': 'stallMs',
  'drop-after': 'dropAfterChunk',
  'malformed-json-at': 'malformedJsonAt',
  'bad-base64-at': 'badBase64At',
  'error-frame-at': 'errorFrameAt',
  'split-writes': 'splitWrites',
  'no-terminator': 'noTerminator',
  'fail-status': 'failStatus',
  'fail-count': 'failCount',
  'fail-retry-after': 'failRetryAfter',
  key: 'key',
  'line-ending': 'lineEnding',
}

const LINE_ENDINGS: Record<string, '\n' | '\r\n' | '\r'> = { lf: '\n', crlf: '\r\n', cr: '\r' }

/**
 * Parses the test-only `x-emulator-fault` header: comma-separated `name=value` pairs (`drop-after=3,
 * split-writes, fail-status=429, fail-count=2, key=case7, line-ending=crlf`). Unknown names
 * are ignored.
 */
export function parseFaultHeader(value: string | undefined): EmulatorFaults {
  const out: Record<string, unknown> = {}
  if (!value) return out
  for (const part of value.split(',')) {
    const [rawName, ...rest] = part.split('=')
    const name = FAULT_FIELDS[(rawName ?? '').trim()]
    if (!name) continue
    const v = rest.join('=').trim()
    if (name === 'splitWrites' || name === 'noTerminator') out[name] = v === '' || v === 'true' || v === '1'
    else if (name === 'lineEnding') out[name] = LINE_ENDINGS[v.toLowerCase()]
    else if (name === 'key' || name === 'failRetryAfter') out[name] = v
    else if (v !== '' && Number.isFinite(Number(v))) out[name] = Number(v)
  }
  return out as EmulatorFaults
}

/** The faults of one request: the emulator's, overridden by the request's header. @internal */
export function requestFaults(base: EmulatorFaults | undefined, header: string | string[] | undefined): EmulatorFaults {
  return { ...base, ...parseFaultHeader(Array.isArray(header) ? header.join(',') : header) }
}

/** The bodies the vendor sends with these statuses, for injected failures. @internal */
export const INJECTED_BODIES: Readonly<Record<number, unknown>> = {
  400: { error: [{ code: 'custom', path: ['text'], message: 'Injected validation failure' }] },
  401: { error: 'Unauthorized', message: 'Bearer token is missing or invalid.' },
  403: { error: 'Forbidden', message: 'Injected: key not allowed.' },
  429: { error: 'TooManyRequests', message: 'Injected: concurrency limit reached.' },
  500: { error: 'InternalServerError', message: 'An unexpected error occurred.' },
}

/**
 * Counts injected failures per fault key, so `failCount` requests fail and the next succeeds.
 * @internal
 */
export class FailureCounter {
  readonly #counts = new Map<string, number>()

  /** The status to answer with, or undefined when this request is not to fail. */
  next(faults: EmulatorFaults): EmulatorFaults['failStatus'] {
    if (!faults.failStatus) return undefined
    const key = faults.key ?? 'default'
    const n = this.#counts.get(key) ?? 0
    if (n >= (faults.failCount ?? 1)) return undefined
    this.#counts.set(key, n + 1)
    return faults.failStatus
  }
}
