// One error taxonomy: every code the library can throw is in the ErrorCode union (ERROR_CODES),
// in docs/errors-and-retries.md's error table; invalid options are
// InvalidOptionError everywhere; a malformed voices body is a protocol error; a missing Opus
// engine is reported by the constructor.
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import * as lib from '../lib/index.js'

const root = new URL('..', import.meta.url).pathname

/** Codes in the first column of a markdown table whose header starts with `| code |`. */
function tableCodes(md: string): Set<string> {
  const at = md.indexOf('| code | class |')
  t.ok(at >= 0, 'the error table is there')
  const rows = md.slice(at).split('\n\n')[0]!.split('\n').slice(2)
  return new Set(rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!)))
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

// Codes of other libraries that lib/ compares against (Node's, undici's); never thrown by us.
// Codes of Node we compare against, and ERR_INTERNAL: the code sendAudio's JSON body gives an
// error that is not the library's (documented in docs/transcoding-server.md; no error class has it).
const FOREIGN = new Set(['ERR_MODULE_NOT_FOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_INTERNAL'])

t.test('ERROR_CODES and the errors guide list the same codes', async (t) => {
  const union = new Set<string>(lib.ERROR_CODES)
  t.equal(union.size, lib.ERROR_CODES.length, 'no duplicates')
  t.same([...tableCodes(readFileSync(join(root, 'docs/errors-and-retries.md'), 'utf8'))].sort(), [...union].sort(), 'docs/errors-and-retries.md')
})

t.test('every ERR_ code written in lib/ is in the union (or is a code of Node or undici we compare against)', async (t) => {
  const union = new Set<string>(lib.ERROR_CODES)
  const found = new Map<string, string>()
  for (const file of sourceFiles(join(root, 'lib'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) found.set(m[1]!, file.slice(root.length))
  }
  const unknown = [...found].filter(([code]) => !union.has(code) && !FOREIGN.has(code)).map(([c, f]) => `${c} (${f})`)
  t.same(unknown, [], 'no undocumented code')
  for (const code of union) t.ok(found.has(code), `${code} is used in lib/`)
})

t.test('every error class the package exports carries a documented code', async (t) => {
  const delivered = { chunks: 1, bytes: 2, durationMs: 0 }
  const ids = { requestId: undefined, sessionId: undefined, externalRequestId: undefined, externalSessionId: undefined }
  const errors: lib.LightningStreamError[] = [
    new lib.InvalidRequestError([]),
    new lib.InvalidOptionError('x', 'y'),
    new lib.MissingApiKeyError(),
    new lib.ApiError({ status: 500, body: '', details: [], headers: {}, ids }),
    new lib.ConnectionError('x'),
    new lib.TimeoutError('idle', 1),
    new lib.AbortError(),
    new lib.ProtocolError('x'),
    new lib.SseParseError('x'),
    new lib.ChunkError('ERR_CHUNK_INVALID', 0, 'x'),
    new lib.ServerStreamError({ chunkIndex: 0, status: 'error', message: 'x', frame: {}, delivered }),
    new lib.StreamTruncatedError(delivered),
    new lib.AudioFormatError('x'),
    new lib.FfmpegError('x'),
    new lib.OpusEngineMissingError([]),
    new lib.OpusWorkerError('x'),
    new lib.LightningStreamError('espeak-ng wrote no audio', 'ERR_ESPEAK_FAILED'),
  ]
  const classes = Object.entries(lib).filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error).map(([k]) => k)
  t.same(errors.map((e) => e.name).sort(), classes.sort(), 'one instance of every exported error class')
  for (const e of errors) t.ok((lib.ERROR_CODES as readonly string[]).includes(e.code), `${e.name}: ${e.code}`)
  // The union is exhaustive for a switch: this function only compiles if every code is handled.
  const exitCode = (code: lib.ErrorCode): number => {
    switch (code) {
      case 'ERR_INVALID_REQUEST':
      case 'ERR_INVALID_OPTION':
      case 'ERR_MISSING_API_KEY':
        return 2
      case 'ERR_API':
        return 3
      case 'ERR_CONNECTION':
      case 'ERR_TIMEOUT':
        return 4
      case 'ERR_ABORTED':
        return 130
      case 'ERR_PROTOCOL':
      case 'ERR_SSE_PARSE':
      case 'ERR_CHUNK_INVALID_JSON':
      case 'ERR_CHUNK_INVALID_BASE64':
      case 'ERR_CHUNK_INVALID':
      case 'ERR_SERVER_ERROR_FRAME':
      case 'ERR_STREAM_TRUNCATED':
      case 'ERR_AUDIO_FORMAT':
        return 5
      case 'ERR_FFMPEG':
      case 'ERR_OPUS_ENGINE_MISSING':
      case 'ERR_OPUS_WORKER':
      case 'ERR_ESPEAK_MISSING':
      case 'ERR_ESPEAK_FAILED':
        return 1
      default: {
        const unhandled: never = code
        return unhandled
      }
    }
  }
  t.equal(exitCode(new lib.ProtocolError('x').code), 5)
})

