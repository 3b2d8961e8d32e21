// docs/transcoding-server.md: an HTTP endpoint that streams speech as Ogg Opus (in-process) or
// MP3 (ffmpeg) while it is being synthesised. A client that disconnects aborts the TTS request
// and kills ffmpeg: pipeline() destroys every stage.
import { createServer } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { LightningClient, OpusEncoder, OggOpusMuxer, FfmpegTranscoder, AUDIO_MEDIA_TYPES, convertPcm } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator({ realtimeFactor: 4 })
const client = new LightningClient({ baseUrl: emulator?.url, maxConcurrent: 4 })

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost')
  const text = url.searchParams.get('text') ?? 'Hello from the transcoding server.'
  const format = url.searchParams.get('format') === 'mp3' ? 'mp3' : 'ogg'
  const ac = new AbortController()
  res.on('close', () => ac.abort()) // the listener left: stop synthesis
  try {
    const pcm = client.pcm({ text, voice_id: 'magnus' }, { signal: ac.signal })
    let stages
    if (format === 'ogg') {
      const target = { sampleRate: 48000, channels: 1, encoding: 's16le' }
      const opus = new OpusEncoder({ format: target, bitrate: 32000, emitEnd: true })
      stages = [...convertPcm(pcm.format, target), opus, new OggOpusMuxer({ head: opus.head })]
    } else {
      stages = [new FfmpegTranscoder({ input: pcm.format, output: 'mp3' })]
    }
    res.writeHead(200, { 'content-type': format === 'ogg' ? 'audio/ogg' : AUDIO_MEDIA_TYPES.mp3.mimeType })
    await pipeline([pcm, ...stages, res])
  } catch (err) {
    if (!res.headersSent) res.writeHead(502).end(String(err.message))
    else res.destroy()
  }
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${server.address().port}`
console.error(`listening on ${base}`)

// Demo: fetch both formats, then close (a real server would keep running).
for (const format of ['ogg', 'mp3']) {
  const res = await fetch(`${base}/?format=${format}&text=${encodeURIComponent('Streaming over HTTP, chunk by chunk.')}`)
  const bytes = Buffer.from(await res.arrayBuffer())
  console.error(`${format}: ${res.headers.get('content-type')}, ${bytes.length} bytes, starts with ${bytes.toString('latin1', 0, 4).replace(/[^\x20-\x7e]/g, '.')}`)
}
server.close()
await client.close()
await emulator?.close()
