/**
 * lightning-stream: Smallest.ai Lightning v3.1 text-to-speech as composable Node streams.
 *
 * The root export is what a program that speaks needs: the client and the streams it returns, the
 * stages (Transforms), the sinks, the formats, and the errors. The pure cores behind the stages,
 * the request validators and the vendor's enums are in `lightning-stream/core`; the local server
 * is `lightning-stream/emulator`.
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

// The client and the streams it returns.
export { LightningClient, type SynthesizeResult, type QueueState } from './client/client.js'
export type { LightningClientOptions, CallOptions, PcmOptions, SegmentOptions, Timeouts } from './client/client-options.js'
export { PcmStream, type PcmStreamEvents, type PcmReadable } from './client/pcm-stream.js'
export { TextToSpeechStream, type TextToSpeechStreamEvents, type TextToSpeechMetrics } from './client/text-to-speech-stream.js'
export type { StreamTextOptions } from './client/stream-text.js'
export { TtsSource, type TtsResponseInfo } from './client/tts-source.js'
export type { TtsRequest } from './client/request.js'
export type { StreamTextRequest, WordTimestamp } from './client/ws-protocol.js'
export type { RetryOptions, RetryInfo } from './client/retry.js'
export type { Voice, VoiceTags } from './client/voices.js'
export type { TtsMetrics, TtsTimeline } from './metrics/timeline.js'

// The stages, in the order of the flow.
export { SseParser, type SseParserOptions } from './sse/sse-parser.js'
export { AudioChunkDecoder, type AudioChunkDecoderOptions } from './audio/audio-chunk-decoder.js'
export { G711Decoder, type G711DecoderOptions } from './audio/g711-decoder.js'
export { ChannelMixer, type ChannelMixerOptions } from './audio/channel-mixer.js'
export { PcmFramer, type PcmFramerOptions } from './audio/pcm-framer.js'
export { HalfbandUpsampler, type HalfbandUpsamplerOptions } from './audio/halfband-upsampler.js'
export type { StageStreamOptions } from './stage.js'
export { Resampler, type ResamplerOptions } from './audio/resampler.js'
export type { ResamplerQuality } from './audio/resampler-filter.js'
export { WavEncoder, writeWavFile, type WavEncoderOptions, type WriteWavFileOptions, type WavFileResult } from './audio/wav-encoder.js'
export { OpusEncoder, type OpusEncoderOptions } from './codecs/opus-encoder.js'
export { OpusEncoderPool, OpusWorkerError, type OpusEncoderPoolOptions, type OpusPoolStats, type OpusPoolQueue, type PooledOpusEngine } from './codecs/opus-pool.js'
export {
  opusEngineReport,
  OpusEngineMissingError,
  OPUS_ENGINES,
  type OpusEngineName,
  type OpusApplication,
  type OpusEngine,
  type OpusEngineSettings,
} from './codecs/opus-engines.js'
export { OggOpusMuxer, type OggOpusMuxerOptions } from './codecs/ogg-opus-muxer.js'
export { createOggOpusChain, type OggOpusChainOptions } from './codecs/ogg-opus-chain.js'
export { createOutputChain, OUTPUT_KINDS, type OutputKind, type OutputChain, type OutputChainOptions, type OutputEncoder } from './codecs/output-chain.js'
export { OPUS_SAMPLE_RATES, type OpusHead } from './codecs/opus-packet.js'
export { FfmpegTranscoder, FfmpegError, type FfmpegTranscoderOptions, type FfmpegExit } from './codecs/ffmpeg-transcoder.js'
export type { FfmpegOutput, FfmpegContainerInput } from './codecs/ffmpeg-args.js'
export { Pacer, type PacerOptions, type PacerMetrics } from './sinks/pacer.js'
export { convertPcm, type ConvertStages } from './audio/convert.js'
export { instrument, stageMetrics, type StageMetrics } from './metrics/instrument.js'

// The sinks: they take PCM with a format.
export { createDiscordStream, StreamType as DiscordStreamType, type DiscordStream, type DiscordStreamOptions, type DiscordStreamMetrics, type DiscordMode } from './sinks/discord.js'
export { sendAudio, audioErrorResponse, type SendAudioOptions, type SendAudioErrorInfo, type HttpAudioFormat, type HttpErrorResponse, type HttpErrorBody } from './sinks/http.js'
export { WrtcAudioSink, LiveKitAudioSink, type WrtcAudioSinkOptions, type LiveKitAudioSinkOptions, type LiveKitSinkMetrics } from './sinks/rtc.js'
export { PlayedWords, playheadOf, type PlayedWordsOptions } from './sinks/played-words.js'

// Formats.
export { pcmFormat, DISCORD_FORMAT, LIGHTNING_FORMAT, type PcmFormat, type AudioFormat, type PcmEncoding } from './audio/format.js'

// Errors.
export {
  LightningStreamError,
  InvalidRequestError,
  InvalidOptionError,
  MissingApiKeyError,
  ApiError,
  ConnectionError,
  TimeoutError,
  AbortError,
  ProtocolError,
  SseParseError,
  ChunkError,
  ServerStreamError,
  StreamTruncatedError,
  AudioFormatError,
  ERROR_CODES,
  type ErrorCode,
  type AudioDelivered,
  type SegmentInfo,
  type RequestIssue,
  type ResponseIds,
} from './errors.js'

export { VERSION } from './version.js'
