// createOggOpusChain (lib/codecs/ogg-opus-chain.ts): OpusEncoder → OggOpusMuxer wired by values,
// with every engine installed here, checked by decoders and demuxers we did not write.
import t from 'tap'
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PcmFormat } from '../lib/audio/format.js'
import { opusEngineReport, type OpusEngineName } from '../lib/codecs/opus-engines.js'
import { opusPacketSamples } from '../lib/codecs/opus-packet.js'
import { createOggOpusChain } from '../lib/codecs/ogg-opus-chain.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { decode, twoTones } from './fixtures/signal.js'
import { dir, encodeOggWithPackets } from './fixtures/opus-lengths.js'

const require = createRequire(import.meta.url)
const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }

/** Normalised cross-correlation of two float signals at the best lag within ±maxLag. */
function bestCorrelation(a: Float64Array, b: Float64Array, maxLag: number): number {
  let best = -1
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0, aa = 0, bb = 0
    for (let i = Math.max(0, -lag); i < Math.min(a.length, b.length - lag); i++) {
      const x = a[i]!, y = b[i + lag]!
      ab += x * y; aa += x * x; bb += y * y
    }
    best = Math.max(best, ab / Math.sqrt(aa * bb))
  }
  return best
}

const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')

for (const engine of engines) {
  t.test(`${engine}: Ogg Opus that ffprobe, ffmpeg, prism-media and @discordjs/voice accept`, async (t) => {
    const seconds = 1.01
    const pcm = twoTones(48000, seconds, 2)
    const { enc, ogg, packets, others } = await encodeOggWithPackets(pcm, stereo48, { engine, split: 1001 })
    t.equal(enc.engine, engine)
    t.equal(packets.length, Math.ceil((seconds * 1000) / 20), 'one packet per 20 ms frame, the last one padded')
    t.ok(packets.every((p) => opusPacketSamples(p) === 960))
    t.same(others, [{ inputSamples: Math.round(seconds * 48000) }], 'the true length follows the packets, as a value')
    t.equal(enc.inputSamples, Math.round(seconds * 48000))

    const file = join(dir, `${engine.replace('/', '_')}.opus`)
    writeFileSync(file, ogg)
    const probe = ffprobe(file)
    const s = probe.streams[0]!
    t.equal(s['codec_name'], 'opus')
    t.equal(s['channels'], 2)
    const playable = Number(probe.format['duration']) + Number(s['start_time'])
    t.ok(Math.abs(playable - seconds) <= 0.02, `playable length ${playable.toFixed(4)} s vs ${seconds} s (within one frame)`)

    const decoded = decode(ffmpeg(['-i', file, '-f', 's16le', '-ac', '2', '-ar', '48000', 'pipe:1']), 's16le', 2)
    const source = decode(pcm, 's16le', 2)
    t.equal(decoded.length, source.length, 'ffmpeg decodes exactly the input length (pre-skip and end trimming)')
    const corr = bestCorrelation(source.subarray(4800, 40800), decoded.subarray(4800, 40800), 400)
    t.ok(corr >= 0.95, `decoded audio correlates with the source: ${corr.toFixed(4)}`)

    // prism-media's OggDemuxer (what @discordjs/voice uses) yields exactly our packets.
    const prism = require(require.resolve('prism-media', { paths: [require.resolve('@discordjs/voice')] })) as { opus: { OggDemuxer: new () => NodeJS.ReadWriteStream } }
    const demuxed: Buffer[] = []
    await pipeline(Readable.from([ogg]), prism.opus.OggDemuxer ? new prism.opus.OggDemuxer() as unknown as Writable : new Writable(), new Writable({ objectMode: true, write(p: Buffer, _e, cb) { demuxed.push(Buffer.from(p)); cb() } }))
    t.same(demuxed, packets, 'prism-media OggDemuxer yields the same packets')

    const voice = require('@discordjs/voice') as { demuxProbe(s: Readable): Promise<{ type: string }>; StreamType: Record<string, string> }
    const probed = await voice.demuxProbe(Readable.from([ogg], { objectMode: false }))
    t.equal(probed.type, voice.StreamType['OggOpus'], '@discordjs/voice demuxProbe: StreamType.OggOpus')
  })
}

t.test('the chain passes the encoder options through and the head down as a value', async (t) => {
  const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  const [enc, mux] = createOggOpusChain(mono24, { application: 'lowdelay', frameMs: 10, serial: 7, maxPageMs: 40, engines: ['opusscript'] })
  t.same(enc.head, { channels: 1, inputSampleRate: 24000, preSkip: 120 })
  t.same(mux.head, enc.head, 'the muxer writes the encoder\'s head')
  t.equal(enc.frameSamples, 240)
  enc.destroy()
  mux.destroy()
  t.throws(() => createOggOpusChain({ ...mono24, sampleRate: 44100 }), { code: 'ERR_AUDIO_FORMAT', message: /Resampler/ })
})
