/**
 * Ogg page tools (RFC 3533 §6) for code that handles an Ogg stream page by page: split bytes
 * into whole pages, count the packets a page ends, rewrite a page's sequence number and granule
 * position (with a fresh CRC), and write a one-packet page. Pure: no stream import.
 *
 * Page header layout: `OggS`, version, flags, granule position (int64 LE) at 6, serial at 14,
 * page sequence number at 18, CRC-32 at 22, segment count at 26, then the lacing values.
 * @module
 */
import { AudioFormatError } from '../errors.js'
import { oggCrc32 } from './ogg-opus.js'

const HEADER = 27
const CAPTURE = 0x5367674f // 'OggS' read as uint32 LE

/** Flag bit: this page begins the logical stream. */
export const OGG_BOS = 0x02
/** Flag bit: this page ends the logical stream. */
export const OGG_EOS = 0x04

/** Splits an Ogg byte stream into whole pages. */
export interface OggPageSplitter {
  /** Takes any bytes; returns the pages they complete (each an owned Buffer). */
  push(chunk: Buffer): Buffer[]
  /** The stream ended; throws an {@link AudioFormatError} if it ended inside a page. */
  flush(): void
}

/**
 * Creates an {@link OggPageSplitter}. It holds at most one incomplete page (≤ 65 307 bytes, the
 * largest an Ogg page can be) and fails with an {@link AudioFormatError} on bytes that are not
 * an Ogg page.
 */
export function createOggPageSplitter(): OggPageSplitter {
  let pending: Buffer = Buffer.alloc(0)
  return {
    push(chunk) {
      // Bounded by one page: the join below never grows past the largest page.
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk
      const pages: Buffer[] = []
      for (;;) {
        if (buf.length < HEADER) break
        if (buf.readUInt32LE(0) !== CAPTURE) throw new AudioFormatError('not an Ogg page (no OggS capture pattern)')
        const segments = buf[26] as number
        if (buf.length < HEADER + segments) break
        let body = 0
        for (let i = 0; i < segments; i++) body += buf[HEADER + i] as number
        const size = HEADER + segments + body
        if (buf.length < size) break
        pages.push(Buffer.from(buf.subarray(0, size)))
        buf = buf.subarray(size)
      }
      pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0)
      return pages
    },
    flush() {
      if (pending.length) throw new AudioFormatError(`Ogg stream ended inside a page (${pending.length} bytes)`)
    },
  }
}

/** Number of packets that end on `page` (lacing values below 255 end a packet). */
export function oggPagePackets(page: Buffer): number {
  const segments = page[26] as number
  let n = 0
  for (let i = 0; i < segments; i++) if ((page[HEADER + i] as number) < 255) n++
  return n
}

/** The page's flags byte ({@link OGG_BOS}, {@link OGG_EOS}, continued packet). */
export function oggPageFlags(page: Buffer): number {
  return page[5] as number
}

/** The page's granule position. */
export function oggPageGranule(page: Buffer): bigint {
  return page.readBigInt64LE(6)
}

/** The page's stream serial number. */
export function oggPageSerial(page: Buffer): number {
  return page.readUInt32LE(14)
}

/** A copy of `page` with a new sequence number and granule position, and its CRC recomputed. */
export function restampOggPage(page: Buffer, sequence: number, granule: bigint): Buffer {
  const out = Buffer.from(page)
  out.writeBigInt64LE(granule, 6)
  out.writeUInt32LE(sequence >>> 0, 18)
  out.writeUInt32LE(0, 22)
  out.writeUInt32LE(oggCrc32(out), 22)
  return out
}

/**
 * Writes one Ogg page holding exactly one packet (up to 64 770 bytes), or no packet at all when
 * `packet` is `null` (a page with no segments, e.g. to carry end-of-stream).
 */
export function oggPageOf(packet: Uint8Array | null, init: { serial: number; sequence: number; granule: bigint; flags?: number | undefined }): Buffer {
  const lacing: number[] = []
  for (let n = packet?.length ?? -1; n >= 0; n -= 255) {
    lacing.push(Math.min(n, 255))
    if (n < 255) break
  }
  packet ??= new Uint8Array(0)
  if (lacing.length > 255) throw new AudioFormatError('packet too large for one Ogg page')
  const page = Buffer.alloc(HEADER + lacing.length + packet.length)
  page.writeUInt32LE(CAPTURE, 0)
  page[5] = init.flags ?? 0
  page.writeBigInt64LE(init.granule, 6)
  page.writeUInt32LE(init.serial >>> 0, 14)
  page.writeUInt32LE(init.sequence >>> 0, 18)
  page[26] = lacing.length
  Buffer.from(lacing).copy(page, HEADER)
  page.set(packet, HEADER + lacing.length)
  page.writeUInt32LE(oggCrc32(page), 22)
  return page
}
