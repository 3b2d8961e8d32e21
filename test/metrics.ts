import t from 'tap'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioChunkDecoder, instrument, LightningClient, SseParser, stageMetrics, type TtsMetrics } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'
import { collectBytes, errorOf } from './fixtures/helpers.js'

const req = { text: 'Metrics tell where the time went.', voice_id: 'magnus' } as const

t.test('pcm() records the request timeline in order and emits metrics on close', async (t) => {
  const emu = await startEmulator({ firstByteDelayMs: 40, realtimeFactor: 20 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const pcm = client.pcm(req)
  const emitted = new Promise<TtsMetrics>((resolve) => pcm.once('metrics', resolve))
  const audio = await collectBytes(pcm)
  const m = await emitted
  const steps = [m.requestSent, m.responseHeaders, m.firstSseByte, m.firstAudioEvent, m.firstPcmByte, m.end] as number[]
  t.ok(steps.every((v) => typeof v === 'number'), `every step recorded: ${steps.map((v) => v.toFixed(1)).join(' ≤ ')}`)
  t.same([...steps].sort((a, b) => a - b), steps, 'in causal order')
  t.ok(m.responseHeaders! >= 40, 'the 40 ms first-byte delay shows up in responseHeaders')
  t.equal(m.audioBytes, audio.length)
  t.equal(m.audioMs, (audio.length / 48000) * 1000)
  t.ok(m.realtimeFactor! > 1, `realtime factor ${m.realtimeFactor!.toFixed(1)}`)
  t.equal(m.failed, false)
  t.equal(m.retries, 0)
  t.same(pcm.metrics.audioBytes, audio.length, 'the getter agrees')
})

t.test('metrics mark failures and count retries', async (t) => {
  const emu = await startEmulator({ faults: { failStatus: 503, failCount: 1, dropAfterChunk: 2 } })
  const client = new LightningClient({ baseUrl: emu.url, retry: { baseDelayMs: 1 } })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const pcm = client.pcm(req)
  const emitted = new Promise<TtsMetrics>((resolve) => pcm.once('metrics', resolve))
  await errorOf(() => collectBytes(pcm))
  const m = await emitted
  t.equal(m.failed, true)
  t.equal(m.retries, 1)
  t.equal(m.audioBytes, 3 * 960)
})

t.test('instrument() counts chunks, bytes, time and leaves the output unchanged', async (t) => {
  const emu = await startEmulator({ chunkBytes: 777 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(() => Promise.all([client.close(), emu.close()]))
  const plain = await collectBytes(client.pcm(req))
  const sse = instrument(new SseParser(), 'sse')
  const dec = instrument(new AudioChunkDecoder({ sampleRate: 24000 }), 'decode')
  const out: Buffer[] = []
  await pipeline(
    client.stream(req),
    sse,
    dec,
    new Writable({
      highWaterMark: 1,
      write(c: Buffer, _e, cb) {
        out.push(c)
        setImmediate(cb) // a slow-ish consumer, so the decoder's output fills up
      },
    }),
  )
  t.same(Buffer.concat(out), plain, 'instrumented stages produce the same bytes')
  const s = stageMetrics(sse)!
  const d = stageMetrics(dec)!
  t.equal(s.name, 'sse')
  t.ok(s.chunksIn >= 1 && s.bytesIn > plain.length, `sse: ${s.chunksIn} chunks, ${s.bytesIn} bytes in`)
  t.equal(s.chunksOut, d.chunksIn, 'events out of the parser = events into the decoder')
  t.equal(d.bytesOut, plain.length)
  t.ok(d.busyNs > 0 && d.maxChunkNs > 0 && d.maxChunkNs <= d.busyNs)
  t.ok(d.blockedNs > 0, 'backpressure time from the slow consumer was measured')
  t.equal(stageMetrics(new SseParser()), undefined, 'un-instrumented stages have no metrics')
})
