// PCM stage benchmark: the cost per 20 ms chunk of ChannelMixer (mono → stereo, 48 kHz),
// PcmFramer (4 300-byte network-sized chunks → 20 ms frames), G711Decoder (8 kHz μ-law) and
// WavEncoder, each against the obvious hand-written peer and memcpy of the same bytes (the
// limit), in the same run. The framer's peer is prism-media's pattern: Buffer.concat per chunk.
import { WavEncoder } from '../dist/esm/index.js'
import { createChannelMixer, createPcmFramer, decodeG711, encodeG711 } from '../dist/esm/core.js'
import { chunks, interleave, machine, QUICK, speechLike } from './lib.mjs'

const SECONDS = QUICK ? 2 : 10
const REPS = QUICK ? 2 : 7
const rows = []
const add = (stage, scenario, ms, chunkCount, seconds) => {
  for (const [name, t] of Object.entries(ms)) {
    rows.push({ stage, scenario, name, usPerChunk: (t * 1000) / chunkCount, xRealtime: seconds / (t / 1000) })
  }
}
const same = (a) => (b) => {
  if (!a().equals(b)) throw new Error('output differs from the reference')
}

// ChannelMixer: 48 kHz mono s16 → stereo, 20 ms = 1920 B in.
{
  const input = speechLike(48000, SECONDS)
  const pieces = chunks(input, 1920)
  const run = (fn) => () => Buffer.concat(pieces.map(fn))
  const ref = run((p) => createChannelMixer({ from: 1, to: 2 }).push(p))()
  const naive = (p) => {
    const out = Buffer.allocUnsafe(p.length * 2)
    for (let i = 0; i < p.length; i += 2) {
      const v = p.readInt16LE(i)
      out.writeInt16LE(v, i * 2)
      out.writeInt16LE(v, i * 2 + 2)
    }
    return out
  }
  const mixer = createChannelMixer({ from: 1, to: 2 })
  const ms = interleave(
    [
      { name: 'lightning-stream ChannelMixer', run: run((p) => mixer.push(p)), check: same(() => ref) },
      { name: 'naive readInt16LE/writeInt16LE loop', run: run(naive), check: same(() => ref) },
      { name: 'memcpy of the output bytes (limit)', run: run((p) => { const o = Buffer.allocUnsafe(p.length * 2); p.copy(o); p.copy(o, p.length); return o }) },
    ],
    REPS,
  )
  add('ChannelMixer', 'mono → stereo, 48 kHz s16, 20 ms chunks', ms, pieces.length, SECONDS)
}

// PcmFramer: 48 kHz stereo s16 arriving in 4 300-byte chunks → 3 840-byte (20 ms) frames.
{
  const input = Buffer.concat([speechLike(48000, SECONDS), speechLike(48000, SECONDS)])
  const pieces = chunks(input, 4300)
  const format = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  const ours = () => {
    const f = createPcmFramer({ format, frameMs: 20 })
    const out = []
    for (const p of pieces) out.push(...f.push(p))
    out.push(...f.flush())
    return out
  }
  const prism = () => {
    let buf = Buffer.alloc(0)
    const out = []
    for (const p of pieces) {
      buf = Buffer.concat([buf, p])
      while (buf.length >= 3840) {
        out.push(buf.subarray(0, 3840))
        buf = buf.subarray(3840)
      }
    }
    if (buf.length) out.push(buf)
    return out
  }
  const check = (frames) => {
    if (frames.length !== Math.ceil(input.length / 3840) || frames[0].length !== 3840) throw new Error('wrong framing')
  }
  const ms = interleave(
    [
      { name: 'lightning-stream PcmFramer (owned frames)', run: ours, check },
      { name: 'Buffer.concat per chunk (prism-media pattern, shared views)', run: prism, check },
      { name: 'memcpy of the input bytes (limit)', run: () => pieces.map((p) => Buffer.from(p)) },
    ],
    REPS,
  )
  add('PcmFramer', '48 kHz stereo s16, 4 300 B chunks → 20 ms frames', ms, input.length / 3840, SECONDS)
}

// G711Decoder: 8 kHz μ-law, 20 ms = 160 B.
{
  const input = encodeG711(speechLike(8000, SECONDS), 'ulaw')
  const pieces = chunks(input, 160)
  const ref = Buffer.concat(pieces.map((p) => decodeG711(p, 'ulaw')))
  const formula = (p) => {
    const out = Buffer.allocUnsafe(p.length * 2)
    for (let i = 0; i < p.length; i++) {
      const v = ~p[i] & 0xff
      const t = (((v & 0x0f) << 3) + 0x84) << ((v & 0x70) >> 4)
      out.writeInt16LE(v & 0x80 ? 0x84 - t : t - 0x84, i * 2)
    }
    return out
  }
  const ms = interleave(
    [
      { name: 'lightning-stream G711Decoder (table)', run: () => Buffer.concat(pieces.map((p) => decodeG711(p, 'ulaw'))), check: same(() => ref) },
      { name: 'per-sample formula (no table)', run: () => Buffer.concat(pieces.map(formula)), check: same(() => ref) },
      { name: 'memcpy of the output bytes (limit)', run: () => Buffer.concat(pieces.map((p) => { const o = Buffer.allocUnsafe(p.length * 2); p.copy(o); p.copy(o, p.length); return o })) },
    ],
    REPS,
  )
  add('G711Decoder', 'μ-law 8 kHz, 20 ms chunks', ms, pieces.length, SECONDS)
}

// WavEncoder: the header once, then pass-through (a Transform per chunk).
{
  const input = speechLike(24000, SECONDS)
  const pieces = chunks(input, 960)
  const viaStage = () =>
    new Promise((resolve, reject) => {
      const enc = new WavEncoder({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' } })
      let n = 0
      enc.on('data', (c) => (n += c.length))
      enc.on('end', () => resolve(n))
      enc.on('error', reject)
      for (const p of pieces) enc.write(p)
      enc.end()
    })
  // Transform timing is async: measure it directly, interleaved with the limit.
  const times = { ours: [], limit: [] }
  for (let r = 0; r <= REPS; r++) {
    let t0 = performance.now()
    const n = await viaStage()
    if (n !== input.length + 44) throw new Error('WavEncoder output size')
    if (r) times.ours.push(performance.now() - t0)
    t0 = performance.now()
    pieces.map((p) => Buffer.from(p))
    if (r) times.limit.push(performance.now() - t0)
  }
  const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
  add('WavEncoder', '24 kHz mono s16, 20 ms chunks, through the Transform', { 'lightning-stream WavEncoder (Transform)': med(times.ours), 'memcpy of the input bytes (limit)': med(times.limit) }, pieces.length, SECONDS)
}

console.log(JSON.stringify({ benchmark: 'pcm-stages', machine: machine(), rows }, null, 2))
