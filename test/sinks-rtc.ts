// WebRTC and LiveKit sinks with the real peers (@roamhq/wrtc, @livekit/rtc-node) while 4 busy
// processes per core compete for the CPU (test/fixtures/busy.ts). Every assertion is a count:
// frames, samples, frames in a burst, frames after a barge-in.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { AudioSource, dispose } from '@livekit/rtc-node'
import { LightningClient, LiveKitAudioSink, WrtcAudioSink, type PacerMetrics } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'
import { pipeline } from 'node:stream/promises'
import { startBusy } from './fixtures/busy.js'
import { until } from './fixtures/helpers.js'

// Plays run in realtime while busy loops compete for the cores: allow for a slow host.
t.setTimeout(600_000)
t.teardown(startBusy())

interface WrtcRun {
  frames: number
  expectedFrames: number
  metrics: PacerMetrics
}

t.test('node-webrtc (real @roamhq/wrtc) under contention: every frame, bounded catch-up bursts, barge-in', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/wrtc-child.mjs', import.meta.url))
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 })
  const line = r.stdout.trim().split('\n').at(-1) ?? '{}'
  const out = JSON.parse(line) as Record<string, unknown> & { plain: WrtcRun & { allExact: boolean; received: number }; shortStall: WrtcRun; longStall: WrtcRun }
  t.notOk(out['error'], String(out['error'] ?? r.stderr))
  const { plain, shortStall, longStall } = out
  t.equal(plain.frames - plain.metrics.silenceFrames, plain.expectedFrames, `${plain.frames} onData calls (${plain.metrics.silenceFrames} of silence) for ${plain.expectedFrames} frames of audio`)
  t.equal(plain.allExact, true, 'every call: a fresh Int16Array of exactly 480 bytes at offset 0 (24 kHz mono)')
  t.equal(plain.received, plain.frames, `the track delivered all ${plain.received} frames to an RTCAudioSink`)
  t.ok(plain.metrics.maxBurstFrames <= 22, `at most ${plain.metrics.maxBurstFrames} frames in any 10 ms (bound 22)`)

  // A 150 ms stall (shorter than the 200 ms bound): the due frames leave in one burst.
  t.equal(shortStall.frames - shortStall.metrics.silenceFrames, shortStall.expectedFrames, 'short stall: every audio frame delivered')
  t.ok(shortStall.metrics.maxBurstFrames >= 10 && shortStall.metrics.maxBurstFrames <= 22, `short stall: caught up in a burst of ${shortStall.metrics.maxBurstFrames} frames`)
  t.ok(shortStall.metrics.lateFrames >= 1, `short stall: ${shortStall.metrics.lateFrames} late frames reported`)

  // A 600 ms stall: the burst stays at the bound and the clock moves by the rest; nothing dropped.
  t.equal(longStall.frames - longStall.metrics.silenceFrames, longStall.expectedFrames, 'long stall: every audio frame delivered')
  t.ok(longStall.metrics.maxBurstFrames >= 20 && longStall.metrics.maxBurstFrames <= 22, `long stall: the burst was held to the bound (${longStall.metrics.maxBurstFrames} frames in 10 ms; 200 ms + 2 frames)`)
  t.ok(longStall.metrics.driftMs >= 200, `long stall: the clock moved by ${longStall.metrics.driftMs.toFixed(0)} ms instead of a longer burst`)

  t.ok((out['clearedMs'] as number) > 0, `clear() dropped ${out['clearedMs']} ms of queued audio`)
  t.ok((out['framesAfterClear'] as number) <= 1, `frames sent after barge-in: ${out['framesAfterClear']} (at most one)`)
  t.equal(out['abortOutcome'], 'ABORT_ERR', 'the pipeline ended with the abort')
  t.equal(out['activeAfterAbort'], 0, 'synthesis aborted')
})

