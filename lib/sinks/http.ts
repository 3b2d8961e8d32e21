/**
 * Streaming speech into an HTTP response while it is synthesised.
 * @module
 */
import type { ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { Duplex } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import type { PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import { WavEncoder } from '../audio/wav-encoder.js'
import { OpusEncoder } from '../codecs/opus-encoder.js'
import { OggOpusMuxer } from '../codecs/ogg-opus.js'
import { FfmpegTranscoder } from '../codecs/ffmpeg.js'
import type { LightningClient } from '../client/client.js'
import type { PcmReadable } from '../client/pcm-stream.js'
import type { TtsRequest } from '../client/request.js'

/** Response formats of {@link sendAudio}. @category Sinks */
export type HttpAudioFormat = 'wav' | 'ogg' | 'mp3'

/** Options of {@link sendAudio}. @category Sinks */
export interface SendAudioOptions {
  /** `wav` (streaming header), `ogg` (Opus, in process) or `mp3` (ffmpeg). @defaultValue `'ogg'` */
  format?: HttpAudioFormat | undefined
  /** With a request as input: the client that synthesises it. */
  client?: LightningClient | undefined
  /** Opus or mp3 bitrate. */
  bitrate?: number | undefined
}

const CONTENT_TYPES: Record<HttpAudioFormat, string> = { wav: 'audio/wav', ogg: 'audio/ogg', mp3: 'audio/mpeg' }

/**
 * Streams audio into `res` as it is synthesised: `Content-Type` set, no `Content-Length`
 * (chunked), `Cache-Control: no-store`. A client that disconnects aborts the TTS request and
 * frees the encoders (and kills ffmpeg). Resolves when the response is complete; rejects with
 * the error that ended it (after destroying the response if headers were already sent).
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   sendAudio(res, { text: 'Hello over HTTP.', voice_id: 'magnus' }, { client, format: 'ogg' }).catch(() => {})
 * })
 * ```
 * @category Sinks
 */
export async function sendAudio(res: ServerResponse, input: PcmReadable | TtsRequest, options: SendAudioOptions = {}): Promise<void> {
  const format = options.format ?? 'ogg'
  if (!(format in CONTENT_TYPES)) throw new InvalidOptionError('format', `must be wav, ogg or mp3 (got ${String(format)})`)
  const ac = new AbortController()
  let pcm: PcmReadable
  if ('text' in input) {
    if (!options.client) throw new InvalidOptionError('client', 'a TTS request needs { client }')
    pcm = options.client.pcm(input, { signal: ac.signal })
  } else pcm = input
  const onClose = () => {
    if (!res.writableFinished) ac.abort()
  }
  res.once('close', onClose)
  let stages: Duplex[]
  if (format === 'wav') stages = [new WavEncoder({ format: pcm.format })]
  else if (format === 'mp3') stages = [new FfmpegTranscoder({ input: pcm.format, output: 'mp3', bitrate: options.bitrate })]
  else {
    const target: PcmFormat = { sampleRate: 48000, channels: pcm.format.channels, encoding: 's16le' }
    const opus = new OpusEncoder({ format: target, bitrate: options.bitrate })
    stages = [...convertPcm(pcm.format, target), opus, new OggOpusMuxer({ encoder: opus })]
  }
  if (!res.headersSent) {
    res.statusCode = 200
    res.setHeader('content-type', CONTENT_TYPES[format])
    res.setHeader('cache-control', 'no-store')
  }
  try {
    await pipeline([pcm, ...stages, res], { signal: ac.signal })
  } finally {
    res.off('close', onClose)
  }
}
