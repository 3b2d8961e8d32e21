// The full Discord chain, against what users do today: CPU per second of audio, and so streams per
// core, from the SSE bytes on the socket to 20 ms Opus packets for @discordjs/voice. The replay
// server (its own process) serves the same utterance to every variant; this process is the client,
// and ffmpeg children are counted too (their CPU once reaped: /proc/self/stat cutime + cstime).
//
//   (a)  lightning-stream: client.pcm() → createDiscordStream({ mode: 'opus' }), as this build ships
//        it, piped away as fast as it gives packets (the player is the clock: nothing in the stream
//        runs on a timer, and a player reading one packet per 20 ms gets the same packets);
//   (a*) the same stages without the playout buffer: client.pcm() → HalfbandUpsampler (24 kHz mono
//        → 48 kHz stereo) → OpusEncoder, read as fast as they come;
//   (b)  do-it-yourself: the SSE bytes decoded by hand (the vendor docs' split('\n\n') loop), a WAV
//        header in front, createAudioResource(…, { inputType: StreamType.Arbitrary }): voice spawns
//        ffmpeg per stream (and demuxes or encodes with prism-media);
//   (c)  client.pcm() → HalfbandUpsampler → createAudioResource(…, { inputType: StreamType.Raw }): voice
//        encodes with prism-media's opus.Encoder;
//   (d)  the Opus engine alone on the same PCM at 48 kHz stereo (the limit);
//   (e)  native rate (opt-in nativeRate): client.pcm() → OpusEncoder at 24 kHz mono, no resampler or
//        mixer (packets a 48 kHz stereo decoder plays; see discord-native-rate.mjs for the quality check).
//
// Goals: (a) ≥ 10× cheaper than (b), and (a) ≤ 1.25× (d). Every repetition runs every variant
// (on S streams each); reported: median ms of CPU per audio
// second, and the median (min–max) of per-repetition ratios. Packet counts are checked.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Writable, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { request, Agent } from 'undici'
import { createDiscordStream, HalfbandUpsampler, LightningClient, OpusEncoder } from '../dist/esm/index.js'
import { createHalfbandUpsampler } from '../dist/esm/core.js'
import { createOpusEngine } from '../dist/esm/codecs/opus-engines.js'
import { machine, median, QUICK, speechLike } from './lib.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const voice = await import('@discordjs/voice')

const SECONDS = QUICK ? 0.5 : Number(process.env.SECONDS ?? 4)
const S = QUICK ? 2 : Number(process.env.STREAMS ?? 6)
const REPS = QUICK ? 1 : Number(process.env.REPS ?? 15)

const server = spawn(process.execPath, [`${here}replay-server.mjs`], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(d.toString().trim())))
const base = `${url}/burst/${SECONDS}`
const client = new LightningClient({ baseUrl: base, maxConcurrent: 1000, retry: false })
const req = { text: 'replayed', voice_id: 'magnus', sample_rate: 24000 }
const FORMAT48 = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const packetsExpected = Math.ceil((SECONDS * 1000) / 20)

/** Reads object-mode packets to the end; returns the count. */
async function countPackets(readable) {
  let n = 0
  await pipeline(readable, new Writable({ objectMode: true, write(_p, _e, cb) { n++; cb() } }))
  return n
}

