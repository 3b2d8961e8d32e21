import t from 'tap'
import fc from 'fast-check'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ChannelMixer, convertPcm, G711Decoder, PcmFramer, WavEncoder, writeWavFile, type PcmFormat } from '../lib/index.js'
import { ALAW_TO_LINEAR, createChannelMixer, createFramer, encodeG711, ULAW_TO_LINEAR, wavHeader, parseWavHeader } from '../lib/core.js'
import { chunkSizes, runStage, splitAt, splitEvery } from './fixtures/helpers.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { encode, sine } from './fixtures/signal.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-stages-'))
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
  t.equal(createFramer({ format: { sampleRate: 44100, channels: 1, encoding: 's16le' }, frameMs: 10 }).frameBytes, 882)
  t.equal(createFramer({ format, frameSamples: 960 }).frameBytes, 3840)
  t.throws(() => createFramer({ format: { sampleRate: 22050, channels: 1, encoding: 's16le' }, frameMs: 10 }), { code: 'ERR_INVALID_OPTION', option: 'frameMs' })
  t.throws(() => createFramer({ format, frameSamples: 0 }), { code: 'ERR_INVALID_OPTION', option: 'frameSamples' })
  const odd = createFramer({ format, frameMs: 20 })
  odd.push(Buffer.alloc(5))
  t.throws(() => odd.flush(), { code: 'ERR_AUDIO_FORMAT' })
})

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

t.test('WavEncoder: ffprobe reads it and ffmpeg decodes it back to identical PCM', async (t) => {
  const formats: PcmFormat[] = [
    { sampleRate: 24000, channels: 1, encoding: 's16le' },
    { sampleRate: 48000, channels: 2, encoding: 's16le' },
    { sampleRate: 44100, channels: 1, encoding: 'f32le' },
    { sampleRate: 16000, channels: 6, encoding: 's16le' },
  ]
  for (const format of formats) {
    const pcm = encode(sine(format.sampleRate, 440, 0.5, 0.7), format.encoding, format.channels)
    const file = join(dir, `${format.sampleRate}-${format.channels}-${format.encoding}.wav`)
    const res = await writeWavFile(file, Readable.from(splitEvery(pcm, 1001)), format)
    t.equal(res.dataBytes, pcm.length)
    t.equal(res.durationMs, 500)
    const probe = ffprobe(file)
    const stream = probe.streams[0]!
    t.equal(Number(stream['sample_rate']), format.sampleRate)
    t.equal(stream['channels'], format.channels)
    t.equal(stream['codec_name'], format.encoding === 's16le' ? 'pcm_s16le' : 'pcm_f32le')
    t.equal(Number(probe.format['duration']), 0.5, `${file}: exact duration`)
    const back = ffmpeg(['-i', file, '-f', format.encoding, '-c:a', `pcm_${format.encoding}`, 'pipe:1'])
    t.ok(back.equals(pcm), `${format.channels} ch ${format.encoding}: decoded bytes are identical`)
  }
})

t.test('WavEncoder streaming header: unknown sizes that ffmpeg still reads to the end; odd tails fail', async (t) => {
  const format: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  const pcm = encode(sine(24000, 440, 0.25), 's16le')
  const enc = new WavEncoder({ format })
  let header: Buffer | undefined
  enc.on('header', (h: Buffer) => (header = h))
  const wav = Buffer.concat(await runStage<Buffer>(enc, splitEvery(pcm, 333)))
  t.equal(wav.readUInt32LE(4), 0xffffffff)
  t.equal(wav.readUInt32LE(40), 0xffffffff)
  t.equal(header!.readUInt32LE(40), pcm.length, "the 'header' event carries the real size")
  const piped = join(dir, 'piped.wav')
  writeFileSync(piped, wav)
  t.ok(ffmpeg(['-i', piped, '-f', 's16le', 'pipe:1']).equals(pcm), 'ffmpeg decodes the streaming form to identical PCM')
  t.equal(Buffer.concat(await runStage<Buffer>(new WavEncoder({ format }), [])).length, 44, 'empty input still yields a valid header')
  await t.rejects(runStage(new WavEncoder({ format }), [Buffer.alloc(3)]), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new WavEncoder({ format: { sampleRate: 24000, channels: 1, encoding: 's24' as 's16le' } }), { code: 'ERR_AUDIO_FORMAT' })
})

t.test('parseWavHeader reads what wavHeader writes, classic and EXTENSIBLE, and rejects non-WAV', async (t) => {
  t.match(parseWavHeader(wavHeader({ sampleRate: 24000, channels: 1, encoding: 's16le' }, 100)), { dataOffset: 44, dataSize: 100, sampleRate: 24000, channels: 1, bitsPerSample: 16 })
  t.match(parseWavHeader(wavHeader({ sampleRate: 48000, channels: 6, encoding: 's16le' })), { dataOffset: 68, dataSize: 0xffffffff, channels: 6 })
  t.equal(parseWavHeader(Buffer.from('RIFF....WAVEfmt ')), undefined, 'no data chunk yet')
  t.equal(parseWavHeader(Buffer.from('OggS this is not a wav')), undefined)
})

t.test('convertPcm picks the stages; README path 24 kHz TTS → 48 kHz stereo WAV against the emulator', async (t) => {
  const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  t.same(convertPcm(mono24, mono24), [])
  t.same(convertPcm(mono24, stereo48).map((s) => s.constructor.name), ['Resampler', 'ChannelMixer'])
  t.same(convertPcm(stereo48, mono24).map((s) => s.constructor.name), ['ChannelMixer', 'Resampler'])
  t.throws(() => convertPcm(mono24, { ...mono24, encoding: 'f32le' }), { code: 'ERR_AUDIO_FORMAT' })

  const { spawnSync } = await import('node:child_process')
  const out = join(dir, 'tts-48k-stereo.wav')
  const root = new URL('..', import.meta.url).pathname
  const r = spawnSync(process.execPath, [join(root, 'examples/tts-48k-stereo.mjs'), out], { cwd: root, encoding: 'utf8', env: { ...process.env, SMALLEST_API_KEY: '' } })
  t.equal(r.status, 0, r.stderr)
  const probe = ffprobe(out)
  t.equal(Number(probe.streams[0]!['sample_rate']), 48000)
  t.equal(probe.streams[0]!['channels'], 2)
  // 'Streaming speech, chunk by chunk.' is 33 characters of 60 ms in the tone engine.
  t.equal(Number(probe.format['duration']), 1.98)
  const wav = readFileSync(out)
  t.equal(wav.readUInt32LE(40), 1.98 * 48000 * 4, 'exact data size')
})
