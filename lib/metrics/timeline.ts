/**
 * When each step of one TTS request happened: {@link TtsTimeline} records the instants, to answer
 * "why is my first audio late?", and {@link TtsMetrics} adds the audio totals. `pcm()` and
 * `streamText()` keep one per stream (`.metrics`, and the `'metrics'` event on close).
 *
 * A handful of `performance.now()` calls per request.
 * @module
 */

/** When each step of one TTS request happened, in ms since `start` (undefined: not reached). */
export interface TtsTimings {
  /** `performance.now()` when the call was made (the origin of the other fields). */
  start: number
  /** The request was sent (after waiting for a concurrency slot). */
  requestSent?: number | undefined
  /** Response headers arrived: time to first byte, as the server saw it plus the network. */
  responseHeaders?: number | undefined
  /** The first body byte of the SSE stream was read. */
  firstSseByte?: number | undefined
  /** The first chunk message (SSE event) carrying audio was decoded. */
  firstAudioEvent?: number | undefined
  /** The first PCM byte left the client's last stage: time to first audio. */
  firstPcmByte?: number | undefined
  /** The stream ended (terminator and EOF) or failed. */
  end?: number | undefined
}

/** A per-request summary: the timeline plus audio duration and realtime factor. @category Client */
export interface TtsMetrics extends TtsTimings {
  /** Audio bytes delivered. */
  audioBytes: number
  /** Audio delivered, ms. */
  audioMs: number
  /** Audio duration divided by the wall time from start to end (2 = twice as fast as realtime). */
  realtimeFactor: number | undefined
  /** Retries made before the response. */
  retries: number
  /** True when the stream failed or was aborted. */
  failed: boolean
}

/** Records a request's timeline. Used by `LightningClient.pcm()`; usable by your own stages. @category Client */
export class TtsTimeline {
  readonly #start = performance.now()
  readonly #marks: Partial<Record<keyof Omit<TtsTimings, 'start'>, number>> = {}
  /** Retries counted. */
  retries = 0

  /** Records `step` now, the first time only. */
  mark(step: keyof Omit<TtsTimings, 'start'>): void {
    this.#marks[step] ??= performance.now() - this.#start
  }

  /** The timeline so far, with audio totals. */
  snapshot(audioBytes: number, audioMs: number, failed: boolean): TtsMetrics {
    const end = this.#marks.end
    return {
      start: this.#start,
      ...this.#marks,
      audioBytes,
      audioMs,
      realtimeFactor: end ? audioMs / end : undefined,
      retries: this.retries,
      failed,
    }
  }
}
