// Every Opus output decodes to exactly the input length, aligned with it (lag 0): the encoder
// flushes its lookahead and the end granule is pre-skip + input length (RFC 7845 §4). Checked by
// two decoders we did not write: ffmpeg, and libopus in process (test/fixtures/ogg-opus.ts).
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  OggOpusMuxer,
  OpusEncoder,
  opusEngineReport,
  convertPcm,
  createDiscordStream,
  sendAudio,
  FfmpegTranscoder,
  type OpusEngineName,
  type OpusApplication,
  type PcmFormat,
  type PcmReadable,
} from '../lib/index.js'
import { collectBytes, splitEvery } from './fixtures/helpers.js'
import { ffmpeg } from './fixtures/ffmpeg.js'
import { bestLag, channelOf, chirpPcm, decodeOggOpus, demuxOggOpus } from './fixtures/ogg-opus.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-opus-length-'))
const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')
const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }

interface EncodeOptions {
  engine?: OpusEngineName | undefined
  frameMs?: number | undefined
  application?: OpusApplication | undefined
  split?: number | undefined
}

async function encodeOgg(pcm: Buffer, format: PcmFormat, o: EncodeOptions = {}): Promise<Buffer> {
  const enc = new OpusEncoder({ format, engines: o.engine ? [o.engine] : undefined, frameMs: o.frameMs, application: o.application })
  const chunks = o.split ? splitEvery(pcm, o.split) : [pcm]
  return collectBytes(Readable.from(chunks).pipe(enc).pipe(new OggOpusMuxer({ encoder: enc })))
}

/** Decodes many Ogg Opus files with one ffmpeg run per batch; returns 48 kHz interleaved s16. */
function ffmpegDecodeAll(files: string[], channels: number): Int16Array[] {
  const out: Int16Array[] = []
  for (let i = 0; i < files.length; i += 200) {
    const batch = files.slice(i, i + 200)
    const args = ['-y', ...batch.flatMap((f) => ['-i', f])]
    batch.forEach((f, j) => args.push('-map', `${j}:a`, '-f', 's16le', '-ac', String(channels), '-ar', '48000', `${f}.raw`))
    ffmpeg(args)
    for (const f of batch) {
      const raw = readFileSync(`${f}.raw`)
      out.push(new Int16Array(raw.buffer, raw.byteOffset, raw.length / 2))
    }
  }
  return out
}

