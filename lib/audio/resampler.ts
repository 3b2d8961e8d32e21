import { Transform, type TransformCallback, type TransformOptions } from 'node:stream'
import type { PcmFormat } from './format.js'
import { createResamplerCore, resolveResamplerOptions, type ResamplerCore, type ResamplerOptions } from './resample-core.js'

/** Options of {@link Resampler}. @category Stages */
export interface ResamplerStreamOptions extends ResamplerOptions {
  /** Options for the underlying Transform. */
  streamOptions?: Omit<TransformOptions, 'objectMode' | 'readableObjectMode' | 'writableObjectMode' | 'transform' | 'flush'> | undefined
}

/**
 * Transform: PCM at `from` Hz in, PCM at `to` Hz out (same channels and encoding).
 *
 * Band-limited polyphase conversion for any pair of integer rates (8000, 16000, 22050, 24000,
 * 44100, 48000, …), mono or interleaved multi-channel, `s16le` (rounded and clipped) or `f32le`.
 * The output for any chunking is identical to the one-shot output, aligned with the input (no
 * filter delay), and has `round(inputFrames × to / from)` frames. Equal rates pass through.
 *
 * Measured (24000 → 48000, `test/resampler.ts`): `'balanced'` 110 dB SINAD at 1 kHz in f32,
 * ≥ 109 dB image and alias rejection, flat within 0.001 dB to 0.45 × the lower rate.
 *
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' }) // 24 kHz mono
 * await pipeline(pcm, new Resampler({ from: 24000, to: 48000 }), new ChannelMixer({ from: 1, to: 2 }), sink)
 * ```
 * @category Stages
 */
export class Resampler extends Transform {
  readonly #core: ResamplerCore
  /** Input format. */
  readonly inputFormat: PcmFormat
  /** Output format. */
  readonly format: PcmFormat

  constructor(options: ResamplerStreamOptions) {
    super({ ...options.streamOptions, objectMode: false })
    const o = resolveResamplerOptions(options)
    this.inputFormat = { sampleRate: o.from, channels: o.channels, encoding: o.encoding }
    this.format = { sampleRate: o.to, channels: o.channels, encoding: o.encoding }
    this.#core = createResamplerCore(o)
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      const out = this.#core.push(chunk)
      callback(null, out.length ? out : undefined)
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    try {
      const out = this.#core.flush()
      callback(null, out.length ? out : undefined)
    } catch (err) {
      callback(err as Error)
    }
  }
}
