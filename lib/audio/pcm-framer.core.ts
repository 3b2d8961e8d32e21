/**
 * The core of {@link PcmFramer}: PCM in, frames of exactly `frameMs` (or `frameSamples`) out. A
 * frame here is a block of audio (20 ms for Opus and Discord, 10 ms for WebRTC); one sample per
 * channel is a sample frame. Also the framing of {@link OpusEncoder} and the paced sinks.
 * Pure: no stream import.
 * @module
 */
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertPcmFormat, bytesPerSampleFrame, type PcmFormat } from './format.js'

/** Options of {@link createPcmFramer} (and of {@link PcmFramer}). */
export interface PcmFramerCoreOptions {
  /** The PCM format (needed with `frameMs`; with `frameSamples` only channels and encoding matter). */
  format: PcmFormat
  /** Frame length in milliseconds (e.g. 20 for Opus/Discord, 10 for WebRTC). */
  frameMs?: number | undefined
  /** Frame length in samples per channel (overrides `frameMs`). */
  frameSamples?: number | undefined
  /**
   * What to do with a short last frame: `true` pads it with silence to a full frame; `false`
   * emits it short. @defaultValue `false`
   */
  padLast?: boolean | undefined
}

/**
 * Bytes in one frame for framer options.
 * @throws {@link AudioFormatError} for a bad format; {@link InvalidOptionError} when the frame is not a whole number of samples.
 */
export function frameBytesOf(options: PcmFramerCoreOptions): number {
  assertPcmFormat(options.format, 'PcmFramer format')
  const samples = options.frameSamples ?? ((options.frameMs ?? NaN) * options.format.sampleRate) / 1000
  if (!Number.isInteger(samples) || samples < 1) {
    throw options.frameSamples !== undefined
      ? new InvalidOptionError('frameSamples', `must be a positive integer (got ${options.frameSamples})`)
      : new InvalidOptionError('frameMs', `${String(options.frameMs)} ms is not a whole number of samples at ${options.format.sampleRate} Hz`)
  }
  return samples * bytesPerSampleFrame(options.format)
}

/** The pure framer returned by {@link createPcmFramer}. */
export interface PcmFramerCore {
  /** Bytes in one full frame. */
  readonly frameBytes: number
  /** Returns the frames `chunk` completes (possibly none). */
  push(chunk: Buffer): Buffer[]
  /** Ends the input: the short last frame, as is or padded (`padLast`). */
  flush(): Buffer[]
}

/**
 * A pure exact framer: emits frames of exactly `frameBytes`, each an owned Buffer (own
 * ArrayBuffer, `byteOffset` 0). Holds at most one frame; copies each byte once.
 */
export function createPcmFramer(options: PcmFramerCoreOptions): PcmFramerCore {
  const frameBytes = frameBytesOf(options)
  const sampleFrameBytes = bytesPerSampleFrame(options.format)
  let cur: Buffer | null = null
  let fill = 0
  return {
    frameBytes,
    push(chunk) {
      const out: Buffer[] = []
      let off = 0
      while (off < chunk.length) {
        cur ??= Buffer.alloc(frameBytes) // not allocUnsafe: owned, and never a pool slice
        const n = Math.min(frameBytes - fill, chunk.length - off)
        chunk.copy(cur, fill, off, off + n)
        fill += n
        off += n
        if (fill === frameBytes) {
          out.push(cur)
          cur = null
          fill = 0
        }
      }
      return out
    },
    flush() {
      if (!cur || fill === 0) return []
      if (fill % sampleFrameBytes) throw new AudioFormatError(`PcmFramer input ended mid-sample-frame (${fill % sampleFrameBytes} stray bytes)`)
      let last = cur
      if (!options.padLast) {
        last = Buffer.alloc(fill) // Buffer.from() would hand out a slice of the shared pool
        cur.copy(last, 0, 0, fill)
      }
      cur = null
      fill = 0
      return [last]
    },
  }
}
