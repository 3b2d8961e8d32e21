import t from 'tap'
import { InvalidRequestError, type TtsRequest } from '../lib/index.js'
import { checkTtsRequest, resolveTtsRequest, REQUEST_DEFAULTS } from '../lib/core.js'

const ok: TtsRequest = { text: 'Hello.', voice_id: 'magnus' }

t.test('defaults: 24 kHz pcm, lightning_v3.1, speed 1; unset fields are not sent', async (t) => {
  const r = resolveTtsRequest({ ...ok, language: undefined })
  t.same(r, { ...REQUEST_DEFAULTS, ...ok })
  t.notOk('language' in r)
  t.equal(resolveTtsRequest({ ...ok, sample_rate: 44100 }).sample_rate, 44100)
})

t.test('every field of the contract accepts its valid values', async (t) => {
  const full: TtsRequest = {
    text: 'x',
    voice_id: 'voice_abc',
    model: 'lightning_v3.1_pro',
    sample_rate: 8000,
    speed: 2,
    language: 'hi',
    number_pronunciation_language: 'auto',
    math_notation: true,
    output_format: 'alaw',
    pronunciation_dicts: ['d1', 'd2'],
    word_timestamps: false,
    session_id: 'S-1.a_b',
    request_id: 'r'.repeat(128),
  }
  t.same(checkTtsRequest(full, { unknownFields: 'reject' }), [])
  t.same(checkTtsRequest({ ...ok, speed: 0.5 }, { unknownFields: 'reject' }), [])
})

const bad: [string, Record<string, unknown>, string, RegExp][] = [
  ['text missing', { voice_id: 'm' }, 'text', /Required/],
  ['text empty', { text: '', voice_id: 'm' }, 'text', /non-space/],
  ['text blank', { text: '  \n', voice_id: 'm' }, 'text', /non-space/],
  ['text not a string', { text: 5, voice_id: 'm' }, 'text', /Expected string, received number/],
  ['voice_id missing', { text: 'x' }, 'voice_id', /Required/],
  ['voice_id empty', { text: 'x', voice_id: '' }, 'voice_id', /empty/],
  ['model', { ...ok, model: 'lightning-v3.1' }, 'model', /Invalid enum value/],
  ['sample_rate', { ...ok, sample_rate: 48000 }, 'sample_rate', /Invalid enum value/],
  ['sample_rate as string', { ...ok, sample_rate: '24000' }, 'sample_rate', /Invalid enum value/],
  ['output_format mulaw', { ...ok, output_format: 'mulaw' }, 'output_format', /did you mean 'ulaw'/],
  ['language', { ...ok, language: 'english' }, 'language', /Invalid enum value/],
  ['number_pronunciation_language', { ...ok, number_pronunciation_language: 'xx' }, 'number_pronunciation_language', /Invalid enum/],
  ['speed too low', { ...ok, speed: 0.49 }, 'speed', /at least 0.5/],
  ['speed too high', { ...ok, speed: 2.01 }, 'speed', /at most 2/],
  ['speed NaN', { ...ok, speed: NaN }, 'speed', /Expected number/],
  ['speed string', { ...ok, speed: '1' }, 'speed', /Expected number/],
  ['math_notation', { ...ok, math_notation: 'yes' }, 'math_notation', /Expected boolean/],
  ['word_timestamps', { ...ok, word_timestamps: 1 }, 'word_timestamps', /Expected boolean/],
  ['session_id pattern', { ...ok, session_id: 'a b' }, 'session_id', /only letters/],
  ['session_id header injection', { ...ok, session_id: 'a\r\nx-evil: 1' }, 'session_id', /only letters/],
  ['session_id too long', { ...ok, session_id: 's'.repeat(129) }, 'session_id', /1 to 128/],
  ['request_id empty', { ...ok, request_id: '' }, 'request_id', /1 to 128/],
  ['request_id type', { ...ok, request_id: 12 }, 'request_id', /Expected string/],
  ['pronunciation_dicts not array', { ...ok, pronunciation_dicts: 'd1' }, 'pronunciation_dicts', /Expected array/],
  ['pronunciation_dicts item', { ...ok, pronunciation_dicts: ['d1', 3] }, 'pronunciation_dicts.1', /non-empty strings/],
  ['unknown field (misspelling)', { ...ok, sampleRate: 24000 }, 'sampleRate', /unknown field/],
]

for (const [name, body, field, message] of bad) {
  t.test(`rejects: ${name}`, async (t) => {
    const err = t.throws(() => resolveTtsRequest(body as unknown as TtsRequest)) as InvalidRequestError
    t.ok(err instanceof InvalidRequestError)
    t.equal(err.code, 'ERR_INVALID_REQUEST')
    t.equal(err.field, field)
    t.match(err.message, message)
    t.match(err.message, field)
  })
}

t.test('all problems are reported, the first names the error', async (t) => {
  const err = t.throws(() => resolveTtsRequest({ text: '', voice_id: '', speed: 9 } as TtsRequest)) as InvalidRequestError
  t.equal(err.issues.length, 3)
  t.match(err.message, /and 2 more/)
})

t.test('strip mode (the server) ignores unknown fields; a non-object body is one issue', async (t) => {
  t.same(checkTtsRequest({ ...ok, consistency: 0.5 }, { unknownFields: 'strip' }), [])
  t.equal(checkTtsRequest([], { unknownFields: 'strip' }).length, 1)
  t.equal(checkTtsRequest(null, { unknownFields: 'strip' }).length, 1)
})
