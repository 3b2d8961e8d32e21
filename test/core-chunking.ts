// Chunking invariance of every pure stage core (`lib/**/*.core.ts`): the same input fed whole, one
// byte at a time, at odd fixed splits and at fast-check's random cuts gives the same output, byte
// for byte (events for the SSE parser), and the same exact length. Each core's own file tests what
// the output is; this file checks that no core's output depends on how the bytes were split.
// (The Ogg muxer core takes whole Opus packets, so its input has no byte splits: test/fuzz.ts
// fuzzes it with random packets instead.)
import t from 'tap'
import fc from 'fast-check'
import { createSseParser, type SseEvent } from '../lib/sse/sse-parser.core.js'
import { createSsePcmDecoder } from '../lib/audio/sse-pcm.core.js'
import { createG711Decoder } from '../lib/audio/g711-decoder.core.js'
import { createChannelMixer } from '../lib/audio/channel-mixer.core.js'
import { createResampler } from '../lib/audio/resampler.core.js'
import { createHalfbandUpsampler } from '../lib/audio/halfband-upsampler.core.js'
import { createPcmFramer } from '../lib/audio/pcm-framer.core.js'
import { createWavEncoder } from '../lib/audio/wav-encoder.core.js'
import { createOpusEncoder } from '../lib/codecs/opus-encoder.core.js'
import { splitAt, splitEvery } from './fixtures/helpers.js'
import { encode, sine, twoTones } from './fixtures/signal.js'

const RUNS = Math.max(50, Math.ceil(Number(process.env['FUZZ_RUNS'] ?? 2000) / 20))

/** A core fed chunks: what it returned, flattened into one comparable value. */
interface Case {
  name: string
  input: Buffer
  /** Feeds the chunks to a fresh core and returns its whole output. */
  run(chunks: Buffer[]): Buffer
  /** The exact output length for `input`, where it is computable. */
  length?: number
}

const bytesOf = (out: Buffer | Buffer[] | null): Buffer => (out === null ? Buffer.alloc(0) : Array.isArray(out) ? Buffer.concat(out) : out)

/** A byte-in core: output of every push, then of flush, concatenated. */
function drive(create: () => { push(c: Buffer): Buffer | Buffer[] | null; flush(): Buffer | Buffer[] | null }): (chunks: Buffer[]) => Buffer {
  return (chunks) => {
    const core = create()
    return Buffer.concat([...chunks.map((c) => bytesOf(core.push(c))), bytesOf(core.flush())])
  }
}

/** The frames as one Buffer, plus their boundaries (so a frame split differently would show). */
function framesOf(frames: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(frames.map((f) => f.length))), ...frames])
}

const speech24 = twoTones(24000, 0.123, 1) // 2952 samples: not a whole number of frames
const speech48s = twoTones(48000, 0.0613, 2) // 2942 sample frames
const f32 = encode(sine(16000, 440, 0.05), 'f32le', 1)
const ulaw = Buffer.from(Array.from({ length: 1003 }, (_, i) => (i * 37) & 0xff))

/** Lightning SSE: chunk messages of base64 PCM (split at odd places), CRLF line ends, then the terminator. */
function sseBody(pcm: Buffer): Buffer {
  const parts = splitEvery(pcm, 701)
  const events = parts.map((p, i) => `event: audio\r\nid: ${i}\r\ndata: {"audio":"${p.toString('base64')}","done":false,"status":"206"}\r\n\r\n`)
  return Buffer.from(`: keep-alive\r\n${events.join('')}data: {"status":"200","done":true}\r\n\r\n`, 'utf8')
}

