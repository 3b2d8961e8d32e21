import t from 'tap'
import { createRequire } from 'node:module'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { FfmpegTranscoder, OggOpusMuxer, OpusEncoder, opusEngineReport, type FfmpegOutput, type OpusEngineName, type PcmFormat } from '../lib/index.js'
import { oggCrc32, opusPacketSamples } from '../lib/core.js'
import { collectBytes, errorOf, splitEvery } from './fixtures/helpers.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { ffmpegForLibrary } from './fixtures/tools.js'
import { decode, encode, sine } from './fixtures/signal.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-codecs-'))
const require = createRequire(import.meta.url)
const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
ffmpegForLibrary() // the library's FfmpegTranscoder gets the ffmpeg the tests found (FFMPEG_PATH when it is npm's)

/** A speech-like test signal: two tones with a slow envelope. */
function signal(rate: number, seconds: number, channels = 1): Buffer {
  const a = sine(rate, 300, seconds, 0.3)
  const b = sine(rate, 1700, seconds, 0.15)
  const x = a.map((v, i) => (v + b[i]!) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 2 * i) / rate)))
  return encode(x, 's16le', channels)
}

async function encodeOgg(pcm: Buffer, format: PcmFormat, engine: OpusEngineName) {
  const enc = new OpusEncoder({ format, engines: [engine] })
  const packets: Buffer[] = []
  const mux = new OggOpusMuxer({ encoder: enc })
  const tap = new (await import('node:stream')).PassThrough({ objectMode: true })
  tap.on('data', (p: Buffer) => packets.push(p))
  const ogg = await collectBytes(Readable.from(splitEvery(pcm, 1001)).pipe(enc).pipe(tap).pipe(mux))
  return { enc, ogg, packets }
}

/** Normalised cross-correlation of two float signals at the best lag within ±maxLag. */
function bestCorrelation(a: Float64Array, b: Float64Array, maxLag: number): number {
  let best = -1
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0, aa = 0, bb = 0
    for (let i = Math.max(0, -lag); i < Math.min(a.length, b.length - lag); i++) {
      const x = a[i]!, y = b[i + lag]!
      ab += x * y; aa += x * x; bb += y * y
    }
    best = Math.max(best, ab / Math.sqrt(aa * bb))
  }
  return best
}

const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')

t.test('at least the two no-build engines load here (dev dependencies)', async (t) => {
  t.equal(report['@evan/opus'], 'ok')
  t.equal(report.opusscript, 'ok')
})

for (const engine of engines) {
  t.test(`${engine}: Ogg Opus that ffprobe, ffmpeg, prism-media and @discordjs/voice accept`, async (t) => {
    const seconds = 1.01
    const pcm = signal(48000, seconds, 2)
    const { enc, ogg, packets } = await encodeOgg(pcm, stereo48, engine)
    t.equal(enc.engine, engine)
    t.equal(packets.length, Math.ceil((seconds * 1000) / 20), 'one packet per 20 ms frame, the last one padded')
    t.ok(packets.every((p) => opusPacketSamples(p) === 960))
    t.equal(enc.inputSamples, Math.round(seconds * 48000))

    const file = join(dir, `${engine.replace('/', '_')}.opus`)
    writeFileSync(file, ogg)
    const probe = ffprobe(file)
    const s = probe.streams[0]!
    t.equal(s['codec_name'], 'opus')
    t.equal(s['channels'], 2)
    const playable = Number(probe.format['duration']) + Number(s['start_time'])
    t.ok(Math.abs(playable - seconds) <= 0.02, `playable length ${playable.toFixed(4)} s vs ${seconds} s (within one frame)`)

    const decoded = decode(ffmpeg(['-i', file, '-f', 's16le', '-ac', '2', '-ar', '48000', 'pipe:1']), 's16le', 2)
    const source = decode(pcm, 's16le', 2)
    t.ok(Math.abs(decoded.length - source.length) <= 960, `decoded ${decoded.length} samples vs ${source.length}`)
    const corr = bestCorrelation(source.subarray(4800, 40800), decoded.subarray(4800, 40800), 400)
    t.ok(corr >= 0.95, `decoded audio correlates with the source: ${corr.toFixed(4)}`)

    // prism-media's OggDemuxer (what @discordjs/voice uses) yields exactly our packets.
    const prism = require(require.resolve('prism-media', { paths: [require.resolve('@discordjs/voice')] })) as { opus: { OggDemuxer: new () => NodeJS.ReadWriteStream } }
    const demuxed: Buffer[] = []
    await pipeline(Readable.from([ogg]), prism.opus.OggDemuxer ? new prism.opus.OggDemuxer() as unknown as Writable : new Writable(), new Writable({ objectMode: true, write(p: Buffer, _e, cb) { demuxed.push(Buffer.from(p)); cb() } }))
    t.same(demuxed, packets, 'prism-media OggDemuxer yields the same packets')

    const voice = require('@discordjs/voice') as { demuxProbe(s: Readable): Promise<{ type: string }>; StreamType: Record<string, string> }
    const probed = await voice.demuxProbe(Readable.from([ogg], { objectMode: false }))
    t.equal(probed.type, voice.StreamType['OggOpus'], '@discordjs/voice demuxProbe: StreamType.OggOpus')
  })
}

