// OggOpusMuxer and its core (lib/codecs/ogg-opus-muxer.core.ts): pages, lacing, CRC-32, granules,
// OpusHead and OpusTags from a head value, end trimming from the true length that flows down.
import t, { type Test } from 'tap'
import { Readable } from 'node:stream'
import { createOggOpusMuxer, oggCrc32 } from '../lib/codecs/ogg-opus-muxer.core.js'
import { OggOpusMuxer } from '../lib/codecs/ogg-opus-muxer.js'
import { collectBytes, runStage } from './fixtures/helpers.js'
import { demuxOggOpus } from './fixtures/ogg-opus.js'
import { encodeOgg } from './fixtures/opus-lengths.js'
import { twoTones } from './fixtures/signal.js'

/** Splits an Ogg stream into pages, checking the capture pattern and every CRC. */
function pagesOf(t: Test, ogg: Buffer): { flags: number; granule: bigint; serial: number; seq: number; segments: number[]; body: Buffer }[] {
  const pages: { flags: number; granule: bigint; serial: number; seq: number; segments: number[]; body: Buffer }[] = []
  for (let off = 0; off < ogg.length; ) {
    t.equal(ogg.toString('latin1', off, off + 4), 'OggS')
    const nseg = ogg[off + 26]!
    const segments = [...ogg.subarray(off + 27, off + 27 + nseg)]
    const len = 27 + nseg + segments.reduce((a, b) => a + b, 0)
    const page = Buffer.from(ogg.subarray(off, off + len))
    const crc = page.readUInt32LE(22)
    page.writeUInt32LE(0, 22)
    t.equal(oggCrc32(page), crc, `page ${pages.length} CRC`)
    pages.push({ flags: page[5]!, granule: page.readBigInt64LE(6), serial: page.readUInt32LE(14), seq: page.readUInt32LE(18), segments, body: page.subarray(27 + nseg) })
    off += len
  }
  return pages
}

/** A fake Opus packet of `size` bytes whose TOC says one 20 ms CELT frame (960 samples at 48 kHz). */
const packet20 = (size: number, fill = 1): Buffer => Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(size - 1, fill)])

t.test('Ogg pages: CRCs, sequence numbers, BOS/EOS, granules, OpusHead and OpusTags', async (t) => {
  const ogg = await encodeOgg(twoTones(24000, 0.5, 1), { sampleRate: 24000, channels: 1, encoding: 's16le' }, { engine: 'opusscript', split: 1001 })
  const pages = pagesOf(t, ogg)
  t.same(pages.map((p) => p.seq), pages.map((_, i) => i))
  t.equal(pages[0]!.flags, 0x02, 'BOS on the first page only')
  t.equal(pages.at(-1)!.flags, 0x04, 'EOS on the last page')
  const head = pages[0]!.body
  t.equal(head.toString('latin1', 0, 8), 'OpusHead')
  t.equal(head[9], 1)
  t.equal(head.readUInt16LE(10), 312, 'pre-skip')
  t.equal(head.readUInt32LE(12), 24000, 'input rate')
  t.match(pages[1]!.body.toString('latin1'), /^OpusTags.{4}lightning-stream \d/)
  const granules = pages.slice(2).map((p) => Number(p.granule))
  t.same([...granules].sort((a, b) => a - b), granules, 'granules never decrease')
  t.equal(granules.at(-1), 312 + 24000, 'the final granule trims the padding: pre-skip + true length at 48 kHz')
})

t.test('the core: head from a value, one page per 20 ms packet, lacing, end granule from the stream end', async (t) => {
  const head = { channels: 1, inputSampleRate: 16000, preSkip: 312 }
  const core = createOggOpusMuxer({ head, serial: 0x01020304 })
  t.same(core.head, head)
  const sizes = [10, 255, 300, 40]
  const pages: Buffer[] = []
  for (const size of sizes) pages.push(...core.push(packet20(size)))
  t.equal(pages.length, 2 + 3, 'the two header pages, then each page once the next packet shows it is not the last')
  t.same(core.push({ inputSamples: 3000 }), [], 'the stream end is a value, not a page')
  pages.push(...core.flush())
  const ogg = Buffer.concat(pages)
  const parsed = pagesOf(t, ogg)
  t.equal(parsed.length, 6)
  t.same(parsed.map((p) => p.serial), Array(6).fill(0x01020304), 'the serial number, on every page')
  t.same(parsed.slice(2).map((p) => p.segments), [[10], [255, 0], [255, 45], [40]], 'lacing: 255-byte segments, a 0 after an exact multiple')
  t.same(parsed.slice(2).map((p) => Number(p.granule)), [960, 1920, 2880, 312 + 3000], 'granules: 48 kHz samples carried; the last one is pre-skip + the true length')
  t.same(parsed.map((p) => p.flags), [0x02, 0, 0, 0, 0, 0x04])
  const file = demuxOggOpus(ogg)
  t.same([file.channels, file.inputSampleRate, file.preSkip], [1, 16000, 312], 'OpusHead says what the head value says')
  t.same(file.packets.map((p) => p.length), sizes, 'packets come back whole')
})

