// Encoder benchmark. (1) Opus encode per 20 ms frame (48 kHz stereo, 64 kbit/s) for each engine
// installed, as a direct engine loop and through lightning-stream's OpusEncoder Transform (goal ≤
// 1.05×). (2) Ogg muxing cost per packet. (3) Time to first output and CPU per second of audio for
// in-process Opus+Ogg vs a spawned ffmpeg (libopus, ogg) with default flags and with the
// library's low-latency flags, on the same input fed at realtime in 20 ms chunks (goal: the first
// in-process page ≥ 50× sooner than ffmpeg with default flags).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createOggOpusChain, OggOpusMuxer, opusEngineReport, OpusEncoder } from '../dist/esm/index.js'
import { createOpusEngine } from '../dist/esm/codecs/opus-engines.js'
import { ffmpegArgs } from '../dist/esm/codecs/ffmpeg-args.js'
import { createOggOpusMuxer } from '../dist/esm/core.js'
import { chunks, interleaveAsync, machine, QUICK, speechLike } from './lib.mjs'

const SECONDS = QUICK ? 2 : 10
const REPS = QUICK ? 2 : 5
const mono = speechLike(48000, SECONDS)
const pcm = Buffer.alloc(mono.length * 2)
for (let i = 0; i < mono.length / 2; i++) {
  const v = mono.readInt16LE(i * 2)
  pcm.writeInt16LE(v, i * 4)
  pcm.writeInt16LE(v, i * 4 + 2)
}
const frames = chunks(pcm, 3840)
const format = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const settings = { sampleRate: 48000, channels: 2, application: 'audio', bitrate: 64000, complexity: undefined, fec: false, packetLossPercent: 0 }
const report = await opusEngineReport()
const rows = []

const variants = []
for (const name of Object.keys(report).filter((n) => report[n] === 'ok')) {
  variants.push({
    name: `${name}: direct engine loop`,
    run: async () => {
      const e = await createOpusEngine(settings, [name])
      let n = 0
      for (const f of frames) n += e.encode(f, 960).length > 0 ? 1 : 0
      e.free()
      return n
    },
  })
  variants.push({
    name: `${name}: OpusEncoder Transform`,
    run: async () => {
      let n = 0
      await pipeline(Readable.from(frames), new OpusEncoder({ format, engines: [name] }), new Writable({ objectMode: true, write(_p, _e, cb) { n++; cb() } }))
      return n - 1 // whole frames in: one more packet at the end flushes the encoder's lookahead
    },
  })
}
const check = (n) => {
  if (n !== frames.length) throw new Error(`${n} packets for ${frames.length} frames`)
}
const ms = await interleaveAsync(variants.map((v) => ({ ...v, check })), REPS)
for (const [name, t] of Object.entries(ms)) {
  const engine = name.split(':')[0]
  rows.push({ stage: 'OpusEncoder', scenario: '48 kHz stereo 64 kbit/s, 20 ms frames', name, usPerChunk: (t * 1000) / frames.length, xRealtime: SECONDS / (t / 1000), vsDirect: t / ms[`${engine}: direct engine loop`] })
}

// Ogg muxing alone, on pre-encoded packets.
const engine = await createOpusEngine(settings)
const packets = frames.map((f) => engine.encode(f, 960))
engine.free()
const HEAD = { channels: 2, inputSampleRate: 48000, preSkip: 312 }
// Both variants write the same pages (the serial differs, not the length): 2 header pages, then one page per packet.
const muxBytes = 47 + 28 + 8 + `lightning-stream `.length + JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version.length + 8 + packets.reduce((a, p) => a + 28 + Math.floor(p.length / 255) + p.length, 0)
const checkMux = (n) => {
  if (n !== muxBytes) throw new Error(`${n} Ogg bytes, expected ${muxBytes}`)
}
const muxMs = await interleaveAsync(
  [
    {
      name: 'OggOpusMuxer',
      run: async () => {
        let bytes = 0
        await pipeline(Readable.from(packets), new OggOpusMuxer({ head: HEAD }), new Writable({ write(c, _e, cb) { bytes += c.length; cb() } }))
        return bytes
      },
      check: checkMux,
    },
    {
      name: 'createOggOpusMuxer (core)',
      run: async () => {
        let bytes = 0
        const mux = createOggOpusMuxer({ head: HEAD })
        for (const p of packets) for (const page of mux.push(p)) bytes += page.length
        for (const page of mux.flush()) bytes += page.length
        return bytes
      },
      check: checkMux,
    },
  ],
  REPS,
)
for (const [name, t] of Object.entries(muxMs)) rows.push({ stage: 'OggOpusMuxer', scenario: 'pre-encoded 20 ms packets', name, usPerChunk: (t * 1000) / packets.length, xRealtime: SECONDS / (t / 1000) })