t.test('WrtcAudioSink refuses formats node-webrtc cannot take, and a bad burst bound', async (t) => {
  const source = { onData() {} }
  t.throws(() => new WrtcAudioSink({ source, format: { sampleRate: 22050, channels: 1, encoding: 's16le' } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new WrtcAudioSink({ source, format: { sampleRate: 48000, channels: 1, encoding: 'f32le' } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new WrtcAudioSink({ source, format: { sampleRate: 48000, channels: 1, encoding: 's16le' }, maxBurstMs: 0 }), { code: 'ERR_INVALID_OPTION' })
})

t.test('LiveKit (real @livekit/rtc-node AudioSource) under contention: every sample captured; barge-in', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 20, maxConcurrent: 2 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  // A 200 ms queue and a 20× source: without awaited captureFrame() the queue would overflow
  // ("InvalidState - failed to capture frame").
  for (let round = 0; round < 3; round++) {
    const source = new AudioSource(24000, 1, 200)
    // The source's queue, seen each time a frame is captured: backpressure keeps it within its 200 ms.
    let maxQueued = 0
    const capture = source.captureFrame.bind(source)
    source.captureFrame = async (frame) => {
      await capture(frame)
      maxQueued = Math.max(maxQueued, source.queuedDuration)
    }
    const pcm = client.pcm({ text: 'LiveKit frames, awaited one by one.', voice_id: 'magnus' })
    const sink = new LiveKitAudioSink({ source, format: pcm.format })
    await pipeline(pcm, sink)
    t.ok(maxQueued > 0 && maxQueued <= 200 + 10, `round ${round}: captureFrame's backpressure held a 20× source to ${maxQueued} ms queued (queue: 200 ms)`)
    const m = sink.metrics
    t.equal(m.samplesCaptured, pcm.delivered.bytes / 2, `round ${round}: all ${m.samplesCaptured} samples captured`)
    t.equal(m.framesCaptured, Math.ceil(pcm.delivered.bytes / 2 / 240), `round ${round}: ${m.framesCaptured} frames of 10 ms (the last one partial)`)
    t.ok(m.lateFrames >= 0 && m.driftMs >= 0, `round ${round}: ${m.lateFrames} late frames, ${m.driftMs.toFixed(0)} ms of gaps reported`)
    await source.close()
  }

  const src2 = new AudioSource(24000, 1, 1000)
  let captures = 0
  const capture = src2.captureFrame.bind(src2)
  src2.captureFrame = (frame) => {
    captures++
    return capture(frame)
  }
  const ac = new AbortController()
  const long = client.pcm({ text: 'Barge in on this long sentence, please. '.repeat(12), voice_id: 'emily' }, { signal: ac.signal })
  const sink2 = new LiveKitAudioSink({ source: src2, format: long.format })
  let atAbort = -1
  const run = pipeline(long, sink2).catch((e: { code?: string }) => e.code)
  // If the pipeline ends first (it should not: ~25 s of audio against a 1 s queue), say how, rather than time out.
  const ended = run.then((code) => {
    if (ac.signal.aborted) return
    throw new Error(`the pipeline ended (${String(code)}) before barge-in: ${captures} captures, ${src2.queuedDuration} ms queued`)
  })
  await Promise.race([until('50 frames captured and 100 ms queued in the LiveKit source', () => captures >= 50 && src2.queuedDuration >= 100, { timeoutMs: 60_000 }), ended])
  t.ok(src2.queuedDuration > 0, `queued before barge-in: ${src2.queuedDuration} ms`)
  atAbort = captures
  ac.abort()
  t.equal(await run, 'ERR_ABORTED')
  t.ok(captures - atAbort <= 1, `frames captured after the abort: ${captures - atAbort} (at most one)`)
  t.equal(src2.queuedDuration, 0, 'abort cleared the LiveKit queue')
  const wrong = new AudioSource(48000, 2, 100)
  t.throws(() => new LiveKitAudioSink({ source: wrong, format: long.format }), { code: 'ERR_AUDIO_FORMAT', message: /convertPcm/ })
  await Promise.all([src2.close(), wrong.close()])
})

// rtc-node's native FFI client keeps the event loop alive until disposed.
t.teardown(() => dispose())
