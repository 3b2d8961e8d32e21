/**
 * The Lightning v3.1 request body (`TtsRequest`), its enums, defaults and validation.
 *
 * One validator serves both sides: the client rejects a bad request before a byte is sent, and
 * the emulator answers the same problems with the vendor's zod-style 400 body.
 *
 * @module
 */
import { InvalidRequestError, type RequestIssue } from '../errors.js'

/** TTS model names (underscore spelling; the voices route uses hyphens). @category Request rules */
export const MODELS = ['lightning_v3.1', 'lightning_v3.1_pro'] as const
/** A TTS model name. @category Request rules */
export type Model = (typeof MODELS)[number]

/** Output sample rates the API accepts. @category Request rules */
export const SAMPLE_RATES = [8000, 16000, 24000, 44100] as const
/** An output sample rate. @category Request rules */
export type SampleRate = (typeof SAMPLE_RATES)[number]

/** Output formats the API accepts. @category Request rules */
export const OUTPUT_FORMATS = ['pcm', 'mp3', 'wav', 'ulaw', 'alaw'] as const
/** An output format. @category Request rules */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

/** Language codes the API accepts for `language` and `number_pronunciation_language`. @category Request rules */
export const LANGUAGES = [
  'auto', 'en', 'hi', 'mr', 'kn', 'ta', 'bn', 'gu', 'te', 'ml', 'pa', 'or', 'es', 'de', 'fr', 'it',
  'nl', 'sv', 'pt', 'ru', 'el', 'fi', 'no', 'pl', 'ar', 'zh', 'id', 'ja', 'ko', 'ms', 'tr', 'vi',
] as const
/** A language code. @category Request rules */
export type Language = (typeof LANGUAGES)[number]

/**
 * A text-to-speech request, in the wire's snake_case (the body of `POST /waves/v1/tts` and
 * `POST /waves/v1/tts/live`).
 * @category Client
 */
export interface TtsRequest {
  /** The text to speak. Required, non-empty. Vendor guidance: ≤ 250 characters per request. */
  text: string
  /** Catalog voice id (e.g. `magnus`) or a clone id `voice_…`. Required. */
  voice_id: string
  /** @defaultValue `'lightning_v3.1'` */
  model?: Model | undefined
  /**
   * Output sample rate.
   * @defaultValue `24000` in this library (the API's own default is 44100): 24 kHz is the vendor's
   * recommended playback rate, half the bytes of 44.1 kHz, and an exact ×2 to the 48 kHz that
   * Discord, Opus and WebRTC use, so upsampling needs no fractional resampler.
   */
  sample_rate?: SampleRate | undefined
  /** Speaking rate, 0.5 to 2. @defaultValue `1` */
  speed?: number | undefined
  /** Synthesis language; sent only when set (the vendor's default differs between pages). */
  language?: Language | undefined
  /** Language in which numbers are read. */
  number_pronunciation_language?: Language | undefined
  /** Read digit-flanked math symbols as words. @defaultValue `false` */
  math_notation?: boolean | undefined
  /**
   * Output encoding.
   * @defaultValue `'pcm'`: stream raw PCM and build containers (WAV, Ogg/Opus) locally; the API's
   * framing of `wav`/`mp3` over SSE is unspecified.
   */
  output_format?: OutputFormat | undefined
  /** Pronunciation dictionary ids. */
  pronunciation_dicts?: string[] | undefined
  /** Accepted and ignored by the HTTP routes (only the WebSocket emits timestamps). */
  word_timestamps?: boolean | undefined
  /** Your session id (≤ 128 chars of `[A-Za-z0-9_.-]`), echoed as `X-External-Session-Id`. */
  session_id?: string | undefined
  /** Your request id (same rules), echoed as `X-External-Request-Id`. */
  request_id?: string | undefined
}

/** A request after validation, with this library's defaults applied. @category Request rules */
export interface ResolvedTtsRequest extends TtsRequest {
  /** The model, defaulted. */
  model: Model
  /** The sample rate, defaulted to 24000. */
  sample_rate: SampleRate
  /** The speed, defaulted to 1. */
  speed: number
  /** The output format, defaulted to `'pcm'`. */
  output_format: OutputFormat
}

/** The shape of {@link REQUEST_DEFAULTS}. @category Request rules */
export interface RequestDefaults {
  /** `'lightning_v3.1'` */
  readonly model: 'lightning_v3.1'
  /** `24000`: an exact ×2 to 48 kHz sinks. */
  readonly sample_rate: 24000
  /** `1` */
  readonly speed: 1
  /** `'pcm'`: containers are built locally. */
  readonly output_format: 'pcm'
}

/** The library's defaults for requests (see {@link TtsRequest} for why). @category Request rules */
export const REQUEST_DEFAULTS: RequestDefaults = {
  model: 'lightning_v3.1',
  sample_rate: 24000,
  speed: 1,
  output_format: 'pcm',
}

const ID_PATTERN = /^[a-zA-Z0-9_\-.]+$/
const KNOWN_FIELDS = new Set([
  'text', 'voice_id', 'model', 'sample_rate', 'speed', 'language', 'number_pronunciation_language',
  'math_notation', 'output_format', 'pronunciation_dicts', 'word_timestamps', 'session_id', 'request_id',
])

