// Opus values as data (lib/codecs/opus-packet.ts): TOC parsing, the OpusHead and OpusTags packets,
// and the pre-skip the encoder states up front, against what each installed engine reports.
import t from 'tap'
import { createOpusEngine, opusEngineReport, type OpusApplication, type OpusEngineName } from '../lib/codecs/opus-engines.js'
import { isOpusStreamEnd, OPUS_SAMPLE_RATES, opusHeadPacket, opusPacketSamples, opusPreSkip, opusTagsPacket } from '../lib/codecs/opus-packet.js'

t.test('Opus TOC parsing', async (t) => {
  t.equal(opusPacketSamples(Buffer.from([0xfc])), 960) // CELT FB 20 ms, 1 frame
  t.equal(opusPacketSamples(Buffer.from([0xf9])), 1920) // CELT 20 ms, 2 frames (code 1)
  t.equal(opusPacketSamples(Buffer.from([0x1b, 0x03])), 3 * 2880) // SILK 60 ms (config 3), code 3, 3 frames
  t.equal(opusPacketSamples(Buffer.from([0x08])), 960) // SILK 20 ms (config 1), 1 frame
  t.equal(opusPacketSamples(Buffer.from([0x60])), 480) // hybrid 10 ms
  t.throws(() => opusPacketSamples(Buffer.alloc(0)), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => opusPacketSamples(Buffer.from([0x03])), { code: 'ERR_AUDIO_FORMAT' }, 'code 3 without its frame count')
})

t.test('OpusHead and OpusTags packets (RFC 7845 §5)', async (t) => {
  const head = opusHeadPacket({ channels: 2, inputSampleRate: 24000, preSkip: 312 })
  t.same(head, Buffer.from([...Buffer.from('OpusHead'), 1, 2, 0x38, 0x01, 0xc0, 0x5d, 0, 0, 0, 0, 0]))
  const tags = opusTagsPacket('v1')
  t.same(tags, Buffer.from([...Buffer.from('OpusTags'), 2, 0, 0, 0, 0x76, 0x31, 0, 0, 0, 0]))
  t.ok(isOpusStreamEnd({ inputSamples: 0 }))
  t.notOk(isOpusStreamEnd(Buffer.from([0xfc])), 'a packet is not the end')
  t.notOk(isOpusStreamEnd({ inputSamples: '5' }))
})

const report = await opusEngineReport()
const engines = (Object.keys(report) as OpusEngineName[]).filter((e) => report[e] === 'ok')

t.test('the pre-skip stated up front is the lookahead every installed engine reports, at every rate', async (t) => {
  t.ok(engines.length >= 2, `engines: ${engines.join(', ')}`)
  const wrong: string[] = []
  for (const engine of engines) {
    for (const application of ['audio', 'voip', 'lowdelay'] as OpusApplication[]) {
      for (const sampleRate of OPUS_SAMPLE_RATES) {
        const e = await createOpusEngine({ sampleRate, channels: 1, application, bitrate: 32000, complexity: undefined, fec: false, packetLossPercent: 0 }, [engine])
        if (e.preSkip !== opusPreSkip(application)) wrong.push(`${engine} ${application} ${sampleRate} Hz: ${e.preSkip}`)
        e.free()
      }
    }
  }
  t.same(wrong, [], `${engines.length} engines × 3 applications × ${OPUS_SAMPLE_RATES.length} rates`)
  t.equal(opusPreSkip('audio'), 312)
  t.equal(opusPreSkip('lowdelay'), 120)
})
