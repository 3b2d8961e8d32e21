// createDiscordStream({ nativeRate: true }): Opus packets at the TTS's own rate and channel count
// (24 kHz mono), decoded by decoders we did not write at Discord's 48 kHz stereo: exact length,
// the same audio as the source, both channels equal; and they play to the end in a real AudioPlayer.
import t from 'tap'
import { createRequire } from 'node:module'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createDiscordStream, LightningClient, type PcmReadable } from '../lib/index.js'
import { createResampler as createResamplerCore } from '../lib/audio/resampler.core.js'
import { renderTone, startEmulator, toneSamples } from '../lib/emulator/index.js'

const require = createRequire(import.meta.url)
const voice = require('@discordjs/voice') as typeof import('@discordjs/voice')
const { Decoder } = require('@evan/opus') as { Decoder: new (o: { channels: number; sample_rate: number }) => { decode(p: Uint8Array): Uint8Array } }
const req = { text: 'Native rate packets for a voice channel.', voice_id: 'magnus' } as const

/** A PCM stream with a format, as pcm() returns, from a buffer. */
function pcmOf(buf: Buffer, sampleRate: number): PcmReadable {
  // createDiscordStream reads only `format` (its type asks for pcm()'s whole stream).
  return Object.assign(Readable.from([buf]), { format: { sampleRate, channels: 1, encoding: 's16le' as const } }) as unknown as PcmReadable
}

async function packetsOf(readable: Readable): Promise<Buffer[]> {
  const out: Buffer[] = []
  await pipeline(readable, new Writable({ objectMode: true, write(p: Buffer, _e, cb) { out.push(p); cb() } }))
  return out
}

function correlation(a: Int16Array, b: Int16Array, lag: number): number {
  let ab = 0, aa = 0, bb = 0
  for (let i = 0; i < Math.min(a.length, b.length - lag); i++) {
    const x = a[i]!, y = b[i + lag]!
    ab += x * y; aa += x * x; bb += y * y
  }
  return ab / Math.sqrt(aa * bb)
}

t.test('24 kHz mono packets decode at 48 kHz stereo to the source: length, correlation, both channels', async (t) => {
  const source = renderTone({ ...req, sample_rate: 24000 })
  const d = createDiscordStream(pcmOf(source, 24000), { nativeRate: true })
  t.equal(d.inputType, 'opus')
  const packets = await packetsOf(d.stream)
  const frames = Math.ceil(source.length / 2 / 480)
  t.ok(packets.length >= frames && packets.length <= frames + 1, `${packets.length} packets for ${frames} frames of 20 ms`)
  const dec = new Decoder({ channels: 2, sample_rate: 48000 })
  const pcm = Buffer.concat(packets.map((p) => Buffer.from(dec.decode(p))))
  t.equal(pcm.length, packets.length * 960 * 4, 'each packet decodes to 20 ms at 48 kHz stereo')
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2)
  const left = samples.filter((_, i) => i % 2 === 0)
  const right = samples.filter((_, i) => i % 2 === 1)
  t.same(left, right, 'a mono packet decodes to two equal channels')
  const rs = createResamplerCore({ from: 24000, to: 48000, quality: 'best' })
  const ref48 = Buffer.concat([rs.push(source), rs.flush()])
  const ref = new Int16Array(ref48.buffer, ref48.byteOffset, ref48.length / 2)
  const r = correlation(ref, left, 312) // libopus's lookahead: OpusHead pre-skip at 48 kHz
  t.ok(r > 0.95, `correlation with the source at the encoder's 312-sample delay: ${r.toFixed(4)}`)
})

t.test('nativeRate keeps the channel count and takes 48 kHz when Opus has no such rate; ogg and raw refuse it', async (t) => {
  const source = renderTone({ ...req, sample_rate: 24000 })
  const rs = createResamplerCore({ from: 24000, to: 44100 })
  const at44 = Buffer.concat([rs.push(source), rs.flush()])
  const packets = await packetsOf(createDiscordStream(pcmOf(at44.subarray(0, at44.length & ~1), 44100), { nativeRate: true }).stream)
  const frames = Math.ceil(source.length / 2 / 480)
  t.ok(Math.abs(packets.length - frames) <= 1, `44.1 kHz input: ${packets.length} packets of 20 ms (resampled to 48 kHz, still mono)`)
  // A mono Opus packet says so in its TOC byte: the stereo flag (bit 2) is clear.
  t.ok(packets.every((p) => (p[0]! & 0x04) === 0), 'every packet is mono')
  t.throws(() => createDiscordStream(pcmOf(source, 24000), { nativeRate: true, mode: 'ogg' }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => createDiscordStream(pcmOf(source, 24000), { nativeRate: true, mode: 'raw' }), { code: 'ERR_INVALID_OPTION' })
})

t.test('a real AudioPlayer plays native-rate packets to the end', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 10 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const frames = Math.ceil(toneSamples({ ...req, sample_rate: 24000 }) / 480)
  const d = createDiscordStream(client.pcm(req), { nativeRate: true })
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  const resource = voice.createAudioResource(d.stream, { inputType: d.inputType as never })
  player.play(resource)
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 5000)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 20_000)
  // One packet per 20 ms frame, the last one padded; the Pacer adds silence only on a stall.
  t.ok(resource.playbackDuration >= frames * 20, `played ${resource.playbackDuration} ms of ${frames * 20} ms of audio`)
  t.ok(resource.playbackDuration <= (frames + 1 + d.metrics.silenceFrames) * 20, `and no more (${d.metrics.silenceFrames} silence frames)`)
})
