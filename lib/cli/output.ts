/**
 * The CLI's output side: which format a `say` writes (from `-f` and the file extension), the
 * encoding stages for it, where the bytes go (stdout, a device, or a file written through a
 * temporary file and renamed), and how the result is described.
 * @internal
 * @module
 */
import { createWriteStream, lstatSync, realpathSync, statSync, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, extname } from 'node:path'
import type { Duplex, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PcmFormat } from '../audio/format.js'
import { createOutputChain, type OutputKind } from '../codecs/output-chain.js'
import { commitFile, discardFile, endOnFailure, tempPathFor } from '../file-output.js'
import { UsageError } from './args.js'

/** Output formats of `say` (output chains of {@link createOutputChain}). `ogg` and `opus` are the same bytes (Ogg Opus). */
export const KINDS = ['wav', 'ogg', 'opus', 'mp3', 'flac', 'aac', 'webm', 'pcm'] as const satisfies readonly OutputKind[]
/** An output format of `say`. */
export type Kind = (typeof KINDS)[number]

const isOpus = (k: Kind) => k === 'ogg' || k === 'opus'

/** Where the audio goes. */
export type Destination =
  | { type: 'stdout' }
  /** A device, FIFO or socket (`/dev/stdout`, `/dev/full`): written as a stream, like stdout. */
  | { type: 'stream'; path: string }
  /** A regular file (new or existing): written to a temporary file beside it, then renamed. */
  | { type: 'file'; path: string }
  /** An audio player's standard input (`say` without `-o`). */
  | { type: 'player'; name: string; stdin: Writable }

/**
 * The format and destination of `say -o OUTPUT [-f FORMAT]`. `-f` names the format when the
 * extension does not (`-o -`, `/dev/stdout`, `out.bin`); when both name one, they must agree.
 * @throws {@link UsageError}
 */
