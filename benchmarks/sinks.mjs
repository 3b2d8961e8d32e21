// Realtime sinks on a busy host. A real @discordjs/voice AudioPlayer plays one 3.84 s utterance
// through createDiscordStream in each mode (opus, raw, ogg) and, for comparison, through the plain
// path (convertPcm → PassThrough → StreamType.Raw, no clock of ours); WrtcAudioSink feeds a real
// @roamhq/wrtc RTCAudioSource and LiveKitAudioSink a real @livekit/rtc-node AudioSource. All of
// it runs at 0, 1, 2 and 4 busy-looping processes per core, spawned here.
//
// Method: the emulator (tone engine, default speed: as fast as the socket allows) runs in a child
// process, so this process does only what a bot does. Plays run one at a time, the sinks
// interleaved (A B C …, A B C …) so load changes hit all of them alike. Per play, counted from
// what the peer received, not from the library's own metrics:
// - ended early: the player went idle before it got every audio frame (Discord), or the peer got
//   fewer audio frames/samples than the utterance holds (WebRTC, LiveKit);
// - frames lost: audio frames of the utterance the peer never got;
// - silence: frames of silence the library inserted (its metrics; the peer received them);
// - worst drift: the largest lateness of a frame against an ideal clock started at the first
//   frame (frame i due at t0 + i × frame length), ms. For Discord this is the player's own clock
//   (voice's 20 ms loop); for WebRTC the sink's; for LiveKit the capture time against playout time;
// - largest burst: most frames handed to the peer within any 10 ms window (WebRTC; 1–2 when the
//   clock keeps time, more when it catches up after a stall).
// Stall after play(): each Discord mode plays with a 400 ms synchronous stall right after play(),
// on the otherwise idle machine: the start-up debt that CPU contention causes at random, on purpose.
// CPU per audio second of each Discord path is process CPU time (user + system) over a play on an
// idle machine, median and range of the plays, measured first, before node-webrtc and LiveKit are
// loaded (their native threads would count too).
// LS_DIST=<dir with index.js> benchmarks another build with the same method. LS_BASELINE=<dir>
// runs that build beside this one, interleaved play by play (rows marked "baseline"): the fairest
// before/after on a shared machine. PLAYS=<n> plays per sink and load (default 8).
// --quick: 1 play per sink at 0 and 1 busy process per core (keeps it working in CI).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import os from 'node:os'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { machine, median, QUICK } from './lib.mjs'

const require = createRequire(import.meta.url)
const distDir = process.env.LS_DIST ?? fileURLToPath(new URL('../dist/esm/', import.meta.url))
const load = (dir) => import(pathToFileURL(`${dir.replace(/\/?$/, '/')}index.js`).href)
const ls = await load(distDir)
const baseline = process.env.LS_BASELINE ? await load(process.env.LS_BASELINE) : undefined
const voice = require('@discordjs/voice')

const CORES = os.cpus().length
const LOADS = QUICK ? [0, 1] : [0, 1, 2, 4]
const PLAYS = Number(process.env.PLAYS ?? (QUICK ? 1 : 8))
const CPU_PLAYS = QUICK ? 1 : 8
// 64 characters × 60 ms per character (the tone engine) = 3.84 s of audio at 24 kHz.
const TEXT = 'Sixty-four characters of speech for the realtime sink benchmark.'
if ([...TEXT].length !== 64) throw new Error('the utterance must be 64 characters (3.84 s)')
const REQ = { text: TEXT, voice_id: 'magnus', sample_rate: 24000 }
const AUDIO_MS = 3840

const cli = fileURLToPath(new URL('../dist/esm/cli/bin.js', import.meta.url))
const emulator = spawn(process.execPath, [cli, 'serve', '--port', '0', '--max-concurrent', '8', '--engine', 'tone'], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => emulator.stdout.once('data', (d) => resolve(d.toString().trim())))
const client = new ls.LightningClient({ baseUrl: url, maxConcurrent: 8 })
const baseClient = baseline && new baseline.LightningClient({ baseUrl: url, maxConcurrent: 8 })

let busy = []
function setBusy(n) {
  for (const p of busy) p.kill('SIGKILL')
  busy = Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
}
process.on('exit', () => {
  for (const p of busy) p.kill('SIGKILL')
  emulator.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130)) // runs the cleanup above

/** Most frames handed over within any window of one frame length (1 or 2 when realtime). */
function largestBurst(times, frameMs) {
  let best = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= frameMs) j++
    best = Math.max(best, i - j + 1)
  }
  return best
}

/** Largest lateness of frame i against t0 + i × frameMs. */
function worstDrift(times, frameMs) {
  let worst = 0
  for (let i = 0; i < times.length; i++) worst = Math.max(worst, times[i] - times[0] - i * frameMs)
  return worst
}