/** Options of {@link checkTtsRequest}. @category Request rules */
export interface CheckOptions {
  /**
   * What to do with fields the contract does not list: `'reject'` (the client: a misspelled field
   * would otherwise be dropped silently by the server) or `'strip'` (the server's behaviour).
   */
  unknownFields: 'reject' | 'strip'
}

function enumIssue(path: string, received: unknown, options: readonly (string | number)[]): RequestIssue & Record<string, unknown> {
  const hint = path === 'output_format' && received === 'mulaw' ? " (did you mean 'ulaw'?)" : ''
  return {
    code: 'invalid_enum_value',
    path: [path],
    received,
    options: [...options],
    message: `Invalid enum value. Expected ${options.map((o) => JSON.stringify(o)).join(' | ')}, received ${JSON.stringify(received)}${hint}`,
  }
}

function typeIssue(path: string, expected: string, received: unknown): RequestIssue & Record<string, unknown> {
  const got = received === null ? 'null' : Array.isArray(received) ? 'array' : typeof received
  return {
    code: 'invalid_type',
    path: [path],
    expected,
    received: got,
    message: received === undefined ? 'Required' : `Expected ${expected}, received ${got}`,
  }
}

/**
 * Checks a request body against the Lightning v3.1 contract and returns every problem found
 * (an empty array when the request is valid). Issues use the vendor's zod shape.
 * @category Request rules
 */
export function checkTtsRequest(body: unknown, options: CheckOptions): RequestIssue[] {
  const issues: RequestIssue[] = []
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return [typeIssue('', 'object', body)].map((i) => ({ ...i, path: [] }))
  }
  const b = body as Record<string, unknown>

  if (typeof b['text'] !== 'string') issues.push(typeIssue('text', 'string', b['text']))
  else if (b['text'].trim().length === 0) {
    issues.push({ code: 'too_small', path: ['text'], message: 'text must contain at least one non-space character' })
  }
  if (typeof b['voice_id'] !== 'string') issues.push(typeIssue('voice_id', 'string', b['voice_id']))
  else if (b['voice_id'].length === 0) issues.push({ code: 'too_small', path: ['voice_id'], message: 'voice_id must not be empty' })

  const enumField = (name: string, values: readonly (string | number)[]) => {
    const v = b[name]
    if (v !== undefined && !values.includes(v as never)) issues.push(enumIssue(name, v, values))
  }
  enumField('model', MODELS)
  enumField('sample_rate', SAMPLE_RATES)
  enumField('output_format', OUTPUT_FORMATS)
  enumField('language', LANGUAGES)
  enumField('number_pronunciation_language', LANGUAGES)

  const speed = b['speed']
  if (speed !== undefined) {
    if (typeof speed !== 'number' || !Number.isFinite(speed)) issues.push(typeIssue('speed', 'number', speed))
    else if (speed < 0.5) issues.push({ code: 'too_small', path: ['speed'], message: `speed must be at least 0.5 (got ${speed})` })
    else if (speed > 2) issues.push({ code: 'too_big', path: ['speed'], message: `speed must be at most 2 (got ${speed})` })
  }
  for (const name of ['math_notation', 'word_timestamps']) {
    const v = b[name]
    if (v !== undefined && typeof v !== 'boolean') issues.push(typeIssue(name, 'boolean', v))
  }
  for (const name of ['session_id', 'request_id']) {
    const v = b[name]
    if (v === undefined) continue
    if (typeof v !== 'string') issues.push(typeIssue(name, 'string', v))
    else if (v.length === 0 || v.length > 128) {
      issues.push({ code: v.length === 0 ? 'too_small' : 'too_big', path: [name], message: `${name} must be 1 to 128 characters (got ${v.length})` })
    } else if (!ID_PATTERN.test(v)) {
      issues.push({ code: 'invalid_string', path: [name], message: `${name} may contain only letters, digits, '_', '-' and '.'` })
    }
  }
  const dicts = b['pronunciation_dicts']
  if (dicts !== undefined) {
    if (!Array.isArray(dicts)) issues.push(typeIssue('pronunciation_dicts', 'array', dicts))
    else {
      dicts.forEach((d, i) => {
        if (typeof d !== 'string' || d.length === 0) {
          issues.push({ code: 'invalid_type', path: ['pronunciation_dicts', i], message: 'pronunciation dictionary ids must be non-empty strings' })
        }
      })
    }
  }
  if (options.unknownFields === 'reject') {
    for (const key of Object.keys(b)) {
      if (!KNOWN_FIELDS.has(key) && b[key] !== undefined) {
        issues.push({ code: 'unrecognized_keys', path: [key], message: `unknown field '${key}' (the API would drop it silently)` })
      }
    }
  }
  return issues
}

/**
 * Validates a request and applies this library's defaults ({@link REQUEST_DEFAULTS}).
 * Fields left `undefined` are not sent.
 * @throws {@link InvalidRequestError} naming the first bad field, with every issue attached.
 * @category Request rules
 */
export function resolveTtsRequest(request: TtsRequest): ResolvedTtsRequest {
  const issues = checkTtsRequest(request, { unknownFields: 'reject' })
  if (issues.length) throw new InvalidRequestError(issues)
  const out: Record<string, unknown> = { ...REQUEST_DEFAULTS }
  for (const [k, v] of Object.entries(request)) if (v !== undefined) out[k] = v
  return out as unknown as ResolvedTtsRequest
}
