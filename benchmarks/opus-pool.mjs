// Opus on every core (OpusEncoderPool): streams per machine with 2 workers against 1, and the
// latency a pool adds per packet at 80 % of its capacity.
//
// 1. Capacity: many streams submit 20 ms frames (48 kHz stereo, 64 kbit/s) in batches of 5 as fast
//    as the pool encodes them (each stream keeps one batch in flight, as OpusEncoder does); frames
//    encoded per wall second ÷ 50 = realtime streams the pool sustains. Pools of 1 and 2 workers
//    alternate, ≥ 15 repetitions; the ratio is taken per repetition. Worker CPU is per thread
//    (/proc/thread-self), so the figure also gives encode cost per frame on a worker.
//    For reference, the same engine on the main thread (no pool) in the same run.
// 2. Latency: 80 % of the 2-worker capacity as realtime streams (one frame per stream every 20 ms,
//    phases spread over the period, as players pull; one batch in flight per stream, as OpusEncoder
//    keeps); latency = batch handed to the pool → packets back.
//    Reported: p50, p99 and max over all packets, and the in-thread encode time of a frame for
//    comparison ("added" = p99 minus that).
import os from 'node:os'
import { OpusEncoderPool } from '../dist/esm/index.js'
import { createOpusEngine } from '../dist/esm/codecs/opus-engines.js'
import { machine, median, QUICK, speechLike } from './lib.mjs'

const SETTINGS = { sampleRate: 48000, channels: 2, application: 'audio', bitrate: 64000, complexity: undefined, fec: false, packetLossPercent: 0 }
const ENGINES = ['@discordjs/opus', '@evan/opus', 'opusscript']
const REPS = QUICK ? 2 : Number(process.env.REPS ?? 15)
const FRAMES_PER_REP = QUICK ? 400 : Number(process.env.FRAMES ?? 6000)
const STREAMS = 24
const BATCH = 5

// 1 s of speech-like stereo frames, reused.
const mono = speechLike(48000, 1)
const frames = []
for (let off = 0; off + 1920 <= mono.length; off += 1920) {
  const f = Buffer.alloc(3840)
  for (let i = 0; i < 960; i++) {
    const v = mono.readInt16LE(off + i * 2)
    f.writeInt16LE(v, i * 4)
    f.writeInt16LE(v, i * 4 + 2)
  }
  frames.push(f)
}

/** Saturates `pool` with STREAMS streams until `total` frames are encoded; frames per wall second. */
async function saturate(pool, total) {
  const engines = await Promise.all(Array.from({ length: STREAMS }, () => pool.open(SETTINGS, ENGINES)))
  const cpu0 = await pool.workerCpuUs()
  let done = 0
  let sent = 0
  const t0 = performance.now()
  await Promise.all(
    engines.map(async (e, s) => {
      while (sent < total) {
        sent += BATCH
        const batch = Array.from({ length: BATCH }, (_, i) => frames[(s * 7 + done + i) % frames.length])
        const packets = await e.encodeBatch(batch, 960)
        if (packets.length !== BATCH) throw new Error('missing packets')
        done += BATCH
      }
    }),
  )
  const wall = (performance.now() - t0) / 1000
  const cpu1 = await pool.workerCpuUs()
  for (const e of engines) e.free()
  const workerUs = cpu1.reduce((a, v, i) => a + v - (cpu0[i] ?? 0), 0)
  return { framesPerSecond: done / wall, workerUsPerFrame: workerUs / done, engine: engines[0].name }
}

/** The same engine on this thread: frames per CPU second. */
async function inThread(total) {
  const e = await createOpusEngine(SETTINGS, ENGINES)
  const c0 = process.cpuUsage()
  for (let i = 0; i < total; i++) e.encode(frames[i % frames.length], 960)
  const c = process.cpuUsage(c0)
  e.free()
  return { usPerFrame: (c.user + c.system) / total, engine: e.name }
}

