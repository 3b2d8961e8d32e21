/**
 * `lightning-stream say`: text (an argument, stdin, or stdin as it arrives with `--stream`) to a
 * file, stdout or the speakers, in the format the extension or `--format` names. A file is written
 * whole or not at all; Ctrl-C or a failure says how much audio had arrived.
 * @internal
 * @module
 */
import { ffmpegFound, ffmpegMissingError } from '../codecs/ffmpeg-transcoder.js'
import { OPUS_ENGINES, OpusEngineMissingError, opusEngineInstalled } from '../codecs/opus-engines.js'
import { resolveTtsRequest, type TtsRequest } from '../client/request.js'
import { resolveStreamTextRequest } from '../client/ws-protocol.js'
import type { PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import type { TtsMetrics } from '../metrics/timeline.js'
import type { AudioDelivered } from '../errors.js'
import { discardFileSync } from '../file-output.js'
import { OPUS_SAMPLE_RATES } from '../codecs/opus-packet.js'
import { intIn, num, UsageError, type Values } from './args.js'
import { connect } from './connect.js'
import { EXIT, exitCodeOf } from './exit-codes.js'
import { bitrateOf, checkBitrate, describeOutput, needsFfmpeg, resolveOutput, writeOutput, type Destination, type Kind } from './output.js'
import { findPlayer, NO_PLAYER_HELP, startPlayer, type Player } from './player.js'
import { openSpeech } from './say-stream.js'

/** Seconds of audio in `delivered`, as text. */
function secondsOf(d: AudioDelivered | undefined): string {
  return !d?.bytes || d.durationMs === undefined ? 'no audio' : `${(d.durationMs / 1000).toFixed(2)} s of audio (${d.chunks} chunks, ${d.bytes} bytes)`
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function printStats(m: TtsMetrics): void {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`)
  const rows: [string, string][] = [
    ['request sent', ms(m.requestSent)],
    ['response headers', ms(m.responseHeaders)],
    ['first SSE byte', ms(m.firstSseByte)],
    ['first audio event', ms(m.firstAudioEvent)],
    ['first PCM byte (time to first audio)', ms(m.firstPcmByte)],
    ['end', ms(m.end)],
    ['audio', `${(m.audioMs / 1000).toFixed(2)} s (${m.audioBytes} bytes)`],
    ['realtime factor (synthesis, request to end)', m.realtimeFactor === undefined ? '-' : `${m.realtimeFactor.toFixed(1)}×`],
    ['retries', String(m.retries)],
  ]
  for (const [k, v] of rows) process.stderr.write(`  ${k.padEnd(44)} ${v}\n`)
}

/** Runs `say`; resolves with the exit code (a failure kept with `--keep-partial` is not thrown). */
export async function say(values: Values, positionals: string[], log: (s: string) => void): Promise<number> {
  // Without -o, play through the default audio device (player.ts): ffplay reads WAV, the others raw PCM.
  const player = values.output === undefined ? findPlayer() : undefined
  if (values.output === undefined) {
    // A missing tool, like a missing ffmpeg: exit 1 (a failure of the machine), not 2 (usage).
    if (!player) throw new Error(NO_PLAYER_HELP)
    if (player.name === 'afplay') throw new UsageError('afplay cannot read a pipe: use -o out.wav and play the file')
    if (values.format !== undefined) throw new UsageError('--format applies to -o FILE or -o -')
  }
  const resolved = values.output === undefined ? undefined : resolveOutput(values.output, values.format, process.stdout.isTTY)
  const kind: Kind = resolved?.kind ?? (player?.name === 'ffplay' ? 'wav' : 'pcm')
  const rate = intIn('rate', values.rate, 8000, 192000)
  const channels = intIn('channels', values.channels, 1, 2)
  const bitrate = num('bitrate', values.bitrate)
  checkBitrate(kind, bitrate)
  const opus = kind === 'ogg' || kind === 'opus'
  if (opus && rate !== undefined && !OPUS_SAMPLE_RATES.includes(rate)) throw new UsageError(`--rate for Opus must be one of ${OPUS_SAMPLE_RATES.join(', ')} (got ${rate})`)
  if (values['keep-partial'] && resolved?.destination.type !== 'file') throw new UsageError('--keep-partial applies to a file (-o FILE)')
  // The encoder's tools are checked before any audio is asked for: a missing ffmpeg costs no
  // synthesis (an Ogg falls back to ffmpeg only when no Opus engine is installed).
  const noOpusEngine = opus && !OPUS_ENGINES.some((e) => opusEngineInstalled(e))
  if ((needsFfmpeg(kind) || noOpusEngine) && !ffmpegFound()) {
    throw noOpusEngine ? new OpusEngineMissingError([...OPUS_ENGINES]) : ffmpegMissingError()
  }
  let text = positionals.join(' ')
  if (text === '-') text = ''
  if (!text && !values.stream) {
    if (process.stdin.isTTY) throw new UsageError('no text: pass it as an argument or on stdin')
    text = await readStdin()
  }
  const request: TtsRequest = {
    text: text.trim(),
    voice_id: values.voice ?? 'magnus',
    model: values.model as TtsRequest['model'],
    language: values.language as TtsRequest['language'],
    sample_rate: num('sample-rate', values['sample-rate']) as TtsRequest['sample_rate'],
    speed: num('speed', values.speed),
    session_id: values['session-id'],
    request_id: values['request-id'],
  }
  // A bad field is a usage error before anything starts (--stream: the text comes later).
  if (values.stream) {
    const { text: _text, output_format: _format, ...fields } = request
    resolveStreamTextRequest(fields)
  } else resolveTtsRequest(request)
  const { client, emulator, engine } = await connect(values, log)
  const started = performance.now()
  let destination: Destination | undefined = resolved?.destination
  const where = player ? player.name : destination?.type === 'stdout' ? 'stdout' : (destination as { path: string }).path
  let playing: Player | undefined
  let progress: NodeJS.Timeout | undefined
  const stopProgress = () => {
    if (!progress) return
    clearInterval(progress)
    progress = undefined
    process.stderr.write('\r\x1b[K')
  }
  // Ctrl-C (or SIGTERM) aborts the request; the file is then removed (or, with --keep-partial,
  // finalized) and the run exits 130 saying how much audio had arrived. A second Ctrl-C exits now.
  const abort = new AbortController()
  let temp: string | undefined
  let interrupted = false
  const onSignal = () => {
    if (interrupted) {
      if (temp) discardFileSync(temp)
      process.exit(EXIT.interrupted)
    }
    interrupted = true
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const speech = openSpeech(client, request, values, text.trim(), abort.signal) // --stream, --words (say-stream.ts)
    const pcm = speech?.pcm ?? client.pcm(request, { signal: abort.signal })
    const targetRate = rate ?? (opus && !OPUS_SAMPLE_RATES.includes(pcm.format.sampleRate) ? 48000 : pcm.format.sampleRate)
    const target: PcmFormat = { sampleRate: targetRate, channels: channels ?? pcm.format.channels, encoding: 's16le' }
    if (!values.quiet && process.stderr.isTTY) {
      progress = setInterval(() => {
        const m = pcm.metrics
        process.stderr.write(`\r  ${(m.audioMs / 1000).toFixed(1)} s of audio, first audio after ${m.firstPcmByte?.toFixed(0) ?? '-'} ms `)
      }, 200)
      progress.unref()
    }
    if (player) {
      playing = startPlayer(player, target)
      destination = { type: 'player', name: player.name, stdin: playing.stdin }
      log(`lightning-stream: playing through ${player.name}; use -o FILE to write a file`)
    }
    const br = bitrateOf(kind, bitrate)
    let failure: unknown
    try {
      ;({ failure } = await writeOutput({
        pcm,
        shaping: convertPcm(pcm.format, target),
        kind,
        format: target,
        bitrate: br,
        destination: destination!,
        keepPartial: values['keep-partial'] === true,
        log,
        onTemp: (t) => (temp = t),
      }))
    } catch (err) {
      stopProgress()
      throw withFileNote(err, destination!, pcm.delivered, interrupted, values['keep-partial'] === true)
    }
    await playing?.done
    await speech?.finish()
    stopProgress()
    if (failure !== undefined) {
      const d = (failure as { delivered?: AudioDelivered }).delivered ?? pcm.delivered
      const e = failure as Error
      process.stderr.write(`lightning-stream: ${interrupted ? 'interrupted' : e.message}\n`)
      process.stderr.write(`lightning-stream: ${secondsOf(d)} had arrived (delivered); kept them in ${where} as a valid ${kind} file (--keep-partial)\n`)
      return interrupted ? EXIT.interrupted : exitCodeOf(failure)
    }
    const m = pcm.metrics
    const seconds = m.audioMs / 1000
    const wall = (performance.now() - started) / 1000
    const what = engine === 'tone' ? 'tone (the emulator\'s test signal, not speech)' : 'speech'
    log(
      `lightning-stream: ${where}: ${seconds.toFixed(2)} s of ${what} as ${kind} (${describeOutput(kind, target, br)})` +
        `, first audio after ${(m.firstPcmByte ?? 0).toFixed(0)} ms, ${(seconds / wall).toFixed(1)}× realtime end to end`,
    )
    if (values.stats) printStats(m)
    return EXIT.ok
  } finally {
    stopProgress()
    if (playing && playing.child.exitCode === null && playing.child.signalCode === null) playing.child.kill('SIGTERM')
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await client.close()
    await emulator?.close()
  }
}

/** What a failed `say` adds to its error message: how much audio arrived, what became of the output. */
export const NOTES = new WeakMap<object, { note: string; interrupted: boolean }>()

function withFileNote(err: unknown, destination: Destination, delivered: AudioDelivered, interrupted: boolean, keepPartial: boolean): unknown {
  if (!(err instanceof Error) || (err as { code?: unknown }).code === 'EPIPE') return err
  const d = (err as { delivered?: AudioDelivered }).delivered ?? delivered
  const fate =
    destination.type === 'file'
      ? `${destination.path} was not written${d.bytes > 0 ? (keepPartial ? ' (--keep-partial had nothing valid to keep: the encoder failed)' : ' (--keep-partial keeps what arrived)') : ''}`
      : `written to ${destination.type === 'stdout' ? 'stdout' : destination.type === 'player' ? destination.name : destination.path} as it arrived`
  NOTES.set(err, { note: `${secondsOf(d)} had arrived (delivered); ${fate}`, interrupted })
  return err
}
