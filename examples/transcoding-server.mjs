// docs/transcoding-server.md: an HTTP endpoint that streams speech as Ogg Opus (in process) or
// MP3 (ffmpeg) while it is being synthesised. Nothing is written before the first audio, so a
// failure before it is an HTTP status (400, 502, 503 + Retry-After, 504) with a JSON body; a
// failure after it ends the response cleanly. A client that disconnects aborts the TTS request
// and kills ffmpeg.
import { createServer } from 'node:http'
import { LightningClient, LightningStreamError, sendAudio } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator({ realtimeFactor: 4 })
const client = new LightningClient({ baseUrl: emulator?.url, maxConcurrent: 4 })

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const text = url.searchParams.get('text') ?? 'Hello from the transcoding server.'
  const asked = url.searchParams.get('format')
  const format = asked === 'mp3' || asked === 'wav' ? asked : 'ogg'
  let reported = false
  try {
    // A function: an invalid request (pcm() throws) is answered with 400 like any other failure.
    await sendAudio(res, () => client.pcm({ text, voice_id: 'magnus' }), {
      format,
      bitrate: format === 'ogg' ? 32000 : undefined,
      // Every synthesis failure, before the first byte (return an answer to replace the default) or after it.
      // The message is for the operator (it says what to fix, e.g. set FFMPEG_PATH; never the key).
      onError: (err, info) => {
        reported = true
        const code = err instanceof LightningStreamError ? err.code : err.name
        const outcome = info.phase === 'before-audio' ? info.response.status : 'ended early'
        console.error(`speech ${info.phase}: ${code} → ${outcome} (request ${info.requestId ?? 'not sent'}): ${err.message}`)
      },
    })
  } catch (err) {
    // Already answered or ended cleanly, and told to onError; a listener who left shows up here
    // as ERR_ABORTED (not an error of this server).
    const code = err instanceof LightningStreamError ? err.code : String(err)
    if (!reported && code !== 'ERR_ABORTED') console.error(`speech for ${url.pathname} failed: ${code}`)
  }
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`
console.error(`listening on ${base}`)

// Demo: fetch each format and one invalid request, then close (a real server would keep running).
for (const format of ['ogg', 'wav', 'mp3']) {
  const res = await fetch(`${base}/?format=${format}&text=${encodeURIComponent('Streaming over HTTP, chunk by chunk.')}`)
  const bytes = Buffer.from(await res.arrayBuffer())
  console.error(`${format}: ${res.status} ${res.headers.get('content-type')}, ${bytes.length} bytes, starts with ${bytes.toString('latin1', 0, 4).replace(/[^\x20-\x7e]/g, '.')}`)
}
const bad = await fetch(`${base}/?text=`)
console.error(`empty text: ${bad.status} ${JSON.stringify(await bad.json())}`)
server.close()
await client.close()
await emulator?.close()
