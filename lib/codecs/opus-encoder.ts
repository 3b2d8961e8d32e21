import type { TransformCallback } from 'node:stream'
import { InvalidOptionError } from '../errors.js'
import type { PcmFormat } from '../audio/format.js'
import { CoreStage, type StageStreamOptions } from '../stage.js'
import { createOpusEngine, opusEngineInstalled, OpusEngineMissingError, OPUS_ENGINES, type OpusApplication, type OpusEngine, type OpusEngineName, type OpusEngineSettings } from './opus-engines.js'
import { sharedOpusEncoderPool, type OpusEncoderPool, type PooledOpusEngine } from './opus-pool.js'
import { createOpusEncoder, type OpusEncoderCore, type OpusEncoderCoreOptions } from './opus-encoder.core.js'
import type { OpusHead } from './opus-packet.js'

/** Options of {@link OpusEncoder}. */
export interface OpusEncoderOptions extends OpusEncoderCoreOptions {
  /** Target bitrate, bit/s. @defaultValue `64000` */
  bitrate?: number | undefined
  /** 0 (fastest) … 10 (best). @defaultValue libopus's own, 9 */
  complexity?: number | undefined
  /** In-band forward error correction. @defaultValue `false` */
  fec?: boolean | undefined
  /** Expected packet loss in percent (0–100), which tunes FEC. @defaultValue `0` */
  packetLossPercent?: number | undefined
  /** Engines to try, in order. @defaultValue fastest first: `@discordjs/opus`, `@evan/opus`, `opusscript` */
  engines?: readonly OpusEngineName[] | undefined
  /**
   * Encode on a worker thread: an {@link OpusEncoderPool}, or `true` for the shared pool (one
   * worker per core). The packets are the same; the main thread only frames and forwards them.
   * @defaultValue `false` (encode on this thread)
   */
  pool?: OpusEncoderPool | boolean | undefined
  /**
   * After the last packet, push an {@link OpusStreamEnd} (`{ inputSamples }`, not a Buffer) that
   * tells {@link OggOpusMuxer} the true input length, so its end granule trims the padding of
   * the last frame. Leave it off where packets go straight to a consumer that takes only
   * Buffers, such as `@discordjs/voice`'s `StreamType.Opus`. {@link createOggOpusChain} sets it.
   * @defaultValue `false`
   */
  emitEnd?: boolean | undefined
  /** Options for the underlying Transform (the object-mode readable side is forced). */
  streamOptions?: StageStreamOptions | undefined
}

/**
 * Transform: PCM bytes in, Opus packets out, one Buffer per frame in object mode — what
 * `@discordjs/voice` takes as `StreamType.Opus`, and what {@link OggOpusMuxer} wraps into a file.
 * The shell of {@link createOpusEncoder}: the core frames the input exactly, this stage hands
 * each frame to an Opus engine.
 *
 * The engine (`@discordjs/opus`, `@evan/opus` or `opusscript`, whichever is installed, fastest
 * first) is created on the first chunk and freed on end and on destroy. When none is installed
 * the constructor throws {@link OpusEngineMissingError} (`ERR_OPUS_ENGINE_MISSING`), before any
 * audio flows, so a caller can fall back (the CLI encodes with ffmpeg then). At the end the
 * encoder's lookahead is flushed: the last partial frame is padded with silence, and more silence
 * frames follow until the packets carry at least `preSkip +` the input length (at 48 kHz), so
 * the last ~6.5 ms of audio (libopus's lookahead, OpusHead's pre-skip) is not left inside the
 * encoder.
 *
 * What an Ogg muxer needs flows down as values: {@link OpusEncoder.head} (channels, input rate,
 * pre-skip) is known at construction, and with `emitEnd` the true length follows the last packet
 * as an {@link OpusStreamEnd}, so the end granule (RFC 7845 §4) trims the padding off again: a
 * decoder that honours pre-skip and end trimming (ffmpeg, libopusfile, browsers) plays exactly
 * the input. {@link createOggOpusChain} builds the pair.
 *
 * As raw packets (Discord's `StreamType.Opus`, which has no granule), the stream starts with
 * `preSkip` samples of encoder delay and the last packet holds the end of the audio followed by
 * silence: at most `preSkip` samples (6.5 ms) plus one frame more than the input.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req) // 24 kHz mono
 * const opus = new OpusEncoder({ format: pcm.format, emitEnd: true })
 * await pipeline(pcm, opus, new OggOpusMuxer({ head: opus.head }), createWriteStream('hi.opus'))
 * ```
 */
