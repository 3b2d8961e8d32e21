/**
 * The core of {@link AudioChunkDecoder}: pure decoding of Lightning's SSE chunk messages (one SSE
 * event each) into audio bytes.
 *
 * Message contract (see `reference/lightning-api.md` §4): chunk messages carry flat JSON
 * `{audio, done:false, status:"206"}`; the terminator `{"status":"200","done":true}` has no
 * `event:` line, so dispatch is on the JSON, never on the event name. Older messages lack
 * `done`/`status`: a missing `done` means false. `status: "error"` or a numeric status ≥ 400 is
 * a server failure.
 *
 * State: `carry` holds the odd byte of a PCM chunk split by the server mid-sample (emitted
 * output is always sample-aligned); `done` is set by the terminator, after which events are
 * ignored; counters say how much audio was delivered, for the errors this core raises.
 *
 * @module
 */
import {
  AudioFormatError,
  ChunkError,
  ServerStreamError,
  StreamTruncatedError,
  type AudioDelivered,
} from '../errors.js'
import type { SseEvent } from '../sse/sse-parser.core.js'
import { durationMs, type AudioFormat, type CodedEncoding } from './format.js'
import { parseWavHeader } from './wav-header.js'

/** Lightning's `output_format` values (the client's `OutputFormat` is the same union). */
export type ChunkOutputFormat = 'pcm' | 'wav' | CodedEncoding

/** Options of {@link createAudioChunkDecoder} (and of {@link AudioChunkDecoder}). */
export interface AudioChunkDecoderCoreOptions {
  /**
   * The `output_format` that was requested: the decoder trusts the request, not the messages.
   * @defaultValue `'pcm'`
   */
  outputFormat?: ChunkOutputFormat | undefined
  /** The `sample_rate` that was requested. @defaultValue `24000` */
  sampleRate?: number | undefined
}

/** The pure chunk-message decoder returned by {@link createAudioChunkDecoder}. */
export interface AudioChunkDecoderCore {
  /** The format of the bytes this decoder emits. */
  readonly format: AudioFormat
  /** True once the `done: true` terminator was seen. */
  readonly done: boolean
  /** Audio delivered so far: chunk messages with audio, bytes, milliseconds. */
  delivered(): AudioDelivered
  /** Decodes one SSE event. Returns audio bytes (or null). @throws a coded {@link LightningStreamError} */
  push(event: SseEvent): Buffer | null
  /**
   * Ends the input.
   * @throws {@link StreamTruncatedError} when no terminator was seen, with `delivered`: the input
   * ended early, whatever the reason (a failure upstream reports itself, with its own error).
   */
  flush(): Buffer | null
}

/**
 * The byte length strict base64 `s` decodes to, or -1 when its shape is wrong: more than two
 * `=`, padding on a length that is not a multiple of 4, a lone trailing character, or the
 * URL-safe alphabet (`-`, `_`). Characters outside the alphabet are caught after decoding, by
 * {@link decodeBase64Strict} and the fused SSE → PCM core, which compare the decoded length to this.
 * @internal
 */
export function strictBase64Length(s: string): number {
  let len = s.length
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--
  // Two indexOf calls cost ~0.04 µs on a 20 ms chunk message; the regex /[-_]/ cost ~0.9 µs.
  if (s.indexOf('-') !== -1 || s.indexOf('_') !== -1) return -1
  return strictBase64Size(s.length, s.length - len)
}

/**
 * The byte length that strict base64 of `length` characters, the last `pad` of them `=`,
 * decodes to; -1 for more than two `=`, padding on a length that is not a multiple of 4, or a
 * lone trailing character. The shape rule of {@link strictBase64Length}, for callers that count
 * the padding and check the alphabet themselves (the fused SSE → PCM core does it on bytes).
 * @internal
 */
export function strictBase64Size(length: number, pad: number): number {
  const len = length - pad
  if (pad > 2 || len % 4 === 1 || (pad > 0 && length % 4 !== 0)) return -1
  return Math.floor((len * 3) / 4)
}

/**
 * Strict base64: `Buffer.from` silently skips invalid characters and accepts the URL-safe
 * alphabet, so a corrupted chunk would decode to shorter, shifted PCM. The decoded length must be
 * exactly what the string's length implies. Cheaper than a full-string regex on the valid path.
 */
