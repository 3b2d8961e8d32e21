import t from 'tap'
import fc from 'fast-check'
import { ConnectionError, ChunkError, ServerStreamError, StreamTruncatedError } from '../lib/index.js'
import { createAudioChunkDecoder, decodeBase64Strict } from '../lib/audio/audio-chunk-decoder.core.js'
import { AudioChunkDecoder } from '../lib/audio/audio-chunk-decoder.js'
import { encodeG711 } from '../lib/audio/g711.js'
import { wavHeader } from '../lib/audio/wav-header.js'
import type { SseEvent } from '../lib/sse/sse-parser.core.js'
import { runStage, splitAt } from './fixtures/helpers.js'

const ev = (data: string, event = 'audio'): SseEvent => ({ event, data, id: undefined })
const chunk = (pcm: Buffer) => ev(JSON.stringify({ audio: pcm.toString('base64'), done: false, status: '206' }))
const DONE = ev('{"status":"200","done":true}', 'message')
const pcm = Buffer.from(Array.from({ length: 400 }, (_, i) => (i * 37) & 0xff))

const decode = (events: SseEvent[], opts = {}) => {
  const d = createAudioChunkDecoder(opts)
  const out: Buffer[] = []
  for (const e of events) {
    const b = d.push(e)
    if (b) out.push(b)
  }
  d.flush()
  return Buffer.concat(out)
}

t.test('current chunk messages end at the terminator that has no event line', async (t) => {
  const events = [chunk(pcm.subarray(0, 100)), chunk(pcm.subarray(100)), DONE]
  t.same(decode(events), pcm)
  t.same(Buffer.concat(await runStage<Buffer>(new AudioChunkDecoder(), events)), pcm, 'Transform agrees')
})

t.test('legacy chunk messages without done/status, terminator {"done":true}', async (t) => {
  const events = [ev(JSON.stringify({ audio: pcm.toString('base64') })), ev('{"done":true}', 'message')]
  t.same(decode(events), pcm)
})

t.test('done:false or a missing done does not end the stream; events after done are ignored', async (t) => {
  const d = createAudioChunkDecoder()
  d.push(ev('{"status":"206","done":false}'))
  t.equal(d.done, false)
  d.push(DONE)
  t.equal(d.done, true)
  t.equal(d.push(chunk(pcm)), null, 'a chunk after the terminator is ignored')
  t.equal(d.push(ev('not json')), null, 'even a malformed one')
  t.equal(d.flush(), null)
  t.same(d.delivered(), { chunks: 0, bytes: 0, durationMs: 0 })
})

t.test('the decoder emits done once, and an empty data event is skipped', async (t) => {
  const dec = new AudioChunkDecoder()
  let dones = 0
  dec.on('done', () => dones++)
  const out = await runStage<Buffer>(dec, [ev(''), chunk(pcm), DONE, DONE])
  t.same(Buffer.concat(out), pcm)
  t.equal(dones, 1)
})

t.test('odd-length chunks: output stays sample-aligned and byte-exact for any split', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(pcm.length), { maxLength: 20 }), (cuts) => {
      const parts = splitAt(pcm, cuts)
      const d = createAudioChunkDecoder()
      const outs: Buffer[] = []
      for (const p of parts) {
        const b = d.push(chunk(p))
        if (b) {
          if (b.length % 2 !== 0) return false
          outs.push(b)
        }
      }
      d.push(DONE)
      d.flush()
      return Buffer.concat(outs).equals(pcm)
    }),
    { numRuns: 1000, seed: 7 },
  )
  t.pass('1000 random splits gave aligned, identical PCM')
})

t.test('a stream ending with half a sample fails with ERR_AUDIO_FORMAT', async (t) => {
  t.throws(() => decode([chunk(pcm.subarray(0, 3)), DONE]), { code: 'ERR_AUDIO_FORMAT', delivered: { bytes: 2 } })
})

t.test('error events become ServerStreamError with the server message and delivered audio', async (t) => {
  const cases: [string, string | undefined][] = [
    ['{"status":"error","message":"model overloaded"}', 'model overloaded'],
    ['{"status":"500","message":"boom"}', 'boom'],
    ['{"status":503,"error":"unavailable"}', 'unavailable'],
    ['{"status":"error","error":{"message":"nested","code":"X"}}', 'nested'],
    ['{"error":"bare error field"}', 'bare error field'],
    ['{"status":"error","errors":["a","b"]}', 'a; b'],
    ['{"status":"429"}', undefined],
  ]
  for (const [data, message] of cases) {
    const d = createAudioChunkDecoder()
    d.push(chunk(pcm.subarray(0, 10)))
    const err = t.throws(() => d.push(ev(data))) as ServerStreamError
    t.ok(err instanceof ServerStreamError, data)
    t.equal(err.code, 'ERR_SERVER_ERROR_FRAME')
    t.equal(err.serverMessage, message)
    t.equal(err.chunkIndex, 1)
    t.match(err.delivered, { chunks: 1, bytes: 10 })
  }
})

