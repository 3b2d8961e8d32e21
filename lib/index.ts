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
export {
  LightningClient,
  DEFAULT_BASE_URL,
  type LightningClientOptions,
  type CallOptions,
  type Timeouts,
  type PcmReadable,
  type SynthesizeResult,
  type Voice,
  type VoiceTags,
  type QueueState,
} from './client/client.js'
export { TtsSource, type TtsResponseInfo } from './client/tts-source.js'
export { TextToSpeechStream, PCM_HIGH_WATER, PCM_LOW_WATER, type TextToSpeechMetrics, type TextToSpeechStreamOptions } from './client/text-to-speech-stream.js'
export type { StreamTextOptions, PcmOptions, SegmentOptions } from './client/stream-text.js'
export { resolveStreamTextRequest, type StreamTextRequest, type ResolvedStreamTextRequest, type WordTimestamp } from './client/ws-protocol.js'
export type { SegmentInfo } from './client/segmented-source.js'
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
export { createSseParser, DEFAULT_MAX_EVENT_SIZE, type SseEvent, type SseParserCore, type SseParserCoreOptions } from './sse/sse-parser.core.js'
export { AudioChunkDecoder, type AudioChunkDecoderOptions } from './audio/audio-chunk-decoder.js'
export { createAudioChunkDecoder, decodeBase64Strict, type AudioChunkDecoderCore, type AudioChunkDecoderCoreOptions, type ChunkOutputFormat } from './audio/audio-chunk-decoder.core.js'
export { createSsePcmDecoder, type SsePcmDecoderCore, type SsePcmDecoderCoreOptions } from './audio/sse-pcm.core.js'
export { createHalfbandUpsampler, type HalfbandUpsamplerCore, type HalfbandUpsamplerCoreOptions } from './audio/halfband-upsampler.core.js'
export {
  assertPcmFormat,
  assertLittleEndianHost,
  bytesPerSampleFrame,
  bytesPerSample,
  describeFormat,
  durationMs,
  isPcmFormat,
  pcmFormat,
  DISCORD_FORMAT,
  LIGHTNING_FORMAT,
  type AudioFormat,
  type CodedEncoding,
  type PcmEncoding,
  type PcmFormat,
} from './audio/format.js'
export { wavHeader, parseWavHeader, WAV_UNKNOWN_SIZE, type WavInfo } from './audio/wav-header.js'
export { WavEncoder, writeWavFile, type WavEncoderOptions, type WavFileResult, type WriteWavFileOptions } from './audio/wav-encoder.js'
export { createWavEncoder, type WavEncoderCore, type WavEncoderCoreOptions } from './audio/wav-encoder.core.js'
export { ULAW_TO_LINEAR, ALAW_TO_LINEAR, linearToUlaw, linearToAlaw, encodeG711, decodeG711, type G711Law } from './audio/g711.js'
export { Resampler, type ResamplerOptions } from './audio/resampler.js'
export { createResampler, type ResamplerCore, type ResamplerCoreOptions, type ResolvedResamplerOptions } from './audio/resampler.core.js'
export { designFilterBank, RESAMPLER_DESIGNS, RESAMPLER_INTEGER_UP_DESIGNS, type FilterBank, type ResamplerDesign, type ResamplerQuality } from './audio/resampler-filter.js'
export { ChannelMixer, type ChannelMixerOptions } from './audio/channel-mixer.js'
export { createChannelMixer, defaultMixMatrix, type ChannelMixerCore, type ChannelMixerCoreOptions } from './audio/channel-mixer.core.js'
export { PcmFramer, type PcmFramerOptions } from './audio/pcm-framer.js'
export { createPcmFramer, frameBytesOf, type PcmFramerCore, type PcmFramerCoreOptions } from './audio/pcm-framer.core.js'
export { G711Decoder, type G711DecoderOptions } from './audio/g711-decoder.js'
export { createG711Decoder, type G711DecoderCore, type G711DecoderCoreOptions } from './audio/g711-decoder.core.js'
export { HalfbandUpsampler, type HalfbandUpsamplerOptions } from './audio/halfband-upsampler.js'
export { UnitCarry, int16View, float32View } from './audio/pcm-buffers.js'
export type { StageStreamOptions } from './stage.js'
export { convertPcm, type ConvertStages } from './audio/convert.js'
export { instrument, stageMetrics, TtsTimeline, type StageMetrics, type TtsMetrics, type TtsTimings } from './metrics/metrics.js'
export { OpusEncoder, type OpusEncoderOptions } from './codecs/opus-encoder.js'
export { createOpusEncoder, type OpusEncoderCore, type OpusEncoderCoreOptions } from './codecs/opus-encoder.core.js'
export { createOggOpusChain, type OggOpusChainOptions } from './codecs/ogg-opus-chain.js'
export { opusPacketSamples, type OpusHead, type OpusStreamEnd } from './codecs/opus-packet.js'
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
export { OggOpusMuxer, type OggOpusMuxerOptions } from './codecs/ogg-opus-muxer.js'
export { createOggOpusMuxer, oggCrc32, type OggOpusMuxerCore, type OggOpusMuxerCoreOptions } from './codecs/ogg-opus-muxer.core.js'
export { FfmpegTranscoder, FfmpegError, type FfmpegTranscoderOptions, type FfmpegExit } from './codecs/ffmpeg-transcoder.js'
export { ffmpegArgs, AUDIO_MEDIA_TYPES, type AudioMediaType, type FfmpegArgsOptions, type FfmpegOutput, type FfmpegContainerInput } from './codecs/ffmpeg-args.js'
export { Pacer, type PacerOptions, type PacerMetrics } from './sinks/pacer.js'
export {
  createDiscordStream,
  DISCORD_STREAM_TYPES,
  StreamType as DiscordStreamType,
  type DiscordMode,
  type DiscordStream,
  type DiscordStreamMetrics,
  type DiscordStreamOptions,
  type DiscordStreamTypes,
} from './sinks/discord.js'
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
export {
  sendAudio,
  audioErrorResponse,
  type HttpAudioFormat,
  type HttpErrorBody,
  type HttpErrorResponse,
  type SendAudioErrorInfo,
  type SendAudioOptions,
} from './sinks/http.js'
export {
  WrtcAudioSink,
  LiveKitAudioSink,
  type WrtcAudioSinkOptions,
  type LiveKitAudioSinkOptions,
  type LiveKitSinkMetrics,
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
