/**
 * Ogg Opus muxing (RFC 7845 over RFC 3533): OpusHead and OpusTags header pages, audio pages whose
 * granule position is the number of 48 kHz samples the packets so far decode to (pre-skip
 * included, RFC 7845 §4), CRC-32 (polynomial 0x04C11DB7), and an end-of-stream page whose granule,
 * `pre-skip + input length`, trims the encoder's padding.
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream'
import { AudioFormatError } from '../errors.js'
import type { StageStreamOptions } from '../audio/pcm-stages.js'
import { VERSION } from '../version.js'
import type { OpusEncoder } from './opus-encoder.js'

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    t[i] = r >>> 0
  }
  return t
})()

/** Ogg's CRC-32: polynomial 0x04C11DB7, initial 0, not reflected, no final xor. @category Cores */
export function oggCrc32(buf: Uint8Array): number {
  let crc = 0
  for (let i = 0; i < buf.length; i++) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ (buf[i] as number)) & 0xff] as number)) >>> 0
  return crc >>> 0
}

/** Samples per channel (at 48 kHz) of one Opus packet, from its TOC byte (RFC 6716 §3.1). @category Cores */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length < 1) throw new AudioFormatError('empty Opus packet')
  const toc = packet[0] as number
  const config = toc >> 3
  const frame = config < 12 ? [480, 960, 1920, 2880][config & 3]! : config < 16 ? [480, 960][config & 1]! : [120, 240, 480, 960][config & 3]!
  const code = toc & 3
  if (code === 0) return frame
  if (code !== 3) return 2 * frame
  if (packet.length < 2) throw new AudioFormatError('Opus packet with code 3 but no frame count')
  return ((packet[1] as number) & 0x3f) * frame
}

/** Options of {@link OggOpusMuxer}. @category Stages */
export interface OggOpusMuxerOptions {
  /**
   * The encoder feeding this muxer: its channels, input rate, pre-skip and true length are used
   * (the final granule trims the silence that padded the last frame).
   */
  encoder?: OpusEncoder | undefined
  /** Channels (without `encoder`). Discord wants 2. @defaultValue encoder's, else `2` */
  channels?: number | undefined
  /** Original input rate for OpusHead. Discord's probe wants 48000. @defaultValue encoder's, else `48000` */
  inputSampleRate?: number | undefined
  /** Pre-skip at 48 kHz (without `encoder`). @defaultValue encoder's, else `312` */
  preSkip?: number | undefined
  /**
   * Most audio in one page, ms. A page is written once it holds this much, so with the default
   * each packet gets its own page and audio leaves with at most one packet (20 ms) of delay: a
   * page is held until the next packet arrives so the last one can carry end-of-stream.
   * @defaultValue `20`
   */
  maxPageMs?: number | undefined
  /** Ogg stream serial number. @defaultValue a random one */
  serial?: number | undefined
  /** Options for the underlying Transform (object-mode writable side is forced). */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: Opus packets (Buffers, one per chunk, object mode) in, an Ogg Opus byte stream out,
 * for files, HTTP responses and Discord's `StreamType.OggOpus`.
 *
 * @example
 * ```ts
 * const opus = new OpusEncoder({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' } })
 * await pipeline(pcm48kStereo, opus, new OggOpusMuxer({ encoder: opus }), createWriteStream('out.opus'))
 * ```
 * @category Stages
 */
export class OggOpusMuxer extends Transform {
  readonly #opts: OggOpusMuxerOptions
  readonly #serial: number
  #seq = 0
  #granule = 0 // 48 kHz samples that all packets written so far decode to (pre-skip included)
  #headersDone = false
  #pending: Buffer[] = []
  #pendingSamples = 0
  #preSkip = 312

  constructor(options: OggOpusMuxerOptions = {}) {
    super({ ...options.streamOptions, writableObjectMode: true, readableObjectMode: false })
    this.#opts = options
    this.#serial = (options.serial ?? Math.floor(Math.random() * 0xffffffff)) >>> 0
  }

  #page(packets: Buffer[], granule: number, flags: number): Buffer {
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
    const page = Buffer.alloc(27 + segments.length + bodyLen)
    page.write('OggS', 0, 'latin1')
    page[4] = 0
    page[5] = flags
    page.writeBigInt64LE(BigInt(granule), 6)
    page.writeUInt32LE(this.#serial, 14)
    page.writeUInt32LE(this.#seq++, 18)
    page[26] = segments.length
    Buffer.from(segments).copy(page, 27)
    let off = 27 + segments.length
    for (const p of packets) {
      p.copy(page, off)
      off += p.length
    }
    page.writeUInt32LE(oggCrc32(page), 22)
    return page
  }

  #headers(): void {
    const enc = this.#opts.encoder
    const channels = this.#opts.channels ?? enc?.format.channels ?? 2
    const rate = this.#opts.inputSampleRate ?? enc?.format.sampleRate ?? 48000
    this.#preSkip = this.#opts.preSkip ?? enc?.preSkip ?? 312
    const head = Buffer.alloc(19)
    head.write('OpusHead', 0, 'latin1')
    head[8] = 1
    head[9] = channels
    head.writeUInt16LE(this.#preSkip, 10)
    head.writeUInt32LE(rate, 12)
    head.writeInt16LE(0, 16)
    head[18] = 0 // channel mapping family 0
    const vendor = Buffer.from(`lightning-stream ${VERSION}`, 'utf8')
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4)
    tags.write('OpusTags', 0, 'latin1')
    tags.writeUInt32LE(vendor.length, 8)
    vendor.copy(tags, 12)
    tags.writeUInt32LE(0, 12 + vendor.length)
    this.push(this.#page([head], 0, 0x02))
    this.push(this.#page([tags], 0, 0))
    this.#headersDone = true
  }

  #emitPending(flags: number, granuleOverride?: number): void {
    if (!this.#pending.length) return
    this.#granule += this.#pendingSamples
    this.push(this.#page(this.#pending, granuleOverride ?? this.#granule, flags))
    this.#pending = []
    this.#pendingSamples = 0
  }

  /** @internal */
  override _transform(packet: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!(packet instanceof Uint8Array)) throw new AudioFormatError('OggOpusMuxer takes Opus packets as Buffers')
      if (!this.#headersDone) this.#headers()
      const samples = opusPacketSamples(packet)
      const maxSamples = ((this.#opts.maxPageMs ?? 20) * 48000) / 1000
      // Hold the page until the next packet shows it is not the last (so EOS can go on it), and
      // until the stream carries more than the pre-skip, so that the first audio page ends on a
      // playable sample (only matters for frames shorter than the 6.5 ms pre-skip).
      const pastPreSkip = this.#granule + this.#pendingSamples > this.#preSkip
      if (this.#pending.length && pastPreSkip && this.#pendingSamples + samples > maxSamples) this.#emitPending(0)
      this.#pending.push(Buffer.from(packet))
      this.#pendingSamples += samples
      if (this.#pending.length >= 200) this.#emitPending(0)
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      if (!this.#headersDone) this.#headers()
      // The end granule is pre-skip + the true input length (RFC 7845 §4.4 end trimming), never
      // more than the packets carry: the encoder flushed its lookahead so that both hold.
      const total = this.#granule + this.#pendingSamples
      const trueLength = this.#opts.encoder?.inputSamples
      const end = trueLength !== undefined ? Math.min(this.#preSkip + trueLength, total) : total
      if (this.#pending.length) this.#emitPending(0x04, end)
      else this.push(this.#page([], end, 0x04)) // no audio at all: an empty end-of-stream page
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }
}
