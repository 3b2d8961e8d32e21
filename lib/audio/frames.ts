/**
 * Pure decoding of Lightning SSE frames into audio bytes: the core of {@link AudioChunkDecoder}.
 *
 * Frame contract (see `reference/lightning-api.md` §4): chunk frames carry flat JSON
 * `{audio, done:false, status:"206"}`; the terminator `{"status":"200","done":true}` has no
 * `event:` line, so dispatch is on the JSON, never on the event name. Older frames lack
 * `done`/`status`: a missing `done` means false. `status: "error"` or a numeric status ≥ 400 is
 * a server failure.
 *
 * State: `carry` holds the odd byte of a PCM frame split by the server mid-sample (emitted
 * output is always sample-aligned); `done` is set by the terminator, after which events are
 * ignored; counters say how much audio was delivered, for errors.
 *
 * @module
 */
import {
  AudioFormatError,
  FrameError,
  ServerStreamError,
  StreamTruncatedError,
  type AudioDelivered,
  type LightningStreamError,
} from '../errors.js'
import type { SseEvent } from '../sse/core.js'
import type { OutputFormat } from '../client/request.js'
import { durationMs, type AudioFormat } from './format.js'
import { parseWavHeader } from './wav-header.js'

/** Options of {@link createFrameDecoder} and {@link AudioChunkDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The `output_format` that was requested: the decoder trusts the request, not the frames.
   * @defaultValue `'pcm'`
   */
  outputFormat?: OutputFormat | undefined
  /** The `sample_rate` that was requested. @defaultValue `24000` */
  sampleRate?: number | undefined
  /**
   * Why the input ended early, if it did: consulted when input ends without the terminator, and
   * reported (with `delivered`) instead of a generic {@link StreamTruncatedError}.
   * `LightningClient.pcm()` passes the source's connection or timeout failure here.
   */
  endedBy?: (() => LightningStreamError | undefined) | undefined
}

/** The pure frame decoder returned by {@link createFrameDecoder}. */
export interface FrameDecoder {
  /** The format of the bytes this decoder emits. */
  readonly format: AudioFormat
  /** True once the `done: true` frame was seen. */
  readonly done: boolean
  /** Audio delivered so far. */
  delivered(): AudioDelivered
  /** Decodes one event. Returns audio bytes (or null). @throws a coded {@link LightningStreamError} */
  push(event: SseEvent): Buffer | null
  /** Ends the input. @throws {@link StreamTruncatedError} when no terminator was seen. */
  flush(): Buffer | null
}

const URL_SAFE = /[-_]/

/**
 * Strict base64: `Buffer.from` silently skips invalid characters and accepts the URL-safe
 * alphabet, so a corrupted frame would decode to shorter, shifted PCM. The decoded length must be
 * exactly what the string's length implies. Cheaper than a full-string regex on the valid path.
 */
export function decodeBase64Strict(s: string): Buffer | null {
  let len = s.length
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--
  const pad = s.length - len
  if (pad > 2 || len % 4 === 1 || (pad > 0 && s.length % 4 !== 0)) return null
  const buf = Buffer.from(s, 'base64')
  if (buf.length !== Math.floor((len * 3) / 4) || URL_SAFE.test(s)) return null
  return buf
}

function serverMessage(msg: Record<string, unknown>): string | undefined {
  const err = msg['error']
  if (typeof msg['message'] === 'string') return msg['message']
  if (typeof err === 'string') return err
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message
  }
  if (Array.isArray(msg['errors'])) return msg['errors'].map(String).join('; ')
  return undefined
}

function isFailureStatus(status: unknown): boolean {
  if (status === 'error') return true
  const n = typeof status === 'number' ? status : typeof status === 'string' && /^\d{3}$/.test(status) ? Number(status) : NaN
  return n >= 400
}

