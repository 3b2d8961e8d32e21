/**
 * lightning-stream: Smallest.ai Lightning v3.1 text-to-speech as composable Node streams.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs'
 * import { pipeline } from 'node:stream/promises'
 * import { LightningClient } from 'lightning-stream'
 *
 * const client = new LightningClient()
 * await pipeline(client.pcm({ text: 'Hello!', voice_id: 'magnus' }), createWriteStream('hello.pcm'))
 * ```
 * @module
 */
export { LightningClient, type SynthesizeResult, type QueueState } from './client/client.js'
export { DEFAULT_BASE_URL, type LightningClientOptions, type CallOptions, type Timeouts, type PcmOptions, type SegmentOptions } from './client/client-options.js'
export type { Voice, VoiceTags } from './client/voices.js'
export { PcmStream, type PcmStreamEvents, type PcmReadable } from './client/pcm-stream.js'
export { TtsSource, type TtsResponseInfo } from './client/tts-source.js'
export { TextToSpeechStream, PCM_HIGH_WATER, PCM_LOW_WATER, type TextToSpeechMetrics, type TextToSpeechStreamOptions } from './client/text-to-speech-stream.js'
export type { StreamTextOptions } from './client/stream-text.js'
export { resolveStreamTextRequest, type StreamTextRequest, type ResolvedStreamTextRequest, type WordTimestamp } from './client/ws-protocol.js'
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
export { isRetryable, resolveRetry, retryAfterMs, retryDelay, RETRY_STATUSES, type RetryInfo, type RetryOptions, type RetryPolicy } from './client/retry.js'
export {
  checkTtsRequest,
  resolveTtsRequest,
  MODELS,
  SAMPLE_RATES,
  OUTPUT_FORMATS,
  LANGUAGES,
  REQUEST_DEFAULTS,
  type RequestDefaults,
  type TtsRequest,
  type ResolvedTtsRequest,
  type Model,
  type SampleRate,
  type OutputFormat,
  type Language,
  type CheckOptions,
} from './client/request.js'
export { SseParser, type SseParserOptions } from './sse/sse-parser.js'
export { createSseDecoder, DEFAULT_MAX_EVENT_SIZE, type SseEvent, type SseDecoder, type SseDecoderOptions } from './sse/core.js'
export { AudioChunkDecoder, type AudioChunkDecoderOptions } from './audio/audio-chunk-decoder.js'
export { createFrameDecoder, decodeBase64Strict, type FrameDecoder, type FrameDecoderOptions } from './audio/frames.js'
export { createSsePcmDecoder, type SsePcmDecoder, type SsePcmDecoderOptions } from './audio/sse-pcm.core.js'
export { createHalfbandUpsampler, type HalfbandUpsamplerCore, type HalfbandUpsamplerOptions } from './audio/halfband.core.js'
export {
  assertPcmFormat,
  assertLittleEndianHost,
  bytesPerFrame,
  bytesPerSample,
  describeFormat,
  durationMs,
  isPcmFormat,
  type AudioFormat,
  type CodedEncoding,
  type PcmEncoding,
  type PcmFormat,
} from './audio/format.js'
export { wavHeader, parseWavHeader, WAV_UNKNOWN_SIZE, type WavInfo } from './audio/wav-header.js'
export { WavEncoder, writeWavFile, type WavEncoderOptions, type WavFileResult, type WriteWavFileOptions } from './audio/wav-encoder.js'
export { ULAW_TO_LINEAR, ALAW_TO_LINEAR, linearToUlaw, linearToAlaw, encodeG711 } from './audio/g711.js'
export { Resampler, type ResamplerStreamOptions } from './audio/resampler.js'
export {
  createResamplerCore,
  designFilterBank,
  RESAMPLER_DESIGNS,
  RESAMPLER_INTEGER_UP_DESIGNS,
  type FilterBank,
  type ResamplerDesign,
  type ResamplerCore,
  type ResamplerOptions,
  type ResamplerQuality,
  type ResolvedResamplerOptions,
} from './audio/resample-core.js'
export {
  ChannelMixer,
  PcmFramer,
  G711Decoder,
  HalfbandUpsampler,
  type HalfbandUpsamplerStreamOptions,
  type ChannelMixerStreamOptions,
  type PcmFramerOptions,
  type G711DecoderOptions,
  type StageStreamOptions,
} from './audio/pcm-stages.js'
export {
  createChannelMixer,
  createFramer,
  decodeG711,
  defaultMixMatrix,
  frameBytesOf,
  UnitCarry,
  type ChannelMixerOptions,
  type ChannelMixerCore,
  type FramerCore,
  type FramerOptions,
  int16View,
  float32View,
} from './audio/pcm-ops.js'
export { convertPcm } from './audio/convert.js'
export { instrument, stageMetrics, type StageMetrics } from './metrics/instrument.js'
export { TtsTimeline, type TtsMetrics, type TtsTimings } from './metrics/timeline.js'
export { OpusEncoder, type OpusEncoderOptions } from './codecs/opus-encoder.js'
export { OpusEncoderPool, OpusWorkerError, sharedOpusEncoderPool, type OpusEncoderPoolOptions, type OpusPoolQueue, type OpusPoolStats, type PooledOpusEngine } from './codecs/opus-pool.js'
export {
  createOpusEngine,
  opusEngineReport,
  OpusEngineMissingError,
  OPUS_ENGINES,
  type OpusApplication,
  type OpusEngine,
  type OpusEngineName,
  type OpusEngineSettings,
} from './codecs/opus-engines.js'
export { OggOpusMuxer, oggCrc32, opusPacketSamples, type OggOpusMuxerOptions } from './codecs/ogg-opus.js'
export { FfmpegTranscoder, FfmpegError, ffmpegArgs, FFMPEG_CONTENT_TYPES, type FfmpegOutput, type FfmpegTranscoderOptions, type FfmpegExit, type FfmpegContainerInput } from './codecs/ffmpeg.js'
export { Pacer, type PacerOptions, type PacerMetrics } from './sinks/pacer.js'
export { createDiscordStream, DISCORD_STREAM_TYPES, type DiscordMode, type DiscordStream, type DiscordStreamOptions, type DiscordStreamTypes } from './sinks/discord.js'
export { sendAudio, type HttpAudioFormat, type SendAudioOptions } from './sinks/http.js'
export {
  WrtcAudioSink,
  LiveKitAudioSink,
  type WrtcAudioSinkOptions,
  type LiveKitAudioSinkOptions,
  type RtcAudioSourceLike,
  type LiveKitAudioSourceLike,
} from './sinks/rtc.js'
export {
  PlayedWords,
  playheadOf,
  type Playhead,
  type PlayheadSink,
  type PlayedWordsOptions,
  type PacedFrameCounts,
  type PacedSinkLike,
  type PacedStreamLike,
  type CapturingSinkLike,
} from './sinks/played-words.js'
export * from './errors.js'
export { VERSION } from './version.js'
