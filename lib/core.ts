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
export { createSseParser, DEFAULT_MAX_EVENT_SIZE, type SseEvent, type SseParserCore, type SseParserCoreOptions } from './sse/sse-parser.core.js'
export { createAudioChunkDecoder, decodeBase64Strict, type AudioChunkDecoderCore, type AudioChunkDecoderCoreOptions, type ChunkOutputFormat } from './audio/audio-chunk-decoder.core.js'
export { createSsePcmDecoder, type SsePcmDecoderCore, type SsePcmDecoderCoreOptions } from './audio/sse-pcm.core.js'

// PCM processing.
export { decodeG711, ULAW_TO_LINEAR, ALAW_TO_LINEAR, linearToUlaw, linearToAlaw, encodeG711, type G711Law } from './audio/g711.js'
export { createG711Decoder, type G711DecoderCore, type G711DecoderCoreOptions } from './audio/g711-decoder.core.js'
export { createChannelMixer, defaultMixMatrix, type ChannelMixerCore, type ChannelMixerCoreOptions } from './audio/channel-mixer.core.js'
export { createPcmFramer, frameBytesOf, type PcmFramerCore, type PcmFramerCoreOptions } from './audio/pcm-framer.core.js'
export { createResampler, type ResamplerCore, type ResamplerCoreOptions, type ResolvedResamplerOptions } from './audio/resampler.core.js'
export { RESAMPLER_DESIGNS, RESAMPLER_INTEGER_UP_DESIGNS, type ResamplerDesign, type ResamplerQuality } from './audio/resampler-filter.js'
export { createHalfbandUpsampler, type HalfbandUpsamplerCore, type HalfbandUpsamplerCoreOptions } from './audio/halfband-upsampler.core.js'
export { createWavEncoder, type WavEncoderCore, type WavEncoderCoreOptions } from './audio/wav-encoder.core.js'

// Opus and Ogg.
export { createOpusEncoder, type OpusEncoderCore, type OpusEncoderCoreOptions } from './codecs/opus-encoder.core.js'
export { createOggOpusMuxer, oggCrc32, type OggOpusMuxerCore, type OggOpusMuxerCoreOptions } from './codecs/ogg-opus-muxer.core.js'
export { opusPacketSamples, type OpusStreamEnd } from './codecs/opus-packet.js'

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

// Wall-clock pacing (the timer-driven clock behind Pacer and the WebRTC sink): time is passed in.
export {
  createPacerCore,
  type PacerCore,
  type PacerCoreOptions,
  type PacerDecision,
  type PacerFrame,
  type PacerSilence,
  type PacerEnd,
  type PacerStop,
  type PacerWait,
  type PacerMetrics,
} from './sinks/pacer.core.js'

// Formats and containers.
export { assertPcmFormat, isPcmFormat, bytesPerSampleFrame, bytesPerSample, describeFormat, durationMs, type CodedEncoding } from './audio/format.js'
export { wavHeader, parseWavHeader, WAV_UNKNOWN_SIZE, type WavInfo } from './audio/wav-header.js'

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
