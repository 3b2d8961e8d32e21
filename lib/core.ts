/**
 * `lightning-stream/core`: the pure cores behind the stages, and the vendor's request rules.
 *
 * Each stage of the root export is a thin Transform around one of these: a `push(chunk) → output`
 * / `flush() → output` object with no stream, no timer and no I/O. Use them to run the same logic
 * outside Node streams (a Web stream, a worker, a tight loop), or to test your own stages.
 *
 * @example
 * ```ts
 * import { createSsePcmDecoder } from 'lightning-stream/core'
 *
 * const decoder = createSsePcmDecoder({ format: { sampleRate: 24000, channels: 1, encoding: 's16le' } })
 * for (const bytes of sseChunks) for (const pcm of decoder.push(bytes)) play(pcm)
 * decoder.flush()
 * ```
 *
 * In the API documentation these are listed with the root export, under the "Cores" and "Request
 * rules" categories.
 * @module
 * @mergeModuleWith index
 */

// SSE → events → audio chunks → PCM.
export { createSseDecoder, DEFAULT_MAX_EVENT_SIZE, type SseEvent, type SseDecoder, type SseDecoderOptions } from './sse/core.js'
export { createFrameDecoder, decodeBase64Strict, type FrameDecoder, type FrameDecoderOptions } from './audio/frames.js'
export { createSsePcmDecoder, type SsePcmDecoder, type SsePcmDecoderOptions } from './audio/sse-pcm.core.js'

// PCM processing.
export { decodeG711, createChannelMixer, defaultMixMatrix, createFramer, type ChannelMixerCore, type ChannelMixerOptions, type FramerCore, type FramerOptions } from './audio/pcm-ops.js'
export { ULAW_TO_LINEAR, ALAW_TO_LINEAR, linearToUlaw, linearToAlaw, encodeG711 } from './audio/g711.js'
export { createResamplerCore, type ResamplerCore, type ResamplerOptions } from './audio/resample-core.js'
export { createHalfbandUpsampler, type HalfbandUpsamplerCore, type HalfbandUpsamplerOptions } from './audio/halfband.core.js'

// Realtime playout (the read-driven buffer behind createDiscordStream).
export {
  createPlayout,
  type Playout,
  type PlayoutAudio,
  type PlayoutEnd,
  type PlayoutMetrics,
  type PlayoutOptions,
  type PlayoutRead,
  type PlayoutSilence,
  type PlayoutWait,
} from './sinks/playout.core.js'

// Formats and containers.
export { assertPcmFormat, isPcmFormat, bytesPerFrame, bytesPerSample, describeFormat, durationMs, type CodedEncoding } from './audio/format.js'
export { wavHeader, parseWavHeader, WAV_UNKNOWN_SIZE, type WavInfo } from './audio/wav-header.js'
export { oggCrc32, opusPacketSamples } from './codecs/ogg-opus.js'

// Text.
export {
  createSentenceSegmenter,
  segmentText,
  mergeSegments,
  ABBREVIATIONS,
  MAX_SEGMENT_CHARS,
  TARGET_SEGMENT_CHARS,
  type SentenceSegmenter,
  type SentenceSegmenterOptions,
  type SegmentTextOptions,
  type MergeOptions,
  type AbbreviationList,
} from './text/sentence-segmenter.js'

// The vendor's request rules and enums.
export {
  checkTtsRequest,
  resolveTtsRequest,
  MODELS,
  SAMPLE_RATES,
  OUTPUT_FORMATS,
  LANGUAGES,
  REQUEST_DEFAULTS,
  type RequestDefaults,
  type ResolvedTtsRequest,
  type Model,
  type SampleRate,
  type OutputFormat,
  type Language,
  type CheckOptions,
} from './client/request.js'
export { resolveStreamTextRequest, type ResolvedStreamTextRequest } from './client/ws-protocol.js'
