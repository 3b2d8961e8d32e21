import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createHalfbandUpsampler, type HalfbandUpsamplerCore, type HalfbandUpsamplerCoreOptions } from './halfband-upsampler.core.js'

/** Options of {@link HalfbandUpsampler}. */
export interface HalfbandUpsamplerOptions extends HalfbandUpsamplerCoreOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: s16le mono in, s16le at twice the rate out, mono or stereo (the 24 kHz mono →
 * 48 kHz stereo step for Discord, in one pass). A polyphase IIR half-band filter: ~4× cheaper than
 * {@link Resampler} for 2×, flat to 10.5 kHz at 24 kHz in, ~137 dB stopband, not linear-phase
 * (see `halfband-upsampler.core.ts`). The shell of {@link createHalfbandUpsampler}.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req) // 24 kHz mono
 * await pipeline(pcm, new HalfbandUpsampler({ channels: 2 }), discordRawSink) // 48 kHz stereo
 * ```
 */
export class HalfbandUpsampler extends CoreStage<Buffer, Buffer, HalfbandUpsamplerCore> {
  constructor(options: HalfbandUpsamplerOptions = {}) {
    super(createHalfbandUpsampler(options), { writable: 'bytes', readable: 'bytes' }, options.streamOptions)
  }
}