t.test('invalid JSON, wrong shapes and bad base64 are coded ChunkErrors naming the chunk message', async (t) => {
  const cases: [SseEvent, string][] = [
    [ev('{"audio":"AAAA"'), 'ERR_CHUNK_INVALID_JSON'],
    [ev('[1,2]'), 'ERR_CHUNK_INVALID'],
    [ev('"text"'), 'ERR_CHUNK_INVALID'],
    [ev('{"audio":123}'), 'ERR_CHUNK_INVALID'],
    [ev('{"audio":"AA!A"}'), 'ERR_CHUNK_INVALID_BASE64'],
    [ev('{"audio":"AAAAA"}'), 'ERR_CHUNK_INVALID_BASE64'],
    [ev('{"audio":"AA-_"}'), 'ERR_CHUNK_INVALID_BASE64'],
    [ev('{"audio":"QQ==QQ=="}'), 'ERR_CHUNK_INVALID_BASE64'],
    [ev('{"audio":"AA A"}'), 'ERR_CHUNK_INVALID_BASE64'],
  ]
  for (const [bad, code] of cases) {
    const d = createAudioChunkDecoder()
    d.push(chunk(pcm.subarray(0, 4)))
    const err = t.throws(() => d.push(bad), bad.data) as ChunkError
    t.equal(err.code, code, bad.data)
    t.equal(err.chunkIndex, 1)
    t.match(err.delivered, { chunks: 1, bytes: 4 })
  }
  await t.rejects(runStage(new AudioChunkDecoder(), [chunk(pcm), ev('{oops')]), { code: 'ERR_CHUNK_INVALID_JSON', chunkIndex: 1 })
})

t.test('strict base64 accepts every valid padding', async (t) => {
  for (let n = 0; n < 10; n++) {
    const b = Buffer.from(Array.from({ length: n }, (_, i) => i * 91))
    t.same(decodeBase64Strict(b.toString('base64')), b, `${n} bytes`)
    t.same(decodeBase64Strict(b.toString('base64').replace(/=+$/, '')), b, `${n} bytes unpadded`)
  }
})

t.test('EOF without the terminator is ERR_STREAM_TRUNCATED with chunks, bytes and ms', async (t) => {
  const err = t.throws(() => decode([chunk(pcm), chunk(pcm)])) as StreamTruncatedError
  t.ok(err instanceof StreamTruncatedError)
  t.same(err.delivered, { chunks: 2, bytes: 800, durationMs: (400 / 24000) * 1000 })
  t.match(err.message, /2 audio chunks, 800 bytes \(17 ms\)/)
  await t.rejects(runStage(new AudioChunkDecoder(), [chunk(pcm)]), { code: 'ERR_STREAM_TRUNCATED' })
})

t.test('wav: per-chunk RIFF headers are stripped and checked', async (t) => {
  const withHeader = (p: Buffer) => Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1, encoding: 's16le' }, p.length), p])
  const events = [chunk(withHeader(pcm.subarray(0, 201))), chunk(withHeader(pcm.subarray(201))), DONE]
  t.same(decode(events, { outputFormat: 'wav', sampleRate: 16000 }), pcm)
  t.throws(() => decode(events, { outputFormat: 'wav', sampleRate: 24000 }), { code: 'ERR_AUDIO_FORMAT' }, 'rate mismatch')
  t.throws(() => decode([chunk(withHeader(pcm).subarray(0, 30)), DONE], { outputFormat: 'wav', sampleRate: 16000 }), { code: 'ERR_CHUNK_INVALID' })
})

t.test('ulaw passes through as 8-bit G.711 and says so', async (t) => {
  const ulaw = encodeG711(pcm, 'ulaw')
  const d = createAudioChunkDecoder({ outputFormat: 'ulaw', sampleRate: 8000 })
  t.same(d.format, { sampleRate: 8000, channels: 1, encoding: 'ulaw' })
  t.same(d.push(chunk(ulaw.subarray(0, 33))), ulaw.subarray(0, 33), 'odd lengths are fine for 8-bit codes')
})

t.test('an upstream error passes through the Transform untouched: no stage edits another stage\'s error', async (t) => {
  const dec = new AudioChunkDecoder()
  dec.write(chunk(pcm))
  await new Promise((r) => setImmediate(r))
  const err = new ConnectionError('socket hang up')
  let seen: unknown
  dec.on('error', (e) => (seen = e))
  dec.destroy(err)
  await new Promise((r) => dec.once('close', r))
  t.equal(seen, err, 'the same error object comes out')
  t.equal(err.delivered, undefined, 'delivered is left to the boundary that owns the error (PcmStream)')
  t.same(dec.delivered, { chunks: 1, bytes: 400, durationMs: (200 / 24000) * 1000 }, 'the stage still says what it delivered')
})
