import { Transform, type TransformCallback } from 'node:stream'
import { AudioFormatError, InvalidOptionError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'
import type { StageStreamOptions } from '../audio/pcm-stages.js'
import { createOpusEngine, opusEngineInstalled, OpusEngineMissingError, OPUS_ENGINES, type OpusApplication, type OpusEngine, type OpusEngineName, type OpusEngineSettings } from './opus-engines.js'
import { sharedOpusEncoderPool, type OpusEncoderPool, type PooledOpusEngine } from './opus-pool.js'

/** Options of {@link OpusEncoder}. @category Stages */
export interface OpusEncoderOptions {
  /** Input PCM: s16le, 1 or 2 channels, at 8000, 12000, 16000, 24000 or 48000 Hz. */
  format: PcmFormat
  /** Frame length: 2.5, 5, 10, 20, 40 or 60 ms. @defaultValue `20` (Discord's) */
  frameMs?: number | undefined
  /** Target bitrate, bit/s. @defaultValue `64000` */
  bitrate?: number | undefined
  /** @defaultValue `'audio'` */
  application?: OpusApplication | undefined
  /** 0 (fastest) … 10 (best); libopus's default is 9. */
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
  /** Options for the underlying Transform (object-mode readable side is forced). */
  streamOptions?: StageStreamOptions | undefined
}

const RATES = [8000, 12000, 16000, 24000, 48000]
const FRAME_MS = [2.5, 5, 10, 20, 40, 60]

/**
 * Transform: PCM bytes in, Opus packets out, one Buffer per frame in object mode — what
 * `@discordjs/voice` takes as `StreamType.Opus`, and what {@link OggOpusMuxer} wraps into a file.
 *
 * The engine (`@discordjs/opus`, `@evan/opus` or `opusscript`, whichever is installed, fastest
 * first) is created on the first chunk and freed on end and on destroy. When none is installed
 * the constructor throws {@link OpusEngineMissingError} (`ERR_OPUS_ENGINE_MISSING`), before any
 * audio flows, so a caller can fall back (the CLI encodes with ffmpeg then). Input is re-framed
 * exactly. At the end the encoder's lookahead is flushed: the last partial frame is padded with
 * silence, and more silence frames follow until the packets carry at least `preSkip +` the input
 * length (at 48 kHz), so the last ~6.5 ms of audio (libopus's lookahead, OpusHead's pre-skip)
 * is not left inside the encoder. {@link OpusEncoder.inputSamples} records the true length so
 * the Ogg muxer's end granule (RFC 7845 §4) trims the padding off again: a decoder that honours
 * pre-skip and end trimming (ffmpeg, libopusfile, browsers) plays exactly the input.
 *
 * As raw packets (Discord's `StreamType.Opus`, which has no granule), the stream starts with
 * `preSkip` samples of encoder delay and the last packet holds the end of the audio followed by
 * silence: at most `preSkip` samples (6.5 ms) plus one frame more than the input.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req) // 24 kHz mono
 * await pipeline(pcm, new OpusEncoder({ format: pcm.format }), new OggOpusMuxer(), createWriteStream('hi.opus'))
 * ```
 * @category Stages
 */
export class OpusEncoder extends Transform {
  /** The input format. */
  readonly format: PcmFormat
  /** Samples per channel in one frame, at the input rate. */
  readonly frameSamples: number
  readonly #options: OpusEncoderOptions
  readonly #frameBytes: number
  #tail: Buffer | null = null
  #engine: Promise<OpusEngine> | undefined
  #resolved: OpusEngine | undefined
  #inputBytes = 0
  #packets = 0

  constructor(options: OpusEncoderOptions) {
    super({ ...options.streamOptions, readableObjectMode: true, writableObjectMode: false })
    const f = options.format
    assertPcmFormat(f, 'OpusEncoder format')
    if (f.encoding !== 's16le') throw new AudioFormatError(`OpusEncoder takes s16le PCM (got ${f.encoding})`)
    if (!RATES.includes(f.sampleRate)) throw new AudioFormatError(`Opus encodes 8000, 12000, 16000, 24000 or 48000 Hz (got ${f.sampleRate}); add a Resampler`)
    if (f.channels !== 1 && f.channels !== 2) throw new AudioFormatError(`OpusEncoder takes 1 or 2 channels (got ${f.channels})`)
    const frameMs = options.frameMs ?? 20
    if (!FRAME_MS.includes(frameMs)) throw new InvalidOptionError('frameMs', `Opus frames are 2.5, 5, 10, 20, 40 or 60 ms (got ${frameMs})`)
    const bitrate = options.bitrate ?? 64000
    if (!Number.isInteger(bitrate) || bitrate < 500 || bitrate > 512000) throw new InvalidOptionError('bitrate', `must be an integer from 500 to 512000 bit/s (got ${bitrate})`)
    if (options.complexity !== undefined && (!Number.isInteger(options.complexity) || options.complexity < 0 || options.complexity > 10)) {
      throw new InvalidOptionError('complexity', `must be an integer 0–10 (got ${options.complexity})`)
    }
    const engines = options.engines ?? OPUS_ENGINES
    if (!engines.some((e) => opusEngineInstalled(e))) throw new OpusEngineMissingError([...engines])
    this.format = { ...f }
    this.frameSamples = (f.sampleRate * frameMs) / 1000
    this.#options = options
    this.#frameBytes = this.frameSamples * 2 * f.channels
  }

  /** The engine that encodes, once the first chunk arrived. */
  get engine(): OpusEngineName | undefined {
    return this.#resolved?.name
  }

  /** Encoder lookahead at 48 kHz (OpusHead's pre-skip), once the engine exists. */
  get preSkip(): number | undefined {
    return this.#resolved?.preSkip
  }

  /** Opus packets emitted so far (including the padded last frame and the lookahead flush). */
  get packets(): number {
    return this.#packets
  }

  /** Samples per channel received so far, at 48 kHz: the true length before padding. */
  get inputSamples(): number {
    return Math.round((this.#inputBytes / (2 * this.format.channels)) * (48000 / this.format.sampleRate))
  }

  /** Resolves the engine (created once). */
  ready(): Promise<OpusEngine> {
    const settings: OpusEngineSettings = {
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      application: this.#options.application ?? 'audio',
      bitrate: this.#options.bitrate ?? 64000,
      complexity: this.#options.complexity,
      fec: this.#options.fec ?? false,
      packetLossPercent: this.#options.packetLossPercent ?? 0,
    }
    const engines = this.#options.engines ?? OPUS_ENGINES
    const pool = this.#options.pool === true ? sharedOpusEncoderPool() : this.#options.pool || undefined
    this.#engine ??= (pool ? pool.open(settings, engines) : createOpusEngine(settings, engines)).then((e) => {
      this.#resolved = e
      if (this.destroyed) e.free()
      return e
    })
    return this.#engine
  }

  /**
   * The whole frames of `tail + chunk`. Engines copy their input, so frames inside the chunk are
   * views; only a frame that straddles two chunks is assembled (the tail is always shorter than
   * one frame).
   */
  #framesOf(chunk: Buffer): Buffer[] {
    const fb = this.#frameBytes
    const frames: Buffer[] = []
    let off = 0
    if (this.#tail) {
      const need = fb - this.#tail.length
      if (chunk.length < need) {
        this.#tail = Buffer.concat([this.#tail, chunk])
        return frames
      }
      frames.push(Buffer.concat([this.#tail, chunk.subarray(0, need)]))
      this.#tail = null
      off = need
    }
    for (; off + fb <= chunk.length; off += fb) frames.push(chunk.subarray(off, off + fb))
    if (off < chunk.length) this.#tail = Buffer.from(chunk.subarray(off)) // the caller may reuse its chunk
    return frames
  }

  /**
   * Encodes `frames` and pushes their packets, then calls back: at once on this thread, or when a
   * pool worker answers (so a stream has one batch in flight: backpressure holds).
   */
  #encodeFrames(engine: OpusEngine, frames: Buffer[], callback: (err?: Error | null) => void): void {
    const pooled = (engine as Partial<PooledOpusEngine>).encodeBatch
    if (pooled) {
      if (frames.length === 0) return callback()
      pooled(frames, this.frameSamples).then((packets) => {
        for (const p of packets) this.push(p)
        this.#packets += packets.length
        callback()
      }, callback)
      return
    }
    try {
      for (const f of frames) {
        this.push(engine.encode(f, this.frameSamples))
        this.#packets++
      }
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  /** @internal */
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#inputBytes += chunk.length
    const run = (engine: OpusEngine) => this.#encodeFrames(engine, this.#framesOf(chunk), callback)
    if (this.#resolved) run(this.#resolved)
    else this.ready().then(run, (err: Error) => callback(err))
  }

  /** @internal */
  override _flush(callback: TransformCallback): void {
    this.ready().then(
      (engine) => {
        const last: Buffer[] = []
        const tail = this.#tail
        if (tail) {
          if (tail.length % (2 * this.format.channels)) return callback(new AudioFormatError('OpusEncoder input ended mid-sample-frame'))
          const padded = Buffer.alloc(this.#frameBytes) // the last partial frame, padded with silence
          tail.copy(padded)
          last.push(padded)
          this.#tail = null
        }
        // Flush the lookahead: the encoder outputs each sample `preSkip` samples late, so the
        // packets must carry preSkip + input samples before the end granule can point at the
        // last input sample (RFC 7845 §4: the final granule must not exceed what was carried).
        if (this.#packets + last.length > 0) {
          const frame48 = this.frameSamples * (48000 / this.format.sampleRate)
          while ((this.#packets + last.length) * frame48 < engine.preSkip + this.inputSamples) last.push(Buffer.alloc(this.#frameBytes))
        }
        this.#encodeFrames(engine, last, (err) => {
          engine.free()
          callback(err)
        })
      },
      (err: Error) => callback(err),
    )
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#resolved?.free()
    callback(error)
  }
}
