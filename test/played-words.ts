import t from 'tap'
import { EventEmitter } from 'node:events'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidOptionError, LightningClient, PlayedWords, playheadOf, WrtcAudioSink, type WordTimestamp } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'

const w = (word: string, start: number, end: number, index: number): WordTimestamp => ({ word, start, end, index })

t.test('a word is heard once the playhead passes its end', async (t) => {
  const source = new EventEmitter()
  let ms = 0
  const played = new PlayedWords(source, () => ms)
  const emitted: string[] = []
  played.on('word', (x: WordTimestamp) => emitted.push(x.word))
  source.emit('word', w('one', 0, 0.3, 0))
  source.emit('word', w('two', 0.36, 0.6, 1))
  source.emit('word', w('three', 0.66, 1.0, 2))
  played.poll()
  t.same(emitted, [])
  ms = 300
  played.poll()
  t.same(emitted, ['one'])
  ms = 650
  played.poll()
  t.same(emitted, ['one', 'two'])
  t.same(played.pending.map((x) => x.word), ['three'])
  t.same(played.stop().map((x) => x.word), ['one', 'two'], 'stop() returns what was heard (barge-in)')
  source.emit('word', w('four', 1.1, 1.3, 3))
  t.equal(played.pending.length, 1, 'no longer following after stop()')
  t.throws(() => new PlayedWords(source, () => 0, { intervalMs: 0 }), InvalidOptionError)
})

t.test('playheadOf: Pacer-based sinks count audio frames, not silence; LiveKit subtracts what is queued', async (t) => {
  const pacerSink = { metrics: { framesOut: 12, silenceFrames: 2 } }
  t.equal(playheadOf(pacerSink)(), 100)
  t.equal(playheadOf({ metrics: { framesOut: 12, silenceFrames: 2 }, frameMs: 20 })(), 200, 'Discord: 20 ms frames')
  t.equal(playheadOf({ framesCaptured: 50 }, 10, () => 120)(), 380)
})

t.test('WebRTC sink: the words heard before a barge-in are those whose audio was handed to onData', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 20 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  let calls = 0
  const source = { onData: () => void calls++ }
  const tts = client.streamText({ voice_id: 'meher', word_timestamps: true })
  const sink = new WrtcAudioSink({ source, format: tts.format, leadMs: 20 })
  const played = new PlayedWords(tts, playheadOf(sink), { intervalMs: 5 })
  const done = pipeline(tts, sink).catch(() => {})
  tts.end('Every word you hear is reported when it is played, and not a moment before.')
  while (played.heard.length < 3) await sleep(5)
  tts.destroy() // barge-in
  sink.clear()
  const heard = played.stop()
  const playedMs = (sink.metrics.framesOut - sink.metrics.silenceFrames) * 10
  t.ok(heard.length >= 3 && played.pending.length > 0, `${heard.length} heard, ${played.pending.length} never played`)
  t.ok(heard.every((x) => x.end * 1000 <= calls * 10), 'no word is reported before onData got its audio')
  t.ok((played.pending[0] as WordTimestamp).end * 1000 > playedMs, 'the first unheard word ends after the playhead')
  t.same(heard.map((x) => x.index), heard.map((_, i) => i), 'in order, none skipped')
  sink.destroy()
  await done
})