const cases: Case[] = [
  {
    name: 'createSseParser (events)',
    input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sseBody(speech24.subarray(0, 2000)), Buffer.from('data: é ✓ 𝄞\nid: 7\n\n', 'utf8')]),
    run: (chunks) => {
      const core = createSseParser()
      const events: SseEvent[] = [...chunks.flatMap((c) => core.push(c)), ...core.flush()]
      if (core.failure) throw core.failure
      return Buffer.from(JSON.stringify(events))
    },
  },
  { name: 'createSsePcmDecoder', input: sseBody(speech24), run: drive(() => createSsePcmDecoder({ sampleRate: 24000 })), length: speech24.length },
  { name: 'createG711Decoder (μ-law)', input: ulaw, run: drive(() => createG711Decoder({ law: 'ulaw' })), length: 2 * ulaw.length },
  { name: 'createG711Decoder (A-law)', input: ulaw, run: drive(() => createG711Decoder({ law: 'alaw' })), length: 2 * ulaw.length },
  { name: 'createChannelMixer (1 → 2, s16le)', input: speech24, run: drive(() => createChannelMixer({ from: 1, to: 2 })), length: 2 * speech24.length },
  { name: 'createChannelMixer (2 → 1, s16le)', input: speech48s, run: drive(() => createChannelMixer({ from: 2, to: 1 })), length: speech48s.length / 2 },
  { name: 'createChannelMixer (1 → 2, f32le)', input: f32, run: drive(() => createChannelMixer({ from: 1, to: 2, encoding: 'f32le' })), length: 2 * f32.length },
  { name: 'createResampler (24 → 48 kHz)', input: speech24, run: drive(() => createResampler({ from: 24000, to: 48000 })), length: 2 * speech24.length },
  { name: 'createResampler (48 → 44.1 kHz stereo)', input: speech48s, run: drive(() => createResampler({ from: 48000, to: 44100, channels: 2 })) },
  { name: 'createResampler (24 → 16 kHz, fast)', input: speech24, run: drive(() => createResampler({ from: 24000, to: 16000, quality: 'fast' })), length: (speech24.length * 2) / 3 },
  { name: 'createResampler (16 → 48 kHz f32le)', input: f32, run: drive(() => createResampler({ from: 16000, to: 48000, encoding: 'f32le' })), length: 3 * f32.length },
  { name: 'createHalfbandUpsampler (mono)', input: speech24, run: drive(() => createHalfbandUpsampler()), length: 2 * speech24.length },
  { name: 'createHalfbandUpsampler (stereo out)', input: speech24, run: drive(() => createHalfbandUpsampler({ channels: 2 })), length: 4 * speech24.length },
  {
    name: 'createPcmFramer (20 ms, short last frame)',
    input: speech24,
    run: (chunks) => {
      const core = createPcmFramer({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' }, frameMs: 20 })
      return framesOf([...chunks.flatMap((c) => core.push(c)), ...core.flush()])
    },
  },
  {
    name: 'createPcmFramer (10 ms stereo, padded)',
    input: speech48s,
    run: (chunks) => {
      const core = createPcmFramer({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, frameMs: 10, padLast: true })
      return framesOf([...chunks.flatMap((c) => core.push(c)), ...core.flush()])
    },
  },
  {
    name: 'createOpusEncoder (frames, lookahead flush, end)',
    input: speech24,
    run: (chunks) => {
      const core = createOpusEncoder({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' }, frameMs: 10 })
      const frames = [...chunks.flatMap((c) => core.push(c)), ...core.flush()]
      return Buffer.concat([framesOf(frames), Buffer.from(JSON.stringify(core.end()))])
    },
  },
  {
    name: 'createWavEncoder (stream, then the real header)',
    input: speech48s,
    run: (chunks) => {
      const core = createWavEncoder({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' } })
      return Buffer.concat([...chunks.flatMap((c) => core.push(c)), ...core.flush(), core.header()])
    },
    length: 44 + speech48s.length + 44,
  },
]

// The framer's and the Opus core's outputs are exact: check those lengths too.
t.test('exact output lengths where they are computable', async (t) => {
  const framed = createPcmFramer({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' }, frameMs: 20 })
  const frames = [...framed.push(speech24), ...framed.flush()]
  t.same(frames.map((f) => f.length), [...Array(6).fill(960), speech24.length - 6 * 960], '6 frames of 480 samples and the short rest')
  const opus = createOpusEncoder({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' }, frameMs: 10 })
  const packets = [...opus.push(speech24), ...opus.flush()]
  // 2952 samples at 24 kHz = 5904 at 48 kHz; with 312 of lookahead: ceil(6216 / 480) = 13 frames of 10 ms.
  t.equal(packets.length, 13, 'frameMs: 10 took effect: 10 ms frames, lookahead flushed')
  t.ok(packets.every((f) => f.length === 480), 'every frame is 240 samples (480 bytes) at 24 kHz')
  t.same(opus.end(), { inputSamples: 5904 })
  for (const c of cases) if (c.length !== undefined) t.equal(c.run([c.input]).length, c.length, c.name)
})

for (const c of cases) {
  t.test(`${c.name}: whole, one byte at a time, odd splits and random cuts give the same output`, async (t) => {
    const whole = c.run([c.input])
    t.ok(whole.length > 0, 'the case produces output')
    t.same(c.run(splitEvery(c.input, 1)), whole, 'one byte at a time')
    for (const size of [2, 3, 7, 13, 255, 1001]) t.same(c.run(splitEvery(c.input, size)), whole, `every ${size} bytes`)
    t.same(c.run([Buffer.alloc(0), c.input, Buffer.alloc(0)]), whole, 'empty chunks change nothing')
    fc.assert(
      fc.property(fc.array(fc.nat(c.input.length), { maxLength: 30 }), (cuts) => c.run(splitAt(c.input, cuts)).equals(whole)),
      { numRuns: RUNS, seed: 14 },
    )
  })
}