t.test('without a stream end the file ends where the packets do; the end granule never exceeds them', async (t) => {
  const noEnd = createOggOpusMuxer()
  const pages = [...noEnd.push(packet20(20)), ...noEnd.push(packet20(20)), ...noEnd.flush()]
  t.same(pagesOf(t, Buffer.concat(pages)).slice(2).map((p) => Number(p.granule)), [960, 1920])
  const tooLong = createOggOpusMuxer()
  const capped = [...tooLong.push(packet20(20)), ...tooLong.push({ inputSamples: 5000 }), ...tooLong.flush()]
  t.equal(Number(pagesOf(t, Buffer.concat(capped)).at(-1)!.granule), 960, 'capped at what the packets carry')
  const tooShort = createOggOpusMuxer()
  const trimmed = [...tooShort.push(packet20(20)), ...tooShort.push(packet20(20)), ...tooShort.push(packet20(20)), ...tooShort.push({ inputSamples: 100 }), ...tooShort.flush()]
  t.same(pagesOf(t, Buffer.concat(trimmed)).slice(2).map((p) => Number(p.granule)), [960, 1920, 1920], 'end trimming cuts into the last page only: never below the previous granule')
  const empty = createOggOpusMuxer({ head: { channels: 2, inputSampleRate: 48000, preSkip: 312 } }).flush()
  t.equal(empty.length, 3, 'no audio: the two header pages and an empty end-of-stream page')
  t.same(pagesOf(t, Buffer.concat(empty)).at(-1)!.segments, [])
})

t.test('maxPageMs puts several packets in one page; 200 packets at most', async (t) => {
  const core = createOggOpusMuxer({ maxPageMs: 60 })
  const pages: Buffer[] = []
  for (let i = 0; i < 7; i++) pages.push(...core.push(packet20(20)))
  pages.push(...core.flush())
  t.same(pagesOf(t, Buffer.concat(pages)).slice(2).map((p) => p.segments.length), [3, 3, 1])
  const big = createOggOpusMuxer({ maxPageMs: 10_000 })
  const many: Buffer[] = []
  for (let i = 0; i < 201; i++) many.push(...big.push(packet20(2)))
  many.push(...big.flush())
  t.same(pagesOf(t, Buffer.concat(many)).slice(2).map((p) => p.segments.length), [200, 1])
})

t.test('bad input: a clear, typed error', async (t) => {
  t.throws(() => createOggOpusMuxer({ head: { channels: 3, inputSampleRate: 48000, preSkip: 312 } }), { code: 'ERR_INVALID_OPTION', option: 'head' })
  t.throws(() => createOggOpusMuxer({ head: { channels: 2, inputSampleRate: 48000, preSkip: 70000 } }), { code: 'ERR_INVALID_OPTION', option: 'head' })
  t.throws(() => createOggOpusMuxer({ maxPageMs: 0 }), { code: 'ERR_INVALID_OPTION', option: 'maxPageMs' })
  const core = createOggOpusMuxer()
  t.throws(() => core.push('not a packet' as unknown as Buffer), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => core.push(Buffer.alloc(0)), { code: 'ERR_AUDIO_FORMAT' }, 'an empty packet has no TOC')
  core.push({ inputSamples: 10 })
  t.throws(() => core.push(packet20(5)), { code: 'ERR_AUDIO_FORMAT', message: /after the stream end/ })
  await t.rejects(runStage(new OggOpusMuxer(), [{ nope: true }]), { code: 'ERR_AUDIO_FORMAT' }, 'the stage fails through the pipeline')
})

t.test('the Transform gives the core\'s bytes', async (t) => {
  const items = [packet20(30), packet20(300, 7), packet20(31), { inputSamples: 2000 }]
  const viaStage = await collectBytes(Readable.from(items).pipe(new OggOpusMuxer({ serial: 9 })))
  const core = createOggOpusMuxer({ serial: 9 })
  const viaCore = Buffer.concat([...items.flatMap((i) => core.push(i)), ...core.flush()])
  t.same(viaStage, viaCore)
})

t.test('deprecated 0.1 options: encoder (its head value only) and the flat head fields', async (t) => {
  const items = [packet20(30), packet20(31)]
  const bytes = async (options: ConstructorParameters<typeof OggOpusMuxer>[0]) => collectBytes(Readable.from(items).pipe(new OggOpusMuxer({ serial: 3, ...options })))
  const head = { channels: 1, inputSampleRate: 24000, preSkip: 120 }
  const want = await bytes({ head })
  t.same(await bytes({ encoder: { head } }), want, '{ encoder } reads the head value, nothing else')
  t.same(await bytes({ channels: 1, inputSampleRate: 24000, preSkip: 120 }), want, 'the flat fields make the same head')
  t.same(await bytes({ encoder: { head: { ...head, channels: 2 } }, channels: 1 }), want, 'a flat field overrides the encoder\'s')
  t.same(new OggOpusMuxer({ channels: 1 }).head, { channels: 1, inputSampleRate: 48000, preSkip: 312 }, 'the other fields keep their defaults')
  t.throws(() => new OggOpusMuxer({ channels: 3 }), { code: 'ERR_INVALID_OPTION', option: 'head' })
})