// Paced: 20 ms chunks every 20 ms; when does the first output byte / first audio page appear?
const PACED_S = QUICK ? 1 : 3
const pacedChunks = frames.slice(0, PACED_S * 50)
async function paced(makeSink) {
  const t0 = performance.now()
  const sink = makeSink()
  let firstByte
  let firstAudio
  let seen = 0
  sink.readable.on('data', (c) => {
    firstByte ??= performance.now() - t0
    seen += c.length
    // Past the two header pages (~100 bytes) an audio page has arrived.
    if (firstAudio === undefined && seen > 200) firstAudio = performance.now() - t0
  })
  const done = new Promise((r) => sink.readable.on('end', r))
  for (let i = 0; i < pacedChunks.length; i++) {
    const due = t0 + i * 20 - performance.now()
    if (due > 0) await new Promise((r) => setTimeout(r, due))
    sink.write(pacedChunks[i])
  }
  sink.end()
  await done
  return { firstByteMs: firstByte, firstAudioMs: firstAudio }
}
const inProcess = () => {
  const [enc, mux] = createOggOpusChain(format)
  enc.pipe(mux)
  return { readable: mux, write: (c) => enc.write(c), end: () => enc.end() }
}
const ffmpegSink = (lowLatency) => () => {
  let args = ffmpegArgs({ input: format, output: 'ogg-opus' })
  if (!lowLatency) args = ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '48000', '-ac', '2', '-i', 'pipe:0', '-c:a', 'libopus', '-b:a', '64000', '-f', 'ogg', 'pipe:1']
  const child = spawn(process.env.FFMPEG_PATH ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'inherit'] })
  return { readable: child.stdout, write: (c) => child.stdin.write(c), end: () => child.stdin.end() }
}
const latency = {
  'in-process OpusEncoder + OggOpusMuxer': await paced(inProcess),
  'ffmpeg, default flags': await paced(ffmpegSink(false)),
  'ffmpeg, low-latency flags (FfmpegTranscoder)': await paced(ffmpegSink(true)),
}

// CPU per second of audio, bulk (whole input at once): in-process vs ffmpeg (child CPU via /usr/bin/time).
const cpu0 = process.cpuUsage()
{
  await pipeline(Readable.from(frames), ...createOggOpusChain(format), new Writable({ write(_c, _e, cb) { cb() } }))
}
const cpuIn = process.cpuUsage(cpu0)
const ffCpu = await new Promise((resolve) => {
  const args = ffmpegArgs({ input: format, output: 'ogg-opus' })
  const child = spawn('/usr/bin/time', ['-f', '%U %S', process.env.FFMPEG_PATH ?? 'ffmpeg', ...args], { stdio: ['pipe', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  child.on('close', () => {
    const [u, s] = err.trim().split('\n').pop().split(' ').map(Number)
    resolve((u + s) * 1000)
  })
  child.stdin.end(pcm)
})
const cpu = {
  'in-process OpusEncoder + OggOpusMuxer': (cpuIn.user + cpuIn.system) / 1000 / SECONDS,
  'ffmpeg (libopus, ogg), including its start': ffCpu / SECONDS,
}
const d = latency['ffmpeg, default flags']
const ours = latency['in-process OpusEncoder + OggOpusMuxer']
console.log(
  JSON.stringify(
    {
      benchmark: 'codecs',
      machine: machine(),
      engines: report,
      rows,
      latency,
      ratios: { firstByteVsFfmpegDefault: d.firstByteMs / ours.firstByteMs, firstAudioVsFfmpegDefault: d.firstAudioMs / ours.firstAudioMs },
      goals: { firstByteVsFfmpegDefault: 50, wrapperVsDirect: 1.05 },
      cpuMsPerAudioSecond: cpu,
    },
    null,
    2,
  ),
)
