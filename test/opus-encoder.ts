// OpusEncoder and its core (lib/codecs/opus-encoder.core.ts): option checks, engine choice, exact
// framing at every chunking, the lookahead flush, packets as plain Buffers, the true length as a
// value after the last packet.
import t from 'tap'
import fc from 'fast-check'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { PcmFormat } from '../lib/audio/format.js'
import { opusEngineReport, type OpusEngineName } from '../lib/codecs/opus-engines.js'
import { createOpusEncoder } from '../lib/codecs/opus-encoder.core.js'
import { OpusEncoder } from '../lib/codecs/opus-encoder.js'
import { OggOpusMuxer } from '../lib/codecs/ogg-opus-muxer.js'
import { opusPacketSamples } from '../lib/codecs/opus-packet.js'
import { collectBytes, runStage, splitAt, splitEvery } from './fixtures/helpers.js'
import { decodeOggOpus } from './fixtures/ogg-opus.js'
import { twoTones } from './fixtures/signal.js'

const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')

t.test('at least the two no-build engines load here (dev dependencies)', async (t) => {
  t.equal(report['@evan/opus'], 'ok')
  t.equal(report.opusscript, 'ok')
  // CI builds @discordjs/opus (the engine tried first) in its last step and says so here, so a
  // build that loads but does not work cannot pass unnoticed.
  const expected = process.env['OPUS_ENGINE_EXPECT']
  if (expected) t.equal(report[expected as OpusEngineName], 'ok', `${expected} loads (OPUS_ENGINE_EXPECT)`)
})