t.test('invalid stage options are InvalidOptionError (ERR_INVALID_OPTION) with the option named', async (t) => {
  const stereo48: lib.PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  const cases: [string, () => unknown][] = [
    ['frameMs', () => new lib.OpusEncoder({ format: stereo48, frameMs: 25 })],
    ['bitrate', () => new lib.OpusEncoder({ format: stereo48, bitrate: 100 })],
    ['complexity', () => new lib.OpusEncoder({ format: stereo48, complexity: 11 })],
    ['rate', () => new lib.Pacer({ format: stereo48, rate: 0 })],
    ['quality', () => new lib.Resampler({ from: 24000, to: 48000, quality: 'ultra' as lib.ResamplerQuality })],
    ['law', () => new lib.G711Decoder({ law: 'mulaw' as 'ulaw' })],
    ['matrix', () => new lib.ChannelMixer({ from: 2, to: 1, matrix: [[1]] })],
    ['frameMs', () => new lib.PcmFramer({ format: { sampleRate: 22050, channels: 1, encoding: 's16le' }, frameMs: 10 })],
    ['frameSamples', () => new lib.PcmFramer({ format: stereo48, frameSamples: 0 })],
    ['input.container', () => new lib.FfmpegTranscoder({ input: { container: 'mp3; rm -rf /' }, output: 'wav' })],
    ['output', () => new lib.FfmpegTranscoder({ input: stereo48, output: 'aiff' as 'wav' })],
    ['maxEventSize', () => new lib.SseParser({ maxEventSize: 3 })],
  ]
  for (const [option, make] of cases) t.throws(make, { name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION', option }, option)
  // A format a stage cannot take stays an audio-format error.
  t.throws(() => new lib.OpusEncoder({ format: { ...stereo48, sampleRate: 44100 } }), { code: 'ERR_AUDIO_FORMAT' })
})

t.test('a malformed voices response is a protocol error (ERR_PROTOCOL), not a connection error', async (t) => {
  const bodies = ['<html>Bad Gateway</html>', '{"items":[]}', 'null']
  let i = 0
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(bodies[i++])
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const client = new lib.LightningClient({ baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, retry: false })
  t.teardown(() => client.close())
  await t.rejects(client.voices(), { name: 'ProtocolError', code: 'ERR_PROTOCOL', message: /not JSON/ })
  await t.rejects(client.voices(), { code: 'ERR_PROTOCOL', message: /no voices array/ })
  await t.rejects(client.voices(), { code: 'ERR_PROTOCOL', message: /no voices array/ })
})

t.test('a missing Opus engine is reported by the constructor, before any audio', async (t) => {
  const report = await lib.opusEngineReport()
  const missing = (Object.keys(report) as lib.OpusEngineName[]).filter((e) => report[e] === 'missing')
  t.ok(missing.length > 0, `an engine is missing here to test with: ${missing.join(', ')}`)
  t.throws(() => new lib.OpusEncoder({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, engines: missing }), {
    code: 'ERR_OPUS_ENGINE_MISSING',
    message: /npm install @evan\/opus/,
  })
})
