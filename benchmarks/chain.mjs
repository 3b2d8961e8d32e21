// Full chain overhead: SSE bytes → PCM → 48 kHz (Resampler) → stereo (ChannelMixer) → 20 ms frames
// (PcmFramer), the Discord/Opus input path, run (a) as lightning-stream's Transforms in
// stream.pipeline(), (b) as plain calls to the same pure cores in a loop (the same work, no
// streams), and (c) as (a) with every stage wrapped by instrument(). Reports the ratios a/b
// (goal ≤ 1.10: what the stream plumbing costs) and c/a (goal ≤ 1.02: what metrics cost).
// Opus encoding joins this chain when the encoder stages land.
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioChunkDecoder, ChannelMixer, instrument, PcmFramer, Resampler, SseParser } from '../dist/esm/index.js'
import { createChannelMixer, createAudioChunkDecoder, createPcmFramer, createResampler, createSseParser } from '../dist/esm/core.js'
import { sseChunkFrame, sseTerminator, splitChunks } from '../dist/esm/emulator/index.js'
import { chunks, interleaveAsync, machine, QUICK, speechLike } from './lib.mjs'

const SECONDS = QUICK ? 2 : 20
const REPS = QUICK ? 2 : 7
const pcm = speechLike(24000, SECONDS)
const sse = Buffer.from(splitChunks(pcm, 960).map((f) => sseChunkFrame(f)).join('') + sseTerminator())
const pieces = chunks(sse, 16 * 1024) // what the client hands on from the socket
const format48 = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const expectFrames = Math.ceil((pcm.length * 4) / 3840)

const check = (n) => {
  if (n !== expectFrames) throw new Error(`got ${n} frames, expected ${expectFrames}`)
}

async function viaStreams(wrap) {
  let n = 0
  const w = wrap ?? ((s) => s)
  await pipeline(
    Readable.from(pieces),
    w(new SseParser(), 'sse'),
    w(new AudioChunkDecoder({ sampleRate: 24000 }), 'decode'),
    w(new Resampler({ from: 24000, to: 48000 }), 'resample'),
    w(new ChannelMixer({ from: 1, to: 2 }), 'mix'),
    w(new PcmFramer({ format: format48, frameMs: 20 }), 'frame'),
    new Writable({
      write(_c, _e, cb) {
        n++
        cb()
      },
    }),
  )
  return n
}

function viaCalls() {
  const sseCore = createSseParser()
  const dec = createAudioChunkDecoder({ sampleRate: 24000 })
  const rs = createResampler({ from: 24000, to: 48000 })
  const mix = createChannelMixer({ from: 1, to: 2 })
  const framer = createPcmFramer({ format: format48, frameMs: 20 })
  let n = 0
  const onPcm = (b) => {
    const up = rs.push(b)
    if (up.length) n += framer.push(mix.push(up)).length
  }
  for (const p of pieces) for (const ev of sseCore.push(p)) {
    const b = dec.push(ev)
    if (b) onPcm(b)
  }
  for (const ev of sseCore.flush()) dec.push(ev)
  dec.flush()
  n += framer.push(mix.push(rs.flush())).length
  return n + framer.flush().length
}

const ms = await interleaveAsync(
  [
    { name: 'Transforms in pipeline()', run: () => viaStreams(), check },
    { name: 'plain calls to the same cores', run: async () => viaCalls(), check },
    { name: 'Transforms, every stage instrument()ed', run: () => viaStreams((s, n) => instrument(s, n)), check },
  ],
  REPS,
)
const a = ms['Transforms in pipeline()']
const b = ms['plain calls to the same cores']
const c = ms['Transforms, every stage instrument()ed']
const chunkCount = pcm.length / 960
const rows = Object.entries(ms).map(([name, t]) => ({
  stage: 'chain', scenario: `SSE → 48 kHz stereo 20 ms frames, ${SECONDS} s`, name, usPerChunk: (t * 1000) / chunkCount, xRealtime: SECONDS / (t / 1000), msCpuPerAudioSecond: t / SECONDS,
}))
console.log(JSON.stringify({ benchmark: 'chain', machine: machine(), rows, ratios: { transformsVsCalls: a / b, instrumentedVsPlain: c / a }, goals: { transformsVsCalls: 1.1, instrumentedVsPlain: 1.02 } }, null, 2))