const one = new OpusEncoderPool({ workers: 1, idleTimeoutMs: 60_000 })
const two = new OpusEncoderPool({ workers: 2, idleTimeoutMs: 60_000 })
// Warm up: start the workers and their engines.
await saturate(one, 200)
await saturate(two, 200)

const fps1 = []
const fps2 = []
const ratios = []
const workerUs = []
const threadUs = []
let workerEngine = ''
let threadEngine = ''
for (let r = 0; r < REPS; r++) {
  const order = r % 2 ? [two, one] : [one, two]
  const res = new Map()
  for (const pool of order) res.set(pool, await saturate(pool, FRAMES_PER_REP))
  const a = res.get(one)
  const b = res.get(two)
  fps1.push(a.framesPerSecond)
  fps2.push(b.framesPerSecond)
  ratios.push(b.framesPerSecond / a.framesPerSecond)
  workerUs.push(a.workerUsPerFrame, b.workerUsPerFrame)
  workerEngine = a.engine
  const t = await inThread(Math.min(FRAMES_PER_REP, 2000))
  threadUs.push(t.usPerFrame)
  threadEngine = t.engine
}
await one.close()

// Latency at 80 % of the 2-worker capacity.
const capacityStreams = median(fps2) / 50
const rtStreams = Math.max(1, Math.floor(0.8 * capacityStreams))
const seconds = QUICK ? 1 : Number(process.env.LATENCY_SECONDS ?? 5)
const engines = await Promise.all(Array.from({ length: rtStreams }, () => two.open(SETTINGS, ENGINES)))
const lat = []
let late = 0
await new Promise((resolve) => {
  const start = performance.now()
  const next = engines.map((_, i) => start + (20 * i) / rtStreams) // phases spread over 20 ms
  const busy = engines.map(() => false) // one batch in flight per stream, as OpusEncoder keeps
  let pending = 0
  let finished = false
  const timer = setInterval(() => {
    const now = performance.now()
    if (now - start > seconds * 1000) {
      finished = true
      clearInterval(timer)
      if (pending === 0) resolve()
      return
    }
    engines.forEach((e, i) => {
      if (busy[i] || next[i] > now) return
      // Frames due for this stream (more than one only when this thread ran late): one batch.
      const batch = []
      while (next[i] <= now) {
        batch.push(frames[(i + Math.round(next[i] / 20)) % frames.length])
        next[i] += 20
      }
      if (batch.length > 1) late++
      busy[i] = true
      pending++
      const submitted = performance.now()
      e.encodeBatch(batch, 960).then(() => {
        lat.push(performance.now() - submitted)
        busy[i] = false
        if (--pending === 0 && finished) resolve()
      })
    })
  }, 1)
})
for (const e of engines) e.free()
await two.close()
lat.sort((x, y) => x - y)
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]
const encodeMs = median(workerUs) / 1000

console.log(
  JSON.stringify(
    {
      benchmark: 'opus-pool',
      machine: machine(),
      cores: os.availableParallelism(),
      workerEngine: `${workerEngine} (WebAssembly in workers)`,
      threadEngine,
      capacity: {
        oneWorkerStreams: median(fps1) / 50,
        twoWorkerStreams: median(fps2) / 50,
        ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
        workerUsPerFrame: median(workerUs),
        inThreadUsPerFrame: median(threadUs),
        inThreadStreamsPerCore: 1e6 / (median(threadUs) * 50),
        reps: REPS,
      },
      latency: {
        streams: rtStreams,
        loadOfCapacity: rtStreams / capacityStreams,
        seconds,
        batches: lat.length,
        lateTicks: late,
        p50Ms: q(0.5),
        p99Ms: q(0.99),
        maxMs: lat[lat.length - 1],
        encodeMs,
        p99AddedMs: q(0.99) - encodeMs,
      },
      goals: { ratio: 1.8, p99AddedMs: 5 },
    },
    null,
    2,
  ),
)
