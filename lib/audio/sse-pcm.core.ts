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
 *   frame over the size bound, and base64 that fails the strict check.
 *   It is the strict decoder that {@link SseParser} and {@link AudioChunkDecoder} run
 *   ({@link createSseDecoder} then {@link createFrameDecoder}), fed the same bytes in the same
 *   pieces they would have received, and it keeps the frame index, `delivered` and the carried odd
 *   byte for both paths. So output, error codes, messages and `delivered` are those of the
 *   general path for every input and every chunking (`test/sse-pcm.ts` checks this with random
 *   inputs and random splits).
 *
 * The fast path only starts at an event boundary where the general parser holds nothing: after a
 * `\n\n` (a line ending followed by an empty line leaves no partial line, no data and no event
 * type behind). The bytes of a frame cut by a chunk boundary are copied (a view would keep a
 * 64 KiB socket buffer alive), bounded by `maxEventSize`, into one buffer that is reused.
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
import { decodeG711 } from './pcm-ops.js'
import { createFrameDecoderWithHooks, strictBase64Size, type FrameDecoder, type FrameDecoderHooks, type FrameDecoderOptions } from './frames.js'

/** Options of {@link createSsePcmDecoder}. @category Cores */
export interface SsePcmDecoderOptions extends SseDecoderOptions, Omit<FrameDecoderOptions, 'endedBy'> {
  /**
   * For `ulaw` and `alaw`: expand the G.711 bytes to s16le PCM (ITU tables, as
   * {@link G711Decoder} does), so {@link SsePcmDecoder.format} is s16le. `delivered` still counts
   * the bytes before expansion.
   * @defaultValue `false`
   */
  g711ToPcm?: boolean | undefined
  /**
   * Decode the documented frame shape in one pass. `false` sends every byte through the general
   * path (for tests and benchmarks: the output is the same).
   * @defaultValue `true`
   */
  fastPath?: boolean | undefined
}

/** The pure decoder returned by {@link createSsePcmDecoder}. @category Cores */
export interface SsePcmDecoder {
  /** The format of the bytes this decoder emits (s16le mono for `pcm` and `wav`, and with `g711ToPcm`). */
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
const EQ = 0x3d
const DASH = 0x2d
const UNDERSCORE = 0x5f
const LFLF = Buffer.from('\n\n', 'latin1')
/** Everything of a chunk frame before its base64. */
const HEAD = Buffer.from('event: audio\ndata: {"audio":"', 'latin1')
/** Everything of a chunk frame after its base64, through the blank line. */
const TAIL = Buffer.from('","done":false,"status":"206"}\n\n', 'latin1')
/** Room kept for a frame cut by a chunk boundary (a 20 ms frame at 48 kHz is ~2.6 KB). */
const HELD_KEEP = 8 * 1024
/** decodeRun's answer when the frame that failed is the held one (not in the current chunk). */
const HELD_FAILED = -2

/** `buf.toString('latin1', start, end)`, without its argument handling where Node has the method. */
const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (buf, start, end) => (buf as Buffer & { latin1Slice(s: number, e: number): string }).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end)

/** True when `buf` holds `pattern` at `at` (a loop: cheaper than Buffer.compare's checks here). */
function holds(buf: Buffer, at: number, pattern: Buffer): boolean {
  for (let i = 0; i < pattern.length; i++) if (buf[at + i] !== pattern[i]) return false
  return true
}