/** Input samples, at the input rate, decoded by ffmpeg (48 kHz) and by libopus (input rate). */
async function checkLengths(t: Test, format: PcmFormat, lengths: number[], o: EncodeOptions & { lagAt?: (n: number) => boolean } = {}) {
  const ratio = 48000 / format.sampleRate
  const longest = Math.max(...lengths)
  const source = chirpPcm(format.sampleRate, longest, format.channels)
  const frame = format.channels * 2
  const files: string[] = []
  const wrong: string[] = []
  const lags: string[] = []
  let lagChecks = 0
  for (const n of lengths) {
    const input = source.subarray(0, n * frame)
    const ogg = await encodeOgg(input, format, o)
    const d = decodeOggOpus(ogg, format.sampleRate)
    const expectedGranule = d.file.preSkip + n * ratio
    if (d.finalGranule !== expectedGranule) wrong.push(`${n}: final granule ${d.finalGranule}, expected ${expectedGranule}`)
    if (d.length !== n) wrong.push(`${n}: libopus decoded ${d.length}`)
    if (o.lagAt?.(n)) {
      lagChecks++
      const lag = bestLag(channelOf(new Int16Array(input.buffer, input.byteOffset, input.length / 2), format.channels), channelOf(d.pcm, format.channels), 400)
      if (lag !== 0) lags.push(`${n}: libopus lag ${lag}`)
    }
    const file = join(dir, `${format.sampleRate}-${format.channels}-${(o.engine ?? 'default').replace('/', '_')}-${o.frameMs ?? 20}-${o.application ?? 'audio'}-${n}.opus`)
    writeFileSync(file, ogg)
    files.push(file)
  }
  const decoded = ffmpegDecodeAll(files, format.channels)
  const frame48 = (o.frameMs ?? 20) * 48
  const preSkip = o.application === 'lowdelay' ? 120 : 312
  let quirks = 0
  lengths.forEach((n, i) => {
    const pcm = decoded[i]!
    const got = pcm.length / format.channels
    // ffmpeg bug: when the pre-skip ends inside the last, end-trimmed packet, ffmpeg forgets the
    // part of the pre-skip in that packet (ffmpeg 4.1 for any input under 648 samples with 20 ms
    // frames; 5.1 only when an earlier packet already started the pre-skip, e.g. 2.5 ms frames
    // and under 48 samples). The file is right (libopus above); ffmpeg plays those samples extra.
    const packets = Math.ceil((preSkip + n * ratio) / frame48)
    const leftover = Math.floor(preSkip / frame48) === packets - 1 ? preSkip - (packets - 1) * frame48 : 0
    if (leftover > 0 && got === n * ratio + leftover) quirks++
    else if (got !== n * ratio) wrong.push(`${n}: ffmpeg decoded ${got} at 48 kHz, expected ${n * ratio}`)
    if (o.lagAt?.(n)) {
      const input = source.subarray(0, n * frame)
      // ffmpeg decodes at 48 kHz: compare every `ratio`-th sample with the input.
      const lag = bestLag(channelOf(new Int16Array(input.buffer, input.byteOffset, input.length / 2), format.channels), channelOf(pcm, format.channels, 0, ratio), 400)
      if (lag !== 0) lags.push(`${n}: ffmpeg lag ${lag}`)
    }
  })
  t.same(wrong, [], `${lengths.length} lengths: granule and libopus exact, ffmpeg exact${quirks ? ` (or, ${quirks} times, its pre-skip bug)` : ''}`)
  if (o.lagAt) {
    t.ok(lagChecks > 0, `${lagChecks} lengths checked for alignment`)
    t.same(lags, [], 'decoded audio is aligned with the input (lag 0) in both decoders')
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

t.test('the bug this fixes: 960 samples at 48 kHz stereo decode to 960, not 648', async (t) => {
  const ogg = await encodeOgg(chirpPcm(48000, 960, 2), stereo48)
  const d = decodeOggOpus(ogg)
  t.equal(d.file.preSkip, 312)
  t.equal(d.file.packets.length, 2, 'the 960 samples plus one packet that flushes the 312-sample lookahead')
  t.equal(d.carried, 1920)
  t.equal(d.finalGranule, 1272, 'pre-skip + input length')
  t.same(d.file.granules, [960, 1272], 'each page granule: samples carried so far (pre-skip included), the last one trimmed')
  t.equal(d.length, 960)
  const file = join(dir, 'one-frame.opus')
  writeFileSync(file, ogg)
  t.equal(ffmpeg(['-i', file, '-f', 's16le', '-ac', '2', '-ar', '48000', 'pipe:1']).length / 4, 960, 'ffmpeg decodes 960 samples')
})

t.test('48 kHz stereo: every length from 1 sample to 3 frames (2880) decodes to exactly that length', async (t) => {
  await checkLengths(t, stereo48, range(1, 2880), { lagAt: (n) => n >= 960 && (n % 480 === 0 || n % 960 === 959 || n % 960 === 1) })
})

t.test('24 kHz mono: every length from 1 sample to 3 frames (1440) decodes to exactly that length', async (t) => {
  await checkLengths(t, mono24, range(1, 1440), { lagAt: (n) => n >= 480 && (n % 240 === 0 || n % 480 === 479 || n % 480 === 1) })
})

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
  // 1000 samples → two 20 ms frames (the second padded), and one packet flushing the lookahead.
  t.equal(packets.length, 3)
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
