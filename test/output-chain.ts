// createOutputChain (lib/codecs/output-chain.ts): an output kind's stages, MIME type and extension,
// the one builder behind the CLI, sendAudio and Discord's 'ogg' mode. Lengths are checked by
// ffmpeg, a decoder we did not write.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable, type Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  createOutputChain,
  FfmpegTranscoder,
  InvalidOptionError,
  OggOpusMuxer,
  OpusEncoder,
  OUTPUT_KINDS,
  Resampler,
  WavEncoder,
  type OutputKind,
  type PcmFormat,
} from '../lib/index.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { twoTones } from './fixtures/signal.js'
import { ffmpegForLibrary } from './fixtures/tools.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-output-chain-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
ffmpegForLibrary() // the ffmpeg kinds run the library's ffmpeg: give it the one the tests found

const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }

/** Runs `pcm` through the chain's stages; returns the encoded bytes. */
async function encode(stages: Duplex[], pcm: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = []
  await pipeline([Readable.from([pcm]), ...stages, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb() } })])
  return Buffer.concat(chunks)
}

/** Samples per channel ffmpeg decodes from `bytes`, as s16le at `rate` with `channels`. */
function decodedLength(bytes: Buffer, name: string, rate: number, channels: number): number {
  const file = join(dir, name)
  writeFileSync(file, bytes)
  return ffmpeg(['-i', file, '-f', 's16le', '-ac', String(channels), '-ar', String(rate), '-']).length / 2 / channels
}

t.test('every kind: its MIME type, file extension and encoder', async (t) => {
  const expected: Record<OutputKind, { mimeType: string; extension: string; encoder: string; stages: unknown[] }> = {
    wav: { mimeType: 'audio/wav', extension: 'wav', encoder: 'wav', stages: [WavEncoder] },
    ogg: { mimeType: 'audio/ogg', extension: 'ogg', encoder: 'opus', stages: [OpusEncoder, OggOpusMuxer] },
    opus: { mimeType: 'audio/ogg', extension: 'opus', encoder: 'opus', stages: [OpusEncoder, OggOpusMuxer] },
    mp3: { mimeType: 'audio/mpeg', extension: 'mp3', encoder: 'ffmpeg', stages: [FfmpegTranscoder] },
    aac: { mimeType: 'audio/aac', extension: 'aac', encoder: 'ffmpeg', stages: [FfmpegTranscoder] },
    flac: { mimeType: 'audio/flac', extension: 'flac', encoder: 'ffmpeg', stages: [FfmpegTranscoder] },
    webm: { mimeType: 'audio/webm', extension: 'webm', encoder: 'ffmpeg', stages: [FfmpegTranscoder] },
    pcm: { mimeType: 'application/octet-stream', extension: 'pcm', encoder: 'none', stages: [] },
  }
  t.same([...OUTPUT_KINDS].sort(), Object.keys(expected).sort(), 'OUTPUT_KINDS lists every kind')
  for (const kind of OUTPUT_KINDS) {
    const chain = createOutputChain(kind, mono24)
    const want = expected[kind]
    t.equal(chain.mimeType, want.mimeType, `${kind}: MIME type`)
    t.equal(chain.extension, want.extension, `${kind}: extension`)
    t.equal(chain.encoder, want.encoder, `${kind}: encoder`)
    t.same(chain.stages.map((s) => s.constructor), want.stages, `${kind}: stages`)
    for (const s of chain.stages) s.destroy() // nothing started: ffmpeg starts with the first chunk
  }
})

t.test('ogg and opus: the PCM is resampled only when Opus does not take its rate', async (t) => {
  const native = createOutputChain('ogg', mono24)
  t.equal((native.stages[0] as OpusEncoder).format.sampleRate, 24000, '24 kHz: encoded as it is, no converter')
  const at441 = createOutputChain('opus', { sampleRate: 44100, channels: 2, encoding: 's16le' })
  t.same(at441.stages.map((s) => s.constructor), [Resampler, OpusEncoder, OggOpusMuxer], '44.1 kHz: resampled first')
  t.same((at441.stages[1] as OpusEncoder).head, { channels: 2, inputSampleRate: 48000, preSkip: 312 }, 'to 48 kHz, the channels kept')
  const chosen = createOutputChain('ogg', mono24, { sampleRate: 16000, bitrate: 24000, opus: { frameMs: 10, maxPageMs: 40, serial: 9 } })
  t.same(chosen.stages.map((s) => s.constructor), [Resampler, OpusEncoder, OggOpusMuxer], 'sampleRate: resampled to it')
  t.equal((chosen.stages[1] as OpusEncoder).frameSamples, 160, 'the Opus settings reach the encoder (10 ms at 16 kHz)')
  t.same((chosen.stages[2] as OggOpusMuxer).head, (chosen.stages[1] as OpusEncoder).head, "the muxer writes the encoder's head")
  for (const s of [...native.stages, ...at441.stages, ...chosen.stages]) s.destroy()
})

t.test('wav: ffmpeg decodes exactly the input sample count', async (t) => {
  for (const format of [mono24, stereo48]) {
    const samples = Math.round(format.sampleRate * 0.37)
    const pcm = twoTones(format.sampleRate, samples / format.sampleRate, format.channels)
    const { stages, extension } = createOutputChain('wav', format)
    const bytes = await encode(stages, pcm)
    t.equal(decodedLength(bytes, `in-${format.sampleRate}.${extension}`, format.sampleRate, format.channels), samples, `${format.sampleRate} Hz ${format.channels} ch: ${samples} samples`)
  }
})

