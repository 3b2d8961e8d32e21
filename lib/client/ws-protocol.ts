/**
 * The Lightning WebSocket protocol (`wss://…/waves/v1/tts/live`, `reference/lightning-api.md` §9),
 * as pure functions: the request a {@link LightningClient.streamText} call takes, the client
 * messages it sends, and the server frames it reads. No socket here.
 *
 * Client messages (§9.2, §9.3): every message repeats the whole configuration (as the vendor's
 * SDK does), with `text`, `continue` and `flush`:
 * - a fragment: `{…config, text, continue: true, flush: false}`;
 * - a mid-stream flush: `{…config, text: "", continue: true, flush: true}`;
 * - the end of input: `{…config, text: "", continue: false, flush: true}`;
 * - the keep-alive: `{…config, text: " ", continue: true, flush: false}` (one space, as the
 *   vendor's LiveKit plugin sends every 30 s; any message resets the server's idle clock).
 *
 * Server frames (§9.4, §9.7): `chunk` (`data.audio`, base64 PCM), `word_timestamp`
 * (`data: {id, word, start, end}`), `complete`, and `error` in two shapes
 * (`{error: {message, code}}` or a flat `message`). Extra fields are tolerated; the end is
 * `status === "complete"`; an unknown `status` is ignored.
 *
 * @module
 */
import { ChunkError, InvalidRequestError, type AudioDelivered, type RequestIssue } from '../errors.js'
import { decodeBase64Strict } from '../audio/audio-chunk-decoder.core.js'
import { checkTtsRequest, REQUEST_DEFAULTS, type ResolvedTtsRequest, type TtsRequest } from './request.js'

/**
 * A {@link LightningClient.streamText} request: the usual request without `text` (the text is
 * written to the stream), plus the WebSocket's buffering fields.
 * @category Client
 */
export interface StreamTextRequest extends Omit<TtsRequest, 'text' | 'output_format'> {
  /** The WebSocket always returns PCM; only `'pcm'` is accepted. @defaultValue `'pcm'` */
  output_format?: 'pcm' | undefined
  /**
   * Emit `'word'` events with each word's start and end in the audio. Only some voices emit them
   * (the vendor lists `meher`, `devansh`, `kartik`, `maithili`, `liam`, `avery`); others accept the
   * flag and emit none. Not available with `transport: 'sse'` (refused up front).
   * @defaultValue `false`
   */
  word_timestamps?: boolean | undefined
  /**
   * Longest time the server waits for more text before it synthesises what it holds, ms (0–1000);
   * 0 disables time-based flushing (the vendor's LiveKit guide suggests 200–400 for fewer, larger
   * chunks). The client also flushes at every sentence end it decides (`autoFlush`).
   * @defaultValue not sent (the server's default, 0)
   */
  max_buffer_flush_ms?: number | undefined
  /**
   * How long the server waits after the last audio chunk before it sends `complete`, ms (0–10000).
   * @defaultValue `0` in this library: it is sent with the end of input, when no more text can
   * come, so waiting (the vendor's default is 4000) would only delay the end of the stream.
   */
  complete_backoff_ms?: number | undefined
}

/** A validated {@link StreamTextRequest} with this library's defaults. @category Request rules */
export interface ResolvedStreamTextRequest extends Omit<ResolvedTtsRequest, 'text' | 'output_format'> {
  /** Always `'pcm'`. */
  output_format: 'pcm'
  /** Server-side time flush, when set. */
  max_buffer_flush_ms?: number | undefined
  /** Wait before `complete`, ms. */
  complete_backoff_ms: number
}

/** The extra fields of the WebSocket request, with their ranges. */
const WS_FIELDS = { max_buffer_flush_ms: [0, 1000, true], complete_backoff_ms: [0, 10_000, false] } as const

/**
 * Validates a {@link StreamTextRequest} (the same checks as `pcm()`, plus the WebSocket fields) and
 * applies the defaults.
 * @throws {@link InvalidRequestError} before anything is sent.
 * @category Request rules
 */
export function resolveStreamTextRequest(request: StreamTextRequest): ResolvedStreamTextRequest {
  if (request === null || typeof request !== 'object') {
    throw new InvalidRequestError([{ path: [], code: 'invalid_type', message: 'the request must be an object' }])
  }
  const issues: RequestIssue[] = []
  const { max_buffer_flush_ms, complete_backoff_ms, ...rest } = request as StreamTextRequest & { text?: unknown }
  if ('text' in rest && (rest as { text?: unknown }).text !== undefined) {
    issues.push({ path: ['text'], code: 'custom', message: 'streamText() takes its text from write()/pushText(), not from the request' })
  }
  if (rest.output_format !== undefined && rest.output_format !== 'pcm') {
    issues.push({ path: ['output_format'], code: 'custom', message: `the WebSocket route returns PCM only (got ${JSON.stringify(rest.output_format)}); convert locally` })
  }
  const { text: _text, ...fields } = rest as typeof rest & { text?: unknown }
  issues.push(...checkTtsRequest({ ...fields, text: '-' }, { unknownFields: 'reject' }).filter((i) => i.path[0] !== 'text'))
  for (const [name, value] of [['max_buffer_flush_ms', max_buffer_flush_ms], ['complete_backoff_ms', complete_backoff_ms]] as const) {
    if (value === undefined) continue
    const [min, max, integer] = WS_FIELDS[name]
    if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      issues.push({ path: [name], code: 'invalid_type', message: `${name} must be ${integer ? 'an integer' : 'a number'} (got ${JSON.stringify(value)})` })
    } else if (value < min || value > max) {
      issues.push({ path: [name], code: value < min ? 'too_small' : 'too_big', message: `${name} must be ${min} to ${max} (got ${value})` })
    }
  }
  if (issues.length) throw new InvalidRequestError(issues)
  const out: Record<string, unknown> = { ...REQUEST_DEFAULTS, complete_backoff_ms: 0 }
  for (const [k, v] of Object.entries({ ...fields, max_buffer_flush_ms, complete_backoff_ms })) if (v !== undefined) out[k] = v
  out['output_format'] = 'pcm'
  return out as unknown as ResolvedStreamTextRequest
}