export class OpusEncoder extends CoreStage<Buffer, Buffer[], OpusEncoderCore> {
  /** The input format. */
  readonly format: PcmFormat
  /** Samples per channel in one frame, at the input rate. */
  readonly frameSamples: number
  /** The OpusHead of the stream this encoder makes, for {@link OggOpusMuxer}: channels, input rate, pre-skip. */
  readonly head: OpusHead
  readonly #settings: OpusEngineSettings
  readonly #engines: readonly OpusEngineName[]
  readonly #pool: OpusEncoderPool | undefined
  readonly #emitEnd: boolean
  #engine: Promise<OpusEngine> | undefined
  #resolved: OpusEngine | undefined
  #packets = 0

  constructor(options: OpusEncoderOptions) {
    const core = createOpusEncoder(options)
    const bitrate = options.bitrate ?? 64000
    if (!Number.isInteger(bitrate) || bitrate < 500 || bitrate > 512000) throw new InvalidOptionError('bitrate', `must be an integer from 500 to 512000 bit/s (got ${bitrate})`)
    if (options.complexity !== undefined && (!Number.isInteger(options.complexity) || options.complexity < 0 || options.complexity > 10)) {
      throw new InvalidOptionError('complexity', `must be an integer 0–10 (got ${options.complexity})`)
    }
    const engines = options.engines ?? OPUS_ENGINES
    if (!engines.some((e) => opusEngineInstalled(e))) throw new OpusEngineMissingError([...engines])
    super(core, { writable: 'bytes', readable: 'objects' }, options.streamOptions)
    this.format = core.format
    this.frameSamples = core.frameSamples
    this.head = { ...core.head }
    this.#settings = {
      sampleRate: core.format.sampleRate,
      channels: core.format.channels,
      application: options.application ?? 'audio',
      bitrate,
      complexity: options.complexity,
      fec: options.fec ?? false,
      packetLossPercent: options.packetLossPercent ?? 0,
    }
    this.#engines = engines
    this.#pool = options.pool === true ? sharedOpusEncoderPool() : options.pool || undefined
    this.#emitEnd = options.emitEnd === true
  }

  /** The engine that encodes, once the first chunk arrived. */
  get engine(): OpusEngineName | undefined {
    return this.#resolved?.name
  }

  /** Opus packets emitted so far (including the padded last frame and the lookahead flush). */
  get packets(): number {
    return this.#packets
  }

  /** Samples per channel received so far, at 48 kHz: the true length before padding. */
  get inputSamples(): number {
    return this.core.inputSamples
  }

  /** Resolves the engine (created once). */
  ready(): Promise<OpusEngine> {
    this.#engine ??= (this.#pool ? this.#pool.open(this.#settings, this.#engines) : createOpusEngine(this.#settings, this.#engines)).then((e) => {
      this.#resolved = e
      if (this.destroyed) e.free()
      return e
    })
    return this.#engine
  }

  /**
   * Encodes the core's frames and pushes their packets, then calls back: at once on this thread,
   * or when a pool worker answers (so a stream has one batch in flight: backpressure holds).
   * @internal
   */
  protected override deliver(frames: Buffer[], done: (err?: Error | null) => void): void {
    if (this.#resolved) this.#encode(this.#resolved, frames, done)
    else this.ready().then((engine) => this.#encode(engine, frames, done), done)
  }

  #encode(engine: OpusEngine, frames: Buffer[], done: (err?: Error | null) => void): void {
    const pooled = (engine as Partial<PooledOpusEngine>).encodeBatch
    if (pooled) {
      if (frames.length === 0) return done()
      pooled(frames, this.frameSamples).then((packets) => {
        for (const p of packets) this.push(p)
        this.#packets += packets.length
        done()
      }, done)
      return
    }
    try {
      for (const f of frames) {
        this.push(engine.encode(f, this.frameSamples))
        this.#packets++
      }
      done()
    } catch (err) {
      done(err as Error)
    }
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    this.run(
      () => this.core.flush(),
      (err) => {
        this.#resolved?.free()
        if (!err && this.#emitEnd) this.push(this.core.end())
        callback(err)
      },
    )
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#resolved?.free()
    callback(error)
  }
}
