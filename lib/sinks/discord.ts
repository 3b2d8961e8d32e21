/**
 * Discord voice: turns PCM into the `{ stream, inputType }` that
 * `@discordjs/voice`'s `createAudioResource(stream, { inputType })` plays, without ffmpeg.
 *
 * The player is the clock. Nothing here runs on a timer: every read by voice's `AudioPlayer`
 * (one per 20 ms tick, and back to back while its loop catches up after the process fell
 * behind) is answered from a {@link createPlayout | playout buffer}: a real frame when one is
 * buffered, a silence frame only when synthesis is behind and not finished. See
 * `playout.core.ts` for why a second, timer-driven clock ended plays early under CPU contention.
 *
 * Where the player reads. In `'opus'` mode the player reads this stream itself. In `'raw'` and
 * `'ogg'` modes voice pipes this stream into its own transformer (prism's Opus `Encoder` or
 * `OggDemuxer`) and reads that; the stream finds the end of the pipe chain once voice has built
 * it and watches that stream's `read()` (the only place the player's clock can be seen). Each
 * player read that finds nothing waiting gets one frame pushed through the chain, synchronously,
 * so at most one frame is ever in flight between the buffer and the player: barge-in (`clear()`,
 * an abort, `player.stop()`) leaves at most that one frame to play. A consumer that is not a
 * player (piping into a file, say) gets the real frames as fast as it reads, and no silence.
 * @module
 */
