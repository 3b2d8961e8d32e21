import t from 'tap'
import { createRequire } from 'node:module'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createDiscordStream, LightningClient, Pacer, sendAudio, type PcmFormat } from '../lib/index.js'
import { startEmulator, toneSamples } from '../lib/emulator/index.js'
import { ffprobe } from './fixtures/ffmpeg.js'

const require = createRequire(import.meta.url)
const voice = require('@discordjs/voice') as typeof import('@discordjs/voice')
const dir = mkdtempSync(join(tmpdir(), 'ls-sinks-'))
const req = { text: 'Voice channel test.', voice_id: 'magnus' } as const
const audioMs = (toneSamples({ ...req, sample_rate: 24000 }) / 24000) * 1000

/** Plays a Discord stream in a real AudioPlayer until idle; returns timing facts. */
async function play(stream: Readable, inputType: string) {
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  const resource = voice.createAudioResource(stream, { inputType: inputType as never })
  const states: string[] = []
  player.on('stateChange', (_o, n) => states.push(n.status))
  const t0 = performance.now()
  player.play(resource)
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 5000)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 20_000)
  return { playbackMs: resource.playbackDuration, wallMs: performance.now() - t0, states }
}

t.test('Discord opus mode: a real AudioPlayer plays the whole utterance, duration exact to a frame', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 10 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const d = createDiscordStream(req, { client })
  t.equal(d.inputType, 'opus')
  const r = await play(d.stream, d.inputType)
  t.ok(Math.abs(r.playbackMs - audioMs) <= 20, `playbackDuration ${r.playbackMs} ms vs ${audioMs.toFixed(0)} ms of audio`)
  t.equal(d.metrics.silenceFrames, 0, 'no underrun with a 10× source')
  t.same(r.states.filter((s) => s === 'idle'), ['idle'], 'idle once, at the end')
})

t.test('Discord: a 300 ms mid-stream stall is covered with silence; the player does not stop early', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 2, faults: { stallAfterChunk: 20, stallMs: 300 } })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const d = createDiscordStream(req, { client, leadMs: 60 })
  const r = await play(d.stream, d.inputType)
  const m = d.metrics
  t.ok(m.silenceFrames >= 1 && m.silenceFrames <= 20, `${m.silenceFrames} silence frames covered the part of the stall the cushion did not (${m.underruns} underrun)`)
  t.ok(Math.abs(r.playbackMs - (audioMs + m.silenceFrames * 20)) <= 20, `all audio played: ${r.playbackMs} ms = audio + silence`)
  t.same(r.states.filter((s) => s === 'idle'), ['idle'], 'the player went idle only at the end')
})

t.test('Discord raw and ogg modes play in the real player too', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 10, maxConcurrent: 2 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  for (const mode of ['raw', 'ogg'] as const) {
    const d = createDiscordStream(client.pcm(req), { mode })
    t.equal(d.inputType, mode === 'raw' ? 'raw' : 'ogg/opus')
    const r = await play(d.stream, d.inputType)
    t.ok(Math.abs(r.playbackMs - audioMs) <= 40, `${mode}: playbackDuration ${r.playbackMs} ms vs ${audioMs.toFixed(0)} ms`)
  }
})

t.test('Discord barge-in: player.stop() aborts synthesis and clears the queue', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 1 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const d = createDiscordStream({ ...req, text: req.text.repeat(5) }, { client })
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  player.play(voice.createAudioResource(d.stream, { inputType: d.inputType as never }))
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 5000)
  await new Promise((r) => setTimeout(r, 200))
  const t0 = performance.now()
  const closed = new Promise<number>((resolve) => emu.events.once('request-closed', () => resolve(performance.now() - t0)))
  player.stop(true)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 1000)
  const latency = await closed
  t.ok(latency <= 20, `synthesis aborted ${latency.toFixed(1)} ms after stop (within one frame)`)
  t.equal(client.queue.active, 0, 'the client is free for the next utterance')
  const again = createDiscordStream(req, { client })
  const r = await play(again.stream, again.inputType)
  t.ok(r.playbackMs > 0, 'the next utterance plays')
})

t.test('Pacer: frames on the wall clock, drift-corrected, bounded lead, clear() for barge-in', async (t) => {
  const format: PcmFormat = { sampleRate: 48000, channels: 1, encoding: 's16le' }
  const seconds = 1
  const pcm = Buffer.alloc(48000 * 2 * seconds, 1)
  const pacer = new Pacer({ format, frameMs: 10, leadMs: 30, maxLeadMs: 100 })
  const times: number[] = []
  const t0 = performance.now()
  pacer.on('data', (f: Buffer) => {
    t.equal(f.length, 960)
    times.push(performance.now() - t0)
  })
  await pipeline(Readable.from([pcm]), pacer)
  t.equal(times.length, 100, 'one frame per 10 ms')
  const drift = times.at(-1)! - 990
  t.ok(Math.abs(drift) < 20, `last frame at ${times.at(-1)!.toFixed(1)} ms: drift ${drift.toFixed(1)} ms over 1 s`)
  t.ok(pacer.metrics.maxQueuedMs <= 110, `a 1 s burst was held to ${pacer.metrics.maxQueuedMs} ms ahead (backpressure)`)
  const p2 = new Pacer({ format, frameMs: 20, leadMs: 20 })
  p2.write(Buffer.alloc(48000 * 2))
  await new Promise((r) => setTimeout(r, 50))
  const dropped = p2.clear()
  t.ok(dropped >= 800, `clear() dropped ${dropped} ms of queued audio`)
  t.equal(p2.metrics.queuedMs, 0)
  p2.destroy()
})

t.test('sendAudio: streams wav/ogg/mp3 over HTTP; a disconnect aborts synthesis', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 5, maxConcurrent: 4 })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  const server = createServer((q, res) => {
    const format = (new URL(q.url!, 'http://x').searchParams.get('f') ?? 'ogg') as 'wav' | 'ogg' | 'mp3'
    sendAudio(res, req, { client, format }).catch(() => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(async () => {
    server.close()
    await client.close()
    await emu.close()
  })
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  for (const [f, type, codec] of [['wav', 'audio/wav', 'pcm_s16le'], ['ogg', 'audio/ogg', 'opus'], ['mp3', 'audio/mpeg', 'mp3']] as const) {
    const res = await fetch(`${base}/?f=${f}`)
    t.equal(res.headers.get('content-type'), type)
    t.equal(res.headers.get('content-length'), null, 'no Content-Length: streamed')
    t.equal(res.headers.get('transfer-encoding'), 'chunked')
    const file = join(dir, `http.${f}`)
    writeFileSync(file, Buffer.from(await res.arrayBuffer()))
    t.equal(ffprobe(file).streams[0]!['codec_name'], codec)
  }
  const before = emu.stats.clientAborts
  const ac = new AbortController()
  const res = await fetch(`${base}/?f=wav`, { signal: ac.signal })
  const reader = res.body!.getReader()
  await reader.read()
  ac.abort()
  const t0 = Date.now()
  while (emu.stats.clientAborts === before && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10))
  t.equal(emu.stats.clientAborts, before + 1, 'the HTTP client left: the TTS request was aborted')
  t.equal(emu.stats.active, 0, 'no synthesis left running')
})
