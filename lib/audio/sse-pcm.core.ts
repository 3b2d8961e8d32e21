/**
 * The fused SSE → PCM core: Lightning's `text/event-stream` bytes in, audio bytes out, one Buffer
 * per network chunk. What `LightningClient.pcm()` runs on the socket's bytes. Pure: no stream
 * import.
 *
 * Two paths, one result:
 *
 * - **Fast path**, for the exact documented chunk frame (`reference/lightning-api.md` §4):
 *   `event: audio\ndata: {"audio":"<base64>","done":false,"status":"206"}\n\n`. It matches the
 *   frame's bytes in one pass and decodes the base64 straight from the slice into the chunk's
 *   output buffer: no text decoding, no event object, no `JSON.parse`, one allocation per chunk.
 * - **General path**, for everything else: comments, `id:` and `retry:` fields, multi-line `data:`,
 *   other keys or key orders, error frames, the terminator, CR and CRLF line endings, a BOM, a
 *   frame over the size bound, base64 that fails the strict check, and the stream's first event.
 *   It is the strict decoder that {@link SseParser} and {@link AudioChunkDecoder} run
 *   ({@link createSseDecoder} then {@link createFrameDecoder}), fed the same bytes in the same
 *   pieces they would have received, and it keeps the frame index, `delivered` and the carried odd
 *   byte for both paths. So output, error codes, messages and `delivered` are those of the
 *   general path for every input and every chunking (`test/sse-pcm.ts` checks this with random
 *   inputs and random splits).
 *
 * The fast path only starts at an event boundary where the general parser holds nothing: after a
 * `\n\n` (a line ending followed by an empty line leaves no partial line, no data and no event
 * type behind). Bytes of an event that is not complete yet are kept as copies of the pieces
 * they arrived in (a view would keep a 64 KiB socket buffer alive), bounded by `maxEventSize`.
 *
 * Errors: when a chunk holds audio and then a bad frame, {@link SsePcmDecoder.push} returns the
 * audio and sets {@link SsePcmDecoder.failure}; the next `push` or `flush` throws it. When no
 * audio precedes it, `push` throws at once.
 *
 * @module
 */
import type { AudioDelivered, LightningStreamError } from '../errors.js'
import { createSseDecoder, type SseDecoder, type SseDecoderOptions, DEFAULT_MAX_EVENT_SIZE } from '../sse/core.js'
import type { AudioFormat } from './format.js'
import { createFrameDecoderWithHooks, strictBase64Length, type FrameDecoder, type FrameDecoderHooks, type FrameDecoderOptions } from './frames.js'

/** Options of {@link createSsePcmDecoder}. */
export interface SsePcmDecoderOptions extends SseDecoderOptions, Omit<FrameDecoderOptions, 'endedBy'> {
  /**
   * Decode the documented frame shape in one pass. `false` sends every byte through the general
   * path (for tests and benchmarks: the output is the same).
   * @defaultValue `true`
   */
  fastPath?: boolean | undefined
}

/** The pure decoder returned by {@link createSsePcmDecoder}. */
export interface SsePcmDecoder {
  /** The format of the bytes this decoder emits (s16le mono for `pcm` and `wav`). */
  readonly format: AudioFormat
  /** True once the `done: true` terminator was seen. */
  readonly done: boolean
  /** The error that ended decoding, once there is one (see the module notes). */
  readonly failure: LightningStreamError | undefined
  /** Audio delivered so far. */
  delivered(): AudioDelivered
  /** Chunk frames decoded by the fast path so far (the rest took the general path). */
  readonly fastFrames: number
  /**
   * Feeds one network chunk; returns the audio it completes as one Buffer, or null.
   * @throws a coded {@link LightningStreamError} (see the module notes)
   */
  push(chunk: Uint8Array): Buffer | null
  /**
   * Ends the input. Returns audio completed at the end of input, if any.
   * @throws {@link StreamTruncatedError} when no terminator was seen, or the pending failure
   */
  flush(): Buffer | null
}

const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22
/** Everything of a chunk frame before its base64. */
const HEAD = Buffer.from('event: audio\ndata: {"audio":"', 'latin1')
/** Everything of a chunk frame after its base64, through the blank line. */
const TAIL = Buffer.from('","done":false,"status":"206"}\n\n', 'latin1')

