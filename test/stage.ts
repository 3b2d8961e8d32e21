// lib/stage.ts: the one Transform shell every stage is built on. Errors through the callback,
// output before a recorded failure, forced object modes, explicit high-water marks; and every
// built-in stage is on it.
import t from 'tap'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CoreStage, type StageCore, type StageShape, type StageStreamOptions } from '../lib/stage.js'
import { SseParser } from '../lib/sse/sse-parser.js'
import { AudioChunkDecoder } from '../lib/audio/audio-chunk-decoder.js'
import { G711Decoder } from '../lib/audio/g711-decoder.js'
import { ChannelMixer } from '../lib/audio/channel-mixer.js'
import { Resampler } from '../lib/audio/resampler.js'
import { HalfbandUpsampler } from '../lib/audio/halfband-upsampler.js'
import { PcmFramer } from '../lib/audio/pcm-framer.js'
import { WavEncoder } from '../lib/audio/wav-encoder.js'
import { OpusEncoder } from '../lib/codecs/opus-encoder.js'
import { OggOpusMuxer } from '../lib/codecs/ogg-opus-muxer.js'
import { errorOf } from './fixtures/helpers.js'

class TestStage<Out> extends CoreStage<Buffer, Out> {
  constructor(core: StageCore<Buffer, Out>, shape: StageShape = { writable: 'bytes', readable: 'bytes' }, streamOptions?: StageStreamOptions) {
    super(core, shape, streamOptions)
  }
}

async function outputOf(stage: CoreStage<Buffer, unknown>, chunks: Buffer[]): Promise<{ out: unknown[]; err?: Error }> {
  const out: unknown[] = []
  const err = await errorOf(() => pipeline(Readable.from(chunks), stage, new Writable({ objectMode: true, write(c, _e, cb) { out.push(c); cb() } }))).catch(() => undefined)
  return err ? { out, err } : { out }
}

t.test('output of one call: each array item, a non-empty Buffer, nothing for null or an empty Buffer', async (t) => {
  const outs: (Buffer | Buffer[] | null)[] = [[Buffer.from('a'), Buffer.from('b')], Buffer.alloc(0), null, Buffer.from('c')]
  let i = 0
  const stage = new TestStage<Buffer | Buffer[] | null>({ push: () => outs[i++] ?? null, flush: () => Buffer.from('end') }, { writable: 'bytes', readable: 'objects' })
  const { out, err } = await outputOf(stage, [Buffer.from('1'), Buffer.from('2'), Buffer.from('3'), Buffer.from('4')])
  t.equal(err, undefined)
  t.same(out.map(String), ['a', 'b', 'c', 'end'])
})

t.test('a core that throws fails the stream through the callback, with its own error', async (t) => {
  const boom = new Error('boom')
  let calls = 0
  const stage = new TestStage<Buffer>({
    push: (c) => {
      if (++calls === 2) throw boom
      return c
    },
    flush: () => Buffer.alloc(0),
  })
  const { out, err } = await outputOf(stage, [Buffer.from('x'), Buffer.from('y'), Buffer.from('z')])
  t.equal(err, boom, 'the same error object, untouched')
  t.same(out.map(String), ['x'], 'what came before the error was delivered; nothing after')
  const flushFail = new TestStage<Buffer>({ push: (c) => c, flush: () => { throw boom } })
  t.equal((await outputOf(flushFail, [Buffer.from('x')])).err, boom, 'a throw from flush too')
})

t.test('a recorded failure: the output of the same call goes out first, then the error', async (t) => {
  const failed = new Error('failed after output')
  const core: StageCore<Buffer, Buffer> & { failure?: Error } = {
    push(c) {
      if (c.toString() === 'bad') core.failure = failed
      return Buffer.from(`<${c.toString()}>`)
    },
    flush: () => Buffer.alloc(0),
  }
  const { out, err } = await outputOf(new TestStage(core), [Buffer.from('ok'), Buffer.from('bad'), Buffer.from('never')])
  t.equal(err, failed)
  t.same(out.map(String), ['<ok>', '<bad>'])
})

t.test('object modes are forced per side after the caller\'s options; high-water marks are explicit', async (t) => {
  const core = { push: (c: Buffer) => c, flush: () => null }
  const bytes = new TestStage(core, { writable: 'bytes', readable: 'bytes' }, { objectMode: true } as StageStreamOptions)
  t.equal(bytes.readableObjectMode, false, 'a caller cannot turn a byte side into an object side')
  t.equal(bytes.writableObjectMode, false)
  t.equal(bytes.readableHighWaterMark, 16 * 1024)
  t.equal(bytes.writableHighWaterMark, 16 * 1024)
  const objects = new TestStage(core, { writable: 'objects', readable: 'objects' })
  t.same([objects.readableObjectMode, objects.writableObjectMode, objects.readableHighWaterMark, objects.writableHighWaterMark], [true, true, 16, 16])
  const shaped = new TestStage(core, { writable: 'objects', readable: 'bytes', writableHighWaterMark: 8 })
  t.equal(shaped.writableHighWaterMark, 8, 'a stage sets its own mark')
  const caller = new TestStage(core, { writable: 'bytes', readable: 'bytes' }, { highWaterMark: 1000 })
  t.same([caller.readableHighWaterMark, caller.writableHighWaterMark], [1000, 1000], 'the caller\'s mark wins')
})

t.test('every built-in stage is a CoreStage with the sides its unit needs', async (t) => {
  const s16 = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const
  const stages: [string, CoreStage<never, unknown>, boolean, boolean][] = [
    ['SseParser', new SseParser(), false, true],
    ['AudioChunkDecoder', new AudioChunkDecoder(), true, false],
    ['G711Decoder', new G711Decoder({ law: 'ulaw' }), false, false],
    ['ChannelMixer', new ChannelMixer({ from: 1, to: 2 }), false, false],
    ['Resampler', new Resampler({ from: 24000, to: 48000 }), false, false],
    ['HalfbandUpsampler', new HalfbandUpsampler(), false, false],
    ['PcmFramer', new PcmFramer({ format: s16, frameMs: 20 }), false, false],
    ['WavEncoder', new WavEncoder({ format: s16 }), false, false],
    ['OpusEncoder', new OpusEncoder({ format: s16, engines: ['opusscript'] }), false, true],
    ['OggOpusMuxer', new OggOpusMuxer(), true, false],
  ]
  for (const [name, stage, writableObjects, readableObjects] of stages) {
    t.ok(stage instanceof CoreStage, `${name} is a CoreStage`)
    t.same([stage.writableObjectMode, stage.readableObjectMode], [writableObjects, readableObjects], `${name}: ${writableObjects ? 'items' : 'bytes'} in, ${readableObjects ? 'items' : 'bytes'} out`)
    stage.destroy()
  }
})