t.test('Ogg pages: CRCs, sequence numbers, BOS/EOS, granules, OpusHead and OpusTags', async (t) => {
  const pcm = signal(24000, 0.5, 1)
  const { ogg } = await encodeOgg(pcm, { sampleRate: 24000, channels: 1, encoding: 's16le' }, 'opusscript')
  const pages: { flags: number; granule: bigint; seq: number; body: Buffer }[] = []
  for (let off = 0; off < ogg.length; ) {
    t.equal(ogg.toString('latin1', off, off + 4), 'OggS')
    const nseg = ogg[off + 26]!
    const segs = [...ogg.subarray(off + 27, off + 27 + nseg)]
    const len = 27 + nseg + segs.reduce((a, b) => a + b, 0)
    const page = Buffer.from(ogg.subarray(off, off + len))
    const crc = page.readUInt32LE(22)
    page.writeUInt32LE(0, 22)
    t.equal(oggCrc32(page), crc, `page ${pages.length} CRC`)
    pages.push({ flags: page[5]!, granule: page.readBigInt64LE(6), seq: page.readUInt32LE(18), body: page.subarray(27 + nseg) })
    off += len
  }
  t.same(pages.map((p) => p.seq), pages.map((_, i) => i))
  t.equal(pages[0]!.flags, 0x02, 'BOS on the first page only')
  t.equal(pages.at(-1)!.flags, 0x04, 'EOS on the last page')
  const head = pages[0]!.body
  t.equal(head.toString('latin1', 0, 8), 'OpusHead')
  t.equal(head[9], 1)
  t.equal(head.readUInt16LE(10), 312, 'pre-skip')
  t.equal(head.readUInt32LE(12), 24000, 'input rate')
  t.match(pages[1]!.body.toString('latin1'), /^OpusTags.{4}lightning-stream \d/)
  const granules = pages.slice(2).map((p) => Number(p.granule))
  t.same([...granules].sort((a, b) => a - b), granules, 'granules never decrease')
  t.equal(granules.at(-1), 312 + 24000, 'the final granule trims the padding: pre-skip + true length at 48 kHz')
})

