/**
 * Assembly of {@link TextToSpeechStream}s for `LightningClient.streamText()` (WebSocket or
 * sentence-segmented SSE), and of the segmented {@link PcmStream} of `pcm()` on long text. The
 * client hands in what the transports need (never the API key itself: a header function).
 * @internal
 * @module
 */
import type { Readable } from 'node:stream'
import { InvalidOptionError, InvalidRequestError } from '../errors.js'
import type { PcmFormat } from '../audio/format.js'
import { MAX_SEGMENT_CHARS, TARGET_SEGMENT_CHARS } from '../text/sentence-segmenter.js'
import type { PcmOptions } from './client-options.js'
import { PcmStream } from './pcm-stream.js'
import type { ResolvedTtsRequest, TtsRequest } from './request.js'
import { SegmentedTransport, type SegmentedInit } from './segmented-source.js'
import { TextToSpeechStream, type TextToSpeechStreamOptions } from './text-to-speech-stream.js'
import type { TtsResponseInfo } from './tts-source.js'
import { resolveStreamTextRequest, type StreamTextRequest } from './ws-protocol.js'
import { WsTransport, type ClientConnection } from './ws-transport.js'

/** Options of `LightningClient.streamText()`. @category Client */
export interface StreamTextOptions extends TextToSpeechStreamOptions {
  /**
   * `'websocket'`: the vendor's incremental route, one socket for the whole stream (word
   * timestamps, lowest latency). `'sse'`: text cut into sentences, one SSE request each, stitched.
   * @defaultValue `'websocket'`
   */
  transport?: 'websocket' | 'sse' | undefined
  /**
   * WebSocket: send a flush at every sentence end the segmenter decides, so each sentence is
   * spoken as soon as it is complete, whatever the server's own buffering. @defaultValue `true`
   */
  autoFlush?: boolean | undefined
  /**
   * WebSocket: send a one-space keep-alive message when nothing was sent for this long, ms;
   * `false` disables it. @defaultValue half the server idle timeout (`?timeout=`, from `timeouts.idle`)
   */
  keepAliveMs?: number | false | undefined
  /** Longest segment (SSE request, or auto-flushed sentence), characters. @defaultValue `250` */
  maxChars?: number | undefined
  /** SSE: merge short sentences up to this length, characters. @defaultValue `140` */
  targetChars?: number | undefined
  /** SSE: segments requested ahead of the one being read (within `maxConcurrent`). @defaultValue `1` */
  prefetch?: number | undefined
}

/** What the client gives the assembly. @internal */
export interface StreamTextContext extends ClientConnection {
  maxConcurrent: number
  /** `pcm()` with segmentation off. */
  pcm: (request: TtsRequest, signal: AbortSignal) => Readable
}

function positiveInt(name: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidOptionError(name, `must be an integer ≥ ${min} (got ${String(v)})`)
  return v
}

function checkSegmentOptions(o: { maxChars?: unknown; targetChars?: unknown; prefetch?: unknown }) {
  return {
    maxChars: positiveInt('maxChars', o.maxChars, 20),
    targetChars: positiveInt('targetChars', o.targetChars, 1),
    prefetch: positiveInt('prefetch', o.prefetch, 0),
  }
}

