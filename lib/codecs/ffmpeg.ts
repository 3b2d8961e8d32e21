/**
 * ffmpeg spawned directly: argument arrays (no shell), stdin/stdout inside the pipeline, stderr
 * kept (bounded) for errors, exit code checked, SIGTERM then SIGKILL on destroy. fluent-ffmpeg
 * was archived in 2025; prism-media's FFmpeg hides exit codes and stderr.
 * @module
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { Duplex } from 'node:stream'
import type { Readable, Writable } from 'node:stream'
import { InvalidOptionError, LightningStreamError } from '../errors.js'
import { assertPcmFormat, type PcmFormat } from '../audio/format.js'

/** Output formats {@link FfmpegTranscoder} knows. @category Stages */
export type FfmpegOutput = 'mp3' | 'aac' | 'flac' | 'ogg-opus' | 'webm-opus' | 'wav' | 'pcm'

/** ffmpeg failed: it could not start, or exited with a non-zero code. @category Errors */
export class FfmpegError extends LightningStreamError {
  /** Exit code, when it exited. */
  readonly exitCode: number | null
  /** Signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null
  /** The last part of its stderr (at most 8 KiB). */
  readonly stderr: string
  constructor(message: string, init: { exitCode?: number | null; signal?: NodeJS.Signals | null; stderr?: string; cause?: unknown } = {}) {
    super(message, 'ERR_FFMPEG', { cause: init.cause })
    this.exitCode = init.exitCode ?? null
    this.signal = init.signal ?? null
    this.stderr = init.stderr ?? ''
  }
}

/** How ffmpeg ended. @category Stages */
export interface FfmpegExit {
  /** Exit code, or null when a signal ended it (or it never started). */
  code: number | null
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null
}

/** A container input, probed by ffmpeg (e.g. mp3 from `output_format: 'mp3'`). @category Stages */
export interface FfmpegContainerInput {
  /** ffmpeg's demuxer name: `mp3`, `wav`, `ogg`, … */
  container: string
}

/** Options of {@link FfmpegTranscoder}. @category Stages */
export interface FfmpegTranscoderOptions {
  /** Input: a PCM format (raw samples on stdin), or a container name ffmpeg probes (e.g. `'mp3'`). */
  input: PcmFormat | FfmpegContainerInput
  /** Output format. */
  output: FfmpegOutput
  /** Output rate (default: the input's). */
  sampleRate?: number | undefined
  /** Output channels (default: the input's). */
  channels?: number | undefined
  /** Output bitrate for lossy formats, bit/s. @defaultValue `64000` for Opus, `128000` otherwise */
  bitrate?: number | undefined
  /** Extra arguments inserted before the output (e.g. `['-af', 'volume=0.5']`). */
  extraArgs?: string[] | undefined
  /**
   * Write the output to this file instead of the readable side. ffmpeg can then seek back and
   * finalize the header (FLAC's sample count, MP3's Xing/LAME frame count and gapless info),
   * which it cannot do on a pipe. The stream's input side finishes only when ffmpeg has exited
   * (with {@link FfmpegError} on a non-zero exit), so `pipeline()` resolves once the file is
   * complete; the readable side ends empty. An existing file is overwritten.
   */
  outputPath?: string | undefined
  /** ffmpeg binary. @defaultValue `process.env.FFMPEG_PATH`, else `'ffmpeg'` on PATH */
  ffmpegPath?: string | undefined
  /** Time between SIGTERM and SIGKILL when destroyed, ms. @defaultValue `2000` */
  killGraceMs?: number | undefined
  /**
   * How long ffmpeg may keep running after it closed its output, ms. Past it the process is
   * killed and the stream fails with {@link FfmpegError} (ffmpeg closes its output when it
   * exits; a process that closes it and goes on is stuck). @defaultValue `500`
   */
  exitTimeoutMs?: number | undefined
}

const MAX_STDERR = 8 * 1024

/** MIME type of each output, for HTTP responses. */
export const FFMPEG_CONTENT_TYPES: Record<FfmpegOutput, string> = {
  mp3: 'audio/mpeg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  'ogg-opus': 'audio/ogg',
  'webm-opus': 'audio/webm',
  wav: 'audio/wav',
  pcm: 'application/octet-stream',
}

