import { open } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { Transform, type Readable, type TransformCallback, type TransformOptions } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, bytesPerFrame, durationMs, type PcmFormat } from './format.js'
import { wavHeader } from './wav-header.js'
import { commitFile, discardFile, endOnFailure, tempPathFor } from '../file-output.js'

/** Options of {@link WavEncoder}. @category Stages */
export interface WavEncoderOptions {
  /** The PCM format of the input. */
  format: PcmFormat
  /** Options for the underlying Transform. */
  streamOptions?: Omit<TransformOptions, 'objectMode' | 'readableObjectMode' | 'writableObjectMode' | 'transform' | 'flush'> | undefined
}

/**
 * Transform: PCM in, a WAV byte stream out. The header goes out before the first audio byte with
 * RIFF and data sizes `0xFFFFFFFF` (length unknown, as ffmpeg writes to pipes), so it suits HTTP
 * responses and pipes, **not files**: piped into `createWriteStream` it leaves a file whose
 * readers report a wrong length (sox: 89 478 s). For files use {@link writeWavFile}, which patches
 * the sizes in. At the end it emits `'header'` with the header carrying the real sizes, for a
 * seekable sink to patch in.
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
 * @category Stages
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

/** Options of {@link writeWavFile}. @category Stages */
export interface WriteWavFileOptions {
  /**
   * When the PCM stream fails mid-way, still write a valid file of the audio that arrived (exact
   * sizes) to `path`, then reject with the error. @defaultValue `false`: `path` is left untouched
   */
  keepPartial?: boolean | undefined
}

/** What {@link writeWavFile} resolves with. @category Stages */
export interface WavFileResult {
  /** PCM bytes in the file (without the header). */
  dataBytes: number
  /** Duration of the audio, in milliseconds. */
  durationMs: number
}

/**
 * Writes a PCM stream to a WAV file with exact RIFF and data sizes: the audio goes to a temporary
 * file beside `path`, the header is patched when the stream ends, and the file is renamed to
 * `path` only then. On failure the error propagates and `path` is untouched (an existing file of
 * that name survives), unless `keepPartial` asks for a valid file of the audio that arrived.
 *
 * Use this (not `WavEncoder` piped into `createWriteStream`) for files: a streaming header says
 * "unknown length" (`0xFFFFFFFF`), which suits pipes and HTTP but makes file readers report a
 * wrong duration.
 *
 * @param format - the format of the PCM that reaches the file (after `stages`).
 * @param stages - Transforms to run between `pcm` and the file, e.g. `convertPcm(pcm.format, format)`.
 * @throws the stream's error (with `delivered`), after removing the temporary file.
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' })
 * const target = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const
 * await writeWavFile('hi.wav', pcm, target, convertPcm(pcm.format, target))
 * ```
 * @category Stages
 */
export async function writeWavFile(path: string, pcm: Readable, format: PcmFormat, stages: Transform[] = [], options: WriteWavFileOptions = {}): Promise<WavFileResult> {
  const encoder = new WavEncoder({ format })
  let final: Buffer | undefined
  encoder.once('header', (h: Buffer) => (final = h))
  let failure: unknown
  const source = options.keepPartial ? endOnFailure(pcm, (err) => (failure = err)) : pcm
  const temp = tempPathFor(path)
  try {
    await pipeline([source, ...stages, encoder, createWriteStream(temp)])
    const header = final as Buffer
    const fh = await open(temp, 'r+')
    try {
      await fh.write(header, 0, header.length, 0)
    } finally {
      await fh.close()
    }
    await commitFile(temp, path)
  } catch (err) {
    await discardFile(temp)
    throw err
  }
  if (failure !== undefined) throw failure
  return { dataBytes: encoder.dataBytes, durationMs: durationMs(format, encoder.dataBytes) ?? 0 }
}

