/**
 * ffmpeg spawned directly: argument arrays (no shell; built by `ffmpeg-args.ts`), stdin/stdout
 * inside the pipeline, stderr kept (bounded) for errors, exit code checked, SIGTERM then SIGKILL
 * on destroy. fluent-ffmpeg was archived in 2025; prism-media's FFmpeg hides exit codes and stderr.
 * @module
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { Duplex } from 'node:stream'
import type { Readable, Writable } from 'node:stream'
import { LightningStreamError } from '../errors.js'
import { ffmpegArgs, type FfmpegArgsOptions } from './ffmpeg-args.js'

/** ffmpeg failed: it could not start, or exited with a non-zero code. */
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

/**
 * Whether `ffmpegPath` names an executable file: a path is checked as is, a bare name is looked for
 * on `PATH`. On Windows (PATHEXT, `.exe`) it answers true and leaves the answer to the spawn.
 * @param ffmpegPath - @defaultValue `process.env.FFMPEG_PATH`, else `'ffmpeg'`
 * @internal
 */
export function ffmpegFound(ffmpegPath: string = process.env['FFMPEG_PATH'] ?? 'ffmpeg'): boolean {
  if (process.platform === 'win32') return true
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK)
      return statSync(file).isFile()
    } catch {
      return false
    }
  }
  if (ffmpegPath.includes('/')) return executable(ffmpegPath)
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, ffmpegPath)))
}

/** The error for an ffmpeg that is not there: what was looked for, and the fix. @internal */
export function ffmpegMissingError(ffmpegPath: string = process.env['FFMPEG_PATH'] ?? 'ffmpeg'): FfmpegError {
  const where = ffmpegPath.includes('/') ? `at '${ffmpegPath}'` : `on PATH ('${ffmpegPath}')`
  return new FfmpegError(`ffmpeg was not found ${where}: install it (apt-get install ffmpeg, brew install ffmpeg) or set FFMPEG_PATH.`)
}

/** How ffmpeg ended. */
export interface FfmpegExit {
  /** Exit code, or null when a signal ended it (or it never started). */
  code: number | null
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null
}

/** Options of {@link FfmpegTranscoder}. */
export interface FfmpegTranscoderOptions extends FfmpegArgsOptions {
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
 * @throws {@link FfmpegError} (`ERR_FFMPEG`) from the constructor when `ffmpegPath` is not an
 * executable (checked on `PATH` for a bare name), before any audio is asked for; later, when
 * ffmpeg cannot start or exits non-zero, as the stream's error.
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
    // Checked now, so a missing ffmpeg fails before any audio is asked for, not after.
    if (!ffmpegFound(this.ffmpegPath)) throw ffmpegMissingError(this.ffmpegPath)
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
