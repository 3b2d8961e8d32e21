// Resampler benchmark: 24000 → 48000 Hz mono s16, streamed in 20 ms chunks (960 B), the TTS →
// Discord/WebRTC path. Compares lightning-stream's Resampler core (fast / balanced / best) with
// peers in the same run: speex (WASM SIMD, Q3/Q5/Q10, via @echogarden/speex-resampler-wasm),
// libsamplerate-js (SINC_FASTEST / MEDIUM / BEST, float), naive linear interpolation (the quality
// floor), ffmpeg through a pipe (swr and soxr, including process start), and memcpy of the output
// bytes (the physical limit). Reports µs per 20 ms chunk, × realtime per core, and ratios.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import SpeexResampler from '@echogarden/speex-resampler-wasm/simd'
import {  } from '../dist/esm/index.js'
import { createResampler } from '../dist/esm/core.js'
import { chunks, interleave, machine, QUICK, speechLike } from './lib.mjs'

const require = createRequire(import.meta.url)
const { create, ConverterType } = require('@alexanderolsen/libsamplerate-js')

const FROM = 24000
const TO = 48000
const SECONDS = QUICK ? 2 : 10
const REPS = QUICK ? 2 : 7
const input = speechLike(FROM, SECONDS)
const pieces = chunks(input, 960)
const expectFrames = Math.round((input.length / 2) * (TO / FROM))

const checkLen = (name, tolerance) => (frames) => {
  if (Math.abs(frames - expectFrames) > tolerance) throw new Error(`${name}: ${frames} output frames, expected ${expectFrames} ± ${tolerance}`)
}

function ours(quality) {
  return {
    name: `lightning-stream ${quality}`,
    run() {
      const r = createResampler({ from: FROM, to: TO, quality })
      let frames = 0
      for (const p of pieces) frames += r.push(p).length / 2
      return frames + r.flush().length / 2
    },
    check: checkLen('ours', 0),
  }
}

const speex = await SpeexResampler()
function speexQ(q) {
  return {
    name: `speex Q${q} (wasm simd)`,
    run() {
      const err = speex._malloc(4)
      const st = speex._speex_resampler_init(1, FROM, TO, q, err)
      const inPtr = speex._malloc(960)
      const outPtr = speex._malloc(4096)
      const inLen = speex._malloc(4)
      const outLen = speex._malloc(4)
      let frames = 0
      for (const p of pieces) {
        speex.HEAPU8.set(p, inPtr)
        speex.HEAPU32[inLen >> 2] = p.length / 2
        speex.HEAPU32[outLen >> 2] = 2048
        speex._speex_resampler_process_interleaved_int(st, inPtr, inLen, outPtr, outLen)
        const n = speex.HEAPU32[outLen >> 2]
        Buffer.from(speex.HEAPU8.subarray(outPtr, outPtr + n * 2)) // hand out an owned copy, as ours does
        frames += n
      }
      speex._speex_resampler_destroy(st)
      for (const ptr of [err, inPtr, outPtr, inLen, outLen]) speex._free(ptr)
      return frames
    },
    // speex keeps its filter delay inside (no flush): it is short by its input latency.
    check: checkLen('speex', 400),
  }
}

async function lsr(type, label) {
  const src = await create(1, FROM, TO, { converterType: type })
  return {
    name: `libsamplerate-js ${label}`,
    run() {
      let frames = 0
      const f = new Float32Array(480)
      for (const p of pieces) {
        for (let i = 0; i < p.length / 2; i++) f[i] = p.readInt16LE(i * 2) / 32768
        frames += src.full(f.subarray(0, p.length / 2)).length
      }
      return frames
    },
    check: checkLen('libsamplerate', 600), // its filter delay stays inside (no flush)
  }
}

const linear = {
  name: 'naive linear JS (quality floor)',
  run() {
    let prev = 0
    let frames = 0
    for (const p of pieces) {
      const n = p.length / 2
      const out = new Int16Array(n * 2)
      for (let i = 0; i < n; i++) {
        const x = p.readInt16LE(i * 2)
        out[2 * i] = (prev + x) >> 1
        out[2 * i + 1] = x
        prev = x
      }
      frames += out.length
    }
    return frames
  },
  check: checkLen('linear', 0),
}

const memcpy = {
  name: 'memcpy of the output bytes (limit)',
  run() {
    let frames = 0
    for (const p of pieces) {
      const out = Buffer.allocUnsafe(p.length * 2)
      p.copy(out, 0)
      p.copy(out, p.length)
      frames += out.length / 2
    }
    return frames
  },
  check: checkLen('memcpy', 0),
}

const variants = [
  ours('fast'),
  ours('balanced'),
  ours('best'),
  speexQ(3),
  speexQ(5),
  speexQ(10),
  await lsr(ConverterType.SRC_SINC_FASTEST, 'SINC_FASTEST'),
  await lsr(ConverterType.SRC_SINC_MEDIUM_QUALITY, 'SINC_MEDIUM'),
  await lsr(ConverterType.SRC_SINC_BEST_QUALITY, 'SINC_BEST'),
  linear,
  memcpy,
]
const ms = interleave(variants, REPS)

// ffmpeg through a pipe: whole input in one process, start included (a real transcode pays it).
const ffmpegRows = {}
for (const [label, filter] of [['ffmpeg swr (pipe)', 'aresample=48000'], ['ffmpeg soxr (pipe)', 'aresample=48000:resampler=soxr']]) {
  const times = []
  for (let r = 0; r < (QUICK ? 1 : 3); r++) {
    const t0 = performance.now()
    const res = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '24000', '-ac', '1', '-i', 'pipe:0', '-af', filter, '-f', 's16le', 'pipe:1'], { input, maxBuffer: 1 << 28 })
    times.push(performance.now() - t0)
    if (res.error) {
      times.length = 0
      break
    }
    checkLen(label, 2000)(res.stdout.length / 2)
  }
  if (times.length) ffmpegRows[label] = times.sort((a, b) => a - b)[times.length >> 1]
}

const all = { ...ms, ...ffmpegRows }
const chunkCount = pieces.length
const speex5 = ms['speex Q5 (wasm simd)']
const lsrBest = ms['libsamplerate-js SINC_BEST']
const rows = Object.entries(all).map(([name, t]) => ({
  name,
  usPerChunk: (t * 1000) / chunkCount,
  xRealtime: SECONDS / (t / 1000),
  vsSpeexQ5: t / speex5,
  vsLibsamplerateBest: t / lsrBest,
}))
const result = { benchmark: 'resampler', scenario: `${FROM} → ${TO} Hz mono s16, 20 ms chunks, ${SECONDS} s`, machine: machine(), rows }
console.log(JSON.stringify(result, null, 2))
