import { Transform, type TransformCallback, type TransformOptions } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from './format.js'
import { createChannelMixer, createFramer, decodeG711, type ChannelMixerOptions, type FramerOptions } from './pcm-ops.js'
import { createHalfbandUpsampler, type HalfbandUpsamplerOptions } from './halfband.core.js'

/** Transform options a stage passes through (the stage fixes the object modes). @category Stages */
export type StageStreamOptions = Omit<TransformOptions, 'objectMode' | 'readableObjectMode' | 'writableObjectMode' | 'transform' | 'flush'>

/** A pure core: bytes in, output out; `flush` ends it. */
interface Core<T> {
  push(chunk: Buffer): T
  flush(): T
}

/** Runs a core inside `_transform`/`_flush`, routing throws to the callback. @internal */
function pump<T>(stage: Transform, result: () => T, callback: TransformCallback): void {
  try {
    const out = result()
    if (Array.isArray(out)) for (const b of out) stage.push(b)
    else if ((out as Buffer).length) stage.push(out)
    callback()
  } catch (err) {
    callback(err as Error)
  }
}

abstract class CoreStage<T> extends Transform {
  protected abstract readonly core: Core<T>
  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    pump(this, () => this.core.push(chunk), callback)
  }
  /** @internal */
  override _flush(callback: TransformCallback): void {
    pump(this, () => this.core.flush(), callback)
  }
}

/** Options of {@link ChannelMixer}. @category Stages */
export interface ChannelMixerStreamOptions extends ChannelMixerOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: interleaved PCM with `from` channels in, `to` channels out. Mono → stereo duplicates;
 * N → mono averages; any N → M with a `matrix[out][in]` of gains. s16 output is clipped, never
 * wrapped. Partial sample frames are carried between chunks.
 *
 * @example
 * ```ts
 * await pipeline(pcm24kMono, new Resampler({ from: 24000, to: 48000 }), new ChannelMixer({ from: 1, to: 2 }), discordRawSink)
 * ```
 * @category Stages
 */
export class ChannelMixer extends CoreStage<Buffer> {
  protected readonly core
  constructor(options: ChannelMixerStreamOptions) {
    super({ ...options.streamOptions, objectMode: false })
    this.core = createChannelMixer(options)
  }
}

/** Options of {@link PcmFramer}. @category Stages */
export interface PcmFramerOptions extends FramerOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: PCM in, frames of exactly `frameMs` (or `frameSamples`) out — 20 ms for Opus and
 * Discord, 10 ms for WebRTC. Every frame is an owned Buffer (its own ArrayBuffer, `byteOffset` 0,
 * exact length), because the WebRTC and LiveKit bindings read the whole underlying ArrayBuffer.
 * The short last frame is emitted as it is, or padded with silence when `padLast` is set.
 * @category Stages
 */
export class PcmFramer extends CoreStage<Buffer[]> {
  protected readonly core
  /** Bytes in one full frame. */
  readonly frameBytes: number
  /** The PCM format. */
  readonly format: PcmFormat
  constructor(options: PcmFramerOptions) {
    super({ ...options.streamOptions, objectMode: false })
    this.core = createFramer(options)
    this.frameBytes = this.core.frameBytes
    this.format = { ...options.format }
  }
}

/** Options of {@link G711Decoder}. @category Stages */
export interface G711DecoderOptions {
  /** Which law the input uses. */
  law: 'ulaw' | 'alaw'
  /** Sample rate of the input (carried into {@link G711Decoder.format}). @defaultValue `8000` */
  sampleRate?: number | undefined
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: G.711 μ-law or A-law bytes in, s16le PCM out, bit-exact with ITU-T G.711 (and
 * ffmpeg's `pcm_mulaw`/`pcm_alaw`) for all 256 codes.
 * @category Stages
 */
export class G711Decoder extends Transform {
  readonly #law: 'ulaw' | 'alaw'
  /** The PCM format this stage emits. */
  readonly format: PcmFormat
  constructor(options: G711DecoderOptions) {
    super({ ...options.streamOptions, objectMode: false })
    if (options.law !== 'ulaw' && options.law !== 'alaw') throw new InvalidOptionError('law', `must be 'ulaw' or 'alaw' (got ${String(options.law)})`)
    this.#law = options.law
    this.format = { sampleRate: options.sampleRate ?? 8000, channels: 1, encoding: 's16le' }
    assertPcmFormat(this.format, 'G711Decoder format')
  }
  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      callback(null, decodeG711(chunk, this.#law))
    } catch (err) {
      callback(err as Error)
    }
  }
}

/** Options of {@link HalfbandUpsampler}. @category Stages */
export interface HalfbandUpsamplerStreamOptions extends HalfbandUpsamplerOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: s16le mono in, s16le at twice the rate out, mono or stereo (the 24 kHz mono →
 * 48 kHz stereo step for Discord, in one pass). A polyphase IIR half-band filter: ~4× cheaper than
 * {@link Resampler} for 2×, flat to 10.5 kHz at 24 kHz in, ~137 dB stopband, not linear-phase
 * (see `halfband.core.ts`).
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req) // 24 kHz mono
 * await pipeline(pcm, new HalfbandUpsampler({ channels: 2 }), discordRawSink) // 48 kHz stereo
 * ```
 * @category Stages
 */
export class HalfbandUpsampler extends CoreStage<Buffer> {
  protected readonly core
  constructor(options: HalfbandUpsamplerStreamOptions = {}) {
    super({ ...options.streamOptions, objectMode: false })
    this.core = createHalfbandUpsampler(options)
  }
}
