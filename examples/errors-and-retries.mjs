// Errors, retries, timeouts and aborts (docs/errors-and-retries.md). Offline: the emulator
// injects a 503 (retried), then a dropped connection (surfaced with the audio delivered).
import { LightningClient, LightningStreamError, writeWavFile } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = await startEmulator({ faults: { failStatus: 503, failCount: 1, dropAfterChunk: 40 } })
const client = new LightningClient({
  baseUrl: emulator.url,
  timeouts: { headers: 10_000, idle: 5_000, total: 60_000 },
  retry: { retries: 3, onRetry: ({ attempt, delayMs, error }) => console.error(`retry ${attempt} in ${delayMs.toFixed(0)} ms: ${error.message}`) },
})

const abort = AbortSignal.timeout(30_000) // or your barge-in signal
const pcm = client.pcm({ text: 'A sentence long enough to be cut off in the middle.', voice_id: 'magnus' }, { signal: abort })
try {
  // keepPartial: on failure, partial.wav still gets a valid header for the audio that arrived
  await writeWavFile('partial.wav', pcm, pcm.format, [], { keepPartial: true })
} catch (err) {
  if (!(err instanceof LightningStreamError)) throw err
  switch (err.code) {
    case 'ERR_CONNECTION':
    case 'ERR_STREAM_TRUNCATED':
    case 'ERR_TIMEOUT':
      console.error(`cut off after ${err.delivered?.durationMs?.toFixed(0)} ms of audio: ${err.message}`)
      break
    case 'ERR_ABORTED':
      console.error('stopped by the caller')
      break
    default:
      throw err
  }
}
await client.close()
await emulator.close()
