import t from 'tap'
import { ChunkError, InvalidRequestError } from '../lib/index.js'
import { resolveStreamTextRequest } from '../lib/core.js'
import { parseWsFrame, wsErrorMessage, wsMessage, wsUrl } from '../lib/client/ws-protocol.js'

const delivered = () => ({ chunks: 3, bytes: 1920, durationMs: 40 })
const config = resolveStreamTextRequest({ voice_id: 'magnus', word_timestamps: true })

t.test('the request: defaults, the WebSocket fields, and every bad field refused before sending', async (t) => {
  t.match(config, { voice_id: 'magnus', sample_rate: 24000, model: 'lightning_v3.1', speed: 1, output_format: 'pcm', complete_backoff_ms: 0, word_timestamps: true })
  t.notOk('max_buffer_flush_ms' in config, 'not sent unless set')
  t.match(resolveStreamTextRequest({ voice_id: 'x', max_buffer_flush_ms: 300, complete_backoff_ms: 4000 }), { max_buffer_flush_ms: 300, complete_backoff_ms: 4000 })
  const bad: [string, Record<string, unknown>][] = [
    ['text', { voice_id: 'magnus', text: 'hi' }],
    ['output_format', { voice_id: 'magnus', output_format: 'mp3' }],
    ['max_buffer_flush_ms', { voice_id: 'magnus', max_buffer_flush_ms: 1001 }],
    ['max_buffer_flush_ms', { voice_id: 'magnus', max_buffer_flush_ms: 2.5 }],
    ['complete_backoff_ms', { voice_id: 'magnus', complete_backoff_ms: -1 }],
    ['speed', { voice_id: 'magnus', speed: 3 }],
    ['voice_id', {}],
    ['sampleRate', { voice_id: 'magnus', sampleRate: 24000 }],
  ]
  for (const [field, req] of bad) {
    const err = t.throws(() => resolveStreamTextRequest(req as never)) as unknown as InvalidRequestError
    t.ok(err instanceof InvalidRequestError, field)
    t.equal(err.field, field)
  }
})

t.test('client messages: fragment, mid-stream flush, end, keep-alive', async (t) => {
  const msg = (kind: Parameters<typeof wsMessage>[1], text?: string) => JSON.parse(wsMessage(config, kind, text)) as Record<string, unknown>
  t.match(msg('text', 'Hello'), { voice_id: 'magnus', text: 'Hello', continue: true, flush: false, word_timestamps: true, sample_rate: 24000, output_format: 'pcm' })
  t.match(msg('flush'), { text: '', continue: true, flush: true })
  t.match(msg('end'), { text: '', continue: false, flush: true, complete_backoff_ms: 0 })
  t.match(msg('keepalive'), { text: ' ', continue: true, flush: false })
})

t.test('server frames: chunk, word_timestamp, complete, unknown status; extra fields tolerated', async (t) => {
  const pcm = Buffer.from([1, 2, 3, 4, 5, 6])
  t.same(parseWsFrame(JSON.stringify({ session_id: 's', request_id: 'r', extra: 1, status: 'chunk', data: { audio: pcm.toString('base64') } }), 0, delivered), { type: 'chunk', audio: pcm })
  t.same(parseWsFrame('{"status":"word_timestamp","data":{"id":2,"word":"$100","start":1.12,"end":1.92}}', 1, delivered), {
    type: 'word',
    word: { word: '$100', start: 1.12, end: 1.92, index: 2 },
  })
  t.same(parseWsFrame('{"status":"complete","message":"All chunks sent","done":true}', 2, delivered), { type: 'complete' })
  t.same(parseWsFrame('{"status":"queued"}', 3, delivered), { type: 'other', status: 'queued' })
})

t.test('both error shapes, and a string error', async (t) => {
  t.same(wsErrorMessage({ status: 'error', error: { message: 'nested', code: 'E1' } }), { message: 'nested', code: 'E1' })
  t.same(wsErrorMessage({ status: 'error', message: 'Connection timed out after 60 seconds of inactivity' }), { message: 'Connection timed out after 60 seconds of inactivity', code: undefined })
  t.same(wsErrorMessage({ status: 'error', error: 'plain' }), { message: 'plain', code: undefined })
  t.same(wsErrorMessage({ status: 'error', error: { message: 'first' }, message: 'second' }), { message: 'first', code: undefined }, 'error.message wins')
  t.match(parseWsFrame('{"error":{"message":"no status"}}', 0, delivered), { type: 'error', message: 'no status' })
})

t.test('malformed frames are coded errors with delivered', async (t) => {
  const cases: [string, string][] = [
    ['{"status":"chunk","data":{"audio":"AA!*AA=="}}', 'ERR_CHUNK_INVALID_BASE64'],
    ['{"status":"chunk","data":{"audio":"AAA-"}}', 'ERR_CHUNK_INVALID_BASE64'],
    ['{"status":"chunk","data":{}}', 'ERR_CHUNK_INVALID'],
    ['{"status":"chunk"', 'ERR_CHUNK_INVALID_JSON'],
    ['[1]', 'ERR_CHUNK_INVALID'],
    ['{"status":"word_timestamp","data":{"word":"x"}}', 'ERR_CHUNK_INVALID'],
  ]
  for (const [frame, code] of cases) {
    const err = t.throws(() => parseWsFrame(frame, 7, delivered)) as unknown as ChunkError
    t.equal(err.code, code, frame)
    t.equal(err.chunkIndex, 7)
    t.same(err.delivered, delivered())
  }
})

t.test('the URL: ws for http, wss for https, path prefix kept, ?timeout in seconds', async (t) => {
  t.equal(wsUrl('https://api.smallest.ai', 30), 'wss://api.smallest.ai/waves/v1/tts/live?timeout=30')
  t.equal(wsUrl('http://127.0.0.1:8099/', undefined), 'ws://127.0.0.1:8099/waves/v1/tts/live')
  t.equal(wsUrl('https://proxy.example/lightning', 5), 'wss://proxy.example/lightning/waves/v1/tts/live?timeout=5')
})
