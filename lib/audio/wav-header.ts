import { assertPcmFormat, bytesPerSample, type PcmFormat } from './format.js'

/** RIFF/data size written when the length is unknown (a pipe or HTTP stream), as ffmpeg does. @category Formats */
export const WAV_UNKNOWN_SIZE = 0xffffffff

/**
 * Builds a WAV header for `format`. 16-bit mono/stereo use the classic 44-byte PCM header;
 * float samples or more than two channels use `WAVE_FORMAT_EXTENSIBLE` (68 bytes).
 *
 * @param dataBytes - payload size, or `undefined` for a stream of unknown length (sizes are
 * written as `0xFFFFFFFF`).
 * @category Formats
 */
export function wavHeader(format: PcmFormat, dataBytes?: number): Buffer {
  assertPcmFormat(format)
  const bps = bytesPerSample(format.encoding)
  const extensible = format.encoding === 'f32le' || format.channels > 2
  const fmtSize = extensible ? 40 : 16
  const headerSize = 12 + 8 + fmtSize + 8
  const h = Buffer.alloc(headerSize)
  const riffSize = dataBytes === undefined ? WAV_UNKNOWN_SIZE : Math.min(WAV_UNKNOWN_SIZE, headerSize - 8 + dataBytes)
  h.write('RIFF', 0, 'latin1')
  h.writeUInt32LE(riffSize, 4)
  h.write('WAVE', 8, 'latin1')
  h.write('fmt ', 12, 'latin1')
  h.writeUInt32LE(fmtSize, 16)
  h.writeUInt16LE(extensible ? 0xfffe : 1, 20)
  h.writeUInt16LE(format.channels, 22)
  h.writeUInt32LE(format.sampleRate, 24)
  h.writeUInt32LE(format.sampleRate * format.channels * bps, 28)
  h.writeUInt16LE(format.channels * bps, 32)
  h.writeUInt16LE(bps * 8, 34)
  let off = 36
  if (extensible) {
    h.writeUInt16LE(22, 36) // cbSize
    h.writeUInt16LE(bps * 8, 38) // valid bits
    const mask = format.channels <= 18 ? (2 ** format.channels - 1) >>> 0 : 0
    h.writeUInt32LE(format.channels === 1 ? 0x4 : format.channels === 2 ? 0x3 : mask, 40)
    // Sub-format GUID: {0000000X-0000-0010-8000-00aa00389b71}, X = 1 (PCM) or 3 (IEEE float).
    h.writeUInt32LE(format.encoding === 'f32le' ? 3 : 1, 44)
    Buffer.from([0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(h, 48)
    off = 60
  }
  h.write('data', off, 'latin1')
  h.writeUInt32LE(dataBytes === undefined ? WAV_UNKNOWN_SIZE : Math.min(WAV_UNKNOWN_SIZE, dataBytes), off + 4)
  return h
}

/** What {@link parseWavHeader} finds in a RIFF/WAVE buffer. @category Formats */
export interface WavInfo {
  /** Offset of the `data` payload. */
  dataOffset: number
  /** Declared size of the `data` payload (`0xFFFFFFFF` when unknown). */
  dataSize: number
  /** From `fmt `, when present before `data`. */
  sampleRate: number | undefined
  /** From `fmt `, when present before `data`. */
  channels: number | undefined
  /** From `fmt `, when present before `data`. */
  bitsPerSample: number | undefined
}

/**
 * Walks the chunks of a RIFF/WAVE buffer up to `data`. Returns undefined when the buffer is not
 * RIFF/WAVE or ends before the `data` chunk header.
 * @category Formats
 */
export function parseWavHeader(buf: Buffer): WavInfo | undefined {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return undefined
  let sampleRate: number | undefined
  let channels: number | undefined
  let bitsPerSample: number | undefined
  let off = 12
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4)
    const size = buf.readUInt32LE(off + 4)
    if (id === 'data') return { dataOffset: off + 8, dataSize: size, sampleRate, channels, bitsPerSample }
    if (id === 'fmt ' && off + 24 <= buf.length) {
      channels = buf.readUInt16LE(off + 10)
      sampleRate = buf.readUInt32LE(off + 12)
      bitsPerSample = buf.readUInt16LE(off + 22)
    }
    off += 8 + size + (size & 1)
  }
  return undefined
}
