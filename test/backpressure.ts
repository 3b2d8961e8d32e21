import t from 'tap'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioChunkDecoder, LightningClient, SseParser } from '../lib/index.js'
import { renderTone, sseChunkFrame, splitChunks, startEmulator } from '../lib/emulator/index.js'
import { until } from './fixtures/helpers.js'

/** The bound the README documents for bytes held inside the client under a slow consumer. */
const BOUND = 256 * 1024

t.test('a 1× realtime consumer slows a 50× emulator: bytes held in the client stay bounded', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 50 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const req = { text: 'Backpressure keeps memory flat. '.repeat(60), voice_id: 'magnus' } as const
  // SSE bytes of the first n chunk messages, exactly as the emulator writes them.
  const eventSizes = splitChunks(renderTone({ ...req, sample_rate: 24000 }), 960).map((c) => Buffer.byteLength(sseChunkFrame(c)))
  const prefix = [0]
  for (const s of eventSizes) prefix.push(prefix[prefix.length - 1]! + s)

  const source = client.stream(req)
  const decoder = new AudioChunkDecoder({ sampleRate: 24000 })
  let maxHeld = 0
  let samples = 0
  const held = () =>
    source.bufferedBytes - source.readableLength + source.bytesRead - prefix[decoder.delivered.chunks]! + decoder.readableLength
  const sample = () => {
    maxHeld = Math.max(maxHeld, held())
    samples++
  }
  // Sampled whenever the socket delivers bytes and whenever the consumer takes a chunk.
  source.on('data', sample)
  // The consumer plays 2 s of audio at 1× realtime and then stops the run: the window is counted in
  // audio bytes, not wall-clock time.
  const WINDOW = 2 * 48000 // 24 kHz s16 mono = 48 000 B/s
  let consumed = 0
  const consumer = new Writable({
    highWaterMark: 1920,
    write(chunk: Buffer, _e, cb) {
      sample()
      consumed += chunk.length
      if (consumed > WINDOW) return cb(new Error('measurement window over'))
      setTimeout(cb, (chunk.length / 48000) * 1000)
    },
  })
  const err = await pipeline(source, new SseParser(), decoder, consumer).catch((e: Error) => e)
  t.match(err, { message: 'measurement window over' }, 'the consumer ended the run after 2 s of audio')
  t.ok(samples > 100, `sampled ${samples} times`)
  t.ok(emu.stats.blockedWrites > 0, `the emulator saw its writes blocked ${emu.stats.blockedWrites} times`)
  const total = prefix.length - 1
  t.ok(decoder.delivered.chunks < total / 4, `the decoder produced ${decoder.delivered.chunks} of ${total} chunks: the source was held back`)
  t.ok(maxHeld <= BOUND, `max bytes held inside the client: ${maxHeld} (bound ${BOUND})`)
  t.comment(`max held ${maxHeld} B, blocked writes ${emu.stats.blockedWrites}, events written ${emu.stats.framesWritten} of ${eventSizes.length}`)
  await until('the aborted request to close', () => emu.stats.active === 0)
  t.equal(emu.stats.active, 0, 'the aborted request was closed')
})