/** Plays `stream` in a real AudioPlayer until idle; counts the packets it took from the stream. */
async function play(stream, inputType, afterPlay) {
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  const resource = voice.createAudioResource(stream, { inputType })
  const times = []
  let nullReads = 0
  // Count on the resource (one call per player tick), not on the stream (read internally too).
  const resRead = resource.read.bind(resource)
  resource.read = () => {
    const before = resource.silenceRemaining
    const p = resRead()
    if (before === -1) {
      if (p) times.push(performance.now())
      else nullReads++
    }
    return p
  }
  const cpu0 = process.cpuUsage()
  player.play(resource)
  afterPlay?.()
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 10_000)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 60_000)
  const cpu = process.cpuUsage(cpu0)
  player.stop(true)
  return { packets: times.length, nullReads, playbackMs: resource.playbackDuration, driftMs: worstDrift(times, 20), cpuMs: (cpu.user + cpu.system) / 1000 }
}

const FRAMES_20 = Math.ceil(AUDIO_MS / 20)

async function discord(mode, lib = ls, c = client, afterPlay = undefined) {
  const pcm = c.pcm(REQ)
  let pcmError
  pcm.on('error', (e) => (pcmError = e.code))
  const d = lib.createDiscordStream(pcm, { mode })
  const r = await play(d.stream, d.inputType, afterPlay)
  const silence = d.metrics.silenceFrames
  const audio = r.packets - silence
  return { ...r, silence, audioFrames: audio, lost: Math.max(0, FRAMES_20 - audio), early: audio < FRAMES_20, error: pcmError }
}

async function plain() {
  const pcm = client.pcm(REQ)
  const target = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  const pass = new PassThrough()
  pipeline([pcm, ...ls.convertPcm(pcm.format, target), pass]).catch(() => {})
  const r = await play(pass, voice.StreamType.Raw)
  return { ...r, silence: 0, audioFrames: r.packets, lost: Math.max(0, FRAMES_20 - r.packets), early: r.packets < FRAMES_20 }
}

// CPU per audio second first: idle machine, nothing but the Discord paths loaded.
const DISCORD = [
  ['Discord opus', () => discord('opus')],
  ['Discord raw', () => discord('raw')],
  ['Discord ogg', () => discord('ogg')],
  ['plain StreamType.Raw (no clock of ours)', plain],
  ...(baseline
    ? [
        ['Discord opus (baseline)', () => discord('opus', baseline, baseClient)],
        ['Discord raw (baseline)', () => discord('raw', baseline, baseClient)],
        ['Discord ogg (baseline)', () => discord('ogg', baseline, baseClient)],
      ]
    : []),
]
for (const [, run] of DISCORD) await run() // warm-up: engines loaded, paths compiled
const cpuRuns = Object.fromEntries(DISCORD.map(([name]) => [name, []]))
for (let i = 0; i < CPU_PLAYS; i++) for (const [name, run] of DISCORD) cpuRuns[name].push((await run()).cpuMs / (AUDIO_MS / 1000))
const cpu = Object.fromEntries(Object.entries(cpuRuns).map(([k, xs]) => [k, { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }]))
console.error(`sinks: CPU ms per audio second: ${Object.entries(cpu).map(([k, v]) => `${k} ${v.median.toFixed(1)}`).join(', ')}`)

// The mechanism, reproduced on purpose: a 400 ms synchronous stall right after play() puts
// voice's player clock in debt before the first frame (what CPU contention does at random).
const stall = () => {
  const until = performance.now() + 400
  while (performance.now() < until);
}
const stalled = Object.fromEntries(DISCORD.filter(([n]) => !n.startsWith('plain')).map(([name]) => [name, { plays: 0, earlyEnds: 0, missedReads: 0 }]))
for (let i = 0; i < (QUICK ? 1 : 4); i++) {
  for (const name of Object.keys(stalled)) {
    const mode = name.split(' ')[1]
    const r = name.includes('baseline') ? await discord(mode, baseline, baseClient, stall) : await discord(mode, ls, client, stall)
    stalled[name].plays++
    if (r.early) stalled[name].earlyEnds++
    stalled[name].missedReads += r.nullReads
  }
}
console.error(`sinks: 400 ms stall after play(): ${Object.entries(stalled).map(([k, v]) => `${k} ${v.earlyEnds}/${v.plays} early`).join(', ')}`)

const wrtc = require('@roamhq/wrtc')
const livekit = await import('@livekit/rtc-node')
const rtcSource = new wrtc.nonstandard.RTCAudioSource()
const rtcTrack = rtcSource.createTrack()
const rtcSink = new wrtc.nonstandard.RTCAudioSink(rtcTrack)
let rtcReceived = 0
rtcSink.ondata = () => rtcReceived++