/** What a message is for. */
export type WsMessageKind = 'text' | 'flush' | 'end' | 'keepalive'

/**
 * Serialises one client message: the configuration, then `text`, `continue` and `flush` for the
 * `kind` (see the module notes). `output_format` is sent as `'pcm'`.
 */
export function wsMessage(config: ResolvedStreamTextRequest, kind: WsMessageKind, text = ''): string {
  const body: Record<string, unknown> = { ...config }
  body['text'] = kind === 'keepalive' ? ' ' : kind === 'text' ? text : ''
  body['continue'] = kind !== 'end'
  body['flush'] = kind === 'flush' || kind === 'end'
  return JSON.stringify(body)
}

/** A word's place in the audio, in seconds. @category Client */
export interface WordTimestamp {
  /** The word as written in the input (the vendor does not normalise it: `"$100"`). */
  word: string
  /** Start, seconds of audio from the start of the stream. */
  start: number
  /** End, seconds. */
  end: number
  /**
   * 0-based index of the word in this stream (the vendor's `id` restarts per request;
   * `TextToSpeechStream` numbers words across the whole stream).
   */
  index: number
}

/** One server frame, read. */
export type WsFrame =
  | { type: 'chunk'; audio: Buffer }
  | { type: 'word'; word: WordTimestamp }
  | { type: 'complete' }
  | { type: 'error'; message: string | undefined; code: string | undefined; frame: Record<string, unknown> }
  | { type: 'other'; status: unknown }

/**
 * The message of an error frame, from either shape: `error.message`, then a top-level
 * `message`, then a string `error`.
 */
export function wsErrorMessage(frame: Record<string, unknown>): { message: string | undefined; code: string | undefined } {
  const err = frame['error']
  const nested = err !== null && typeof err === 'object' && !Array.isArray(err) ? (err as Record<string, unknown>) : undefined
  const code = nested?.['code'] ?? frame['code']
  const message =
    typeof nested?.['message'] === 'string' ? nested['message'] : typeof frame['message'] === 'string' ? frame['message'] : typeof err === 'string' ? err : undefined
  return { message, code: code === undefined || code === null ? undefined : String(code) }
}

/**
 * Reads one text frame. `index` is the 0-based message number, the errors' `chunkIndex`.
 * @throws {@link ChunkError} (`ERR_CHUNK_INVALID_JSON`, `ERR_CHUNK_INVALID_BASE64`, `ERR_CHUNK_INVALID`)
 *   with `delivered` from the callback.
 */
export function parseWsFrame(text: string, index: number, delivered: () => AudioDelivered): WsFrame {
  let msg: unknown
  try {
    msg = JSON.parse(text)
  } catch (err) {
    throw new ChunkError('ERR_CHUNK_INVALID_JSON', index, `WebSocket frame is not valid JSON (${text.length} chars)`, { cause: err, delivered: delivered() })
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    throw new ChunkError('ERR_CHUNK_INVALID', index, 'WebSocket frame is not a JSON object', { delivered: delivered() })
  }
  const m = msg as Record<string, unknown>
  const data = m['data'] !== null && typeof m['data'] === 'object' ? (m['data'] as Record<string, unknown>) : undefined
  switch (m['status']) {
    case 'chunk': {
      const audio = data?.['audio']
      if (typeof audio !== 'string') throw new ChunkError('ERR_CHUNK_INVALID', index, 'chunk frame without data.audio', { delivered: delivered() })
      const pcm = decodeBase64Strict(audio)
      if (pcm === null) throw new ChunkError('ERR_CHUNK_INVALID_BASE64', index, `data.audio is not valid base64 (${audio.length} chars)`, { delivered: delivered() })
      return { type: 'chunk', audio: pcm }
    }
    case 'word_timestamp': {
      const word = data?.['word']
      const start = data?.['start']
      const end = data?.['end']
      const id = data?.['id']
      if (typeof word !== 'string' || typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end)) {
        throw new ChunkError('ERR_CHUNK_INVALID', index, 'word_timestamp frame without data.word, data.start and data.end', { delivered: delivered() })
      }
      return { type: 'word', word: { word, start, end, index: typeof id === 'number' ? id : -1 } }
    }
    case 'complete':
      return { type: 'complete' }
    case 'error':
      return { type: 'error', ...wsErrorMessage(m), frame: m }
    default:
      // A frame without status but with an error field is an error too (tolerance, §11).
      if (m['status'] === undefined && m['error'] !== undefined) return { type: 'error', ...wsErrorMessage(m), frame: m }
      return { type: 'other', status: m['status'] }
  }
}

/**
 * The WebSocket URL for a base URL (`http` → `ws`, `https` → `wss`, any path prefix kept), with
 * `?timeout=` in seconds when given.
 */
export function wsUrl(baseUrl: string, timeoutSeconds: number | undefined): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/waves/v1/tts/live`)
  if (timeoutSeconds !== undefined) url.searchParams.set('timeout', String(timeoutSeconds))
  return url.href
}
