/**
 * The stream `LightningClient.pcm()` returns (issue 16's fused path): a {@link TtsSource} that
 * runs each network chunk of the response body through the fused SSE → PCM core and pushes one
 * PCM Buffer per chunk. `format`, `delivered` and `metrics` live on the prototype: accessors
 * defined per instance (`Object.defineProperty`) cost GC time on every request.
 * @module
 */
import type { AudioDelivered } from '../errors.js'
import type { PcmFormat } from '../audio/format.js'
import type { SsePcmDecoderCore as SsePcmDecoder } from '../audio/sse-pcm.core.js'
import type { TtsMetrics, TtsTimeline } from '../metrics/metrics.js'
import { TtsSource, type TtsSourceInit } from './tts-source.js'

/** @internal */
export class PcmSource extends TtsSource {
  /** The PCM format of the bytes (s16le mono at the requested rate). */
  readonly format: PcmFormat
  readonly #core: SsePcmDecoder
  readonly #timeline: TtsTimeline
  #failed = false

  constructor(init: TtsSourceInit, core: SsePcmDecoder, timeline: TtsTimeline) {
    super({ ...init, decoder: core, timeline })
    this.#core = core
    this.#timeline = timeline
    this.format = { sampleRate: core.format.sampleRate, channels: 1, encoding: 's16le' }
    this.once('error', () => (this.#failed = true))
    this.once('close', () => {
      timeline.mark('end')
      this.emit('metrics', this.metrics)
    })
  }

  /** Audio frames and bytes decoded so far (before G.711 expansion for `ulaw`/`alaw`). */
  get delivered(): AudioDelivered {
    return this.#core.delivered()
  }

  /** The request's timeline, audio delivered and realtime factor, so far. */
  get metrics(): TtsMetrics {
    const d = this.#core.delivered()
    return this.#timeline.snapshot(d.bytes, d.durationMs ?? 0, this.#failed)
  }
}