t.test('encoder option checks', async (t) => {
  t.throws(() => new OpusEncoder({ format: { sampleRate: 44100, channels: 1, encoding: 's16le' } }), { code: 'ERR_AUDIO_FORMAT', message: /Resampler/ })
  t.throws(() => new OpusEncoder({ format: { ...stereo48, channels: 3 } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new OpusEncoder({ format: { ...stereo48, encoding: 'f32le' } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new OpusEncoder({ format: stereo48, frameMs: 25 }), { code: 'ERR_INVALID_OPTION', option: 'frameMs' })
  t.throws(() => new OpusEncoder({ format: stereo48, complexity: 11 }), { code: 'ERR_INVALID_OPTION', option: 'complexity' })
  t.throws(() => new OpusEncoder({ format: stereo48, bitrate: 100 }), { code: 'ERR_INVALID_OPTION', option: 'bitrate' })
  // Each installed engine can be asked for by name.
  for (const engine of engines) t.doesNotThrow(() => new OpusEncoder({ format: stereo48, engines: [engine] }).destroy(), engine)
})

t.test('a missing engine is reported when the encoder is constructed, before any audio flows (a project without engines)', async (t) => {
  // The built library, copied where no node_modules is on the way up: no engine can be found.
  const root = new URL('..', import.meta.url).pathname
  const project = mkdtempSync(join(tmpdir(), 'ls-no-engine-'))
  t.teardown(() => rmSync(project, { recursive: true, force: true }))
  cpSync(join(root, 'dist/esm'), join(project, 'lib'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') })
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n')
  writeFileSync(
    join(project, 'main.js'),
    `import { OpusEncoder } from './lib/codecs/opus-encoder.js'
const format = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const tries = [undefined, ['@discordjs/opus'], []]
console.log(JSON.stringify(tries.map((engines) => {
  try { new OpusEncoder({ format, engines }); return 'constructed' } catch (e) { return { name: e.name, code: e.code, message: e.message } }
})))
`,
  )
  const r = spawnSync(process.execPath, [join(project, 'main.js')], { cwd: project, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const [all, discord, none] = JSON.parse(r.stdout) as { name: string; code: string; message: string }[]
  t.match(all, { name: 'OpusEngineMissingError', code: 'ERR_OPUS_ENGINE_MISSING', message: /tried @discordjs\/opus, @evan\/opus, opusscript\). Install one: `npm install @evan\/opus`/ })
  t.match(discord, { code: 'ERR_OPUS_ENGINE_MISSING', message: /tried @discordjs\/opus\)/ })
  t.match(none, { code: 'ERR_OPUS_ENGINE_MISSING' })
})

for (const engine of engines) {
  t.test(`${engine}: every option is accepted, and frameMs: 10 gives 10 ms packets`, async (t) => {
    const lowdelay = new OpusEncoder({ format: stereo48, engines: [engine], application: 'lowdelay', complexity: 0, bitrate: 32000, fec: true, packetLossPercent: 10, frameMs: 10, emitEnd: true })
    t.same(lowdelay.head, { channels: 2, inputSampleRate: 48000, preSkip: 120 })
    const items = await runStage<Buffer>(lowdelay, [Buffer.alloc(3840 * 5)]) // 100 ms of silence
    const packets = items.filter((p) => Buffer.isBuffer(p))
    // 4800 samples + the 120-sample lookahead need 11 packets of 480 samples.
    t.equal(packets.length, 11, '100 ms in 10 ms packets, plus one that flushes the lookahead')
    t.same(packets.map((p) => opusPacketSamples(p)), Array(11).fill(480), 'every packet says 10 ms in its TOC')
    t.same(items.at(-1), { inputSamples: 4800 })
    const ogg = await collectBytes(Readable.from(items, { objectMode: true }).pipe(new OggOpusMuxer({ head: lowdelay.head })))
    const d = decodeOggOpus(ogg)
    t.equal(d.finalGranule, 120 + 4800, 'the end granule: pre-skip + the true length')
    t.equal(d.length, 4800, 'libopus decodes exactly 100 ms')
  })
}

t.test("Discord's StreamType.Opus gets plain Buffers; emitEnd adds the true length after the last packet", async (t) => {
  const pcm = twoTones(24000, 0.25, 1) // 6000 samples at 24 kHz = 12000 at 48 kHz
  const raw = await runStage<unknown>(new OpusEncoder({ format: mono24, engines: ['opusscript'] }), splitEvery(pcm, 777))
  t.ok(raw.every((p) => Buffer.isBuffer(p) && p.length > 0), `${raw.length} items, every one a packet`)
  t.equal(raw.length, Math.ceil((12000 + 312) / 960), 'the audio and the lookahead, in 20 ms packets')
  const ended = await runStage<unknown>(new OpusEncoder({ format: mono24, engines: ['opusscript'], emitEnd: true }), splitEvery(pcm, 777))
  t.equal(ended.length, raw.length + 1)
  t.same(ended.at(-1), { inputSamples: 12000 })
  const none = await runStage<unknown>(new OpusEncoder({ format: mono24, engines: ['opusscript'], emitEnd: true }), [])
  t.same(none, [{ inputSamples: 0 }], 'no audio: no packet, and a length of 0')
})

t.test('the core: the same exact frames at every chunking, the last one padded, the lookahead flushed', async (t) => {
  const pcm = twoTones(24000, 0.105, 1) // 2520 samples: 5.25 frames of 480
  const whole = createOpusEncoder({ format: mono24 })
  t.same(whole.head, { channels: 1, inputSampleRate: 24000, preSkip: 312 })
  const expected = [...whole.push(pcm), ...whole.flush()]
  // 5040 samples at 48 kHz + 312 of lookahead need 6 frames of 960: the padded sixth is enough.
  t.same(expected.map((f) => f.length), Array(6).fill(960))
  t.same(Buffer.concat(expected).subarray(0, pcm.length), pcm)
  t.ok(Buffer.concat(expected).subarray(pcm.length).every((b) => b === 0), 'padding is silence')
  t.equal(whole.frames, 6)
  t.same(whole.end(), { inputSamples: 5040 })
  fc.assert(
    fc.property(fc.array(fc.nat(pcm.length), { maxLength: 40 }), (cuts) => {
      const core = createOpusEncoder({ format: mono24 })
      const frames = [...splitAt(pcm, cuts).flatMap((c) => core.push(c)), ...core.flush()]
      return frames.length === expected.length && frames.every((f, i) => f.equals(expected[i]!))
    }),
    { numRuns: 300, seed: 14 },
  )
  // Exactly 960 samples at 48 kHz: one frame, and a second, silent one to flush 312 samples of lookahead.
  const one = createOpusEncoder({ format: stereo48 })
  t.same([...one.push(Buffer.alloc(3840, 1)), ...one.flush()].map((f) => f.every((b) => b === 0)), [false, true])
  const odd = createOpusEncoder({ format: stereo48 })
  odd.push(Buffer.alloc(3))
  t.throws(() => odd.flush(), { code: 'ERR_AUDIO_FORMAT', message: /mid-sample-frame/ })
  t.same(createOpusEncoder({ format: stereo48 }).flush(), [], 'no audio: nothing to encode')
})
