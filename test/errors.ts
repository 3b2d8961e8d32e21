import t from 'tap'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'
import * as lib from '../lib/index.js'

const delivered = { chunks: 2, bytes: 100, durationMs: 2 }
const table: [lib.LightningStreamError, string, string][] = [
  [new lib.LightningStreamError('x', 'ERR_ESPEAK_FAILED'), 'LightningStreamError', 'ERR_ESPEAK_FAILED'],
  [new lib.ProtocolError('no voices array'), 'ProtocolError', 'ERR_PROTOCOL'],
  [new lib.InvalidRequestError([{ path: ['speed'], code: 'too_big', message: 'too fast' }]), 'InvalidRequestError', 'ERR_INVALID_REQUEST'],
  [new lib.InvalidOptionError('baseUrl', 'bad'), 'InvalidOptionError', 'ERR_INVALID_OPTION'],
  [new lib.MissingApiKeyError(), 'MissingApiKeyError', 'ERR_MISSING_API_KEY'],
  [new lib.ApiError({ status: 429, body: {}, details: [], headers: {}, ids: { requestId: 'r1', sessionId: undefined, externalRequestId: undefined, externalSessionId: undefined } }), 'ApiError', 'ERR_API'],
  [new lib.ConnectionError('reset'), 'ConnectionError', 'ERR_CONNECTION'],
  [new lib.TimeoutError('idle', 5), 'TimeoutError', 'ERR_TIMEOUT'],
  [new lib.AbortError(), 'AbortError', 'ERR_ABORTED'],
  [new lib.SseParseError('big'), 'SseParseError', 'ERR_SSE_PARSE'],
  [new lib.ChunkError('ERR_CHUNK_INVALID_BASE64', 3, 'bad'), 'ChunkError', 'ERR_CHUNK_INVALID_BASE64'],
  [new lib.ServerStreamError({ chunkIndex: 1, status: 'error', message: 'm', frame: {}, delivered }), 'ServerStreamError', 'ERR_SERVER_ERROR_FRAME'],
  [new lib.StreamTruncatedError(delivered), 'StreamTruncatedError', 'ERR_STREAM_TRUNCATED'],
  [new lib.AudioFormatError('odd'), 'AudioFormatError', 'ERR_AUDIO_FORMAT'],
]

for (const [err, name, code] of table) {
  t.test(name, async (t) => {
    t.equal(err.name, name)
    t.equal(err.code, code)
    t.ok(err instanceof lib.LightningStreamError)
    t.ok(err instanceof Error)
    t.ok(err.message.length > 0)
    const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>
    t.equal(json['code'], code)
    t.equal(json['name'], name)
    t.match(inspect(err), code)
  })
}

t.test('subclass checks are exact', async (t) => {
  t.ok(new lib.MissingApiKeyError() instanceof lib.InvalidOptionError)
  t.notOk(new lib.AbortError() instanceof lib.TimeoutError)
  t.notOk(new Error('x') instanceof lib.LightningStreamError)
  t.notOk((null as unknown) instanceof lib.LightningStreamError)
})

t.test('ApiError says status, hint, details and request id', async (t) => {
  const e = new lib.ApiError({ status: 400, body: {}, details: ['speed: too fast'], headers: {}, ids: { requestId: 'abc', sessionId: undefined, externalRequestId: undefined, externalSessionId: undefined } })
  t.equal(e.message, 'Lightning API 400 invalid request: speed: too fast (request id abc)')
})

t.test('chunk errors name the chunk message by its index', async (t) => {
  const bad = new lib.ChunkError('ERR_CHUNK_INVALID_BASE64', 3, 'bad')
  t.equal(bad.chunkIndex, 3)
  t.equal(bad.message, 'Chunk 3: bad')
  const server = new lib.ServerStreamError({ chunkIndex: 1, status: 'error', message: 'm', frame: {}, delivered })
  t.equal(server.chunkIndex, 1)
  t.equal(server.message, 'Chunk 1: server error (status error): m')
  t.equal(new lib.StreamTruncatedError(delivered).message, 'Stream ended without the terminator after 2 audio chunks, 100 bytes (2 ms) delivered')
})

t.test('instanceof holds across the ESM and CommonJS builds', async (t) => {
  const require = createRequire(import.meta.url)
  let cjs: typeof lib
  try {
    cjs = require('../dist/cjs/index.js') as typeof lib
  } catch {
    t.fail('dist/cjs is missing: run `npm run build` before the tests')
    return
  }
  t.ok(new cjs.ApiError({ status: 500, body: '', details: [], headers: {}, ids: {} as never }) instanceof lib.ApiError)
  t.ok(new lib.AbortError() instanceof cjs.LightningStreamError)
  t.notOk(new lib.AbortError() instanceof cjs.TimeoutError)
})
