/**
 * The core of {@link OggOpusMuxer}: Ogg Opus muxing (RFC 7845 over RFC 3533), Opus packets in,
 * Ogg pages out. Pure: no stream import.
 *
 * - **Headers**: an OpusHead page (beginning of stream) and an OpusTags page, from the
 *   {@link OpusHead} value it is given, before the first audio page.
 * - **Pages and lacing**: packets are laced into segments of 255 bytes; a page is written once it
 *   holds `maxPageMs` of audio, at most 255 segments.
 * - **Granules**: an audio page's granule position is the number of 48 kHz samples its packets
 *   and all before them decode to, pre-skip included (RFC 7845 §4), from each packet's TOC byte.
 * - **End of stream**: the last page carries the EOS flag, so a page is held until the next
 *   packet (or the end) shows whether it is the last. Its granule is `pre-skip + the true input
 *   length` when an {@link OpusStreamEnd} said what that is (end trimming, RFC 7845 §4.4), else
 *   what the packets carry; it trims the last page only (never below the previous page's granule).
 * - **CRC-32**: polynomial 0x04C11DB7, initial 0, not reflected, no final xor (RFC 3533 §6).
 *
 * State: the page sequence number, the granule so far, and the packets of the page being filled
 * (at most one page: `maxPageMs` of audio or 200 packets).
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { VERSION } from '../version.js'
import { assertOpusHead, isOpusStreamEnd, OPUS_GRANULE_RATE, opusHeadPacket, opusPacketSamples, opusPreSkip, opusTagsPacket, type OpusHead, type OpusStreamEnd } from './opus-packet.js'

/** Options of {@link createOggOpusMuxer} (and of {@link OggOpusMuxer}). */
export interface OggOpusMuxerCoreOptions {
  /**
   * The OpusHead fields: channels, input rate and pre-skip, as the encoder states them
   * ({@link OpusEncoder.head}). Discord's probe wants 2 channels at 48000 Hz.
   * @defaultValue `{ channels: 2, inputSampleRate: 48000, preSkip: 312 }`
   */
  head?: OpusHead | undefined
  /**
   * Most audio in one page, ms. A page is written once it holds this much, so with the default
   * each packet gets its own page and audio leaves with at most one packet (20 ms) of delay: a
   * page is held until the next packet arrives so the last one can carry end-of-stream.
   * @defaultValue `20`
   */
  maxPageMs?: number | undefined
  /** Ogg stream serial number. @defaultValue a random one */
  serial?: number | undefined
}

/** The pure muxer returned by {@link createOggOpusMuxer}. */
export interface OggOpusMuxerCore {
  /** The OpusHead this muxer writes. */
  readonly head: OpusHead
  /**
   * Takes one Opus packet (or the {@link OpusStreamEnd} that follows the last one); returns the
   * pages it completes: the two header pages first, then audio pages.
   * @throws {@link AudioFormatError} for an item that is neither, or a packet after the end.
   */
  push(item: Uint8Array | OpusStreamEnd): Buffer[]
  /** Ends the stream: the last page, flagged end-of-stream (an empty one when no audio came). */
  flush(): Buffer[]
}

/** The default OpusHead: Discord's 48 kHz stereo and libopus's pre-skip. @internal */
export const DEFAULT_OPUS_HEAD: Readonly<OpusHead> = { channels: 2, inputSampleRate: 48000, preSkip: opusPreSkip('audio') }
/** Flags of an Ogg page header. */
const BOS = 0x02
const EOS = 0x04
/** Packets in one page at most, so the segment table (255 entries) cannot overflow. */
const MAX_PAGE_PACKETS = 200

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    t[i] = r >>> 0
  }
  return t
})()

/** Ogg's CRC-32: polynomial 0x04C11DB7, initial 0, not reflected, no final xor. */
export function oggCrc32(buf: Uint8Array): number {
  let crc = 0
  for (let i = 0; i < buf.length; i++) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ (buf[i] as number)) & 0xff] as number)) >>> 0
  return crc >>> 0
}

/**
 * Creates a pure Ogg Opus muxer.
 * @throws {@link InvalidOptionError} for a bad `head` or `maxPageMs`.
 */
