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
export type { TtsMetrics } from './metrics/timeline.js'

// The stages, in the order of the flow.
export { SseParser } from './sse/sse-parser.js'
export { AudioChunkDecoder } from './audio/audio-chunk-decoder.js'
export { G711Decoder, ChannelMixer, PcmFramer, HalfbandUpsampler } from './audio/pcm-stages.js'
export { Resampler } from './audio/resampler.js'
export { WavEncoder, writeWavFile } from './audio/wav-encoder.js'
export { OpusEncoder } from './codecs/opus-encoder.js'
export { OpusEncoderPool, OpusWorkerError } from './codecs/opus-pool.js'
export { opusEngineReport, OpusEngineMissingError } from './codecs/opus-engines.js'
export { OggOpusMuxer } from './codecs/ogg-opus.js'
export { FfmpegTranscoder, FfmpegError } from './codecs/ffmpeg.js'
export { Pacer } from './sinks/pacer.js'
export { convertPcm } from './audio/convert.js'
export { instrument, stageMetrics, type StageMetrics } from './metrics/instrument.js'

// The sinks: they take PCM with a format.
export { createDiscordStream, type DiscordStream, type DiscordStreamOptions } from './sinks/discord.js'
export { sendAudio, type SendAudioOptions } from './sinks/http.js'
export { WrtcAudioSink, LiveKitAudioSink, type WrtcAudioSinkOptions, type LiveKitAudioSinkOptions } from './sinks/rtc.js'
export { PlayedWords, playheadOf, type PlayedWordsOptions } from './sinks/played-words.js'

// Formats.
export type { PcmFormat, AudioFormat } from './audio/format.js'

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
  FrameError,
  ServerStreamError,
  StreamTruncatedError,
  AudioFormatError,
  ERROR_CODES,
  type ErrorCode,
  type AudioDelivered,
  type SegmentInfo,
} from './errors.js'

export { VERSION } from './version.js'