/** `streamText()`. */
export function createStreamText(ctx: StreamTextContext, request: StreamTextRequest, options: StreamTextOptions = {}): TextToSpeechStream {
  const config = resolveStreamTextRequest(request)
  const transport = options.transport ?? 'websocket'
  if (transport !== 'websocket' && transport !== 'sse') throw new InvalidOptionError('transport', `must be 'websocket' or 'sse' (got ${String(transport)})`)
  const seg = checkSegmentOptions(options)
  const format: PcmFormat = { sampleRate: config.sample_rate, channels: 1, encoding: 's16le' }
  if (transport === 'sse') {
    if (config.word_timestamps) {
      throw new InvalidRequestError([
        { path: ['word_timestamps'], code: 'custom', message: "the SSE route has no word timestamps: use transport 'websocket', or drop word_timestamps" },
      ])
    }
    const { complete_backoff_ms: _c, max_buffer_flush_ms: _m, ...base } = config
    return segmented(ctx, format, base, { ...seg, signal: options.signal, highWaterMark: options.highWaterMark })
  }
  const keepAlive = options.keepAliveMs
  if (keepAlive !== undefined && keepAlive !== false && (typeof keepAlive !== 'number' || !(keepAlive >= 100))) {
    throw new InvalidOptionError('keepAliveMs', `must be false or a number of ms ≥ 100 (got ${String(keepAlive)})`)
  }
  const serverTimeoutSeconds = Math.max(1, Math.ceil(ctx.timeouts.idle / 1000))
  return new TextToSpeechStream(
    format,
    (hooks) =>
      new WsTransport(
        {
          baseUrl: ctx.baseUrl,
          headers: ctx.headers,
          slots: ctx.slots,
          retry: ctx.retry,
          timeouts: ctx.timeouts,
          config,
          autoFlush: options.autoFlush ?? true,
          maxChars: seg.maxChars,
          keepAliveMs: keepAlive ?? (serverTimeoutSeconds * 1000) / 2,
          serverTimeoutSeconds,
        },
        hooks,
      ),
    options,
  )
}

/** The segmented transport's settings. */
interface SegmentedSettings {
  maxChars?: number | undefined
  targetChars?: number | undefined
  prefetch?: number | undefined
}

function segmentedInit(ctx: StreamTextContext, base: Omit<TtsRequest, 'text'>, o: SegmentedSettings, onResponse: SegmentedInit['onResponse']): SegmentedInit {
  return { base, request: ctx.pcm, prefetch: o.prefetch ?? 1, maxChars: o.maxChars, targetChars: o.targetChars, onResponse }
}

function segmented(
  ctx: StreamTextContext,
  format: PcmFormat,
  base: Omit<TtsRequest, 'text'>,
  o: SegmentedSettings & { signal?: AbortSignal | undefined; highWaterMark?: number | undefined },
): TextToSpeechStream {
  const stream: TextToSpeechStream = new TextToSpeechStream(
    format,
    (hooks) => new SegmentedTransport(segmentedInit(ctx, base, o, (info) => stream.emit('response', info)), hooks),
    { signal: o.signal, highWaterMark: o.highWaterMark },
  )
  return stream
}

/**
 * `pcm()` on text longer than the cap: a {@link PcmStream} over the segmented transport, whose
 * input is the whole text, already ended. Returns undefined when the text is short enough for one
 * request or segmentation is off.
 */
export function segmentedPcm(ctx: StreamTextContext, body: ResolvedTtsRequest, options: PcmOptions): PcmStream | undefined {
  if (options.segment === false) return undefined
  const o = checkSegmentOptions(typeof options.segment === 'object' ? options.segment : {})
  if (body.text.length <= (o.maxChars ?? MAX_SEGMENT_CHARS)) return undefined
  const { text, ...base } = body
  const format: PcmFormat = { sampleRate: body.sample_rate, channels: 1, encoding: 's16le' }
  const settings = { ...o, targetChars: o.targetChars ?? TARGET_SEGMENT_CHARS }
  let transport: SegmentedTransport | undefined
  const stream: PcmStream = new PcmStream(
    format,
    (sink) => (transport = new SegmentedTransport(segmentedInit(ctx, base, settings, (info) => stream.emit('response', info)), sink)),
    // The lead of audio the segments may fetch ahead (LEAD_SECONDS) is the bound here, not the queue.
    { signal: options.signal, limits: { high: 64 * 1024, low: 16 * 1024 } },
  )
  // On the next tick, so the caller's 'segment' and 'response' listeners are in place first.
  process.nextTick(() => {
    if (stream.destroyed || !transport) return
    transport.text(text)
    transport.end()
  })
  return stream
}
