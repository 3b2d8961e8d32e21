// Discord with a real @discordjs/voice AudioPlayer, and the Pacer, while busy-looping processes
// (4 per core, test/fixtures/busy.ts) compete for the cores as on a bot's shared host. Every
// assertion is a count: frames the player got, silence frames, reads after a barge-in.
import t, { type Test } from 'tap'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createDiscordStream, LightningClient, Pacer, type DiscordMode, type DiscordStream, type PcmFormat, type PcmReadable } from '../lib/index.js'
import { startEmulator, toneSamples, type Emulator } from '../lib/emulator/index.js'
import { ffmpeg } from './fixtures/ffmpeg.js'
import { startBusy } from './fixtures/busy.js'
import FakeTimers from '@sinonjs/fake-timers'

const require = createRequire(import.meta.url)
const voice = require('@discordjs/voice') as typeof import('@discordjs/voice')
type AudioPlayer = import('@discordjs/voice').AudioPlayer
type AudioResource = import('@discordjs/voice').AudioResource
const dir = mkdtempSync(join(tmpdir(), 'ls-sinks-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const MODES: DiscordMode[] = ['opus', 'raw', 'ogg']
const req = { text: 'Voice channel test.', voice_id: 'magnus' } as const
const audioMs = (toneSamples({ ...req, sample_rate: 24000 }) / 24000) * 1000 // 1140 ms
const FRAMES = Math.ceil(audioMs / 20)

// Plays run in realtime while busy loops compete for the cores: allow for a slow host.
t.setTimeout(600_000)
t.teardown(startBusy())

/** A Writable that keeps every chunk (piping into it is not a player: no silence). */
function collect(into: Buffer[]): Writable {
  return new Writable({
    objectMode: true,
    write(chunk: Buffer, _e, cb) {
      into.push(chunk)
      cb()
    },
  })
}

/** What one play looked like from the player's side. */
interface Played {
  /** Packets the player took from the stream (its padding excluded). */
  packets: number
  /** Packets it took after `trigger` ran. */
  afterTrigger: number
  playbackMs: number
  states: string[]
  playerErrors: string[]
}

/**
 * Plays `d` in a real AudioPlayer until idle. `trigger` runs between two player ticks once the
 * player has taken `after` packets.
 */
async function play(
  d: DiscordStream,
  trigger?: { after: number; run: (player: AudioPlayer, resource: AudioResource) => void },
  afterPlay?: () => void,
): Promise<Played> {
  const player = voice.createAudioPlayer({ behaviors: { noSubscriber: voice.NoSubscriberBehavior.Play } })
  const resource = voice.createAudioResource(d.stream, { inputType: d.inputType as never })
  const out: Played = { packets: 0, afterTrigger: 0, playbackMs: 0, states: [], playerErrors: [] }
  let triggered = false
  const read = resource.read.bind(resource)
  resource.read = () => {
    const padding = resource.silenceRemaining !== -1
    const packet = read()
    if (packet && !padding) {
      out.packets++
      if (triggered) out.afterTrigger++
      if (trigger && out.packets === trigger.after) {
        setImmediate(() => {
          triggered = true
          trigger.run(player, resource)
        })
      }
    }
    return packet
  }
  player.on('stateChange', (_o, n) => out.states.push(n.status))
  player.on('error', (e) => out.playerErrors.push(e.name)) // voice copies the cause's name, not its code
  // Not entersState(): it rejects when the player emits 'error', which one test expects.
  const idle = new Promise<void>((resolve) => player.on('stateChange', (_o, n) => n.status === 'idle' && resolve()))
  player.play(resource)
  afterPlay?.()
  await idle
  out.playbackMs = resource.playbackDuration
  player.stop(true)
  return out
}

async function setup(t: Test, options: Parameters<typeof startEmulator>[0] = {}): Promise<{ emu: Emulator; client: LightningClient }> {
  const emu = await startEmulator({ maxConcurrent: 8, ...options })
  const client = new LightningClient({ baseUrl: emu.url, maxConcurrent: 8 })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  return { emu, client }
}

/** Every frame reached the player, silence counted apart, nothing left behind or read empty. */
function assertWhole(t: Test, mode: DiscordMode, d: DiscordStream, r: Played): void {
  const m = d.metrics
  // opus/ogg end with one more frame: the packet that flushes the encoder's lookahead (its last 6.5 ms).
  const extra = mode === 'raw' ? 0 : 1
  t.equal(m.audioFrames, FRAMES + extra, `${mode}: ${m.audioFrames} audio frames for ${FRAMES} frames of audio`)
  t.equal(r.packets, m.audioFrames + m.silenceFrames, `${mode}: the player got every frame the stream gave out (${m.silenceFrames} of silence)`)
  t.equal(r.playbackMs, (m.audioFrames + m.silenceFrames) * 20, `${mode}: playbackDuration = audio + silence`)
  t.ok(r.playbackMs >= audioMs, `${mode}: played ${r.playbackMs} ms ≥ ${audioMs} ms of audio`)
  t.equal(m.emptyReads, 0, `${mode}: no player read found nothing`)
  t.equal(m.queuedMs, 0, `${mode}: nothing left in the buffer`)
  t.same(r.states.filter((s) => s === 'idle'), ['idle'], `${mode}: idle once, at the end`)
  t.same(r.playerErrors, [], `${mode}: no player error`)
}

t.test('under contention every mode plays every frame, round after round (3 players at once)', async (t) => {
  const { client } = await setup(t)
  for (let round = 0; round < 4; round++) {
    const plays = await Promise.all(
      MODES.map(async (mode) => {
        const d = createDiscordStream(client.pcm(req), { mode })
        return { mode, d, r: await play(d) }
      }),
    )
    for (const { mode, d, r } of plays) assertWhole(t, mode, d, r)
  }
})

t.test('an event-loop stall right after play() (the player clock in debt at the start) does not end plays early', async (t) => {
  // The player's loop starts at play() and catches up on overdue ticks back to back. With a
  // timer-driven pacer in front (the previous design) this ended every play early: the burst of
  // pulls met one released frame at a time. Here every pull is served from the buffer.
  const { client } = await setup(t)
  const stall = () => {
    const until = performance.now() + 400
    while (performance.now() < until);
  }
  for (const mode of MODES) {
    const d = createDiscordStream(client.pcm(req), { mode })
    assertWhole(t, mode, d, await play(d, undefined, stall))
  }
})

t.test('a 1 s network stall mid-utterance is covered with silence, counted, and the player does not stop', async (t) => {
  const { client } = await setup(t, { realtimeFactor: 1, faults: { stallAfterChunk: 10, stallMs: 1000 } })
  const { client: plainClient } = await setup(t)
  for (const mode of MODES) {
    const d = createDiscordStream(client.pcm(req), { mode })
    const ogg: Buffer[] = []
    const player = play(d)
    if (mode === 'ogg') d.stream.on('data', (c: Buffer) => ogg.push(c))
    const r = await player
    assertWhole(t, mode, d, r)
    t.ok(d.metrics.silenceFrames >= 1 && d.metrics.underruns >= 1, `${mode}: ${d.metrics.silenceFrames} silence frames in ${d.metrics.underruns} underrun(s)`)
    if (mode === 'ogg') {
      // The Ogg the player got, with silence pages spliced in, decoded by ffmpeg: valid, and longer
      // than the same utterance without the stall by exactly the silence.
      const decoded = (chunks: Buffer[], name: string) => {
        writeFileSync(join(dir, name), Buffer.concat(chunks))
        return ffmpeg(['-i', join(dir, name), '-f', 's16le', '-ac', '2', '-ar', '48000', '-']).length / 4
      }
      const reference: Buffer[] = []
      await pipeline(createDiscordStream(plainClient.pcm(req), { mode }).stream, collect(reference))
      const extra = decoded(ogg, 'stall.ogg') - decoded(reference, 'reference.ogg')
      t.equal(extra, d.metrics.silenceFrames * 960, `ogg: ffmpeg decodes ${extra} more samples than without the stall: the silence`)
    }
  }
})

t.test('synthesis that fails midway: every frame that arrived plays, then the player reports the error', async (t) => {
  const { client } = await setup(t, { faults: { errorFrameAt: 20 } })
  for (const mode of MODES) {
    const d = createDiscordStream(client.pcm(req), { mode })
    const r = await play(d)
    // opus/ogg: one more packet, the encoder's lookahead flushed (the last 6.5 ms of the audio).
    const extra = mode === 'raw' ? 0 : 1
    t.equal(d.metrics.audioFrames, 20 + extra, `${mode}: the 20 frames (400 ms) before the error event played${extra ? ', and the lookahead flush' : ''}`)
    t.equal(r.packets, 20 + extra)
    t.same(r.playerErrors, ['ServerStreamError'], `${mode}: then the player emitted the error`)
  }
})

const long = { text: 'A long answer that the user interrupts before it is over. '.repeat(3), voice_id: 'emily' } as const

t.test('barge-in, measured in frames: at most one more frame, synthesis aborted, the next utterance plays', async (t) => {
  const { emu, client } = await setup(t, { realtimeFactor: 1 })
  const triggers: Record<string, (d: DiscordStream, ac: AbortController) => (player: AudioPlayer) => void> = {
    'player.stop(true)': () => (player) => player.stop(true),
    'clear() + abort': (d, ac) => () => {
      d.clear()
      ac.abort()
    },
    abort: (_d, ac) => () => ac.abort(),
  }
  for (const mode of MODES) {
    for (const [name, make] of Object.entries(triggers)) {
      const aborts = emu.stats.clientAborts
      const ac = new AbortController()
      const d = createDiscordStream(client.pcm(long), { mode, signal: ac.signal })
      const r = await play(d, { after: 10, run: make(d, ac) })
      t.ok(r.afterTrigger <= 1, `${mode}, ${name}: ${r.afterTrigger} frame(s) after the barge-in`)
      t.same(r.playerErrors, [], `${mode}, ${name}: the player goes idle without an error`)
      for (let i = 0; i < 500 && emu.stats.active > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      t.equal(emu.stats.active, 0, `${mode}, ${name}: synthesis aborted`)
      t.equal(emu.stats.clientAborts, aborts + 1, `${mode}, ${name}: the emulator saw the client leave`)
      t.equal(client.queue.active, 0, `${mode}, ${name}: the client is free`)
    }
    const next = createDiscordStream(client.pcm(req), { mode })
    assertWhole(t, mode, next, await play(next))
  }
})

t.test('clear() on fully buffered audio: at most one more frame, then the stream ends', async (t) => {
  const fmt: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
  for (const mode of MODES) {
    const pcm = Object.assign(Readable.from([Buffer.alloc(3840 * 100, 1)]), { format: fmt }) as unknown as PcmReadable
    const d = createDiscordStream(pcm, { mode, maxBufferMs: 4000 })
    const r = await play(d, { after: 10, run: () => void d.clear() })
    t.ok(r.afterTrigger <= 1, `${mode}: ${r.afterTrigger} frame(s) after clear()`)
    const extra = mode === 'raw' ? 0 : 1 // opus/ogg: the packet flushing the encoder's lookahead
    t.equal(d.metrics.clearedFrames + d.metrics.audioFrames, 100 + extra, `${mode}: every frame was either played or cleared`)
  }
})

t.test('a PCM stream with a signal: abort destroys the PCM stream and ends playback cleanly', async (t) => {
  const { emu, client } = await setup(t, { realtimeFactor: 1 })
  const ac = new AbortController()
  const pcm = client.pcm(long)
  const d = createDiscordStream(pcm, { signal: ac.signal })
  const r = await play(d, { after: 5, run: () => ac.abort() })
  t.ok(r.afterTrigger <= 1, `${r.afterTrigger} frame(s) after abort`)
  t.ok(pcm.destroyed, 'the PCM stream was destroyed')
  for (let i = 0; i < 500 && emu.stats.active > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(emu.stats.active, 0, 'synthesis aborted')
})

t.test('a consumer that pipes the stream away (not a player) gets every real frame and no silence', async (t) => {
  const { client } = await setup(t, { realtimeFactor: 2, faults: { stallAfterChunk: 10, stallMs: 300 } })
  for (const mode of MODES) {
    const d = createDiscordStream(client.pcm(req), { mode })
    const chunks: Buffer[] = []
    await pipeline(d.stream, collect(chunks))
    t.equal(d.metrics.silenceFrames, 0, `${mode}: no silence for a non-realtime reader`)
    if (mode === 'raw') t.equal(Buffer.concat(chunks).length, FRAMES * 3840, 'raw: whole 20 ms frames of 48 kHz stereo')
    if (mode === 'opus') t.equal(chunks.length, d.metrics.audioFrames, 'opus: one packet per frame')
    if (mode === 'ogg') {
      const file = join(dir, 'piped.ogg')
      writeFileSync(file, Buffer.concat(chunks))
      const samples = ffmpeg(['-i', file, '-f', 's16le', '-ac', '2', '-ar', '48000', '-']).length / 4
      // The encoder's lookahead (pre-skip, 312 samples) is trimmed at the start; until the encoder
      // flushes it at the end, the decoded audio is that much shorter than the input.
      t.ok(samples <= audioMs * 48 && samples >= audioMs * 48 - 312, `ogg: decodes to ${samples} samples for ${audioMs * 48} in`)
    }
  }
})

t.test('backpressure reaches the socket: a fast source is read only as far as the bounded buffer allows', async (t) => {
  const { client } = await setup(t) // the emulator sends as fast as the socket allows
  // 26 s of audio: far more than the buffer plus what the stages hold (their high-water marks:
  // 16 KiB on Node 20, 64 KiB on Node 22 and later).
  const text = { text: 'A long answer, synthesised much faster than it plays. '.repeat(8), voice_id: 'magnus' } as const
  const total = toneSamples({ ...text, sample_rate: 24000 }) * 2
  for (const mode of MODES) {
    const pcm = client.pcm(text)
    const d = createDiscordStream(pcm, { mode, maxBufferMs: 500 })
    let deliveredAt20 = 0
    await play(d, { after: 20, run: (player) => ((deliveredAt20 = pcm.delivered.bytes), player.stop(true)) })
    t.ok(d.metrics.maxQueuedMs <= 500, `${mode}: at most ${d.metrics.maxQueuedMs} ms buffered (maxBufferMs 500)`)
    t.ok(deliveredAt20 < total / 3, `${mode}: ${deliveredAt20} of ${total} bytes decoded after 20 frames played: the socket waits`)
  }
})

t.test('options are checked before anything starts', async (t) => {
  const pcm = { format: { sampleRate: 24000, channels: 1, encoding: 's16le' } } as unknown as PcmReadable
  t.throws(() => createDiscordStream(pcm, { mode: 'mp3' as never }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => createDiscordStream(pcm, { leadMs: 0 }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => createDiscordStream(pcm, { leadMs: 200, maxBufferMs: 100 }), { code: 'ERR_INVALID_OPTION' })
  t.throws(() => createDiscordStream(req as never), { code: 'ERR_INVALID_OPTION', option: 'pcm', message: /client\.pcm\(request\)/ }, 'a request: pass client.pcm(request)')
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