/** Creates the fused SSE → PCM decoder. @category Cores */
export function createSsePcmDecoder(options: SsePcmDecoderOptions = {}): SsePcmDecoder {
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE
  const sse: SseDecoder = createSseDecoder(options) // validates maxEventSize
  const { decoder: frames, hooks }: { decoder: FrameDecoder; hooks: FrameDecoderHooks } = createFrameDecoderWithHooks(options)
  const fastEnabled = options.fastPath !== false
  const wav = options.outputFormat === 'wav'

  // True when the general parser holds nothing and the last byte ended an event, so the next
  // bytes may take the fast path.
  let atBoundary = true
  // The general path strips a BOM (and eventsource-parser a Latin-1 one) only from its first
  // input. When frames before it took the fast path, it is first fed a blank line (a no-op at a
  // boundary), so that bytes it sees later are not taken for the start of the stream.
  let generalStarted = false
  let fastConsumed = false
  // Whether the last byte fed to the general path was LF (a `\n\n` split across chunks).
  let lastWasLF = false
  // A fast-path frame cut by a chunk boundary: a copy of its bytes (a view would pin the socket's
  // buffer), and where each network piece of it ended, to replay them as they arrived.
  let held = Buffer.allocUnsafe(0)
  let heldBytes = 0
  const heldEnds: number[] = []
  // The held frame, once complete, is the first of the run; where the chunk continues after it.
  let heldInRun = false
  let heldResume = 0
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
    if (!generalStarted) {
      generalStarted = true
      if (fastConsumed) sse.push(LFLF.subarray(0, 1))
    }
    lastWasLF = bytes[bytes.length - 1] === LF
    for (const ev of sse.push(bytes)) emit(frames.push(ev))
    if (sse.failure) throw sse.failure
  }

  // Where the next `-` and `_` are in the chunk being scanned: valid streams have none, so one
  // search per chunk replaces two per frame.
  let scanned: Buffer | undefined
  let scanFrom = 0
  let nextDash = -1
  let nextUnderscore = -1
  /** True when `buf[from, to)` holds a URL-safe base64 character. */
  const urlSafe = (buf: Buffer, from: number, to: number): boolean => {
    if (scanned !== buf || from < scanFrom) {
      scanned = buf
      nextDash = buf.indexOf(DASH, from)
      nextUnderscore = buf.indexOf(UNDERSCORE, from)
    }
    scanFrom = from
    if (nextDash !== -1 && nextDash < from) nextDash = buf.indexOf(DASH, from)
    if (nextUnderscore !== -1 && nextUnderscore < from) nextUnderscore = buf.indexOf(UNDERSCORE, from)
    return (nextDash !== -1 && nextDash < to) || (nextUnderscore !== -1 && nextUnderscore < to)
  }

  // A run of consecutive fast-path frames: their base64, offsets and decoded lengths.
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
   * counts it. Returns -1, or where the first frame whose base64 did not decode to the length its
   * shape implies starts (a character outside the alphabet: the general path parses it):
   * its offset in the chunk, or HELD_FAILED for the held frame.
   */
  const decodeRun = (): number => {
    const n = runText.length
    const fromHeld = heldInRun
    heldInRun = false
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
        bad = good === 0 && fromHeld ? HELD_FAILED : (runStart[good] as number)
        break
      }
      off += len
    }
    if (fromHeld && bad !== HELD_FAILED) releaseHeld()
    let end = off
    if (hooks.aligned && (end & 1) === 1) {
      end--
      hooks.putCarry(out[end] as number)
    }
    hooks.count(good, end) // `delivered` counts a carried byte where it is emitted, as push() does
    fastFrames += good
    if (good > 0) fastConsumed = true
    if (end > 0) emit(end === out.length ? out : out.subarray(0, end))
    clearRun()
    return bad
  }

  /**
   * Matches one fast-path frame at `p` and adds it to the run. Returns its end offset, 0 when
   * `buf` ends before the frame is complete and it may still be one, or -1 when it is not one.
   * A character outside the base64 alphabet (a line break, a backslash escape) is not looked for
   * here: Node's decoder skips it, so the frame decodes short and `decodeRun` sends it to the
   * general path, which parses it (`test/sse-pcm.ts` checks every byte value).
   */
  const matchFrame = (buf: Buffer, p: number): number => {
    const avail = buf.length - p
    if (avail < HEAD.length) return buf.compare(HEAD, 0, avail, p, buf.length) === 0 ? 0 : -1
    if (!holds(buf, p, HEAD)) return -1
    const b64 = p + HEAD.length
    // The base64 ends at the first quote (memchr: cheaper than looking for the blank line).
    const q = buf.indexOf(QUOTE, b64)
    const end = q + TAIL.length
    if (q === -1 || end > buf.length) {
      // Incomplete, unless the event already ended (a blank line) or a CR ends lines in the
      // general parser: then it is not a fast-path frame.
      if (avail > maxEventSize || buf.indexOf(LFLF, b64) !== -1 || buf.indexOf(CR, b64) !== -1) return -1
      return q === -1 || buf.compare(TAIL, 0, buf.length - q, q, buf.length) === 0 ? 0 : -1
    }
    if (end - p > maxEventSize || !holds(buf, q, TAIL) || urlSafe(buf, b64, q)) return -1
    let pad = 0
    while (pad < 3 && q - pad > b64 && buf[q - pad - 1] === EQ) pad++
    const len = strictBase64Size(q - b64, pad)
    if (len < 0) return -1
    if (wav && holds(buf, b64, RIFF_B64)) return -1 // a WAV header to check and strip
    runText.push(latin1(buf, b64, q))
    runStart.push(p)
    runLen.push(len)
    runBytes += len
    return end
  }

  /** Where the event at `p` ends (after its first `\n\n`), or -1 when that is not in `buf`. */
  const eventEnd = (buf: Buffer, p: number, prevLF: boolean): number => {
    if (prevLF && buf[p] === LF) return p + 1
    const i = buf.indexOf(LFLF, p)
    return i === -1 ? -1 : i + 2
  }

  /** Copies `buf[start, end)` behind the held bytes, as one more piece. */
  const hold = (buf: Buffer, start: number, end: number): void => {
    const need = heldBytes + end - start
    if (need > held.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * held.length, 4096))
      held.copy(grown, 0, 0, heldBytes)
      held = grown
    }
    buf.copy(held, heldBytes, start, end)
    heldBytes = need
    heldEnds.push(need)
  }
  function releaseHeld(): void {
    heldBytes = 0
    heldEnds.length = 0
    if (held.length > HELD_KEEP) held = Buffer.allocUnsafe(0) // after an outsized event
  }

  /** Replays the held pieces into the general path, as they arrived. */
  const replayHeld = (): void => {
    const bytes = held
    const ends = [...heldEnds]
    releaseHeld()
    atBoundary = false
    let start = 0
    for (const end of ends) {
      general(bytes.subarray(start, end))
      start = end
    }
    atBoundary = true
  }

  /** Decodes `buf` from `p`. */
  const consume = (buf: Buffer, p: number): void => {
    for (;;) {
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
        if (bad !== -1) {
          p = retry(bad, p)
          continue
        }
        if (end === 0) {
          hold(buf, p, buf.length)
          return
        }
        atBoundary = false
        lastWasLF = true // the previous event ended with a blank line
      }
      const bad = decodeRun()
      if (bad === -1) return
      p = retry(bad, p)
    }
  }

  /** After a frame failed to decode: the general path parses it; returns where to go on. */
  const retry = (bad: number, p: number): number => {
    if (bad === HELD_FAILED) {
      replayHeld()
      return heldResume
    }
    atBoundary = false
    lastWasLF = true
    return bad < p ? bad : p
  }

  /** Decodes `chunk` while a fast-path frame is held. */
  const continueHeld = (chunk: Buffer): void => {
    const e = eventEnd(chunk, 0, held[heldBytes - 1] === LF)
    const cr = e === -1 ? chunk.indexOf(CR) : chunk.subarray(0, e).indexOf(CR)
    if (cr !== -1) {
      replayHeld() // a CR ends lines in the general parser: it takes over
      atBoundary = false
      consume(chunk, 0)
      return
    }
    if (e === -1) {
      hold(chunk, 0, chunk.length)
      if (heldBytes > maxEventSize) {
        replayHeld()
        atBoundary = false
      }
      return
    }
    hold(chunk, 0, e)
    if (matchFrame(held.subarray(0, heldBytes), 0) === heldBytes) {
      heldInRun = true // decoded with the chunk's frames, into the same buffer
      heldResume = e
    } else {
      clearRun()
      replayHeld()
    }
    consume(chunk, e)
  }

  const law = options.g711ToPcm === true && (frames.format.encoding === 'ulaw' || frames.format.encoding === 'alaw') ? frames.format.encoding : undefined
  const call = (step: () => void): Buffer | null => {
    if (failure) throw failure
    let out: Buffer | null
    try {
      step()
      out = takeOutput()
    } catch (err) {
      failure = api.failure = err as LightningStreamError
      clearRun()
      heldInRun = false
      out = takeOutput()
      if (out === null) throw err
    } finally {
      scanned = undefined // no reference to the caller's chunk outlives the call
      api.done = frames.done
      api.fastFrames = fastFrames
    }
    return out !== null && law ? decodeG711(out, law) : out
  }

  // Data properties, updated after each call, not getters: an accessor in an object literal
  // allocates per instance in a way that survives young-generation GCs (~10 µs of GC a stream).
  const api: { -readonly [K in keyof SsePcmDecoder]: SsePcmDecoder[K] } = {
    format: law ? { sampleRate: frames.format.sampleRate, channels: 1, encoding: 's16le' } : frames.format,
    done: false,
    failure: undefined,
    fastFrames: 0,
    delivered: () => frames.delivered(),
    push(chunk) {
      return call(() => {
        if (chunk.length === 0) return
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        if (!fastEnabled) general(buf)
        else if (heldBytes > 0) continueHeld(buf)
        else consume(buf, 0)
      })
    },
    flush() {
      return call(() => {
        if (heldBytes > 0) {
          replayHeld()
          atBoundary = false
        }
        for (const ev of sse.flush()) emit(frames.push(ev))
        if (sse.failure) throw sse.failure
        frames.flush()
      })
    },
  }
  return api
}

/** "UklG": how the base64 of a frame starting with "RIFF" starts. */
const RIFF_B64 = Buffer.from('UklG', 'latin1')
