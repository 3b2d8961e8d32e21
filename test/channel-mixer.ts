// ChannelMixer and its core (lib/audio/channel-mixer.core.ts): gains, clipping, every chunking.
import t from 'tap'
import fc from 'fast-check'
import { createChannelMixer } from '../lib/audio/channel-mixer.core.js'
import { ChannelMixer } from '../lib/audio/channel-mixer.js'
import { chunkSizes, runStage, splitAt, splitEvery } from './fixtures/helpers.js'
import { encode, sine } from './fixtures/signal.js'

const s16 = (...v: number[]) => Buffer.from(new Int16Array(v).buffer)

t.test('ChannelMixer: mono → stereo duplicates, stereo → mono averages, matrix N → M clips', async (t) => {
  t.same(createChannelMixer({ from: 1, to: 2 }).push(s16(1, -2, 32767)), s16(1, 1, -2, -2, 32767, 32767))
  t.same(createChannelMixer({ from: 2, to: 1 }).push(s16(10, 20, -5, -7)), s16(15, -6))
  const sum = createChannelMixer({ from: 2, to: 1, matrix: [[1, 1]] })
  t.same(sum.push(s16(30000, 30000, -30000, -30000)), s16(32767, -32768), 'sums clip instead of wrapping')
  const m = createChannelMixer({ from: 3, to: 2, matrix: [[1, 0, 0.5], [0, 1, 0.5]] })
  t.same(m.push(s16(100, 200, 50)), s16(125, 225))
  const f = createChannelMixer({ from: 1, to: 2, encoding: 'f32le' }).push(Buffer.from(new Float32Array([0.25, -1.5]).buffer))
  t.same([...new Float32Array(f.buffer, f.byteOffset, 4)], [0.25, 0.25, -1.5, -1.5], 'f32 is not clipped')
  t.throws(() => createChannelMixer({ from: 2, to: 1, matrix: [[1]] }), { code: 'ERR_INVALID_OPTION', option: 'matrix' })
  t.throws(() => createChannelMixer({ from: 0, to: 1 }), { code: 'ERR_AUDIO_FORMAT' })
  const mid = createChannelMixer({ from: 2, to: 1 })
  mid.push(Buffer.alloc(3))
  t.throws(() => mid.flush(), { code: 'ERR_AUDIO_FORMAT' })
})

t.test('ChannelMixer: any byte chunking gives the same output', async (t) => {
  const input = encode(sine(24000, 440, 0.05, 0.8), 's16le', 2)
  const whole = createChannelMixer({ from: 2, to: 1 }).push(input)
  fc.assert(
    fc.property(fc.array(fc.nat(input.length), { maxLength: 30 }), (cuts) => {
      const m = createChannelMixer({ from: 2, to: 1 })
      return Buffer.concat(splitAt(input, cuts).map((p) => m.push(p))).equals(whole)
    }),
    { numRuns: 200, seed: 3 },
  )
  for (const size of chunkSizes(input.length)) {
    t.same(Buffer.concat(await runStage<Buffer>(new ChannelMixer({ from: 2, to: 1 }), splitEvery(input, size))), whole, `Transform, chunks of ${size}`)
  }
})
