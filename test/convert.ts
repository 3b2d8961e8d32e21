// convertPcm (lib/audio/convert.ts): which stages for which formats, and the README's 24 kHz TTS →
// 48 kHz stereo WAV example against the emulator.
import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PcmFormat } from '../lib/audio/format.js'
import { convertPcm } from '../lib/audio/convert.js'
import { ffprobe } from './fixtures/ffmpeg.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-convert-'))

t.test('convertPcm picks the stages; README path 24 kHz TTS → 48 kHz stereo WAV against the emulator', async (t) => {
  const mono24: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  t.same(convertPcm(mono24, mono24).map((s) => s.constructor.name), ['PassThrough'], 'never empty: spreads into pipeline()')
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
