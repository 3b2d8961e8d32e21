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
import FakeTimers from '@sinonjs/fake-timers'
import { ffprobe } from './fixtures/ffmpeg.js'
import { closeServer, listen, until } from './fixtures/helpers.js'
import { ffmpegForLibrary } from './fixtures/tools.js'

const require = createRequire(import.meta.url)
const voice = require('@discordjs/voice') as typeof import('@discordjs/voice')
const dir = mkdtempSync(join(tmpdir(), 'ls-sinks-'))
const req = { text: 'Voice channel test.', voice_id: 'magnus' } as const
const audioMs = (toneSamples({ ...req, sample_rate: 24000 }) / 24000) * 1000
ffmpegForLibrary() // sendAudio's mp3 runs the library's ffmpeg: give it the one the tests found

/** Plays a Discord stream in a real AudioPlayer until idle; returns what it played, in ms of audio. */
async function play(stream: Readable, inputType: string) {
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  const resource = voice.createAudioResource(stream, { inputType: inputType as never })
  const states: string[] = []
  player.on('stateChange', (_o, n) => states.push(n.status))
  player.play(resource)
  // The timeouts guard against hangs; the assertions are on playbackDuration (20 ms per frame played).
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 30_000)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 60_000)
  return { playbackMs: resource.playbackDuration, states }
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
  const resource = voice.createAudioResource(d.stream, { inputType: d.inputType as never })
  player.play(resource)
  await voice.entersState(player, voice.AudioPlayerStatus.Playing, 30_000)
  // Barge in once ten frames (200 ms of audio) have played: counted in frames, not milliseconds.
  await until('10 frames played', () => resource.playbackDuration >= 200)
  const closed = new Promise<number>((resolve) => emu.events.once('request-closed', () => resolve(emu.stats.framesWritten)))
  const chunksAtStop = emu.stats.framesWritten
  const framesAtStop = d.metrics.framesOut
  player.stop(true)
  await voice.entersState(player, voice.AudioPlayerStatus.Idle, 30_000)
  const chunksAtClose = await closed
  t.ok(chunksAtClose - chunksAtStop <= 1, `the emulator sent ${chunksAtClose - chunksAtStop} chunk(s) of 20 ms after stop (at most one)`)
  t.ok(emu.stats.clientAborts >= 1, 'the TTS request was aborted, not finished')
  t.ok(d.metrics.framesOut - framesAtStop <= 1, `the pacer sent ${d.metrics.framesOut - framesAtStop} frame(s) after stop (at most one)`)
  t.equal(client.queue.active, 0, 'the client is free for the next utterance')
  const again = createDiscordStream(req, { client })
  const r = await play(again.stream, again.inputType)
  t.ok(r.playbackMs > 0, 'the next utterance plays')
})

t.test('Pacer on a virtual clock: one frame per period, a stall caught up without drift, bounded lead, clear()', async (t) => {
  // @sinonjs/fake-timers drives setTimeout and performance.now, so the clock's behaviour is
  // checked exactly, whatever else the machine is doing.
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  t.teardown(() => clock.uninstall())
  const format: PcmFormat = { sampleRate: 48000, channels: 1, encoding: 's16le' }
  const pacer = new Pacer({ format, frameMs: 10, leadMs: 30, maxLeadMs: 100 })
  const at: number[] = []
  const sizes = new Set<number>()
  pacer.on('data', (f: Buffer) => {
    sizes.add(f.length)
    at.push(performance.now())
  })
  const done = pipeline(Readable.from([Buffer.alloc(48000 * 2, 1)]), pacer) // 1 s in one burst
  await clock.tickAsync(300)
  clock.jump(35) // the event loop stalls for 35 ms, as on a busy machine
  await clock.tickAsync(1000)
  await done
  t.equal(at.length, 100, 'one frame per 10 ms of audio')
  t.same([...sizes], [960], 'every frame is 10 ms: 960 bytes')
  const late = at.map((x, k) => x - (at[0]! + k * 10))
  t.same(late.filter((l) => l < 0), [], 'no frame leaves before its slot (the last one included)')
  t.equal(late.filter((l) => l > 0).length, 3, `the 3 frames due during the stall leave as soon as it ends (late by ${late.filter((l) => l > 0).join(', ')} ms)`)
  t.equal(late.at(-1), 0, 'then the clock is back on its grid: the last frame leaves at 990 ms, no drift')
  t.ok(pacer.metrics.maxQueuedMs <= 110, `a 1 s burst was held to ${pacer.metrics.maxQueuedMs} ms ahead (backpressure)`)

  const p2 = new Pacer({ format, frameMs: 20, leadMs: 20 })
  t.teardown(() => p2.destroy())
  let sent = 0
  p2.on('data', () => sent++)
  p2.write(Buffer.alloc(48000 * 2))
  await clock.tickAsync(50)
  const dropped = p2.clear()
  t.equal(dropped, 1000 - sent * 20, `clear() dropped the ${dropped} ms not yet sent (${sent} frames had left)`)
  t.equal(p2.metrics.queuedMs, 0)
  const before = p2.metrics.framesOut
  await clock.tickAsync(100)
  t.equal(p2.metrics.silenceFrames, p2.metrics.framesOut - before, 'after clear() only silence leaves: the clock keeps running')
})

t.test('Pacer on the real clock: every frame, never ahead of realtime', async (t) => {
  const format: PcmFormat = { sampleRate: 48000, channels: 1, encoding: 's16le' }
  const pacer = new Pacer({ format, frameMs: 10, leadMs: 30, maxLeadMs: 100 })
  let frames = 0
  pacer.on('data', () => frames++)
  const t0 = performance.now()
  await pipeline(Readable.from([Buffer.alloc(48000, 1)]), pacer) // 0.5 s
  t.equal(frames, 50, 'one frame per 10 ms of audio')
  // A lower bound only: a busy machine can make it later, never sooner.
  t.ok(performance.now() - t0 >= 489, 'half a second of audio took at least half a second')
})

t.test('sendAudio: streams wav/ogg/mp3 over HTTP; a disconnect aborts synthesis', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 5, maxConcurrent: 4 })
  t.teardown(() => emu.close())
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 4 })
  t.teardown(() => client.close())
  const server = createServer((q, res) => {
    const format = (new URL(q.url!, 'http://x').searchParams.get('f') ?? 'ogg') as 'wav' | 'ogg' | 'mp3'
    sendAudio(res, req, { client, format }).catch(() => {})
  })
  // No idle timeout: on a busy machine a blocking ffprobe can outlast it, and the next fetch would
  // reuse a socket the server is closing (ECONNRESET), a keep-alive race, not what is tested here.
  server.keepAliveTimeout = 0
  t.teardown(() => closeServer(server))
  const base = await listen(server)
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
  await until('the emulator to see the client leave', () => emu.stats.clientAborts > before)
  t.equal(emu.stats.clientAborts, before + 1, 'the HTTP client left: the TTS request was aborted')
  await until('no synthesis left running', () => emu.stats.active === 0)
  t.equal(emu.stats.active, 0, 'no synthesis left running')
})
