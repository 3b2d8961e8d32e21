// G711Decoder (lib/audio/g711-decoder.ts) and the G.711 tables (lib/audio/g711.ts), against ffmpeg.
import t from 'tap'
import { ALAW_TO_LINEAR, encodeG711, ULAW_TO_LINEAR } from '../lib/audio/g711.js'
import { G711Decoder } from '../lib/audio/g711-decoder.js'
import { runStage, splitEvery } from './fixtures/helpers.js'
import { ffmpeg } from './fixtures/ffmpeg.js'

t.test('G711Decoder is bit-exact with ffmpeg for all 256 codes of both laws', async (t) => {
  const codes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  for (const [law, fmt, table] of [['ulaw', 'mulaw', ULAW_TO_LINEAR], ['alaw', 'alaw', ALAW_TO_LINEAR]] as const) {
    const ref = ffmpeg(['-f', fmt, '-ar', '8000', '-ac', '1', '-i', 'pipe:0', '-f', 's16le', 'pipe:1'], codes)
    t.equal(ref.length, 512)
    const ours = Buffer.concat(await runStage<Buffer>(new G711Decoder({ law }), splitEvery(codes, 7)))
    t.same(ours, ref, `${law}: identical to ffmpeg's pcm_${fmt} decoder`)
    t.equal(table.length, 256)
    // The encoder inverts the decoder on every code's value.
    const values = Buffer.from(new Int16Array(table).buffer)
    const back = encodeG711(values, law)
    let mismatches = 0
    for (let i = 0; i < 256; i++) if (table[back[i]!] !== table[i]) mismatches++
    t.equal(mismatches, 0, `${law}: encode(decode(code)) decodes to the same value`)
  }
})