async function webrtc(lib = ls, c = client) {
  const times = []
  // onData is read-only on the native object: record through a forwarding source.
  const probe = {
    onData(data) {
      times.push(performance.now())
      return rtcSource.onData(data)
    },
  }
  const cpu0 = process.cpuUsage()
  const pcm = c.pcm(REQ)
  const sink = new lib.WrtcAudioSink({ source: probe, format: pcm.format })
  await pipeline(pcm, sink)
  const cpu = process.cpuUsage(cpu0)
  const expected = Math.ceil(AUDIO_MS / 10)
  const silence = sink.metrics.silenceFrames
  const audio = times.length - silence
  return { packets: times.length, silence, audioFrames: audio, lost: Math.max(0, expected - audio), early: audio < expected, driftMs: worstDrift(times, 10), burst: largestBurst(times, 10), cpuMs: (cpu.user + cpu.system) / 1000 }
}

async function lk() {
  const source = new livekit.AudioSource(24000, 1, 1000)
  const times = []
  let samples = 0
  const capture = source.captureFrame.bind(source)
  source.captureFrame = (frame) => {
    times.push(performance.now())
    samples += frame.samplesPerChannel
    return capture(frame)
  }
  const cpu0 = process.cpuUsage()
  const pcm = client.pcm(REQ)
  const sink = new ls.LiveKitAudioSink({ source, format: pcm.format })
  await pipeline(pcm, sink)
  const cpu = process.cpuUsage(cpu0)
  await source.close()
  const expected = (AUDIO_MS * 24000) / 1000
  // Capture time against playout time: frame i plays at t0 + 10 ms × i once the queue started.
  return { packets: times.length, silence: 0, audioFrames: times.length, samples, lost: Math.max(0, Math.ceil((expected - samples) / 240)), early: samples < expected, driftMs: worstDrift(times, 10), cpuMs: (cpu.user + cpu.system) / 1000 }
}

const SINKS = [
  ...DISCORD,
  ['WrtcAudioSink', () => webrtc()],
  ...(baseline ? [['WrtcAudioSink (baseline)', () => webrtc(baseline, baseClient)]] : []),
  ['LiveKitAudioSink', lk],
]
await webrtc() // warm-up
await lk()

const loads = []
for (const perCore of LOADS) {
  setBusy(perCore * CORES)
  await new Promise((r) => setTimeout(r, 500))
  const plays = Object.fromEntries(SINKS.map(([name]) => [name, []]))
  for (let i = 0; i < PLAYS; i++) {
    for (const [name, run] of SINKS) {
      plays[name].push(await run())
    }
  }
  setBusy(0)
  const rows = SINKS.map(([name]) => {
    const ps = plays[name]
    return {
      sink: name,
      plays: ps.length,
      earlyEnds: ps.filter((p) => p.early).length,
      framesLost: ps.reduce((a, p) => a + p.lost, 0),
      silenceFrames: ps.reduce((a, p) => a + p.silence, 0),
      worstDriftMs: Math.max(...ps.map((p) => p.driftMs)),
      missedReads: ps.reduce((a, p) => a + (p.nullReads ?? 0), 0),
      largestBurst: Math.max(...ps.map((p) => p.burst ?? 0)),
      playedMs: ps.map((p) => p.playbackMs ?? p.audioFrames * (name.startsWith('Discord') || name.startsWith('plain') ? 20 : 10)),
      errors: ps.map((p) => p.error).filter(Boolean),
    }
  })
  loads.push({ busyPerCore: perCore, busyProcesses: perCore * CORES, rows })
  console.error(`sinks: ${perCore} busy per core: ${rows.map((r) => `${r.sink} ${r.earlyEnds}/${r.plays} early`).join(', ')}`)
}

await client.close()
await baseClient?.close()
rtcSink.stop()
rtcTrack.stop()
await livekit.dispose()
console.log(
  JSON.stringify(
    {
      benchmark: 'sinks',
      machine: machine(),
      dist: process.env.LS_DIST ? 'LS_DIST' : 'dist/esm',
      baseline: baseline ? 'LS_BASELINE' : undefined,
      utteranceMs: AUDIO_MS,
      playsPerSinkPerLoad: PLAYS,
      cpuPlays: CPU_PLAYS,
      webrtcFramesReceivedByTrackSink: rtcReceived,
      loads,
      cpuMsPerAudioSecond: cpu,
      stallAfterPlay: stalled,
    },
    null,
    2,
  ),
)
// @roamhq/wrtc crashes at exit unless the process exits explicitly.
process.exit(0)