/** The ffmpeg argument array for a transcode (exported for inspection and tests). */
export function ffmpegArgs(options: FfmpegTranscoderOptions): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin']
  // Low-latency input: without these ffmpeg buffers ~2 s of input before its first output byte.
  // Not `-fflags nobuffer`: with raw PCM on a pipe it drops audio (ffmpeg 5.1: 0 bytes alone,
  // the last 40 ms with the probe flags); test/codecs.ts checks that nothing is lost.
  args.push('-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0')
  const input = options.input
  let rate: number | undefined
  let channels: number | undefined
  if ('container' in input) {
    if (!/^[a-z0-9_]+$/.test(input.container)) throw new InvalidOptionError('input.container', `must be an ffmpeg demuxer name such as 'mp3' (got '${input.container}')`)
    args.push('-f', input.container, '-i', 'pipe:0')
  } else {
    assertPcmFormat(input, 'FfmpegTranscoder input')
    args.push('-f', input.encoding, '-ar', String(input.sampleRate), '-ac', String(input.channels), '-i', 'pipe:0')
    rate = input.sampleRate
    channels = input.channels
  }
  const outRate = options.sampleRate ?? rate
  const outChannels = options.channels ?? channels
  const opus = options.output === 'ogg-opus' || options.output === 'webm-opus'
  const targetRate = opus ? 48000 : outRate
  if (targetRate !== undefined && targetRate !== rate) args.push('-af', `aresample=${targetRate}:resampler=soxr`)
  if (targetRate !== undefined) args.push('-ar', String(targetRate))
  if (outChannels !== undefined) args.push('-ac', String(outChannels))
  args.push(...(options.extraArgs ?? []))
  const br = String(options.bitrate ?? (opus ? 64000 : 128000))
  switch (options.output) {
    case 'mp3':
      args.push('-c:a', 'libmp3lame', '-b:a', br, '-f', 'mp3')
      break
    case 'aac':
      args.push('-c:a', 'aac', '-b:a', br, '-f', 'adts')
      break
    case 'flac':
      args.push('-c:a', 'flac', '-f', 'flac')
      break
    case 'ogg-opus':
      args.push('-c:a', 'libopus', '-b:a', br, '-page_duration', '20000', '-f', 'ogg')
      break
    case 'webm-opus':
      args.push('-c:a', 'libopus', '-b:a', br, '-f', 'webm', '-cluster_time_limit', '100')
      break
    case 'wav':
      args.push('-c:a', 'pcm_s16le', '-f', 'wav')
      break
    case 'pcm':
      args.push('-c:a', 'pcm_s16le', '-f', 's16le')
      break
    default:
      throw new InvalidOptionError('output', `unknown output '${String(options.output)}'`)
  }
  if (options.outputPath !== undefined) args.push('-y', options.outputPath)
  else args.push('-flush_packets', '1', 'pipe:1')
  return args
}

/**
 * Duplex: bytes in (PCM or a container), transcoded bytes out, through a spawned ffmpeg.
 * Backpressure runs through stdin and stdout; a non-zero exit fails the stream with
 * {@link FfmpegError} carrying the exit code and the end of stderr; destroying the stream (an
 * abort, a pipeline failure) sends SIGTERM, then SIGKILL after `killGraceMs`, so no ffmpeg
 * process outlives its pipeline.
 *
 * ffmpeg may stop reading before the input ends (`-t`, `-frames`, a filter that ends, or a
 * crash). Once it exits, closes its stdin or closes its output, the rest of the input is read
 * and discarded ({@link FfmpegTranscoder.discardedBytes} counts it), so the pipeline settles as
 * soon as the input does: with the output ffmpeg produced when it exited with code 0, with
 * {@link FfmpegError} otherwise. A process that closes its output and keeps running is killed
 * after `exitTimeoutMs`, with {@link FfmpegError}.
 *
 * @example
 * ```ts
 * const pcm = client.pcm(req)
 * await pipeline(pcm, new FfmpegTranscoder({ input: pcm.format, output: 'mp3' }), createWriteStream('hi.mp3'))
 * ```
 * @category Stages
 */
export class FfmpegTranscoder extends Duplex {
  /** The argument array ffmpeg was started with. */
  readonly args: string[]
  /** The binary. */
  readonly ffmpegPath: string
  #child: ChildProcessByStdio<Writable, Readable, Readable> | undefined
  #stderr = ''
  #exited: Promise<FfmpegExit> | undefined
  #killTimer: NodeJS.Timeout | undefined
  #exitTimer: NodeJS.Timeout | undefined
  readonly #grace: number
  readonly #exitTimeout: number
  readonly #toFile: boolean
  /** False once ffmpeg takes no more input: it exited, closed stdin, or closed its output. */
  #inputOpen = true
  #pendingWrite: (() => void) | undefined
  #pendingFinal: (() => void) | undefined
  #discarded = 0

  constructor(options: FfmpegTranscoderOptions) {
    super({ readableObjectMode: false, writableObjectMode: false })
    this.args = ffmpegArgs(options)
    this.ffmpegPath = options.ffmpegPath ?? process.env['FFMPEG_PATH'] ?? 'ffmpeg'
    this.#grace = options.killGraceMs ?? 2000
    this.#exitTimeout = options.exitTimeoutMs ?? 500
    this.#toFile = options.outputPath !== undefined
  }

  /** Input bytes that ffmpeg never read, because it had exited or stopped reading. */
  get discardedBytes(): number {
    return this.#discarded
  }

