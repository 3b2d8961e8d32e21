import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createChannelMixer, type ChannelMixerCore, type ChannelMixerCoreOptions } from './channel-mixer.core.js'

/** Options of {@link ChannelMixer}. */
export interface ChannelMixerOptions extends ChannelMixerCoreOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: interleaved PCM with `from` channels in, `to` channels out. Mono → stereo duplicates;
 * N → mono averages; any N → M with a `matrix[out][in]` of gains. s16 output is clipped, never
 * wrapped. Partial sample frames are carried between chunks. The shell of {@link createChannelMixer}.
 *
 * @example
 * ```ts
 * await pipeline(pcm24kMono, new Resampler({ from: 24000, to: 48000 }), new ChannelMixer({ from: 1, to: 2 }), discordRawSink)
 * ```
 */
export class ChannelMixer extends CoreStage<Buffer, Buffer, ChannelMixerCore> {
  constructor(options: ChannelMixerOptions) {
    super(createChannelMixer(options), { writable: 'bytes', readable: 'bytes' }, options.streamOptions)
  }
}