t.test('Opus TOC parsing and encoder option checks', async (t) => {
  t.equal(opusPacketSamples(Buffer.from([0xfc])), 960) // CELT FB 20 ms, 1 frame
  t.equal(opusPacketSamples(Buffer.from([0xf9])), 1920) // CELT 20 ms, 2 frames (code 1)
  t.equal(opusPacketSamples(Buffer.from([0x1b, 0x03])), 3 * 2880) // SILK 60 ms (config 3), code 3, 3 frames
  t.equal(opusPacketSamples(Buffer.from([0x08])), 960) // SILK 20 ms (config 1), 1 frame
  t.equal(opusPacketSamples(Buffer.from([0x60])), 480) // hybrid 10 ms
  t.throws(() => opusPacketSamples(Buffer.alloc(0)), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new OpusEncoder({ format: { sampleRate: 44100, channels: 1, encoding: 's16le' } }), { code: 'ERR_AUDIO_FORMAT', message: /Resampler/ })
  t.throws(() => new OpusEncoder({ format: { ...stereo48, channels: 3 } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new OpusEncoder({ format: { ...stereo48, encoding: 'f32le' } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new OpusEncoder({ format: stereo48, frameMs: 25 }), { code: 'ERR_INVALID_OPTION', option: 'frameMs' })
  t.throws(() => new OpusEncoder({ format: stereo48, complexity: 11 }), { code: 'ERR_INVALID_OPTION', option: 'complexity' })
  // A missing engine is reported when the encoder is constructed, before any audio flows.
  if (report['@discordjs/opus'] === 'ok') t.doesNotThrow(() => new OpusEncoder({ format: stereo48, engines: ['@discordjs/opus'] }))
  else t.throws(() => new OpusEncoder({ format: stereo48, engines: ['@discordjs/opus'] }), { code: 'ERR_OPUS_ENGINE_MISSING', message: /npm install @evan\/opus/ })
  for (const engine of engines) {
    const lowdelay = new OpusEncoder({ format: stereo48, engines: [engine], application: 'lowdelay', complexity: 0, bitrate: 32000, fec: true, packetLossPercent: 10, frameMs: 10 })
    const out = await collectBytes(Readable.from([Buffer.alloc(3840 * 5)]).pipe(lowdelay).pipe(new OggOpusMuxer({ encoder: lowdelay })))
    t.ok(out.length > 100, `${engine}: every option is accepted`)
  }
})

const OUTPUTS: [FfmpegOutput, string][] = [
  ['mp3', 'mp3'],
  ['aac', 'aac'],
  ['flac', 'flac'],
  ['ogg-opus', 'opus'],
  ['webm-opus', 'opus'],
  ['wav', 'pcm_s16le'],
]

t.test('FfmpegTranscoder: every output format is what ffprobe says it is', async (t) => {
  const pcm = signal(24000, 1, 1)
  const format: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  for (const [output, codec] of OUTPUTS) {
    const bytes = await collectBytes(Readable.from(splitEvery(pcm, 4000)).pipe(new FfmpegTranscoder({ input: format, output })))
    const file = join(dir, `out.${output}`)
    writeFileSync(file, bytes)
    const probe = ffprobe(file)
    t.equal(probe.streams[0]!['codec_name'], codec, `${output}: ${codec}`)
  }
  const raw = await collectBytes(Readable.from([pcm]).pipe(new FfmpegTranscoder({ input: format, output: 'pcm', sampleRate: 48000, channels: 2 })))
  t.equal(raw.length, pcm.length * 4, 'pcm at 48 kHz stereo: every sample arrives (no low-latency flag drops the tail)')
  // Decoding a container: the mp3 from above back to PCM.
  const mp3 = readFileSync(join(dir, 'out.mp3'))
  const back = await collectBytes(Readable.from([mp3]).pipe(new FfmpegTranscoder({ input: { container: 'mp3' }, output: 'pcm' })))
  t.ok(back.length >= pcm.length * 0.9, `mp3 decoded back to ${back.length} bytes of PCM`)
})

t.test('FfmpegTranscoder: failures are FfmpegError with exit code and stderr; a missing binary says how to install', async (t) => {
  const bad = await errorOf(() => collectBytes(Readable.from([Buffer.from('definitely not an mp3 file '.repeat(50))]).pipe(new FfmpegTranscoder({ input: { container: 'mp3' }, output: 'wav' }))))
  t.match(bad, { code: 'ERR_FFMPEG', name: 'FfmpegError' })
  t.not(bad['exitCode'], 0)
  t.ok(String(bad['stderr']).length > 0, 'stderr kept')
  const none = await errorOf(() => collectBytes(Readable.from([Buffer.alloc(100)]).pipe(new FfmpegTranscoder({ input: { sampleRate: 8000, channels: 1, encoding: 's16le' }, output: 'wav', ffmpegPath: '/nonexistent/ffmpeg' }))))
  t.match(none, { code: 'ERR_FFMPEG', message: /apt-get install ffmpeg.*FFMPEG_PATH/ })
  t.throws(() => new FfmpegTranscoder({ input: { container: 'mp3; rm -rf /' }, output: 'wav' }), { code: 'ERR_INVALID_OPTION', option: 'input.container' })
})

t.test('FfmpegTranscoder: low-latency flags — output after 100 ms of input, not 2 s', async (t) => {
  const tr = new FfmpegTranscoder({ input: { sampleRate: 24000, channels: 1, encoding: 's16le' }, output: 'pcm' })
  t.teardown(() => {
    tr.destroy()
    return tr.exited()
  })
  t.ok(tr.args.includes('low_delay') && tr.args.includes('-flush_packets'))
  t.notOk(tr.args.includes('nobuffer'), '-fflags nobuffer drops audio on piped raw PCM')
  // Five 20 ms frames and then nothing: with ffmpeg's default probing it would sit on them (it
  // wants ~2 s of input first); with ours it must answer with no more input. Counted in input
  // frames, not milliseconds; the wait below only guards against a hang.
  const frame = signal(24000, 0.02, 1)
  const first = new Promise<Buffer>((resolve, reject) => {
    tr.once('data', resolve)
    tr.once('error', reject)
  })
  for (let i = 0; i < 5; i++) tr.write(frame)
  let timer: NodeJS.Timeout | undefined
  const out = await Promise.race([first, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no output after 100 ms of input and a 20 s wait')), 20_000)))])
  clearTimeout(timer)
  t.ok(out.length > 0, `first output (${out.length} bytes) after 5 frames (100 ms) of input and no more`)
})

t.test('destroying a transcode whose ffmpeg never started signals nothing (no kill(0) to the process group)', async (t) => {
  // In a child that leads its own process group: before the fix, FfmpegTranscoder killed the
  // pid-less child of a failed spawn, and libuv sent SIGTERM to the whole group (under tap: the
  // runner and every test file after this one).
  const script = fileURLToPath(new URL('./fixtures/ffmpeg-missing-child.mjs', import.meta.url))
  const child = spawn(process.execPath, [script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])))
  t.equal(signal, null, `the child was not killed (${signal ?? 'no signal'})`)
  t.equal(status, 0, stderr)
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { destroyedWithoutPid: number; pidlessKills: number; received: string[]; siblingAlive: boolean }
  t.equal(out.destroyedWithoutPid, 20, '20 transcodes destroyed between the failed spawn and its error event')
  t.equal(out.pidlessKills, 0, 'kill() was never called on a child without a pid')
  t.same(out.received, [], 'no signal reached the process')
  t.equal(out.siblingAlive, true, 'a sibling in the process group survived')
})

t.test('100 aborted transcodes leave no ffmpeg process behind', async (t) => {
  const pids: number[] = []
  for (let i = 0; i < 100; i++) {
    const tr = new FfmpegTranscoder({ input: { sampleRate: 24000, channels: 1, encoding: 's16le' }, output: i % 2 ? 'mp3' : 'ogg-opus', killGraceMs: 500 })
    tr.on('error', () => {})
    tr.write(Buffer.alloc(4800))
    if (tr.pid) pids.push(tr.pid)
    tr.destroy()
    await tr.exited()
  }
  t.equal(pids.length, 100)
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  })
  t.same(alive, [], 'every child exited')
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  const children = ps.stdout.split('\n').map((s) => Number(s.trim())).filter((p) => pids.includes(p))
  t.same(children, [], 'no child of this process is left (zombie or orphan)')
})