t.test('ogg and opus: ffmpeg decodes exactly the input sample count (at 48 kHz, where Opus decodes)', async (t) => {
  const cases: { kind: OutputKind; format: PcmFormat; seconds: number; sampleRate?: number }[] = [
    { kind: 'ogg', format: stereo48, seconds: 0.53 }, // 48 kHz: the input count itself
    { kind: 'opus', format: mono24, seconds: 0.4105 }, // 24 kHz, encoded as it is: twice the count at 48 kHz
    { kind: 'ogg', format: mono24, seconds: 0.25, sampleRate: 48000 }, // resampled to 48 kHz first (as sendAudio does)
    { kind: 'ogg', format: { sampleRate: 44100, channels: 1, encoding: 's16le' }, seconds: 0.5 }, // 44.1 kHz: resampled to 48 kHz
  ]
  for (const c of cases) {
    const samples = Math.round(c.format.sampleRate * c.seconds)
    const pcm = twoTones(c.format.sampleRate, samples / c.format.sampleRate, c.format.channels)
    const { stages, extension } = createOutputChain(c.kind, c.format, { sampleRate: c.sampleRate })
    const bytes = await encode(stages, pcm)
    const expected = (samples * 48000) / c.format.sampleRate
    t.ok(Number.isInteger(expected))
    const got = decodedLength(bytes, `${c.kind}-${c.format.sampleRate}-${c.sampleRate ?? ''}.${extension}`, 48000, c.format.channels)
    t.equal(got, expected, `${c.kind} from ${c.format.sampleRate} Hz ${c.format.channels} ch (${samples} samples): ${expected} at 48 kHz`)
  }
})

t.test('the ffmpeg kinds: what ffprobe finds, and outputPath writes the file itself', async (t) => {
  const pcm = twoTones(24000, 0.3, 1)
  const codecs: Record<string, string> = { mp3: 'mp3', aac: 'aac', flac: 'flac', webm: 'opus' }
  for (const kind of ['mp3', 'aac', 'flac', 'webm'] as const) {
    const { stages, extension } = createOutputChain(kind, mono24, { bitrate: kind === 'flac' ? undefined : 48000 })
    const file = join(dir, `piped.${extension}`)
    writeFileSync(file, await encode(stages, pcm))
    t.equal(ffprobe(file).streams[0]!['codec_name'], codecs[kind], `${kind}: ${codecs[kind]}`)
  }
  const file = join(dir, 'direct.flac')
  const { stages } = createOutputChain('flac', mono24, { outputPath: file })
  const out = await encode(stages, pcm)
  t.equal(out.length, 0, 'the readable side ends empty')
  t.equal(decodedLength(readFileSync(file), 'copy.flac', 24000, 1), pcm.length / 2, 'the file holds every sample')
})

t.test('an unknown kind throws InvalidOptionError before anything is built', async (t) => {
  for (const kind of ['m4a', 'OGG', 'toString', '', undefined, 3]) {
    t.throws(() => createOutputChain(kind as OutputKind, { sampleRate: -1, channels: 0, encoding: 'x' } as unknown as PcmFormat, { outputPath: '/nonexistent/x' }), { name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION', option: 'kind', message: /must be one of wav, ogg, opus, mp3, aac, flac, webm, pcm/ }, `${String(kind)}: the kind is checked first, before the format and options`)
  }
  try {
    createOutputChain('midi' as OutputKind, mono24)
    t.fail('no throw')
  } catch (err) {
    t.ok(err instanceof InvalidOptionError, 'an InvalidOptionError')
  }
})

t.test('option and format errors, before any stage runs', async (t) => {
  t.throws(() => createOutputChain('ogg', mono24, { sampleRate: 44100 }), { code: 'ERR_INVALID_OPTION', option: 'sampleRate', message: /8000, 12000, 16000, 24000 or 48000/ })
  for (const kind of ['wav', 'ogg', 'opus', 'pcm'] as const) {
    t.throws(() => createOutputChain(kind, mono24, { outputPath: join(dir, 'x') }), { code: 'ERR_INVALID_OPTION', option: 'outputPath' }, `${kind}: no outputPath`)
  }
  t.throws(() => createOutputChain('wav', { sampleRate: 0, channels: 1, encoding: 's16le' }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => createOutputChain('ogg', { sampleRate: 48000, channels: 3, encoding: 's16le' }), { code: 'ERR_AUDIO_FORMAT', message: /1 or 2 channels/ })
  t.throws(() => createOutputChain('ogg', mono24, { bitrate: 100 }), { code: 'ERR_INVALID_OPTION', option: 'bitrate' })
})

t.test('no Opus engine: OpusEngineMissingError, or ffmpeg with ffmpegFallback (what the CLI does)', async (t) => {
  t.throws(() => createOutputChain('ogg', mono24, { opus: { engines: [] } }), { name: 'OpusEngineMissingError', code: 'ERR_OPUS_ENGINE_MISSING' })
  const chain = createOutputChain('opus', { sampleRate: 44100, channels: 1, encoding: 's16le' }, { opus: { engines: [] }, ffmpegFallback: true, bitrate: 32000 })
  t.equal(chain.encoder, 'ffmpeg')
  t.same([chain.mimeType, chain.extension], ['audio/ogg', 'opus'])
  t.equal(chain.stages.length, 1)
  const ff = chain.stages[0] as FfmpegTranscoder
  t.ok(ff instanceof FfmpegTranscoder)
  t.match(ff.args.join(' '), /-ar 44100 .*-c:a libopus -b:a 32000 .*-f ogg/, 'ffmpeg takes the input as it is and encodes Ogg Opus')
  const samples = 22050
  const file = join(dir, 'fallback.opus')
  writeFileSync(file, await encode(chain.stages, twoTones(44100, samples / 44100, 1)))
  t.equal(ffprobe(file).streams[0]!['codec_name'], 'opus', 'an Ogg Opus file')
})
