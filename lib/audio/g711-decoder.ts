import { CoreStage, type StageStreamOptions } from '../stage.js'
import type { PcmFormat } from './format.js'
import { createG711Decoder, type G711DecoderCore, type G711DecoderCoreOptions } from './g711-decoder.core.js'

/** Options of {@link G711Decoder}. */
export interface G711DecoderOptions extends G711DecoderCoreOptions {
  /** Options for the underlying Transform. */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: G.711 μ-law or A-law bytes in, s16le PCM out, bit-exact with ITU-T G.711 (and
 * ffmpeg's `pcm_mulaw`/`pcm_alaw`) for all 256 codes. The shell of {@link createG711Decoder}.
 *
 * @example
 * ```ts
 * const req = { text: 'Hi', voice_id: 'magnus', output_format: 'ulaw', sample_rate: 8000 } as const
 * await pipeline(client.stream(req), new SseParser(), new AudioChunkDecoder({ outputFormat: 'ulaw', sampleRate: 8000 }),
 *   new G711Decoder({ law: 'ulaw', sampleRate: 8000 }), sink)
 * ```
 */
export class G711Decoder extends CoreStage<Buffer, Buffer, G711DecoderCore> {
  /** The PCM format this stage emits. */
  readonly format: PcmFormat
  constructor(options: G711DecoderOptions) {
    const core = createG711Decoder(options)
    super(core, { writable: 'bytes', readable: 'bytes' }, options.streamOptions)
    this.format = { ...core.format }
  }
}