export function decodeBase64Strict(s: string): Buffer | null {
  const n = strictBase64Length(s)
  if (n < 0) return null
  const buf = Buffer.from(s, 'base64')
  return buf.length === n ? buf : null
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

/** The offset of the PCM payload of a RIFF/WAVE chunk, after checking it is 16-bit mono at `sampleRate`. */
function wavPayloadOffset(buf: Buffer, sampleRate: number, chunkIndex: number): number {
  const info = parseWavHeader(buf)
  if (!info) throw new ChunkError('ERR_CHUNK_INVALID', chunkIndex, 'WAV header does not fit in one chunk message')
  if (info.sampleRate !== undefined && (info.channels !== 1 || info.bitsPerSample !== 16 || info.sampleRate !== sampleRate)) {
    throw new AudioFormatError(
      `chunk message ${chunkIndex}: WAV header says ${info.sampleRate} Hz, ${info.channels} ch, ${info.bitsPerSample}-bit; expected ${sampleRate} Hz mono 16-bit`,
    )
  }
  return info.dataOffset
}

/**
 * What the fused SSE → PCM core (`sse-pcm.core.ts`) needs so that chunk messages its fast path
 * decodes itself count exactly as if {@link AudioChunkDecoderCore.push} had decoded them: the
 * chunk index, `delivered`, and the odd byte carried between chunks.
 * @internal
 */
export interface AudioChunkDecoderHooks {
  /** True when the output is s16le, which is kept sample-aligned by carrying an odd byte. */
  readonly aligned: boolean
  /** The odd byte carried from the previous chunk, or -1. Taking it clears it. */
  takeCarry(): number
  /** Carries `byte` into the next chunk. */
  putCarry(byte: number): void
  /** Counts `chunks` chunk messages decoded elsewhere, which delivered `bytes` (after alignment). */
  count(chunks: number, bytes: number): void
}

/** Creates a pure decoder of Lightning's chunk messages. */
export function createAudioChunkDecoder(options: AudioChunkDecoderCoreOptions = {}): AudioChunkDecoderCore {
  return createAudioChunkDecoderWithHooks(options).decoder
}

/** {@link createAudioChunkDecoder}, plus the hooks the fused SSE → PCM core counts through. @internal */
export function createAudioChunkDecoderWithHooks(options: AudioChunkDecoderCoreOptions = {}): { decoder: AudioChunkDecoderCore; hooks: AudioChunkDecoderHooks } {
  const outputFormat = options.outputFormat ?? 'pcm'
  const sampleRate = options.sampleRate ?? 24000
  const format: AudioFormat = {
    sampleRate,
    channels: 1,
    encoding: outputFormat === 'pcm' || outputFormat === 'wav' ? 's16le' : outputFormat,
  }
  const aligned = format.encoding === 's16le'
  let chunkIndex = -1 // of the SSE event being decoded, counting every event
  let audioChunks = 0 // chunk messages that carried audio
  let bytes = 0
  let carry = -1 // the odd trailing byte of the previous chunk, or -1
  let done = false

  const delivered = (): AudioDelivered => ({ chunks: audioChunks, bytes, durationMs: durationMs(format, bytes) })

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

  const hooks: AudioChunkDecoderHooks = {
    aligned,
    takeCarry() {
      const c = carry
      carry = -1
      return c
    },
    putCarry(byte) {
      carry = byte
    },
    count(chunks, n) {
      chunkIndex += chunks
      audioChunks += chunks
      bytes += n
    },
  }

  // `done` is a data property, not a getter: an accessor in an object literal allocates per
  // instance in a way that survives young-generation GCs (measured: ~10 µs of GC per stream).
  const decoder: { -readonly [K in keyof AudioChunkDecoderCore]: AudioChunkDecoderCore[K] } = {
    format,
    done: false,
    delivered,
    push(event) {
      chunkIndex++
      if (done || event.data.length === 0) return null
      let msg: unknown
      try {
        msg = JSON.parse(event.data)
      } catch (err) {
        throw new ChunkError('ERR_CHUNK_INVALID_JSON', chunkIndex, `data is not valid JSON (${event.data.length} chars)`, { cause: err, delivered: delivered() })
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        throw new ChunkError('ERR_CHUNK_INVALID', chunkIndex, 'data is not a JSON object', { delivered: delivered() })
      }
      const m = msg as Record<string, unknown>
      if (isFailureStatus(m['status']) || (m['error'] !== undefined && m['audio'] === undefined)) {
        throw new ServerStreamError({
          chunkIndex,
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
          throw new ChunkError('ERR_CHUNK_INVALID', chunkIndex, `audio must be a base64 string, got ${typeof audio}`, { delivered: delivered() })
        }
        let raw = decodeBase64Strict(audio)
        if (raw === null) {
          throw new ChunkError('ERR_CHUNK_INVALID_BASE64', chunkIndex, `audio is not valid base64 (${audio.length} chars)`, { delivered: delivered() })
        }
        if (outputFormat === 'wav' && raw.length >= 12 && raw.toString('latin1', 0, 4) === 'RIFF') {
          raw = raw.subarray(wavPayloadOffset(raw, sampleRate, chunkIndex))
        }
        audioChunks++
        out = align(raw)
        if (out) bytes += out.length
      }
      if (m['done'] === true) done = decoder.done = true
      return out
    },
    flush() {
      if (!done) throw new StreamTruncatedError(delivered())
      if (carry >= 0) {
        throw new AudioFormatError('stream ended with half a 16-bit sample (1 odd byte)', { delivered: delivered() })
      }
      return null
    },
  }
  return { decoder, hooks }
}
