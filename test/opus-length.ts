// Every Opus output decodes to exactly the input length, aligned with it (lag 0): the encoder
// flushes its lookahead and the end granule is pre-skip + input length (RFC 7845 §4). Checked by
// two decoders we did not write: ffmpeg, and libopus in process (test/fixtures/ogg-opus.ts).
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ffmpeg } from './fixtures/ffmpeg.js'
import { chirpPcm, decodeOggOpus } from './fixtures/ogg-opus.js'
import { checkLengths, dir, encodeOgg, mono24, range, stereo48 } from './fixtures/opus-lengths.js'

t.test('the bug this fixes: 960 samples at 48 kHz stereo decode to 960, not 648', async (t) => {
  const ogg = await encodeOgg(chirpPcm(48000, 960, 2), stereo48)
  const d = decodeOggOpus(ogg)
  t.equal(d.file.preSkip, 312)
  t.equal(d.file.packets.length, 2, 'the 960 samples plus one packet that flushes the 312-sample lookahead')
  t.equal(d.carried, 1920)
  t.equal(d.finalGranule, 1272, 'pre-skip + input length')
  t.same(d.file.granules, [960, 1272], 'each page granule: samples carried so far (pre-skip included), the last one trimmed')
  t.equal(d.length, 960)
  const file = join(dir, 'one-frame.opus')
  writeFileSync(file, ogg)
  t.equal(ffmpeg(['-i', file, '-f', 's16le', '-ac', '2', '-ar', '48000', 'pipe:1']).length / 4, 960, 'ffmpeg decodes 960 samples')
})

t.test('48 kHz stereo: every length from 1 sample to 3 frames (2880) decodes to exactly that length', async (t) => {
  await checkLengths(t, stereo48, range(1, 2880), { lagAt: (n) => n >= 960 && (n % 480 === 0 || n % 960 === 959 || n % 960 === 1) })
})

t.test('24 kHz mono: every length from 1 sample to 3 frames (1440) decodes to exactly that length', async (t) => {
  await checkLengths(t, mono24, range(1, 1440), { lagAt: (n) => n >= 480 && (n % 240 === 0 || n % 480 === 479 || n % 480 === 1) })
})
