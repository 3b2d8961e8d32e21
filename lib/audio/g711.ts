/**
 * ITU-T G.711 μ-law and A-law, as in the reference `g711.c` (and ffmpeg's `pcm_mulaw`/`pcm_alaw`):
 * 256-entry decode tables, the matching encoders, and whole-buffer decoding (stateless: one byte is
 * one sample, so nothing is carried between chunks). The {@link G711Decoder} stage and the fused
 * SSE → PCM core decode through {@link decodeG711}.
 * @module
 */
import { assertLittleEndianHost } from './format.js'

/** The two G.711 companding laws. */
export type G711Law = 'ulaw' | 'alaw'

const BIAS = 0x84
const CLIP = 32635

function ulawToLinear(u: number): number {
  const v = ~u & 0xff
  const t = (((v & 0x0f) << 3) + BIAS) << ((v & 0x70) >> 4)
  return v & 0x80 ? BIAS - t : t - BIAS
}

function alawToLinear(a: number): number {
  const v = a ^ 0x55
  let t = (v & 0x0f) << 4
  const seg = (v & 0x70) >> 4
  if (seg === 0) t += 8
  else if (seg === 1) t += 0x108
  else t = (t + 0x108) << (seg - 1)
  return v & 0x80 ? t : -t
}

/** μ-law code → 16-bit linear sample, for all 256 codes. */
export const ULAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i))
/** A-law code → 16-bit linear sample, for all 256 codes. */
export const ALAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i))

/** Decodes G.711 bytes to s16le through the ITU tables: an owned Buffer of twice the length. */
export function decodeG711(bytes: Buffer, law: G711Law): Buffer {
  assertLittleEndianHost()
  const table = law === 'ulaw' ? ULAW_TO_LINEAR : ALAW_TO_LINEAR
  const out = new Int16Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i] as number] as number
  return Buffer.from(out.buffer)
}

/** Encodes one 16-bit sample to μ-law. */
export function linearToUlaw(sample: number): number {
  let s = sample
  const sign = s < 0 ? 0x80 : 0
  if (sign) s = -s
  if (s > CLIP) s = CLIP
  s += BIAS
  let exponent = 7
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = (s >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

const A_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff]

/** Encodes one 16-bit sample to A-law. */
export function linearToAlaw(sample: number): number {
  let v = sample >> 3
  let mask: number
  if (v >= 0) mask = 0xd5
  else {
    mask = 0x55
    v = -v - 1
  }
  let seg = 0
  while (seg < 8 && v > (A_SEG_END[seg] as number)) seg++
  if (seg >= 8) return 0x7f ^ mask
  let aval = seg << 4
  aval |= seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f
  return aval ^ mask
}

/** Encodes s16le PCM to G.711 bytes. */
export function encodeG711(pcm: Buffer, law: G711Law): Buffer {
  const n = pcm.length >> 1
  const out = Buffer.allocUnsafe(n)
  const enc = law === 'ulaw' ? linearToUlaw : linearToAlaw
  for (let i = 0; i < n; i++) out[i] = enc(pcm.readInt16LE(i * 2))
  return out
}
