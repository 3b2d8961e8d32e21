import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { AudioSource, dispose } from '@livekit/rtc-node'
import { LightningClient, LiveKitAudioSink, WrtcAudioSink } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'
import { pipeline } from 'node:stream/promises'
import { until } from './fixtures/helpers.js'

t.test('node-webrtc (real @roamhq/wrtc): exact 10 ms owned frames, never ahead of realtime; barge-in', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/wrtc-child.mjs', import.meta.url))
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 })
  const line = r.stdout.trim().split('\n').at(-1) ?? '{}'
  const out = JSON.parse(line) as Record<string, number | boolean | string>
  t.notOk(out['error'], String(out['error'] ?? ''))
  t.equal(out['frames'], out['expectedFrames'], `${out['frames']} onData calls for ${out['audioMs']} ms of audio: ceil(duration / 10 ms)`)
  t.equal(out['allExact'], true, 'every call: a fresh Int16Array of exactly 480 bytes at offset 0 (24 kHz mono)')
  t.equal(out['earlyFrames'], 0, 'no frame left ahead of realtime')
  t.ok((out['received'] as number) > 0, `the track delivered ${out['received']} frames to an RTCAudioSink`)
  t.ok((out['clearedMs'] as number) > 0, `clear() dropped ${out['clearedMs']} ms of queued audio`)
  t.ok((out['framesAfterClear'] as number) <= 1, `frames sent after barge-in: ${out['framesAfterClear']} (within one frame)`)
  t.equal(out['abortOutcome'], 'ABORT_ERR', 'the pipeline ended with the abort')
})

t.test('WrtcAudioSink refuses formats node-webrtc cannot take', async (t) => {
  const source = { onData() {} }
  t.throws(() => new WrtcAudioSink({ source, format: { sampleRate: 22050, channels: 1, encoding: 's16le' } }), { code: 'ERR_AUDIO_FORMAT' })
  t.throws(() => new WrtcAudioSink({ source, format: { sampleRate: 48000, channels: 1, encoding: 'f32le' } }), { code: 'ERR_AUDIO_FORMAT' })
})

t.test('LiveKit (real @livekit/rtc-node AudioSource): every sample captured with backpressure; clearQueue on abort', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 20, maxConcurrent: 2 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const source = new AudioSource(24000, 1, 200)
  t.teardown(() => source.close())
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
  t.equal(sink.framesCaptured, Math.ceil(pcm.metrics.audioMs / 10), `${sink.framesCaptured} frames of 10 ms captured`)
  t.ok(maxQueued > 0 && maxQueued <= 200 + 10, `captureFrame's backpressure held a 20× source to ${maxQueued} ms queued (queue: 200 ms)`)

  const src2 = new AudioSource(24000, 1, 1000)
  t.teardown(() => src2.close())
  const ac = new AbortController()
  const long = client.pcm({ text: 'Barge in on this long sentence, please. '.repeat(4), voice_id: 'emily' }, { signal: ac.signal })
  const sink2 = new LiveKitAudioSink({ source: src2, format: long.format })
  const run = pipeline(long, sink2).catch((e: { code?: string }) => e.code)
  await until('100 ms queued in the LiveKit source', () => src2.queuedDuration >= 100)
  t.ok(src2.queuedDuration > 0, `queued before barge-in: ${src2.queuedDuration} ms`)
  ac.abort()
  t.equal(await run, 'ERR_ABORTED')
  t.equal(src2.queuedDuration, 0, 'abort cleared the LiveKit queue')
  const wrong = new AudioSource(48000, 2, 100)
  t.teardown(() => wrong.close())
  t.throws(() => new LiveKitAudioSink({ source: wrong, format: pcm.format }), { code: 'ERR_AUDIO_FORMAT', message: /convertPcm/ })
})

// rtc-node's native FFI client keeps the event loop alive until disposed.
t.teardown(() => dispose())