  /** The child's pid, once started. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  #start(): ChildProcessByStdio<Writable, Readable, Readable> {
    if (this.#child) return this.#child
    const child = spawn(this.ffmpegPath, this.args, { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' ? ` ffmpeg was not found at '${this.ffmpegPath}': install it (apt-get install ffmpeg, brew install ffmpeg) or set FFMPEG_PATH.` : ''
      this.destroy(new FfmpegError(`Could not start ffmpeg: ${err.message}.${hint}`, { cause: err }))
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-MAX_STDERR)
    })
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause()
    })
    child.once('exit', () => this.#stopInput())
    child.stdout.once('end', () => {
      // The output is complete: input can no longer change it.
      this.#stopInput()
      if (child.exitCode === null && child.signalCode === null) {
        this.#exitTimer = setTimeout(() => {
          // Let a pending exit notification arrive first (I/O runs before setImmediate).
          setImmediate(() => {
            if (this.destroyed || child.exitCode !== null || child.signalCode !== null) return
            this.destroy(new FfmpegError(`ffmpeg closed its output but was still running ${this.#exitTimeout} ms later; killed it`, { stderr: this.#stderr }))
          })
        }, this.#exitTimeout)
      }
      void this.#exited?.then(({ code, signal }) => {
        clearTimeout(this.#exitTimer)
        if (this.destroyed) return
        // End the output only once the input side has finished too (the rest of the input is
        // discarded): a consumer that destroys the stream at its end (a `for await` loop) would
        // otherwise cut the input side short, and the pipeline would fail with a premature close.
        if (code === 0) {
          if (this.writableFinished) this.push(null)
          else this.once('finish', () => this.push(null))
        } else this.destroy(this.#exitError(code, signal))
      })
    })
    // EPIPE when ffmpeg exits early: the exit code and stderr explain it.
    child.stdin.on('error', () => this.#stopInput())
    return child
  }

  #exitError(code: number | null, signal: NodeJS.Signals | null): FfmpegError {
    const tail = this.#stderr.trim().split('\n').slice(-3).join(' | ') || 'no stderr'
    return new FfmpegError(`ffmpeg exited with ${code === null ? `signal ${signal}` : `code ${code}`}: ${tail}`, { exitCode: code, signal, stderr: this.#stderr })
  }

  /**
   * ffmpeg takes no more input: release a write waiting for `'drain'` (which will never come) and
   * the final callback, and discard what is buffered and what still arrives.
   */
  #stopInput(): void {
    if (!this.#inputOpen) return
    this.#inputOpen = false
    const stdin = this.#child?.stdin
    if (stdin && !stdin.destroyed) {
      this.#discarded += stdin.writableLength
      stdin.destroy()
    }
    this.#pendingWrite?.() // each clears itself, so it runs once
    this.#pendingFinal?.()
  }

  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    let child: ChildProcessByStdio<Writable, Readable, Readable>
    try {
      child = this.#start()
    } catch (err) {
      callback(new FfmpegError(`Could not start ffmpeg: ${(err as Error).message}`, { cause: err }))
      return
    }
    if (!this.#inputOpen) {
      this.#discarded += chunk.length
      callback()
      return
    }
    if (child.stdin.write(chunk)) callback()
    else {
      const done = () => {
        if (this.#pendingWrite !== done) return
        this.#pendingWrite = undefined
        callback()
      }
      this.#pendingWrite = done
      child.stdin.once('drain', done)
    }
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    let child: ChildProcessByStdio<Writable, Readable, Readable>
    try {
      child = this.#start()
    } catch (err) {
      callback(new FfmpegError(`Could not start ffmpeg: ${(err as Error).message}`, { cause: err }))
      return
    }
    if (!this.#inputOpen) {
      if (this.#toFile) void this.#exited?.then(({ code, signal }) => callback(code === 0 ? null : this.#exitError(code, signal)))
      else callback()
      return
    }
    const done = () => {
      if (this.#pendingFinal !== done) return
      this.#pendingFinal = undefined
      if (!this.#toFile) {
        callback()
        return
      }
      // Writing a file: the input side is finished only when ffmpeg has written and closed it.
      void this.#exited?.then(({ code, signal }) => callback(code === 0 ? null : this.#exitError(code, signal)))
    }
    this.#pendingFinal = done
    // An EPIPE here is not the stream's error: the exit code and stderr say what happened.
    child.stdin.end(() => done())
  }

  /** @internal */
  override _read(): void {
    try {
      this.#start().stdout.resume()
    } catch (err) {
      this.destroy(new FfmpegError(`Could not start ffmpeg: ${(err as Error).message}`, { cause: err }))
    }
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#exitTimer)
    const child = this.#child
    // No pid: the spawn failed (ENOENT, EACCES) and its 'error' is still a tick away. Signalling
    // such a child would be kill(0, sig), which libuv sends to this whole process group.
    if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.stdin.destroy()
      child.stdout.destroy()
      child.kill('SIGTERM')
      this.#killTimer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }, this.#grace)
      this.#killTimer.unref()
      child.once('close', () => clearTimeout(this.#killTimer))
    }
    callback(error)
  }

  /** Resolves when the ffmpeg process has exited (immediately if it never started). */
  async exited(): Promise<FfmpegExit> {
    return this.#exited ?? { code: null, signal: null }
  }
}
