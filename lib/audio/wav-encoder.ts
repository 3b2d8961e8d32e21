import { open } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { Transform, type Readable, type TransformCallback, type TransformOptions } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, bytesPerFrame, durationMs, type PcmFormat } from './format.js'
import { wavHeader } from './wav-header.js'

/** Options of {@link WavEncoder}. */
export interface WavEncoderOptions {
  /** The PCM format of the input. */
  format: PcmFormat
  /** Options for the underlying Transform. */
  streamOptions?: Omit<TransformOptions, 'objectMode' | 'readableObjectMode' | 'writableObjectMode' | 'transform' | 'flush'> | undefined
}

/**
 * Transform: PCM in, a WAV byte stream out. The header goes out before the first audio byte with
 * RIFF and data sizes `0xFFFFFFFF` (length unknown, as ffmpeg writes to pipes), so it suits HTTP
 * responses and pipes. At the end it emits `'header'` with the header carrying the real sizes,
 * for a seekable sink to patch in (as {@link writeWavFile} does).
 *
 * 16-bit mono/stereo get the classic 44-byte header; `f32le` or more than two channels use
 * `WAVE_FORMAT_EXTENSIBLE`. Input that ends mid-sample-frame fails with {@link AudioFormatError}
 * (nothing is padded).
 *
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' })
 * await pipeline(pcm, new WavEncoder({ format: pcm.format }), response)
 * ```
 */
export class WavEncoder extends Transform {
  /** The input format. */
  readonly format: PcmFormat
  #bytes = 0
  #headerSent = false

  constructor(options: WavEncoderOptions) {
    super({ ...options.streamOptions, objectMode: false })
    assertPcmFormat(options.format, 'WavEncoder format')
    this.format = { ...options.format }
  }

  /** Length of the header this encoder writes (44, or 68 for `WAVE_FORMAT_EXTENSIBLE`). */
  get headerLength(): number {
    return wavHeader(this.format).length
  }

  /** PCM bytes written so far (not counting the header). */
  get dataBytes(): number {
    return this.#bytes
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (!this.#headerSent) {
      this.#headerSent = true
      this.push(wavHeader(this.format))
    }
    this.#bytes += chunk.length
    callback(null, chunk)
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    const frame = bytesPerFrame(this.format)
    if (this.#bytes % frame !== 0) {
      callback(new AudioFormatError(`PCM ended mid-frame: ${this.#bytes} bytes is not a multiple of ${frame}`))
      return
    }
    if (!this.#headerSent) {
      this.#headerSent = true
      this.push(wavHeader(this.format, 0))
    }
    this.emit('header', wavHeader(this.format, this.#bytes))
    callback()
  }
}

/** What {@link writeWavFile} resolves with. */
export interface WavFileResult {
  /** PCM bytes in the file (without the header). */
  dataBytes: number
  /** Duration of the audio, in milliseconds. */
  durationMs: number
}

/**
 * Writes a PCM stream to a WAV file and patches the RIFF and data sizes when it ends, so the file
 * has exact lengths. On failure the error propagates and the partial file is left as it is, with
 * "unknown" sizes that players still read to the end.
 *
 * @param format - the format of the PCM that reaches the file (after `stages`).
 * @param stages - Transforms to run between `pcm` and the file, e.g. `convertPcm(pcm.format, format)`.
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' })
 * const target = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const
 * await writeWavFile('hi.wav', pcm, target, convertPcm(pcm.format, target))
 * ```
 */
export async function writeWavFile(path: string, pcm: Readable, format: PcmFormat, stages: Transform[] = []): Promise<WavFileResult> {
  const encoder = new WavEncoder({ format })
  let final: Buffer | undefined
  encoder.once('header', (h: Buffer) => (final = h))
  await pipeline([pcm, ...stages, encoder, createWriteStream(path)])
  const header = final as Buffer
  const fh = await open(path, 'r+')
  try {
    await fh.write(header, 0, header.length, 0)
  } finally {
    await fh.close()
  }
  return { dataBytes: encoder.dataBytes, durationMs: durationMs(format, encoder.dataBytes) ?? 0 }
}