/** Creates the fused SSE → PCM decoder. */
export function createSsePcmDecoder(options: SsePcmDecoderOptions = {}): SsePcmDecoder {
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE
  const sse: SseDecoder = createSseDecoder(options) // validates maxEventSize
  const { decoder: frames, hooks }: { decoder: FrameDecoder; hooks: FrameDecoderHooks } = createFrameDecoderWithHooks(options)
  const fastEnabled = options.fastPath !== false
  const wav = options.outputFormat === 'wav'

  // True when the general parser holds nothing and the last byte ended an event, so the next
  // bytes may take the fast path. False at the start: the first event takes the general path,
  // which owns the BOM and first-chunk handling.
  let atBoundary = false
  // Whether the last byte fed to the general path was LF (a `\n\n` split across chunks).
  let lastWasLF = false
  // A fast-path frame not complete yet: copies of its pieces, as they arrived.
  let pending: Buffer[] = []
  let pendingBytes = 0
  let failure: LightningStreamError | undefined
  let fastFrames = 0

  // Output of the current call: fast-path runs and general-path buffers, joined at the end.
  let parts: Buffer[] = []
  let partsBytes = 0
  const emit = (b: Buffer | null): void => {
    if (b !== null && b.length > 0) {
      parts.push(b)
      partsBytes += b.length
    }
  }
  const takeOutput = (): Buffer | null => {
    const out = parts.length === 0 ? null : parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partsBytes)
    parts = []
    partsBytes = 0
    return out
  }

  /** Feeds bytes to the general path: the SSE decoder, then the frame decoder. */
  const general = (bytes: Buffer): void => {
    if (bytes.length === 0) return
    lastWasLF = bytes[bytes.length - 1] === LF
    for (const ev of sse.push(bytes)) emit(frames.push(ev))
    if (sse.failure) throw sse.failure
  }

  // A run of consecutive fast-path frames: their base64, chunk offsets and decoded lengths.
  const runText: string[] = []
  const runStart: number[] = []
  const runLen: number[] = []
  let runBytes = 0
  const clearRun = (): void => {
    runText.length = 0
    runStart.length = 0
    runLen.length = 0
    runBytes = 0
  }

  /**
   * Decodes the run into one buffer, behind the odd byte carried from the previous frame, and
   * counts it. Returns the offset of the first frame whose base64 did not decode to its length
   * (the general path reports it), or -1.
   */
  const decodeRun = (): number => {
    const n = runText.length
    if (n === 0) return -1
    const carry = hooks.aligned ? hooks.takeCarry() : -1
    const head = carry >= 0 ? 1 : 0
    const out = Buffer.allocUnsafe(head + runBytes)
    if (head === 1) out[0] = carry
    let off = head
    let good = 0
    let bad = -1
    for (; good < n; good++) {
      const len = runLen[good] as number
      if (out.write(runText[good] as string, off, len, 'base64') !== len) {
        bad = runStart[good] as number
        break
      }
      off += len
    }
    let end = off
    if (hooks.aligned && (end & 1) === 1) {
      end--
      hooks.putCarry(out[end] as number)
    }
    hooks.count(good, end) // `delivered` counts the carried byte where it is emitted, as push() does
    fastFrames += good
    if (end > 0) emit(end === out.length ? out : out.subarray(0, end))
    clearRun()
    return bad
  }

  /**
   * Matches one fast-path frame at `p` and adds it to the run. Returns its end offset, 0 when
   * `buf` ends before the frame is complete and it may still be one, or -1 when it is not one.
   */
  const matchFrame = (buf: Buffer, p: number): number => {
    const avail = buf.length - p
    if (avail < HEAD.length) return buf.compare(HEAD, 0, avail, p, buf.length) === 0 ? 0 : -1
    if (buf.compare(HEAD, 0, HEAD.length, p, p + HEAD.length) !== 0) return -1
    const b64 = p + HEAD.length
    const blank = buf.indexOf('\n\n', b64, 'latin1')
    if (blank === -1) {
      // Incomplete. A CR would end lines (and maybe the event) in the general parser: let it.
      return avail > maxEventSize || buf.indexOf(CR, b64) !== -1 ? -1 : 0
    }
    const end = blank + 2
    const q = end - TAIL.length
    if (q < b64 || end - p > maxEventSize) return -1
    if (buf.compare(TAIL, 0, TAIL.length, q, end) !== 0 || buf.indexOf(QUOTE, b64) !== q) return -1
    const text = buf.toString('latin1', b64, q)
    if (wav && text.startsWith('UklG')) return -1 // "RIFF…": a WAV header to check and strip
    const len = strictBase64Length(text)
    if (len < 0) return -1
    runText.push(text)
    runStart.push(p)
    runLen.push(len)
    runBytes += len
    return end
  }

  /** Where the event at `p` ends (after its first `\n\n`), or -1 when that is not in `buf`. */
  const eventEnd = (buf: Buffer, p: number, prevLF: boolean): number => {
    if (prevLF && buf[p] === LF) return p + 1
    const i = buf.indexOf('\n\n', p, 'latin1')
    return i === -1 ? -1 : i + 2
  }

  /** Decodes `buf` from `p`, at a boundary or not, with nothing pending. */
  const consume = (buf: Buffer, p: number): void => {
    while (p < buf.length) {
      if (!atBoundary || frames.done) {
        // The general path, up to and including the end of this event.
        const e = eventEnd(buf, p, lastWasLF)
        if (e === -1) {
          general(buf.subarray(p))
          return
        }
        general(buf.subarray(p, e))
        atBoundary = true
        p = e
        continue
      }
      const end = matchFrame(buf, p)
      if (end > 0) {
        p = end
        continue
      }
      // Not a fast-path frame, or not complete: decode the run before it first.
      const bad = decodeRun()
      if (bad >= 0) {
        atBoundary = false // the general path reports the frame that failed
        lastWasLF = true
        p = bad
        continue
      }
      if (end === 0) {
        const piece = Buffer.from(buf.subarray(p)) // a copy: a view would pin the socket buffer
        pending.push(piece)
        pendingBytes = piece.length
        return
      }
      atBoundary = false
      lastWasLF = true // the previous event ended with a blank line
    }
    const bad = decodeRun()
    if (bad >= 0) {
      atBoundary = false
      lastWasLF = true
      consume(buf, bad)
    }
  }

  /** Replays the pending pieces into the general path, as they arrived. */
  const replayPending = (): void => {
    const pieces = pending
    pending = []
    pendingBytes = 0
    atBoundary = false
    for (const piece of pieces) general(piece)
  }

  /** Decodes `chunk` while a fast-path frame is pending. */
  const continuePending = (chunk: Buffer): void => {
    const last = pending[pending.length - 1] as Buffer
    const e = eventEnd(chunk, 0, last[last.length - 1] === LF)
    const cr = chunk.indexOf(CR)
    if (cr !== -1 && (e === -1 || cr < e)) {
      replayPending() // a CR ends lines in the general parser: it takes over
      consume(chunk, 0)
      return
    }
    if (e === -1) {
      pending.push(Buffer.from(chunk))
      pendingBytes += chunk.length
      if (pendingBytes > maxEventSize) replayPending()
      return
    }
    const whole = Buffer.concat([...pending, chunk.subarray(0, e)], pendingBytes + e)
    if (matchFrame(whole, 0) === whole.length && decodeRun() === -1) {
      pending = []
      pendingBytes = 0
    } else {
      clearRun()
      replayPending()
      general(chunk.subarray(0, e))
    }
    atBoundary = true
    consume(chunk, e)
  }

  const call = (step: () => void): Buffer | null => {
    if (failure) throw failure
    try {
      step()
    } catch (err) {
      failure = err as LightningStreamError
      clearRun()
      const out = takeOutput()
      if (out === null) throw err
      return out
    }
    return takeOutput()
  }

  return {
    format: frames.format,
    get done() {
      return frames.done
    },
    get failure() {
      return failure
    },
    get fastFrames() {
      return fastFrames
    },
    delivered: () => frames.delivered(),
    push(chunk) {
      return call(() => {
        if (chunk.length === 0) return
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        if (!fastEnabled) general(buf)
        else if (pending.length > 0) continuePending(buf)
        else consume(buf, 0)
      })
    },
    flush() {
      return call(() => {
        if (pending.length > 0) replayPending()
        for (const ev of sse.flush()) emit(frames.push(ev))
        if (sse.failure) throw sse.failure
        frames.flush()
      })
    },
  }
}