/** CPU of this process's reaped children (ffmpeg), µs. */
function childrenCpuUs() {
  const f = readFileSync('/proc/self/stat', 'latin1')
  const p = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return ((Number(p[13]) + Number(p[14])) * 1e6) / 100 // cutime + cstime, clock ticks (USER_HZ 100)
}
/** Children still running or not yet reaped. */
function liveChildren() {
  let n = 0
  for (const tid of readdirSync('/proc/self/task')) n += readFileSync(`/proc/self/task/${tid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).length
  return n
}

// (a) as shipped: createDiscordStream, piped away (no timer anywhere in the stream).
async function shipped() {
  const { stream } = createDiscordStream(client.pcm(req), { mode: 'opus' })
  return countPackets(stream)
}

// (a*) the same stages, no playout buffer.
async function stages() {
  const pcm = client.pcm(req)
  return countPackets(pcm.pipe(new HalfbandUpsampler({ channels: 2 })).pipe(new OpusEncoder({ format: FORMAT48 })))
}

// (e) native rate: 24 kHz mono packets.
async function nativeRate() {
  const pcm = client.pcm(req)
  return countPackets(pcm.pipe(new OpusEncoder({ format: pcm.format })))
}

// (b) do-it-yourself: hand-decoded SSE → WAV → voice's Arbitrary (ffmpeg per stream).
const diyAgent = new Agent()
async function diy() {
  const res = await request(`${base}/waves/v1/tts/live`, { method: 'POST', body: JSON.stringify(req), headers: { 'content-type': 'application/json' }, dispatcher: diyAgent })
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'latin1')
  header.writeUInt32LE(0xffffffff, 4)
  header.write('WAVEfmt ', 8, 'latin1')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(24000, 24)
  header.writeUInt32LE(48000, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'latin1')
  header.writeUInt32LE(0xffffffff, 40)
  async function* wav() {
    yield header
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += chunk.toString()
      const parts = buffer.split('\n\n')
      buffer = parts.pop()
      for (const part of parts) {
        const line = part.split('\n').find((l) => l.startsWith('data: '))
        if (!line) continue
        const msg = JSON.parse(line.slice(6))
        if (msg.audio) yield Buffer.from(msg.audio, 'base64')
      }
    }
  }
  const resource = voice.createAudioResource(Readable.from(wav()), { inputType: voice.StreamType.Arbitrary })
  return countPackets(resource.playStream)
}

// (c) PCM → StreamType.Raw: voice encodes (prism-media opus.Encoder).
async function raw() {
  const pcm = client.pcm(req)
  const pcm48 = pcm.pipe(new HalfbandUpsampler({ channels: 2 }))
  const resource = voice.createAudioResource(pcm48, { inputType: voice.StreamType.Raw })
  return countPackets(resource.playStream)
}

// (d) the engine alone, on the very frames the chain encodes (Opus's cost depends on the signal):
// the same speech, upsampled to 48 kHz stereo by the same filter, before the clock starts.
const pcm48 = (() => {
  const up = createHalfbandUpsampler({ channels: 2 })
  return Buffer.concat([up.push(speechLike(24000, SECONDS)), up.flush()])
})()
let engineName = ''
/**
 * (d) runs its S streams together, one network chunk's worth of frames (~1 s of audio at a time in
 * burst) per stream in turn, as the chain does: S encoders' state competes for the caches there too.
 */
async function engineAloneAll(streams) {
  const engines = await Promise.all(Array.from({ length: streams }, () => createOpusEngine({ sampleRate: 48000, channels: 2, application: 'audio', bitrate: 64000, complexity: undefined, fec: false, packetLossPercent: 0 })))
  engineName = engines[0].name
  const counts = engines.map(() => 0)
  const BATCH = 49 // frames in one 64 KiB socket read of SSE, decoded and upsampled
  for (let off = 0; off < pcm48.length; off += 3840 * BATCH) {
    for (const [i, e] of engines.entries()) {
      for (let f = off; f < Math.min(pcm48.length, off + 3840 * BATCH); f += 3840) {
        const frame = f + 3840 <= pcm48.length ? pcm48.subarray(f, f + 3840) : Buffer.concat([pcm48.subarray(f), Buffer.alloc(3840 - (pcm48.length - f))])
        e.encode(frame, 960)
        counts[i]++
      }
    }
  }
  for (const e of engines) e.free()
  return counts
}

const VARIANTS = [
  { key: 'a', name: '(a) lightning-stream: pcm() → createDiscordStream opus (as shipped)', fn: shipped, streams: S },
  { key: 'a*', name: '(a*) lightning-stream: pcm() → HalfbandUpsampler → OpusEncoder (no playout buffer)', fn: stages, streams: S },
  { key: 'b', name: '(b) DIY: SSE by hand → WAV → voice Arbitrary (ffmpeg per stream)', fn: diy, streams: S },
  { key: 'c', name: '(c) pcm() → 48 kHz stereo → voice Raw (prism-media encodes)', fn: raw, streams: S },
  { key: 'd', name: '(d) the Opus engine alone (limit)', all: engineAloneAll, streams: S },
  { key: 'e', name: '(e) native rate: pcm() → OpusEncoder 24 kHz mono (opt-in)', fn: nativeRate, streams: S },
]

const cpu = Object.fromEntries(VARIANTS.map((v) => [v.key, []]))
const children = Object.fromEntries(VARIANTS.map((v) => [v.key, []]))
for (let r = 0; r <= REPS; r++) {
  for (const v of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
    globalThis.gc?.()
    const c0 = process.cpuUsage()
    const k0 = childrenCpuUs()
    const counts = v.all ? await v.all(v.streams) : await Promise.all(Array.from({ length: v.streams }, () => v.fn()))
    for (let i = 0; i < 500 && liveChildren() > 1; i++) await new Promise((res) => setTimeout(res, 10)) // the replay server is one child
    const c = process.cpuUsage(c0)
    const kids = childrenCpuUs() - k0
    for (const n of counts) {
      // voice's Arbitrary path may add or drop a last partial packet; the rest must match.
      if (Math.abs(n - packetsExpected) > 2) throw new Error(`${v.name}: ${n} packets, expected ${packetsExpected}`)
    }
    if (r > 0) {
      cpu[v.key].push((c.user + c.system + kids) / 1000 / (v.streams * SECONDS)) // ms CPU per audio second
      children[v.key].push(kids / 1000 / (v.streams * SECONDS))
    }
  }
}

const ratio = (x, y) => {
  const rs = cpu[x].map((v, i) => v / cpu[y][i])
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) }
}
const rows = VARIANTS.map((v) => ({
  key: v.key,
  name: v.name,
  msCpuPerAudioSecond: median(cpu[v.key]),
  childrenMsPerAudioSecond: median(children[v.key]),
  streamsPerCore: 1000 / median(cpu[v.key]),
  streams: v.streams,
}))
server.kill('SIGTERM')
await client.close()
await diyAgent.close()
console.log(
  JSON.stringify(
    {
      benchmark: 'discord-chain',
      machine: machine(),
      utteranceSeconds: SECONDS,
      reps: REPS,
      engine: engineName,
      rows,
      ratios: {
        bOverA: ratio('b', 'a'),
        bOverAStar: ratio('b', 'a*'),
        aOverD: ratio('a', 'd'),
        aStarOverD: ratio('a*', 'd'),
        cOverAStar: ratio('c', 'a*'),
        eOverAStar: ratio('e', 'a*'),
      },
      goals: { bOverA: 10, aOverD: 1.25 },
    },
    null,
    2,
  ),
)
