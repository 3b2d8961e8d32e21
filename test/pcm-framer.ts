// PcmFramer and its core (lib/audio/pcm-framer.core.ts): exact, owned frames at every chunking.
import t from 'tap'
import type { PcmFormat } from '../lib/audio/format.js'
import { createPcmFramer } from '../lib/audio/pcm-framer.core.js'
import { PcmFramer } from '../lib/audio/pcm-framer.js'
import { chunkSizes, runStage, splitEvery } from './fixtures/helpers.js'
import { encode, sine } from './fixtures/signal.js'

t.test('PcmFramer: exact, owned frames at every chunking; short or padded last frame', async (t) => {
  const format: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  const input = encode(sine(48000, 300, 0.105, 0.5), 's16le', 2) // 5.25 frames of 20 ms
  for (const size of chunkSizes(input.length)) {
    const frames = await runStage<Buffer>(new PcmFramer({ format, frameMs: 20 }), splitEvery(input, size))
    t.same(frames.map((f) => f.length), [3840, 3840, 3840, 3840, 3840, 960], `chunks of ${size}: 5 full frames and the short tail`)
    t.ok(frames.every((f) => f.byteOffset === 0 && f.buffer.byteLength === f.length), 'every frame owns its ArrayBuffer')
    t.same(Buffer.concat(frames), input)
  }
  const padded = await runStage<Buffer>(new PcmFramer({ format, frameMs: 20, padLast: true }), [input])
  t.equal(padded.at(-1)!.length, 3840)
  t.ok(padded.at(-1)!.subarray(960).every((b) => b === 0), 'padding is silence')
  t.equal(createPcmFramer({ format: { sampleRate: 44100, channels: 1, encoding: 's16le' }, frameMs: 10 }).frameBytes, 882)
  t.equal(createPcmFramer({ format, frameSamples: 960 }).frameBytes, 3840)
  t.throws(() => createPcmFramer({ format: { sampleRate: 22050, channels: 1, encoding: 's16le' }, frameMs: 10 }), { code: 'ERR_INVALID_OPTION', option: 'frameMs' })
  t.throws(() => createPcmFramer({ format, frameSamples: 0 }), { code: 'ERR_INVALID_OPTION', option: 'frameSamples' })
  const odd = createPcmFramer({ format, frameMs: 20 })
  odd.push(Buffer.alloc(5))
  t.throws(() => odd.flush(), { code: 'ERR_AUDIO_FORMAT' })
})
