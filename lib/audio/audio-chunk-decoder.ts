import { CoreStage, type StageStreamOptions } from '../stage.js'
import type { AudioDelivered } from '../errors.js'
import type { SseEvent } from '../sse/sse-parser.core.js'
import type { AudioFormat } from './format.js'
import { createAudioChunkDecoder, type AudioChunkDecoderCore, type AudioChunkDecoderCoreOptions } from './audio-chunk-decoder.core.js'
import type { TtsTimeline } from '../metrics/timeline.js'

/** Options of {@link AudioChunkDecoder}. */
export interface AudioChunkDecoderOptions extends AudioChunkDecoderCoreOptions {
  /** Records `firstAudioEvent` and `firstPcmByte` on this timeline. */
  timeline?: TtsTimeline | undefined
  /** Options for the underlying Transform (the object-mode writable side is forced). */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: {@link SseEvent} objects in (Lightning's chunk messages), audio bytes out (s16le
 * mono PCM for `pcm` and `wav`; G.711 or MP3 bytes for `ulaw`, `alaw`, `mp3`, as
 * {@link AudioChunkDecoder.format} says). The shell of {@link createAudioChunkDecoder}.
 *
 * - Dispatches on the message's JSON, not on the event name; ends at `done === true`. Events
 *   after the terminator are ignored (bytes that break the SSE layer, such as an event over
 *   `maxEventSize`, still fail the stream).
 * - PCM output is sample-aligned: an odd trailing byte is carried into the next chunk.
 * - For `wav`, a RIFF header at the start of a chunk is checked and stripped.
 * - Its own errors are coded and say how much audio it delivered (`delivered`):
 *   `ERR_CHUNK_INVALID_JSON`, `ERR_CHUNK_INVALID_BASE64`, `ERR_CHUNK_INVALID`,
 *   `ERR_SERVER_ERROR_FRAME`, and `ERR_STREAM_TRUNCATED` when input ends before the terminator.
 *   An error from upstream passes through untouched: each stage reports its own failures.
 *
 * Emits `'done'` when the terminator arrives.
 *
 * @example
 * ```ts
 * await pipeline(client.stream(req), new SseParser(), new AudioChunkDecoder({ sampleRate: 24000 }),
 *   createWriteStream('out.pcm'))
 * ```
 */
export class AudioChunkDecoder extends CoreStage<SseEvent, Buffer | null, AudioChunkDecoderCore> {
  readonly #timeline: TtsTimeline | undefined
  #doneEmitted = false

  constructor(options: AudioChunkDecoderOptions = {}) {
    super(createAudioChunkDecoder(options), { writable: 'objects', readable: 'bytes', writableHighWaterMark: 8 }, options.streamOptions)
    this.#timeline = options.timeline
  }

  /** The format of the bytes this stage emits. */
  get format(): AudioFormat {
    return this.core.format
  }

  /** True once the terminator was seen. */
  get done(): boolean {
    return this.core.done
  }

  /** Audio delivered so far: chunk messages with audio, bytes, milliseconds. */
  get delivered(): AudioDelivered {
    return this.core.delivered()
  }

  /** @internal */
  protected override deliver(out: Buffer | null, done: (err?: Error | null) => void): void {
    if (out && this.#timeline) {
      this.#timeline.mark('firstAudioEvent')
      this.#timeline.mark('firstPcmByte')
    }
    super.deliver(out, (err) => {
      if (!this.#doneEmitted && this.core.done) {
        this.#doneEmitted = true
        this.emit('done')
      }
      done(err)
    })
  }
}
