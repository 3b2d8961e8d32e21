/**
 * What the server answered, as the client reports it: response ids, error bodies → {@link ApiError},
 * undici failures → coded errors.
 * @internal
 * @module
 */
import type { Dispatcher } from 'undici'
import {
  AbortError,
  ApiError,
  ConnectionError,
  LightningStreamError,
  TimeoutError,
  type ResponseIds,
} from '../errors.js'

/** Largest error body read from a failed response. */
export const MAX_ERROR_BODY = 64 * 1024

/** Flattens undici's header record to lower-case single strings. */
export function flatHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** Reads the vendor's four id headers; empty values become undefined. */
export function responseIds(headers: Record<string, string>): ResponseIds {
  const get = (name: string) => (headers[name] ? headers[name] : undefined)
  return {
    requestId: get('x-request-id'),
    sessionId: get('x-session-id'),
    externalRequestId: get('x-external-request-id'),
    externalSessionId: get('x-external-session-id'),
  }
}

/**
 * Pulls readable messages out of both documented 400 shapes (`{error, message}` and zod's
 * `{error: [{code, path, message}]}`), and `errors[]`, `detail`, `reason` as the SDK does.
 */
export function errorDetails(body: unknown): string[] {
  if (typeof body === 'string') return body.trim() ? [body.trim().slice(0, 300)] : []
  if (body === null || typeof body !== 'object') return []
  const b = body as Record<string, unknown>
  const out: string[] = []
  const err = b['error']
  if (Array.isArray(err)) {
    for (const issue of err) {
      if (issue && typeof issue === 'object') {
        const i = issue as { path?: unknown; message?: unknown }
        const path = Array.isArray(i.path) ? i.path.join('.') : ''
        out.push(`${path ? `${path}: ` : ''}${typeof i.message === 'string' ? i.message : JSON.stringify(issue)}`)
      } else out.push(String(issue))
    }
  }
  if (typeof b['message'] === 'string') out.push(b['message'])
  else if (typeof err === 'string') out.push(err)
  else if (err && typeof err === 'object' && !Array.isArray(err) && typeof (err as { message?: unknown }).message === 'string') {
    out.push((err as { message: string }).message)
  }
  if (Array.isArray(b['errors'])) for (const e of b['errors']) out.push(typeof e === 'string' ? e : JSON.stringify(e))
  for (const k of ['detail', 'reason']) if (typeof b[k] === 'string') out.push(b[k] as string)
  return out
}

/** Reads at most {@link MAX_ERROR_BODY} bytes of a failed response and builds its {@link ApiError}. */
export async function apiErrorFrom(res: Dispatcher.ResponseData): Promise<ApiError> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer)
      size += (chunk as Buffer).length
      if (size >= MAX_ERROR_BODY) break
    }
  } catch {
    // A body that fails mid-read still yields the status; keep what was read.
  } finally {
    res.body.destroy()
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8')
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // Not JSON: keep the text.
  }
  const headers = flatHeaders(res.headers)
  return new ApiError({ status: res.statusCode, body, details: errorDetails(body), headers, ids: responseIds(headers) })
}

/** Maps an undici or network failure to a coded error; leaves library errors alone. */
export function toLightningError(err: unknown, timeouts: { connect?: number | undefined; headers?: number | undefined; idle?: number | undefined } = {}): LightningStreamError {
  if (err instanceof LightningStreamError) return err
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : undefined
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TimeoutError('headers', timeouts.headers, { cause: err })
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError('idle', timeouts.idle, { cause: err })
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError('connect', timeouts.connect, { cause: err })
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return new AbortError(undefined, { cause: err })
  }
  if (e?.name === 'AbortError') return new AbortError(undefined, { cause: err })
  const msg = typeof e?.message === 'string' ? e.message : String(err)
  return new ConnectionError(`Connection failed${code ? ` (${code})` : ''}: ${msg}`, { cause: err })
}