/** The offset of the PCM payload of a RIFF/WAVE frame, after checking it is 16-bit mono at `sampleRate`. */
function wavPayloadOffset(buf: Buffer, sampleRate: number, frameIndex: number): number {
  const info = parseWavHeader(buf)
  if (!info) throw new FrameError('ERR_FRAME_INVALID', frameIndex, 'WAV header does not fit in one frame')
  if (info.sampleRate !== undefined && (info.channels !== 1 || info.bitsPerSample !== 16 || info.sampleRate !== sampleRate)) {
    throw new AudioFormatError(
      `frame ${frameIndex}: WAV header says ${info.sampleRate} Hz, ${info.channels} ch, ${info.bitsPerSample}-bit; expected ${sampleRate} Hz mono 16-bit`,
    )
  }
  return info.dataOffset
}

/** Creates a pure Lightning frame decoder. */
export function createFrameDecoder(options: FrameDecoderOptions = {}): FrameDecoder {
  const outputFormat = options.outputFormat ?? 'pcm'
  const sampleRate = options.sampleRate ?? 24000
  const format: AudioFormat = {
    sampleRate,
    channels: 1,
    encoding: outputFormat === 'pcm' || outputFormat === 'wav' ? 's16le' : outputFormat,
  }
  const aligned = format.encoding === 's16le'
  let index = -1
  let audioFrames = 0
  let bytes = 0
  let carry = -1 // the odd trailing byte of the previous frame, or -1
  let done = false

  const delivered = (): AudioDelivered => ({ frames: audioFrames, bytes, durationMs: durationMs(format, bytes) })

  const align = (pcm: Buffer): Buffer | null => {
    if (!aligned) return pcm.length ? pcm : null
    let out = pcm
    if (carry >= 0) {
      out = Buffer.allocUnsafe(pcm.length + 1)
      out[0] = carry
      pcm.copy(out, 1)
      carry = -1
    }
    if (out.length & 1) {
      carry = out[out.length - 1] as number
      out = out.subarray(0, out.length - 1)
    }
    return out.length ? out : null
  }

  return {
    format,
    get done() {
      return done
    },
    delivered,
    push(event) {
      index++
      if (done || event.data.length === 0) return null
      let msg: unknown
      try {
        msg = JSON.parse(event.data)
      } catch (err) {
        throw new FrameError('ERR_FRAME_INVALID_JSON', index, `data is not valid JSON (${event.data.length} chars)`, { cause: err, delivered: delivered() })
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        throw new FrameError('ERR_FRAME_INVALID', index, 'data is not a JSON object', { delivered: delivered() })
      }
      const m = msg as Record<string, unknown>
      if (isFailureStatus(m['status']) || (m['error'] !== undefined && m['audio'] === undefined)) {
        throw new ServerStreamError({
          frameIndex: index,
          status: m['status'] as string | number | undefined,
          message: serverMessage(m),
          frame: m,
          delivered: delivered(),
        })
      }
      let out: Buffer | null = null
      const audio = m['audio']
      if (audio !== undefined && audio !== null) {
        if (typeof audio !== 'string') {
          throw new FrameError('ERR_FRAME_INVALID', index, `audio must be a base64 string, got ${typeof audio}`, { delivered: delivered() })
        }
        let raw = decodeBase64Strict(audio)
        if (raw === null) {
          throw new FrameError('ERR_FRAME_INVALID_BASE64', index, `audio is not valid base64 (${audio.length} chars)`, { delivered: delivered() })
        }
        if (outputFormat === 'wav' && raw.length >= 12 && raw.toString('latin1', 0, 4) === 'RIFF') {
          raw = raw.subarray(wavPayloadOffset(raw, sampleRate, index))
        }
        audioFrames++
        out = align(raw)
        if (out) bytes += out.length
      }
      if (m['done'] === true) done = true
      return out
    },
    flush() {
      if (!done) {
        const cause = options.endedBy?.()
        if (cause) {
          cause.delivered ??= delivered()
          throw cause
        }
        throw new StreamTruncatedError(delivered())
      }
      if (carry >= 0) {
        throw new AudioFormatError('stream ended with half a 16-bit sample (1 odd byte)', { delivered: delivered() })
      }
      return null
    },
  }
}
