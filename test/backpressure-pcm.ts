// Backpressure on pcm()'s fused path: the source reads undici's body in flowing mode and pauses it
// when its own PCM buffer is full. A 1× realtime consumer must slow a 1000× emulator down to the
// socket (the utterance, ~25 MB of SSE, is larger than the loopback socket buffers can absorb), and the bytes held inside the client (undici's body buffer plus the PCM queue) stay
// bounded. The window and the samples are counted in audio bytes, not wall-clock time.
import t from 'tap'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { LightningClient } from '../lib/index.js'
import { renderTone, splitChunks, startEmulator } from '../lib/emulator/index.js'

/**
 * Bytes pcm() may hold under a slow consumer: its 16 KiB PCM queue, plus the PCM of one network
 * chunk decoded before it paused (a 64 KiB socket read on loopback decodes to ~47 KiB), plus one
 * chunk undici holds (its high-water mark is 0: it stops at the first chunk it has to keep).
 */
const BOUND = 16 * 1024 + 48 * 1024 + 64 * 1024

t.test('pcm(): a 1× realtime consumer slows a 1000× emulator; bytes held stay bounded', async (t) => {
  const emu = await startEmulator({ realtimeFactor: 1000 })
  const client = new LightningClient({ baseUrl: emu.url })
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })
  const req = { text: 'Backpressure keeps memory flat. '.repeat(240), voice_id: 'magnus' } as const
  const total = splitChunks(renderTone({ ...req, sample_rate: 24000 }), 960).length
  // One request (segment: false): this measures the fused path's bound, not the segmented transport's lead.
  const pcm = client.pcm(req, { segment: false }) as ReturnType<LightningClient['pcm']> & { bufferedBytes: number }
  let maxHeld = 0
  let samples = 0
  const WINDOW = 2 * 48000 // 2 s of 24 kHz s16 mono
  let consumed = 0
  const consumer = new Writable({
    highWaterMark: 1920,
    write(chunk: Buffer, _e, cb) {
      maxHeld = Math.max(maxHeld, pcm.bufferedBytes)
      samples++
      consumed += chunk.length
      if (consumed > WINDOW) return cb(new Error('measurement window over'))
      setTimeout(cb, (chunk.length / 48000) * 1000)
    },
  })
  const err = await pipeline(pcm, consumer).catch((e: Error) => e)
  t.match(err, { message: 'measurement window over' }, 'the consumer ended the run after 2 s of audio')
  t.ok(samples >= 10, `sampled ${samples} times`)
  t.ok(emu.stats.blockedWrites > 0, `the emulator saw its writes blocked ${emu.stats.blockedWrites} times`)
  t.ok(pcm.delivered.chunks < total / 4, `${pcm.delivered.chunks} of ${total} chunks decoded: the socket was held back`)
  t.ok(maxHeld <= BOUND, `max bytes held inside the client: ${maxHeld} (bound ${BOUND})`)
  t.comment(`max held ${maxHeld} B, blocked writes ${emu.stats.blockedWrites}, events written ${emu.stats.framesWritten} of ${total}`)
})
