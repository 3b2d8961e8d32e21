// Opus exactness beyond the every-length sweep (test/opus-length.ts): long inputs with every
// engine, other frame sizes and the low-delay mode, and every path that makes Opus
// (createDiscordStream 'ogg' and 'opus', sendAudio 'ogg', ffmpeg's ogg-opus).
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  opusEngineReport,
  convertPcm,
  createDiscordStream,
  sendAudio,
  FfmpegTranscoder,
  type OpusEngineName,
  type PcmFormat,
  type PcmReadable,
} from '../lib/index.js'
import { collectBytes, splitEvery } from './fixtures/helpers.js'
import { ffmpeg } from './fixtures/ffmpeg.js'
import { bestLag, channelOf, chirpPcm, decodeOggOpus, demuxOggOpus } from './fixtures/ogg-opus.js'
import { checkLengths, dir, encodeOgg, mono24, range, stereo48 } from './fixtures/opus-lengths.js'
import { ffmpegForLibrary } from './fixtures/tools.js'

ffmpegForLibrary() // the library's FfmpegTranscoder gets the ffmpeg the tests found (FFMPEG_PATH when it is npm's)

const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')

t.test('long inputs, fed in odd chunks, with every engine installed here: exact length, lag 0', async (t) => {
  t.ok(engines.length >= 2, `engines: ${engines.join(', ')}`)
  for (const engine of engines) {
    // 1234 ms, 1 s + 1 sample, 3.3 s
    await checkLengths(t, stereo48, [59232, 48001, 158400], { engine, split: 1001, lagAt: () => true })
    await checkLengths(t, mono24, [29616, 24001, 79200], { engine, split: 1001, lagAt: () => true })
  }
})

t.test('other frame sizes and the low-delay application (pre-skip 120) are exact too', async (t) => {
  for (const frameMs of [5, 10, 60]) {
    await checkLengths(t, stereo48, [1, 119, 120, 121, 311, 312, 313, 959, 2881, 48000], { frameMs, lagAt: (n) => n >= 2881 })
  }
  await checkLengths(t, stereo48, range(1, 360), { frameMs: 2.5 })
  await checkLengths(t, stereo48, [2881, 48000], { frameMs: 2.5, lagAt: () => true })
  await checkLengths(t, mono24, [1, 59, 60, 61, 479, 480, 481, 24000], { application: 'lowdelay', lagAt: (n) => n >= 24000 })
  const ogg = await encodeOgg(chirpPcm(48000, 960, 2), stereo48, { application: 'lowdelay' })
  t.equal(demuxOggOpus(ogg).preSkip, 120)
})

/** A PCM stream with a format, as client.pcm() returns (for sinks that take one). */
function pcmStream(pcm: Buffer, format: PcmFormat): PcmReadable {
  return Object.assign(Readable.from(splitEvery(pcm, 4800)), { format }) as unknown as PcmReadable
}

/** The input converted to 48 kHz by the library's own stages (the reference the sinks encode). */
async function converted(pcm: Buffer, from: PcmFormat, to: PcmFormat): Promise<Buffer> {
  const stages = convertPcm(from, to)
  let tail: Readable = Readable.from([pcm])
  for (const s of stages) tail = tail.pipe(s)
  return collectBytes(tail)
}

function checkAgainst(t: Test, ogg: Buffer, reference: Buffer, channels: number, what: string) {
  const d = decodeOggOpus(ogg)
  const frames = reference.length / (2 * channels)
  t.equal(d.length, frames, `${what}: libopus decodes ${frames} samples`)
  const file = join(dir, `${what.replace(/\W+/g, '-')}.opus`)
  writeFileSync(file, ogg)
  const ff = ffmpeg(['-i', file, '-f', 's16le', '-ac', String(channels), '-ar', '48000', 'pipe:1'])
  t.equal(ff.length / (2 * channels), frames, `${what}: ffmpeg decodes ${frames} samples`)
  const ref = channelOf(new Int16Array(reference.buffer, reference.byteOffset, reference.length / 2), channels)
  t.equal(bestLag(ref, channelOf(d.pcm, channels), 400), 0, `${what}: lag 0`)
}

t.test("createDiscordStream 'ogg' decodes to exactly the input, converted to 48 kHz stereo", async (t) => {
  const input = chirpPcm(24000, 29616, 1) // 1234 ms at 24 kHz mono
  const reference = await converted(input, mono24, stereo48)
  t.equal(reference.length / 4, 59232)
  const d = createDiscordStream(pcmStream(input, mono24), { mode: 'ogg', leadMs: 20 })
  const ogg = await collectBytes(d.stream)
  t.equal(d.metrics.silenceFrames, 0, 'no stall filled with silence (the source is in memory)')
  checkAgainst(t, ogg, reference, 2, 'discord ogg')
})

t.test("createDiscordStream 'opus': the raw packets carry the whole input plus the documented tail", async (t) => {
  const input = chirpPcm(48000, 1000, 2)
  const d = createDiscordStream(pcmStream(input, stereo48), { mode: 'opus', leadMs: 20 })
  const packets: Buffer[] = []
  for await (const p of d.stream) packets.push(p as Buffer)
  // 1000 samples → two 20 ms frames, the second padded with 920 samples of silence: more than the
  // encoder's 312-sample lookahead, so the two packets carry the whole input and no flush follows.
  t.equal(packets.length, 2, '1000 samples: two packets')
  const exact = createDiscordStream(pcmStream(chirpPcm(48000, 1920, 2), stereo48), { mode: 'opus', leadMs: 20 })
  const whole: Buffer[] = []
  for await (const p of exact.stream) whole.push(p as Buffer)
  // 1920 samples fill two frames exactly: a third packet flushes the lookahead (the last 6.5 ms).
  t.equal(whole.length, 3, '1920 samples: two packets and the lookahead flush')
})

t.test("sendAudio 'ogg' decodes to exactly the input, converted to 48 kHz", async (t) => {
  const input = chirpPcm(24000, 24001, 1)
  const reference = await converted(input, mono24, { sampleRate: 48000, channels: 1, encoding: 's16le' })
  const server: Server = createServer((_req, res) => {
    sendAudio(res, pcmStream(input, mono24), { format: 'ogg' }).catch(() => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const { port } = server.address() as { port: number }
  const res = await fetch(`http://127.0.0.1:${port}/`)
  const ogg = Buffer.from(await res.arrayBuffer())
  checkAgainst(t, ogg, reference, 1, 'sendAudio ogg')
})

t.test("FfmpegTranscoder 'ogg-opus' (the CLI's fallback without an Opus engine) decodes to exactly the input", async (t) => {
  const input = chirpPcm(48000, 59232, 2)
  const ogg = await collectBytes(Readable.from(splitEvery(input, 4000)).pipe(new FfmpegTranscoder({ input: stereo48, output: 'ogg-opus' })))
  checkAgainst(t, ogg, input, 2, 'ffmpeg ogg-opus')
})
