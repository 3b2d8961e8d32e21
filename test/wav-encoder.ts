// WavEncoder, writeWavFile (lib/audio/wav-encoder.ts) and the header (lib/audio/wav-header.ts),
// read back by ffprobe and ffmpeg.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { PcmFormat } from '../lib/audio/format.js'
import { WavEncoder, writeWavFile } from '../lib/audio/wav-encoder.js'
import { parseWavHeader, wavHeader } from '../lib/audio/wav-header.js'
import { runStage, splitEvery } from './fixtures/helpers.js'
import { ffmpeg, ffprobe } from './fixtures/ffmpeg.js'
import { encode, sine } from './fixtures/signal.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-wav-'))

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