export function resolveOutput(output: string, format: string | undefined, stdoutIsTTY: boolean | undefined): { kind: Kind; destination: Destination } {
  if (format !== undefined && !(KINDS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${KINDS.join(', ')} (got '${format}')`)
  }
  let st: Stats | undefined
  try {
    if (output !== '-') st = statSync(output)
  } catch {
    // Does not exist yet: a new file.
  }
  if (st?.isDirectory()) throw new UsageError(`'${output}' is a directory: give a file name, e.g. -o ${output.replace(/\/+$/, '')}/speech.${format ?? 'wav'}`)
  const ext = output === '-' ? '' : extname(output).slice(1).toLowerCase()
  const fromExt = (KINDS as readonly string[]).includes(ext) ? (ext as Kind) : undefined
  const fromFlag = format as Kind | undefined
  if (fromFlag && fromExt && fromFlag !== fromExt && !(isOpus(fromFlag) && isOpus(fromExt))) {
    throw new UsageError(`--format ${fromFlag} contradicts the .${fromExt} extension of '${output}': drop one, or make them agree`)
  }
  let kind = fromFlag ?? fromExt
  if (!kind) {
    if (output !== '-') throw new UsageError(`cannot tell the format of '${output}' from its extension: add --format (${KINDS.join(', ')})`)
    kind = 'wav'
  }
  if (output === '-') {
    if (stdoutIsTTY) throw new UsageError('refusing to write audio to a terminal: redirect stdout (> file, | player) or use -o FILE')
    return { kind, destination: { type: 'stdout' } }
  }
  // Devices and FIFOs (and whatever /dev/stdout or /proc/self/fd/N point at) are written as
  // streams: there is no file to replace. A symlink to a file is replaced at its target.
  if ((st && !st.isFile()) || /^\/(dev|proc)\//.test(output)) return { kind, destination: { type: 'stream', path: output } }
  if (st && lstatSync(output).isSymbolicLink()) output = realpathSync(output)
  let dir: Stats | undefined
  try {
    dir = statSync(dirname(output))
  } catch {
    // reported below
  }
  if (!dir?.isDirectory()) throw new UsageError(`cannot write '${output}': directory '${dirname(output)}' does not exist`)
  return { kind, destination: { type: 'file', path: output } }
}

/** Checks `--bitrate` against the format. @throws {@link UsageError} */
export function checkBitrate(kind: Kind, bitrate: number | undefined): void {
  if (bitrate === undefined) return
  if (!isOpus(kind) && kind !== 'mp3' && kind !== 'aac' && kind !== 'webm') throw new UsageError(`--bitrate applies to ogg, opus, webm, mp3 and aac output, not ${kind}`)
  const [lo, hi] = kind === 'mp3' ? [8000, 320000] : kind === 'aac' ? [8000, 512000] : [6000, 510000]
  if (!Number.isInteger(bitrate) || bitrate < lo || bitrate > hi) throw new UsageError(`--bitrate for ${kind} must be an integer from ${lo} to ${hi} bit/s (got ${bitrate})`)
}

/** The bitrate a kind is encoded at. */
export function bitrateOf(kind: Kind, bitrate: number | undefined): number | undefined {
  if (isOpus(kind)) return bitrate ?? 64000
  if (kind === 'mp3') return bitrate ?? 128000
  if (kind === 'aac') return bitrate ?? 96000
  if (kind === 'webm') return bitrate ?? 64000
  return undefined
}

/** Kinds ffmpeg encodes (and writes to the file itself, so it can finalize headers and cues). */
export function needsFfmpeg(kind: Kind): boolean {
  return kind === 'mp3' || kind === 'flac' || kind === 'aac' || kind === 'webm'
}

/** One line describing what was written, e.g. `Opus, 48000 Hz mono, 64 kbit/s`. */
export function describeOutput(kind: Kind, format: PcmFormat, bitrate: number | undefined): string {
  const ch = format.channels === 1 ? 'mono' : format.channels === 2 ? 'stereo' : `${format.channels} ch`
  const kbps = bitrate === undefined ? '' : `, ${bitrate / 1000} kbit/s`
  switch (kind) {
    case 'wav':
    case 'pcm':
      return `${format.sampleRate} Hz ${ch} ${format.encoding}`
    case 'ogg':
    case 'opus':
      // Opus always decodes at 48 kHz; OpusHead records the rate it was encoded from.
      return `Opus, 48000 Hz ${ch}${kbps}${format.sampleRate === 48000 ? '' : `, encoded from ${format.sampleRate} Hz`}`
    case 'mp3':
      return `MP3, ${format.sampleRate} Hz ${ch}${kbps}`
    case 'flac':
      return `FLAC, ${format.sampleRate} Hz ${ch}, 16-bit`
    case 'aac':
      return `AAC (ADTS), ${format.sampleRate} Hz ${ch}${kbps}`
    case 'webm':
      return `Opus in WebM, 48000 Hz ${ch}${kbps}`
  }
}

/**
 * The encoding stages for `kind` ({@link createOutputChain}). `file`: the path ffmpeg writes itself
 * (mp3, flac), so it can seek back and finalize the header. An Ogg without an Opus engine is
 * encoded by ffmpeg (`ffmpegFallback`), and the log says so.
 */
function encoders(kind: Kind, format: PcmFormat, bitrate: number | undefined, file: string | undefined, log: (s: string) => void): Duplex[] {
  const chain = createOutputChain(kind, format, { bitrate, outputPath: file, ffmpegFallback: true })
  if (isOpus(kind) && chain.encoder === 'ffmpeg') log('lightning-stream: no Opus engine installed (npm install @evan/opus or opusscript): encoding with ffmpeg')
  return chain.stages
}

/** What {@link writeOutput} reports. */
export interface WriteResult {
  /** The error that cut the audio short, when `keepPartial` kept a valid file of what arrived. */
  failure: unknown
}

/** Writes a WAV header with the real sizes over the streaming one (as writeWavFile does). */
async function patchHeader(path: string, header: Buffer): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    await fh.write(header, 0, header.length, 0)
  } finally {
    await fh.close()
  }
}

/**
 * Writes `pcm` (after `shaping`) as `kind` to `destination`. A file is written to a temporary
 * file beside it and renamed only when complete; on failure it is removed and the target is
 * untouched, unless `keepPartial`: then the audio that arrived is finalized into a valid file at
 * the target, and the failure is returned.
 */
export async function writeOutput(opts: {
  pcm: Readable
  shaping: Duplex[]
  kind: Kind
  format: PcmFormat
  bitrate: number | undefined
  destination: Destination
  keepPartial: boolean
  log: (s: string) => void
  onTemp?: (temp: string | undefined) => void
}): Promise<WriteResult> {
  const { pcm, shaping, kind, format, bitrate, destination, keepPartial, log } = opts
  let failure: unknown
  let arrived = 0
  const source = keepPartial ? endOnFailure(pcm, (err) => (failure = err), (c) => (arrived += c.length)) : pcm
  if (destination.type !== 'file') {
    const sink = destination.type === 'stdout' ? process.stdout : destination.type === 'player' ? destination.stdin : createWriteStream(destination.path)
    await pipeline([source, ...shaping, ...encoders(kind, format, bitrate, undefined, log), sink])
    return { failure }
  }
  const temp = tempPathFor(destination.path)
  opts.onTemp?.(temp)
  try {
    const toFile = needsFfmpeg(kind)
    const stages = encoders(kind, format, bitrate, toFile ? temp : undefined, log)
    let header: Buffer | undefined
    stages[0]?.once('header', (h: Buffer) => (header = h)) // WavEncoder: the header with real sizes
    if (toFile) await pipeline([source, ...shaping, ...stages])
    else await pipeline([source, ...shaping, ...stages, createWriteStream(temp)])
    if (header) await patchHeader(temp, header)
    if (failure !== undefined && arrived === 0) throw failure // nothing to keep: leave the target alone
    await commitFile(temp, destination.path)
  } catch (err) {
    await discardFile(temp)
    throw err
  } finally {
    opts.onTemp?.(undefined)
  }
  return { failure }
}