export function createOggOpusMuxer(options: OggOpusMuxerCoreOptions = {}): OggOpusMuxerCore {
  const head: OpusHead = { ...(options.head ?? DEFAULT_OPUS_HEAD) }
  assertOpusHead(head)
  const maxPageMs = options.maxPageMs ?? 20
  if (!(maxPageMs > 0)) throw new InvalidOptionError('maxPageMs', `must be a positive number of ms (got ${String(maxPageMs)})`)
  const maxSamples = (maxPageMs * OPUS_GRANULE_RATE) / 1000
  const serial = (options.serial ?? Math.floor(Math.random() * 0xffffffff)) >>> 0
  let seq = 0
  let granule = 0 // 48 kHz samples that all packets written so far decode to (pre-skip included)
  let headersDone = false
  let pending: Buffer[] = []
  let pendingSamples = 0
  let trueLength: number | undefined

  const page = (packets: Buffer[], pageGranule: number, flags: number): Buffer => {
    const segments: number[] = []
    for (const p of packets) {
      let n = p.length
      while (n >= 255) {
        segments.push(255)
        n -= 255
      }
      segments.push(n)
    }
    if (segments.length > 255) throw new AudioFormatError('too many segments for one Ogg page')
    const bodyLen = packets.reduce((a, p) => a + p.length, 0)
    const out = Buffer.alloc(27 + segments.length + bodyLen)
    out.write('OggS', 0, 'latin1')
    out[4] = 0
    out[5] = flags
    out.writeBigInt64LE(BigInt(pageGranule), 6)
    out.writeUInt32LE(serial, 14)
    out.writeUInt32LE(seq++, 18)
    out[26] = segments.length
    Buffer.from(segments).copy(out, 27)
    let off = 27 + segments.length
    for (const p of packets) {
      p.copy(out, off)
      off += p.length
    }
    out.writeUInt32LE(oggCrc32(out), 22)
    return out
  }

  const headers = (out: Buffer[]): void => {
    if (headersDone) return
    headersDone = true
    out.push(page([opusHeadPacket(head)], 0, BOS), page([opusTagsPacket(`lightning-stream ${VERSION}`)], 0, 0))
  }

  const emitPending = (out: Buffer[], flags: number, granuleOverride?: number): void => {
    if (!pending.length) return
    granule += pendingSamples
    out.push(page(pending, granuleOverride ?? granule, flags))
    pending = []
    pendingSamples = 0
  }

  return {
    head,
    push(item) {
      if (isOpusStreamEnd(item)) {
        if (!Number.isInteger(item.inputSamples) || item.inputSamples < 0) throw new AudioFormatError(`OggOpusMuxer: the stream end's inputSamples must be a non-negative integer (got ${item.inputSamples})`)
        trueLength = item.inputSamples
        return []
      }
      if (!(item instanceof Uint8Array)) throw new AudioFormatError('OggOpusMuxer takes Opus packets as Buffers')
      if (trueLength !== undefined) throw new AudioFormatError('OggOpusMuxer: an Opus packet after the stream end')
      const out: Buffer[] = []
      headers(out)
      const samples = opusPacketSamples(item)
      // Hold the page until the next packet shows it is not the last (so EOS can go on it), and
      // until the stream carries more than the pre-skip, so that the first audio page ends on a
      // playable sample (only matters for frames shorter than the 6.5 ms pre-skip).
      const pastPreSkip = granule + pendingSamples > head.preSkip
      if (pending.length && pastPreSkip && pendingSamples + samples > maxSamples) emitPending(out, 0)
      pending.push(Buffer.from(item)) // a copy: the caller may reuse its buffer
      pendingSamples += samples
      if (pending.length >= MAX_PAGE_PACKETS) emitPending(out, 0)
      return out
    },
    flush() {
      const out: Buffer[] = []
      headers(out)
      // The end granule is pre-skip + the true input length (RFC 7845 §4.4 end trimming), never
      // more than the packets carry (the encoder flushed its lookahead so that both hold), and
      // never less than the previous page's: end trimming cuts into the last page only.
      const total = granule + pendingSamples
      const end = trueLength !== undefined ? Math.max(granule, Math.min(head.preSkip + trueLength, total)) : total
      if (pending.length) emitPending(out, EOS, end)
      else out.push(page([], end, EOS)) // no audio at all: an empty end-of-stream page
      return out
    },
  }
}
