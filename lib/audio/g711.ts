/**
 * ITU-T G.711 μ-law and A-law, as in the reference `g711.c` (and ffmpeg's `pcm_mulaw`/`pcm_alaw`):
 * 256-entry decode tables and the matching encoders.
 * @module
 */

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

/** μ-law code → 16-bit linear sample, for all 256 codes. @category Cores */
export const ULAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i))
/** A-law code → 16-bit linear sample, for all 256 codes. @category Cores */
export const ALAW_TO_LINEAR: Int16Array = Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i))

/** Encodes one 16-bit sample to μ-law. @category Cores */
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

/** Encodes one 16-bit sample to A-law. @category Cores */
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

/** Encodes s16le PCM to G.711 bytes. @category Cores */
export function encodeG711(pcm: Buffer, law: 'ulaw' | 'alaw'): Buffer {
  const n = pcm.length >> 1
  const out = Buffer.allocUnsafe(n)
  const enc = law === 'ulaw' ? linearToUlaw : linearToAlaw
  for (let i = 0; i < n; i++) out[i] = enc(pcm.readInt16LE(i * 2))
  return out
}
