/**
 * Opus values shared by the encoder and the Ogg muxer, as data: the rates and frame lengths Opus
 * takes, the TOC byte of a packet (RFC 6716 §3.1), the OpusHead and OpusTags header packets
 * (RFC 7845 §5), and the end-of-stream value that carries the true input length. Neither stage
 * reads the other: the encoder states these values, the muxer is given them. Pure: no stream import.
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import type { OpusApplication } from './opus-engines.js'

/**
 * Sample rates Opus encodes, Hz (RFC 6716 §2): 8000, 12000, 16000, 24000 and 48000. The one copy
 * of the list: the encoder, the output chain, Discord's `nativeRate` and the CLI's `--rate` check
 * read it. @category Formats
 */
export const OPUS_SAMPLE_RATES: readonly number[] = Object.freeze([8000, 12000, 16000, 24000, 48000])

/** {@link OPUS_SAMPLE_RATES} as prose, for messages and help: `8000, 12000, 16000, 24000 or 48000`. */
export const OPUS_SAMPLE_RATES_TEXT = `${OPUS_SAMPLE_RATES.slice(0, -1).join(', ')} or ${OPUS_SAMPLE_RATES.at(-1)}`

/** Frame lengths Opus encodes, ms (RFC 6716 §2.1.4). */
export const OPUS_FRAME_MS: readonly number[] = [2.5, 5, 10, 20, 40, 60]

/** Opus decodes at 48 kHz: granule positions and pre-skip count 48 kHz samples (RFC 7845 §4). */
export const OPUS_GRANULE_RATE = 48000

/**
 * The OpusHead fields of an Ogg Opus stream (RFC 7845 §5.1), as a value: what
 * {@link OggOpusMuxer} writes and what {@link OpusEncoder.head} states for the audio it encodes.
 * Channel mapping family 0 (mono or stereo), output gain 0.
 */
export interface OpusHead {
  /** Output channels: 1 or 2. */
  channels: number
  /** The rate the audio was encoded from, Hz. Informational: Opus always decodes at 48 kHz. */
  inputSampleRate: number
  /** Samples (at 48 kHz) a decoder drops from the start: the encoder's lookahead. */
  preSkip: number
}

/**
 * The last item of an {@link OpusEncoder} created with `{ emitEnd: true }`, after its last packet:
 * how much audio the packets carry. {@link OggOpusMuxer} sets the end granule from it
 * (RFC 7845 §4.4 end trimming), so the padding of the last frame is not played.
 */
export interface OpusStreamEnd {
  /** Samples per channel of the encoder's input, at 48 kHz: the true length before padding. */
  readonly inputSamples: number
}

/** True when `item` is an {@link OpusStreamEnd} rather than a packet. */
export function isOpusStreamEnd(item: unknown): item is OpusStreamEnd {
  return typeof item === 'object' && item !== null && !(item instanceof Uint8Array) && typeof (item as OpusStreamEnd).inputSamples === 'number'
}

/**
 * libopus's lookahead at 48 kHz, the pre-skip to write in OpusHead: 2.5 ms plus 4 ms of delay
 * compensation, except in low-delay mode (`opus_encoder.c`: `Fs/400 + Fs/250`). The same at every
 * input rate, and for every engine (each wraps libopus; `test/codecs.ts` checks the engines').
 */
export function opusPreSkip(application: OpusApplication): number {
  return application === 'lowdelay' ? 120 : 312
}

/** Checks an {@link OpusHead}. @throws {@link InvalidOptionError} naming the field. */
export function assertOpusHead(head: OpusHead): void {
  if (head.channels !== 1 && head.channels !== 2) throw new InvalidOptionError('head', `channels must be 1 or 2 (mapping family 0; got ${String(head.channels)})`)
  if (!Number.isInteger(head.inputSampleRate) || head.inputSampleRate < 0 || head.inputSampleRate > 0xffffffff) {
    throw new InvalidOptionError('head', `inputSampleRate must be a non-negative integer (got ${String(head.inputSampleRate)})`)
  }
  if (!Number.isInteger(head.preSkip) || head.preSkip < 0 || head.preSkip > 0xffff) {
    throw new InvalidOptionError('head', `preSkip must be an integer from 0 to 65535 (got ${String(head.preSkip)})`)
  }
}

/** The 19-byte OpusHead packet for `head` (RFC 7845 §5.1: version 1, gain 0, mapping family 0). */
export function opusHeadPacket(head: OpusHead): Buffer {
  const p = Buffer.alloc(19)
  p.write('OpusHead', 0, 'latin1')
  p[8] = 1
  p[9] = head.channels
  p.writeUInt16LE(head.preSkip, 10)
  p.writeUInt32LE(head.inputSampleRate, 12)
  p.writeInt16LE(0, 16)
  p[18] = 0 // channel mapping family 0
  return p
}

/** The OpusTags packet with `vendor` and no comments (RFC 7845 §5.2). */
export function opusTagsPacket(vendor: string): Buffer {
  const v = Buffer.from(vendor, 'utf8')
  const p = Buffer.alloc(8 + 4 + v.length + 4)
  p.write('OpusTags', 0, 'latin1')
  p.writeUInt32LE(v.length, 8)
  v.copy(p, 12)
  p.writeUInt32LE(0, 12 + v.length)
  return p
}

/** Samples per channel (at 48 kHz) of one Opus packet, from its TOC byte (RFC 6716 §3.1). */
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