import { pipeline, Readable, Writable, type Duplex, type Transform } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import { DISCORD_FORMAT, type PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import { createPcmFramer as createFramer, type PcmFramerCore as FramerCore } from '../audio/pcm-framer.core.js'
import { HalfbandUpsampler } from '../audio/halfband-upsampler.js'
import { OpusEncoder } from '../codecs/opus-encoder.js'
import type { OpusEncoderPool } from '../codecs/opus-pool.js'
import { createOutputChain } from '../codecs/output-chain.js'
import { OPUS_SAMPLE_RATES } from '../codecs/opus-packet.js'
import { createOggPageSplitter, OGG_EOS, oggPageFlags, oggPageGranule, oggPageOf, oggPagePackets, oggPageSerial, restampOggPage, type OggPageSplitter } from '../codecs/ogg-pages.js'
import type { PcmReadable } from '../client/pcm-stream.js'
import { assertPcmInput } from './pcm-input.js'
import { createPlayout, type Playout, type PlayoutMetrics } from './playout.core.js'
import { FailureGate } from './failure-gate.js'

/** How the audio is handed to `@discordjs/voice`. @category Sinks */
export type DiscordMode = 'opus' | 'raw' | 'ogg'

/**
 * The members of `@discordjs/voice`'s `StreamType` enum that {@link createDiscordStream} produces,
 * with the same names and values. TypeScript relates two enums of the same name member by member,
 * so an `inputType` of this type is accepted where voice asks for its `StreamType`
 * (`createAudioResource(stream, { inputType })`), without this package importing voice's types.
 * Exported from the package root as `DiscordStreamType`.
 */
export enum StreamType {
  /** Object-mode Opus packets, one per 20 ms (mode `'opus'`). */
  Opus = 'opus',
  /** 48 kHz stereo s16le PCM (mode `'raw'`). */
  Raw = 'raw',
  /** An Ogg Opus byte stream (mode `'ogg'`). */
  OggOpus = 'ogg/opus',
}

/** `@discordjs/voice`'s `StreamType` for each mode. */
export interface DiscordStreamTypes {
  /** `StreamType.Opus` */
  readonly opus: StreamType.Opus
  /** `StreamType.Raw` */
  readonly raw: StreamType.Raw
  /** `StreamType.OggOpus` */
  readonly ogg: StreamType.OggOpus
}

/** The `StreamType` values of `@discordjs/voice` for each mode (same strings as its enum). */
export const DISCORD_STREAM_TYPES: DiscordStreamTypes = { opus: StreamType.Opus, raw: StreamType.Raw, ogg: StreamType.OggOpus }

/** Options of {@link createDiscordStream}. @category Sinks */
export interface DiscordStreamOptions {
  /**
   * `'opus'` (default): object-mode 20 ms Opus packets, the lowest CPU inside voice. Raw packets
   * carry no length or pre-skip: decoded, they start with the encoder's 312-sample (6.5 ms) delay.
   * The last frame is padded with silence; when that padding is shorter than the delay, one more
   * packet follows to flush the encoder's lookahead (the last 6.5 ms of the audio, then silence).
   * Voice plays the whole input, 6.5 ms late, followed by up to 33.5 ms of silence.
   * `'raw'`: 48 kHz stereo s16le; voice encodes it. The last frame is padded to 20 ms with silence.
   * `'ogg'`: an Ogg Opus byte stream whose pre-skip and end granule make it decode to exactly the
   * input (converted to 48 kHz stereo), plus any silence the player got while synthesis was behind.
   */
  mode?: DiscordMode | undefined
  /**
   * Barge-in: aborting drops the buffered audio, aborts synthesis (for PCM input too: the PCM
   * stream is destroyed) and ends the stream cleanly after at most one more frame, so the player
   * goes idle without an error and the client is free for the next utterance.
   */
  signal?: AbortSignal | undefined
  /**
   * Audio buffered before the player is told the stream is readable: the start cushion, ms.
   * @defaultValue `100`
   */
  leadMs?: number | undefined
  /**
   * Most audio buffered ahead of the player, ms; past it writes wait, so backpressure reaches
   * the TTS socket. Upstream of this buffer the decoding and conversion stages hold up to their
   * high-water marks of PCM each (16 KiB, about 0.3 s at 24 kHz mono, on Node 20; 64 KiB on Node
   * 22 and later), and voice's own transformer
   * (raw and ogg modes) at most one frame. @defaultValue `1000`
   */
  maxBufferMs?: number | undefined
  /** Opus bitrate, bit/s. @defaultValue `64000` */
  bitrate?: number | undefined
  /**
   * Encode Opus on a worker thread ({@link OpusEncoderPool}, or `true` for the shared pool: one
   * worker per core), for `'opus'` and `'ogg'` modes. @defaultValue `false`
   */
  pool?: OpusEncoderPool | boolean | undefined
  /**
   * `'opus'` mode only: encode the input's own channel count, and its own rate when Opus takes it
   * (8, 12, 16, 24 or 48 kHz; otherwise 48 kHz), instead of converting to 48 kHz stereo. Opus
   * packets carry no input rate: Discord clients decode every packet at 48 kHz stereo, and a
   * 24 kHz mono packet plays the same speech. It skips the resampler and the channel mixer and
   * encodes one channel: ~60 % less CPU per stream, measured by `benchmarks/discord-native-rate.mjs`,
   * which decodes both kinds with libopus at 48 kHz stereo and finds the native packets as close to
   * the source (correlation, level, length). @defaultValue `false`
   */
  nativeRate?: boolean | undefined
}

/** What the player got from a {@link DiscordStream}, counted at its reads. @category Sinks */
export interface DiscordStreamMetrics extends PlayoutMetrics {
  /** Player reads answered with nothing while playing (a missed frame for voice). Stays 0. */
  emptyReads: number
}

/** What {@link createDiscordStream} returns. @category Sinks */
export interface DiscordStream {
  /** The stream to pass to `createAudioResource`. */
  stream: Readable
  /** Pass as `createAudioResource(stream, { inputType })`: without it voice probes with ffmpeg. */
  inputType: StreamType
  /**
   * What the player got: audio frames, silence frames (synthesis was behind), underruns,
   * buffered audio, frames dropped by barge-in, empty reads. A live view: every field reads the
   * current count.
   */
  readonly metrics: DiscordStreamMetrics
  /** Frame length, ms: every read by the player gets one 20 ms frame. */
  readonly frameMs: 20
  /**
   * Barge-in: drops the buffered audio now and returns how many ms were dropped. At most one
   * frame already on its way to the player still plays; audio synthesised after this call plays
   * normally (abort the request with `signal` to stop synthesis too).
   */
  clear(): number
}

const FRAME_MS = 20 as const
const FRAME_BYTES = (48000 * 2 * 2 * FRAME_MS) / 1000
const SAMPLES_PER_FRAME = 960n
/** A 20 ms Opus silence packet (CELT, the same 3 bytes voice sends when it has nothing). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe])

interface PlayoutInit {
  mode: DiscordMode
  leadFrames: number
  maxFrames: number
  signal: AbortSignal | undefined
}

/** Ogg mode: header pages kept apart, and the renumbering that makes room for silence pages. */
interface OggState {
  splitter: OggPageSplitter
  /** OpusHead and OpusTags pages, sent before the first frame. */
  head: Buffer[]
  headSent: boolean
  /** An audio page arrived: later granule-0 pages are not headers. */
  audioSeen: boolean
  /** Pages that end no packet (the empty end-of-stream page of a silent utterance). */
  tail: Buffer[]
  eosSent: boolean
  serial: number
  /** Sequence number of the next page out. */
  sequence: number
  /** 48 kHz samples of silence inserted so far: added to every later granule position. */
  offset: bigint
  /** Granule position of the last page out. */
  granule: bigint
}

const PENDING = Symbol('pending')
type ReadPoint = Readable | typeof PENDING | null | undefined

/**
 * The stream handed to voice. Its writable input (fed by the encoding pipeline) fills a
 * {@link Playout}; its reads are answered one frame per player read. @internal
 */
class DiscordPlayout extends Readable {
  readonly #mode: DiscordMode
  readonly #core: Playout<Buffer>
  readonly #input: Writable
  readonly #gate: FailureGate
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.#abort(true)
  /**
   * Where the player reads: `undefined` while only this stream can be read (never piped),
   * `PENDING` between `pipe()` and the moment the chain is complete, the end of the pipe chain
   * once found, `null` when the chain does not end at a player (piped into a file, say).
   */
  #point: ReadPoint = undefined
  #unhook: (() => void) | undefined
  #heldWrite: ((error?: Error | null) => void) | undefined
  #wantRead = false
  #finished = false
  #failure: Error | undefined
  #silenceArmed = true
  #primed = false
  /** The last read found nothing: the reader waits for `'readable'`, so the next frame goes out on arrival. */
  #starved = false
  #emptyReads = 0
  #destroyWhenDrained: Error | undefined
  readonly #framer: FramerCore | undefined
  readonly #ogg: OggState | undefined

  constructor(source: Readable, stages: Duplex[], init: PlayoutInit) {
    super({ objectMode: init.mode === 'opus', highWaterMark: init.mode === 'opus' ? 1 : FRAME_BYTES })
    this.#mode = init.mode
    this.#core = createPlayout<Buffer>({ frameMs: FRAME_MS, leadFrames: init.leadFrames, maxFrames: init.maxFrames })
    this.#signal = init.signal
    if (init.mode === 'raw') this.#framer = createFramer({ format: DISCORD_FORMAT, frameMs: FRAME_MS, padLast: true })
    if (init.mode === 'ogg') {
      this.#ogg = { splitter: createOggPageSplitter(), head: [], headSent: false, audioSeen: false, tail: [], eosSent: false, serial: 0, sequence: 0, offset: 0n, granule: 0n }
    }
    this.#input = new Writable({
      objectMode: init.mode === 'opus',
      // Held writes wait here: keep it to about one frame so maxBufferMs is the bound.
      highWaterMark: init.mode === 'opus' ? 1 : init.mode === 'raw' ? FRAME_BYTES : 1024,
      write: (chunk: Buffer, _enc, callback) => this.#accept(chunk, callback),
      final: (callback) => this.#acceptEnd(callback),
    })
    // A failing source ends the chain cleanly (the gate), so every frame it delivered is encoded
    // and played before the failure is reported; a failing stage tears the chain down.
    this.#gate = new FailureGate(source)
    pipeline([this.#gate, ...stages, this.#input], (err) => {
      if (err) this.#inputFailed(err)
    })
    if (init.signal?.aborted) process.nextTick(this.#onAbort)
    else init.signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** A live view: each field reads the current count (keep the object, not copies of its fields). */
  readonly metrics: DiscordStreamMetrics = (() => {
    const playout = this
    const core = (): PlayoutMetrics => playout.#core.metrics()
    return {
      get framesOut() { return core().framesOut },
      get audioFrames() { return core().audioFrames },
      get silenceFrames() { return core().silenceFrames },
      get underruns() { return core().underruns },
      get queuedMs() { return core().queuedMs },
      get maxQueuedMs() { return core().maxQueuedMs },
      get clearedFrames() { return core().clearedFrames },
      get emptyReads() { return playout.#emptyReads },
    }
  })()

  clear(): number {
    const dropped = this.#core.clear() * FRAME_MS
    this.#releaseWrite()
    return dropped
  }

  // ---- input side -------------------------------------------------------------------------

  #accept(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#finished || this.destroyed) {
      callback() // ended early (barge-in): nothing more will play
      return
    }
    try {
      if (this.#mode === 'opus') this.#core.push(chunk)
      else if (this.#framer) for (const f of this.#framer.push(chunk)) this.#core.push(f)
      else for (const page of this.#ogg!.splitter.push(chunk)) this.#acceptPage(page)
    } catch (err) {
      callback(err as Error)
      return
    }
    this.#afterInput()
    if (this.#core.full && !this.destroyed) this.#heldWrite = callback
    else callback()
  }

  /** Header pages (granule 0, before any audio) are kept apart; pages ending no packet go last. */
  #acceptPage(page: Buffer): void {
    const ogg = this.#ogg!
    if (!ogg.head.length) ogg.serial = oggPageSerial(page)
    const packets = oggPagePackets(page)
    if (!ogg.audioSeen && packets > 0 && oggPageGranule(page) === 0n && !(oggPageFlags(page) & OGG_EOS)) ogg.head.push(page)
    else if (packets === 0) ogg.tail.push(page)
    else {
      ogg.audioSeen = true
      this.#core.push(page)
    }
  }

  #acceptEnd(callback: (error?: Error | null) => void): void {
    try {
      if (this.#framer) for (const f of this.#framer.flush()) this.#core.push(f)
      this.#ogg?.splitter.flush()
    } catch (err) {
      callback(err as Error)
      return
    }
    const failure = this.#gate.failure
    if (failure && !this.#finished) {
      if ((failure as { code?: string }).code === 'ERR_ABORTED') this.#abort(false) // the chain is ending anyway
      else this.#failure = failure
    }
    this.#core.end()
    this.#afterInput()
    callback()
  }

  /**
   * New input: feed a waiting consumer, or, once the cushion is buffered, put the first frame
   * where the player reads so it sees `'readable'` and starts playing. After that only the
   * player's reads take frames.
   */
  #afterInput(): void {
    if (this.#finished || this.destroyed) return
    if (!this.#clocked()) this.#pump()
    else if (this.#core.started && (!this.#primed || this.#starved)) {
      this.#primed = true
      this.#serve(this.#point instanceof Readable ? this.#point : this, false)
    }
  }

  #inputFailed(err: Error): void {
    if (this.#finished || this.destroyed) return
    if ((err as { code?: string }).code === 'ERR_ABORTED') {
      this.#abort()
      return
    }
    // Deliver every frame that arrived, then report the failure where the stream would end.
    this.#failure = err
    this.#core.end()
    this.#afterInput()
  }

  /** Barge-in: drop the buffer, end after what is on its way, tear the encoding chain down. */
  #abort(teardown = true): void {
    if (this.#finished || this.destroyed) return
    this.#core.clear()
    this.#core.end()
    this.#finish()
    this.#heldWrite = undefined
    // Destroys every stage: the TTS request is aborted, the encoder freed.
    if (teardown) this.#input.destroy()
  }

  #releaseWrite(): void {
    const cb = this.#heldWrite
    if (cb && !this.#core.full) {
      this.#heldWrite = undefined
      cb()
    }
  }

  // ---- output side ------------------------------------------------------------------------

  /** True while reads by a player drive the stream (not a consumer that pipes it away). */
  #clocked(): boolean {
    if (this.#point === null) return false
    if (this.#point === undefined) return this.readableFlowing !== true
    return true
  }

  /**
   * One read by the player at `point`: make sure one frame waits there. Does nothing when a
   * frame is already on its way, so at most one frame is ever between the buffer and the player.
   */
  #serve(point: Readable, silence = true): void {
    if (this.#finished || point.readableLength > 0 || this.readableLength > 0) return
    // A reader that loops on read() until null (not a player) gets one silence frame per
    // event-loop turn, not an endless run while synthesis catches up.
    const r = this.#core.read({ silence: silence && this.#silenceArmed })
    if (r.kind === 'audio') {
      this.#pushFrame(r.frame)
      // The next frame is the last: send it and the end along, so a transformer downstream has
      // ended by the time the player reads that last frame (no empty read after it).
      const next = this.#core.ended && this.#core.queued === 1 && !this.#failure ? this.#core.read() : undefined
      if (next?.kind === 'audio') this.#pushFrame(next.frame)
      if ((r.last || next?.kind === 'audio') && !this.#failure) this.#finish()
    } else if (r.kind === 'silence') {
      this.#pushSilence()
      this.#silenceArmed = false
      setImmediate(() => (this.#silenceArmed = true))
    } else if (r.kind === 'end') this.#finish()
    this.#releaseWrite()
  }

  /** A player read returned `packet`; counts reads that found nothing while playing. */
  #afterPlayerRead(packet: unknown): void {
    this.#starved = packet === null
    if (packet === null && this.#core.started && !this.#finished) this.#emptyReads++
  }

  /** Unclocked: real frames as fast as the consumer takes them, never silence. */
  #pump(): void {
    while (this.#wantRead && !this.#finished) {
      const r = this.#core.read({ silence: false })
      if (r.kind === 'audio') {
        this.#wantRead = this.#pushFrame(r.frame)
        if (r.last && !this.#failure) this.#finish()
      } else if (r.kind === 'end') this.#finish()
      else break
      this.#releaseWrite()
    }
  }

  #pushFrame(frame: Buffer): boolean {
    const ogg = this.#ogg
    if (!ogg) return this.push(frame)
    this.#pushOggHead()
    ogg.granule = oggPageGranule(frame) + ogg.offset
    if (oggPageFlags(frame) & OGG_EOS) ogg.eosSent = true
    return this.push(restampOggPage(frame, ogg.sequence++, ogg.granule))
  }

  #pushSilence(): void {
    const ogg = this.#ogg
    if (this.#mode === 'opus') this.push(OPUS_SILENCE)
    else if (!ogg) this.push(Buffer.alloc(FRAME_BYTES))
    else {
      this.#pushOggHead()
      ogg.offset += SAMPLES_PER_FRAME
      ogg.granule += SAMPLES_PER_FRAME
      this.push(oggPageOf(OPUS_SILENCE, { serial: ogg.serial, sequence: ogg.sequence++, granule: ogg.granule }))
    }
  }

  #pushOggHead(): void {
    const ogg = this.#ogg!
    if (ogg.headSent) return
    ogg.headSent = true
    for (const page of ogg.head) this.push(page)
    ogg.sequence = ogg.head.length
  }

  /** Ends the stream after what was pushed: cleanly, or with the input's failure. */
  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    const ogg = this.#ogg
    if (ogg?.headSent) {
      for (const page of ogg.tail) {
        if (oggPageFlags(page) & OGG_EOS) ogg.eosSent = true
        this.push(restampOggPage(page, ogg.sequence++, oggPageGranule(page) + ogg.offset))
      }
      // Cut short (barge-in): close the logical stream so the Ogg so far stays valid.
      if (!ogg.eosSent) this.push(oggPageOf(null, { serial: ogg.serial, sequence: ogg.sequence++, granule: ogg.granule, flags: OGG_EOS }))
    } else if (ogg) for (const page of [...ogg.head, ...ogg.tail]) this.push(page)
    this.#signal?.removeEventListener('abort', this.#onAbort)
    if (!this.#failure) this.push(null)
    // Let the frames already pushed reach the reader before the error ends the stream.
    else if (this.readableLength === 0) this.destroy(this.#failure)
    else this.#destroyWhenDrained = this.#failure
  }

  /** Finds the stream the player reads once voice has finished building its pipe chain. */
  #attach(dest: NodeJS.WritableStream): void {
    if (this.destroyed || this.#point !== PENDING) return
    let end: unknown = dest
    for (let hops = 0; hops < 16; hops++) {
      const pipes = (end as { _readableState?: { pipes?: unknown[] } })._readableState?.pipes
      if (!Array.isArray(pipes) || pipes.length !== 1) break
      end = pipes[0]
    }
    if (!(end instanceof Readable) || end.readableFlowing === true || end.destroyed) {
      this.#point = null
      this.#wantRead = true
      this.#pump()
      return
    }
    const point = end
    this.#point = point
    const original = point.read
    const self = this
    const hooked = function (this: Readable, size?: number): unknown {
      const player = size === undefined && this.readableFlowing !== true
      if (player) self.#serve(this)
      const packet: unknown = original.call(this, size)
      if (player) self.#afterPlayerRead(packet)
      return packet
    }
    point.read = hooked as Readable['read']
    this.#unhook = () => {
      if (point.read === (hooked as Readable['read'])) point.read = original
    }
    point.once('close', () => this.#unhook?.())
  }

  /** @internal */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean | undefined }): T {
    if (this.#point === undefined) {
      this.#point = PENDING
      // voice builds its chain synchronously inside createAudioResource(): look once it is done.
      process.nextTick(() => this.#attach(destination))
    }
    return super.pipe(destination, options)
  }

  /** @internal The player's read when it reads this stream itself (opus mode). */
  override read(size?: number): any {
    const player = size === undefined && this.#point === undefined && this.readableFlowing !== true
    if (player) this.#serve(this)
    const packet: unknown = super.read(size)
    if (player) this.#afterPlayerRead(packet)
    const err = this.#destroyWhenDrained
    if (err && this.readableLength === 0) {
      this.#destroyWhenDrained = undefined
      this.destroy(err)
    }
    return packet
  }

  /**
   * `for await (const frame of stream)` is not a player: it gets the real frames as fast as it
   * takes them, and no silence (like a consumer that pipes the stream away).
   */
  override [Symbol.asyncIterator](): NodeJS.AsyncIterator<any> {
    if (this.#point === undefined) {
      this.#point = null
      this.#wantRead = true
      this.#pump()
    }
    return super[Symbol.asyncIterator]()
  }

  /** @internal */
  override _read(): void {
    if (this.#clocked()) return
    this.#wantRead = true
    this.#pump()
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#finished = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#unhook?.()
    this.#core.clear()
    this.#heldWrite = undefined
    // Tears the encoding pipeline down: the TTS request is aborted, the encoder freed.
    if (!this.#input.destroyed) this.#input.destroy()
    callback(error)
  }
}

/**
 * The stages from `from` to `to`. Exactly twice the rate from mono (pcm()'s 24 kHz mono to
 * Discord's 48 kHz stereo) takes the IIR half-band upsampler, one pass and ~4× cheaper than the
 * FIR resampler plus the mixer (Opus is then ~80 % of the chain's CPU; `benchmarks/discord-chain.mjs`).
 */
function toFormat(from: PcmFormat, to: PcmFormat): Transform[] {
  if (from.encoding === 's16le' && from.channels === 1 && to.encoding === 's16le' && to.sampleRate === 2 * from.sampleRate && (to.channels === 1 || to.channels === 2)) {
    return [new HalfbandUpsampler({ channels: to.channels })]
  }
  return convertPcm(from, to)
}

/** The `nativeRate` encoding format for `input`: its channels (≤ 2), its rate when Opus takes it, else 48 kHz. */
function nativeOpusFormat(input: PcmFormat): PcmFormat {
  const rate = OPUS_SAMPLE_RATES.includes(input.sampleRate) ? input.sampleRate : 48000
  return { sampleRate: rate, channels: Math.min(2, input.channels), encoding: 's16le' }
}

/**
 * Builds a Discord voice stream from PCM with a `format` (any rate and channel count: converted to
 * 48 kHz stereo), such as `client.pcm(request)`. `inputType` is always set.
 *
 * The player is the clock: each of its reads gets one 20 ms frame, real audio when any is
 * buffered and silence only while synthesis is behind, so a busy machine or a slow network chunk
 * does not hit voice's `maxMissedFrames` (5 reads in a row with nothing) and end playback early.
 * Nothing runs on a timer. The stream ends right after the last real frame. At most `maxBufferMs`
 * of audio is buffered; past that, backpressure reaches the TTS socket. If synthesis fails midway,
 * every frame that arrived plays first, then the stream errors (voice's player emits `'error'`).
 *
 * Barge-in: `player.stop(true)` destroys the stream, which aborts synthesis; `signal` aborts and
 * ends the stream cleanly; `clear()` drops what is buffered. Each leaves at most one more frame.
 *
 * @example
 * ```ts
 * import { createAudioPlayer, createAudioResource } from '@discordjs/voice'
 * const { stream, inputType } = createDiscordStream(client.pcm({ text: 'Hello, voice channel!', voice_id: 'magnus' }))
 * player.play(createAudioResource(stream, { inputType }))
 * ```
 * @throws {@link InvalidOptionError} for an input without a `format` (a TTS request: pass
 * `client.pcm(request)`), an unknown `mode`, or a non-positive `leadMs`/`maxBufferMs`.
 * @category Sinks
 */
export function createDiscordStream(pcm: PcmReadable, options: DiscordStreamOptions = {}): DiscordStream {
  assertPcmInput(pcm, 'createDiscordStream')
  const mode = options.mode ?? 'opus'
  if (!(mode in DISCORD_STREAM_TYPES)) throw new InvalidOptionError('mode', `must be opus, raw or ogg (got ${String(mode)})`)
  const leadMs = options.leadMs ?? 100
  const maxBufferMs = options.maxBufferMs ?? 1000
  if (!(leadMs > 0) || !Number.isFinite(leadMs)) throw new InvalidOptionError('leadMs', `must be a positive number of ms (got ${String(leadMs)})`)
  if (!(maxBufferMs >= leadMs) || !Number.isFinite(maxBufferMs)) throw new InvalidOptionError('maxBufferMs', `must be a number of ms ≥ leadMs (got ${String(maxBufferMs)})`)
  if (options.nativeRate === true && mode !== 'opus') {
    throw new InvalidOptionError('nativeRate', `applies to mode 'opus' only (voice plays Ogg Opus and raw PCM at 48 kHz stereo; got '${mode}')`)
  }
  const format: PcmFormat = options.nativeRate === true ? nativeOpusFormat(pcm.format) : DISCORD_FORMAT
  // Live playback (opus, raw) takes the cheap IIR half-band upsampler for 24 → 48 kHz; 'ogg' keeps
  // the linear-phase Resampler, so the Ogg stream decodes sample-aligned with its input (lag 0).
  const stages: Duplex[] = [...(mode === 'ogg' ? convertPcm(pcm.format, format) : toFormat(pcm.format, format))]
  // Small readable buffers between the encoders and the playout buffer: a 16 KiB default would
  // hold seconds of compressed audio there, beyond maxBufferMs, before backpressure reached the socket.
  const encoderStreamOptions = { readableHighWaterMark: 4 }
  if (mode === 'opus') {
    stages.push(new OpusEncoder({ format, frameMs: FRAME_MS, bitrate: options.bitrate, pool: options.pool, streamOptions: encoderStreamOptions }))
  } else if (mode === 'ogg') {
    // The output chain's Ogg Opus (48 kHz stereo in, so no conversion of its own): the true length
    // follows the last packet as a value, for the end granule. One packet per page, so one page is one player read.
    const ogg = createOutputChain('ogg', format, {
      bitrate: options.bitrate,
      pool: options.pool,
      opus: { frameMs: FRAME_MS, maxPageMs: FRAME_MS, encoderStreamOptions, muxerStreamOptions: { readableHighWaterMark: 1024 } },
    })
    stages.push(...ogg.stages)
  }
  const playout = new DiscordPlayout(pcm, stages, {
    mode,
    leadFrames: Math.ceil(leadMs / FRAME_MS),
    maxFrames: Math.ceil(maxBufferMs / FRAME_MS),
    signal: options.signal,
  })
  return {
    stream: playout,
    inputType: DISCORD_STREAM_TYPES[mode],
    metrics: playout.metrics,
    frameMs: FRAME_MS,
    clear: () => playout.clear(),
  }
}
