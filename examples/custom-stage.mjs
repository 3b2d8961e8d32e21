// docs/custom-pipelines.md: write your own stage and put it anywhere in the chain.
// A gain stage on s16le PCM: carry the odd byte, clip instead of wrapping, keep the format.
import { Transform } from 'node:stream'
import { LightningClient, PcmFramer, instrument, stageMetrics, writeWavFile } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

class Gain extends Transform {
  /** @type {Buffer | null} */
  #carry = null
  /** @param {number} gain - linear factor, e.g. 2 for +6 dB */
  constructor(gain) {
    super()
    this.gain = gain
  }
  /** @param {Buffer} chunk @param {BufferEncoding} _enc @param {import('node:stream').TransformCallback} callback */
  _transform(chunk, _enc, callback) {
    let buf = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk // the carry is one byte at most
    this.#carry = buf.length % 2 ? buf.subarray(buf.length - 1) : null
    buf = buf.subarray(0, buf.length - (buf.length % 2))
    const out = Buffer.alloc(buf.length)
    for (let i = 0; i < buf.length; i += 2) {
      const v = Math.round(buf.readInt16LE(i) * this.gain)
      out.writeInt16LE(Math.max(-32768, Math.min(32767, v)), i)
    }
    callback(null, out)
  }
  /** @param {import('node:stream').TransformCallback} callback */
  _flush(callback) {
    callback(this.#carry ? new Error('PCM ended mid-sample') : null)
  }
}

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator()
const client = new LightningClient({ baseUrl: emulator?.url })
const pcm = client.pcm({ text: 'Louder, please.', voice_id: 'magnus' })
const gain = instrument(new Gain(2), 'gain')
const framer = instrument(new PcmFramer({ format: pcm.format, frameMs: 20 }), 'framer')
await writeWavFile(process.argv[2] ?? 'louder.wav', pcm, pcm.format, [gain, framer]) // exact sizes in the header
for (const stage of [gain, framer]) {
  const m = stageMetrics(stage) // undefined for a stage that was not instrument()ed
  if (m) console.error(`${m.name}: ${m.chunksIn} chunks in, ${m.chunksOut} out, ${(m.busyNs / 1e6).toFixed(2)} ms busy`)
}
await client.close()
await emulator?.close()
