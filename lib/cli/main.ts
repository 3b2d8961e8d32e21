#!/usr/bin/env node
/**
 * The `lightning-stream` command: `say`, `serve`, `voices`.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { LightningClient } from '../client/client.js'
import { LANGUAGES, resolveTtsRequest, type TtsRequest } from '../client/request.js'
import { type PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import type { TtsMetrics } from '../metrics/timeline.js'
import { LightningStreamError, type AudioDelivered } from '../errors.js'
import { discardFileSync } from '../file-output.js'
import { bitrateOf, checkBitrate, describeOutput, OPUS_RATES, resolveOutput, UsageError, writeOutput, type Destination, type Kind } from './output.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { parseFaultHeader } from '../emulator/faults.js'
import { toneEngine } from '../emulator/tone.js'
import type { SpeechEngine } from '../emulator/synthesis.js'
import { createEspeakEngine } from '../emulator/espeak.js'
import { findPlayer, NO_PLAYER_HELP, startPlayer, type Player } from './player.js'
import { openSpeech } from './say-stream.js'
import { resolveStreamTextRequest } from '../client/ws-protocol.js'
import { VERSION } from '../version.js'

/** Exit codes, documented in `--help` and the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, network: 4, stream: 5, interrupted: 130 } as const

const HELP = `lightning-stream ${VERSION}: Smallest.ai Lightning v3.1 text-to-speech from the command line

Usage:
  lightning-stream say [text] [-o FILE] [options] speak text (or stdin) into a file, stdout, or the speakers
  lightning-stream serve [--port N]               run the local Lightning emulator
  lightning-stream voices [--json] [--language L] list voices (L: a code such as hi, or a name)

say options:
  -o, --output FILE      .wav .ogg .opus .mp3 .flac or .pcm (raw s16le); '-' is stdout.
                         A file is written whole or not at all: a failure leaves it
                         untouched (an older file of that name survives). Without -o,
                         plays through ffplay, paplay or aplay
      --stream           read stdin as it arrives and speak each sentence as soon as it is
                         complete (the WebSocket route), e.g. from a language model's output
      --words            print word timestamps (start and end, seconds) to stderr
      --words-json FILE  write word timestamps to a JSON file
  -f, --format FMT       wav | ogg | opus | mp3 | flac | pcm: for stdout (default wav), a
                         device or a name without a known extension; must agree with one
      --keep-partial     on failure or Ctrl-C, keep a valid file of the audio that arrived
      --voice ID         voice id (default magnus)
      --model NAME       lightning_v3.1 | lightning_v3.1_pro
      --language CODE    en, hi, es, … or auto
      --sample-rate HZ   8000 | 16000 | 24000 | 44100 (default 24000)
      --speed X          0.5 to 2 (default 1)
      --session-id ID    echoed back as X-External-Session-Id
      --request-id ID    echoed back as X-External-Request-Id
      --rate HZ          output sample rate, 8000 to 192000 (converted locally; Opus:
                         8000, 12000, 16000, 24000 or 48000)
      --channels N       output channels, 1 or 2
      --bitrate BPS      ogg/opus (6000-510000, default 64000) or mp3 (8000-320000, default 128000)
      --stats            print the request timeline and audio figures at the end
      --engine E         offline speech engine: espeak (default when installed) | tone

connection options (say, voices):
      --base-url URL     API origin (default https://api.smallest.ai)
      --api-key-file F   read the API key from a file (else SMALLEST_API_KEY)
      --local            use the built-in emulator even when a key is set
  With no key, the built-in emulator answers, offline, with eSpeak NG speech
  (the optional espeak-ng package) or a tone.

serve options:
      --port N           port (default 8099; 0 picks one)
      --engine E         espeak | tone (default espeak when installed)
      --host H           interface (default 127.0.0.1)
      --max-concurrent N requests in flight per key before 429 (default 1)
      --realtime-factor X  synthesis speed vs realtime (default: as fast as possible)
      --chunk-ms N       audio per SSE frame (default 20)
      --fault SPEC       inject faults into every request, e.g. 'drop-after=3' or
                         'fail-status=429,fail-count=2,fail-retry-after=1' (see docs/errors-and-retries.md)

general:
  -q, --quiet            no progress or summary on stderr
  -v, --verbose          stack traces on errors
  -h, --help             this help
      --version          print the version

Exit codes: 0 ok, 2 usage, 3 API error (HTTP status), 4 network or timeout,
            5 stream error (truncated, malformed), 130 interrupted, 1 anything else.

Examples:
  lightning-stream say "Hello from Lightning." -o hello.wav
  lightning-stream say "Small file for a chat app." -o hi.ogg --bitrate 32000
  echo "Piped text." | lightning-stream say -o - --format pcm | ffplay -f s16le -ar 24000 -ac 1 -
  lightning-stream serve --port 8099 --realtime-factor 3
`

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  voice: { type: 'string' },
  model: { type: 'string' },
  language: { type: 'string' },
  'sample-rate': { type: 'string' },
  speed: { type: 'string' },
  'session-id': { type: 'string' },
  'request-id': { type: 'string' },
  'base-url': { type: 'string' },
  'api-key-file': { type: 'string' },
  local: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  'max-concurrent': { type: 'string' },
  'realtime-factor': { type: 'string' },
  'chunk-ms': { type: 'string' },
  rate: { type: 'string' },
  channels: { type: 'string' },
  bitrate: { type: 'string' },
  stats: { type: 'boolean' },
  engine: { type: 'string' },
  fault: { type: 'string' },
  json: { type: 'boolean' },
  'keep-partial': { type: 'boolean' },
  stream: { type: 'boolean' },
  words: { type: 'boolean' },
  'words-json': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

const CONNECTION = ['base-url', 'api-key-file', 'local', 'engine'] as const
const GENERAL = ['quiet', 'verbose', 'help', 'version'] as const
/** The options each command takes; any other is refused, never silently ignored. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  say: ['output', 'format', 'keep-partial', 'stream', 'words', 'words-json', 'voice', 'model', 'language', 'sample-rate', 'speed', 'session-id', 'request-id', 'rate', 'channels', 'bitrate', 'stats', ...CONNECTION, ...GENERAL],
  voices: ['json', 'language', ...CONNECTION, ...GENERAL],
  serve: ['port', 'host', 'max-concurrent', 'realtime-factor', 'chunk-ms', 'fault', 'engine', ...GENERAL],
}

/** Language names the voice catalog uses, by Lightning language code. */
const LANGUAGE_NAMES: Record<string, string> = {
  en: 'english', hi: 'hindi', mr: 'marathi', kn: 'kannada', ta: 'tamil', bn: 'bengali', gu: 'gujarati', te: 'telugu',
  ml: 'malayalam', pa: 'punjabi', or: 'odia', es: 'spanish', de: 'german', fr: 'french', it: 'italian', nl: 'dutch',
  sv: 'swedish', pt: 'portuguese', ru: 'russian', el: 'greek', fi: 'finnish', no: 'norwegian', pl: 'polish', ar: 'arabic',
  zh: 'chinese', id: 'indonesian', ja: 'japanese', ko: 'korean', ms: 'malay', tr: 'turkish', vi: 'vietnamese',
}

/** A positive integer in [lo, hi], or a usage error naming the option. */
function intIn(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  const n = num(name, v)
  if (n === undefined) return undefined
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi} (got '${v}')`)
  return n
}

/** Seconds of audio in `delivered`, as text. */
function secondsOf(d: AudioDelivered | undefined): string {
  return !d?.bytes || d.durationMs === undefined ? 'no audio' : `${(d.durationMs / 1000).toFixed(2)} s of audio (${d.frames} frames, ${d.bytes} bytes)`
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number (got '${v}')`)
  return n
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** What to do for real speech offline: said once, when espeak-ng is missing and no engine was asked for. */
const ESPEAK_HINT =
  'lightning-stream: eSpeak NG is not installed, so the emulator speaks with the tone engine (a test tone, not speech). For real speech offline: npm install espeak-ng (GPL-3.0-or-later).'

/**
 * The offline speech engine: espeak when installed (or asked for), else the tone engine. espeak-ng
 * is an optional peer (GPL, 18 MB), not installed by default: without it, say so once.
 */
async function pickEngine(values: Values, log: (s: string) => void): Promise<SpeechEngine> {
  const wanted = values.engine
  if (wanted !== undefined && wanted !== 'espeak' && wanted !== 'tone') throw new UsageError(`--engine must be espeak or tone (got '${wanted}')`)
  if (wanted === 'tone') return toneEngine
  try {
    return await createEspeakEngine()
  } catch (err) {
    if (wanted === 'espeak') throw err
    if ((err as { code?: unknown }).code === 'ERR_ESPEAK_MISSING') log(ESPEAK_HINT)
    else log(`lightning-stream: eSpeak NG could not start (${(err as Error).message}), so the emulator speaks with the tone engine.`)
    return toneEngine
  }
}

/** Creates the client: the real API with a key, else (or with --local) an in-process emulator. */
async function connect(values: Values, log: (s: string) => void): Promise<{ client: LightningClient; emulator?: Emulator; engine?: string }> {
  let apiKey = process.env['SMALLEST_API_KEY'] || undefined
  if (values['api-key-file']) apiKey = readFileSync(values['api-key-file'], 'utf8').trim()
  if (values.local || (!apiKey && !values['base-url'])) {
    const engine = await pickEngine(values, log)
    const emulator = await startEmulator({ maxConcurrent: 4, engine })
    const what = engine.name === 'espeak' ? 'eSpeak NG speech' : 'tone engine'
    log(`lightning-stream: ${values.local ? '--local' : 'no SMALLEST_API_KEY'}: using the built-in emulator (${what}) at ${emulator.url}`)
    try {
      return { client: new LightningClient({ baseUrl: emulator.url }), emulator, engine: engine.name }
    } catch (err) {
      await emulator.close()
      throw err
    }
  }
  return { client: new LightningClient({ apiKey, baseUrl: values['base-url'] }) }
}

function printStats(m: TtsMetrics): void {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`)
  const rows: [string, string][] = [
    ['request sent', ms(m.requestSent)],
    ['response headers', ms(m.responseHeaders)],
    ['first SSE byte', ms(m.firstSseByte)],
    ['first audio frame', ms(m.firstAudioEvent)],
    ['first PCM byte (time to first audio)', ms(m.firstPcmByte)],
    ['end', ms(m.end)],
    ['audio', `${(m.audioMs / 1000).toFixed(2)} s (${m.audioBytes} bytes)`],
    ['realtime factor', m.realtimeFactor === undefined ? '-' : `${m.realtimeFactor.toFixed(1)}×`],
    ['retries', String(m.retries)],
  ]
  for (const [k, v] of rows) process.stderr.write(`  ${k.padEnd(38)} ${v}\n`)
}

async function say(values: Values, positionals: string[], log: (s: string) => void): Promise<number> {
  // Without -o, play through the default audio device (player.ts): ffplay reads WAV, the others raw PCM.
  const player = values.output === undefined ? findPlayer() : undefined
  if (values.output === undefined) {
    if (!player) throw new UsageError(NO_PLAYER_HELP)
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
  if (opus && rate !== undefined && !OPUS_RATES.includes(rate)) throw new UsageError(`--rate for Opus must be one of ${OPUS_RATES.join(', ')} (got ${rate})`)
  if (values['keep-partial'] && resolved?.destination.type !== 'file') throw new UsageError('--keep-partial applies to a file (-o FILE)')
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
    const targetRate = rate ?? (opus && !OPUS_RATES.includes(pcm.format.sampleRate) ? 48000 : pcm.format.sampleRate)
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
      throw withFileNote(err, destination!, pcm.delivered, interrupted)
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
        `, first audio after ${(m.firstPcmByte ?? 0).toFixed(0)} ms, ${(seconds / wall).toFixed(1)}× realtime`,
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
const NOTES = new WeakMap<object, { note: string; interrupted: boolean }>()

function withFileNote(err: unknown, destination: Destination, delivered: AudioDelivered, interrupted: boolean): unknown {
  if (!(err instanceof Error) || (err as { code?: unknown }).code === 'EPIPE') return err
  const d = (err as { delivered?: AudioDelivered }).delivered ?? delivered
  const fate =
    destination.type === 'file'
      ? `${destination.path} was not written${d.bytes > 0 ? ' (--keep-partial keeps what arrived)' : ''}`
      : `written to ${destination.type === 'stdout' ? 'stdout' : destination.type === 'player' ? destination.name : destination.path} as it arrived`
  NOTES.set(err, { note: `${secondsOf(d)} had arrived (delivered); ${fate}`, interrupted })
  return err
}

async function voices(values: Values, log: (s: string) => void): Promise<void> {
  const { client, emulator } = await connect(values, log)
  try {
    let list = await client.voices()
    if (values.language !== undefined) {
      const wanted = values.language.toLowerCase()
      const name = LANGUAGE_NAMES[wanted] ?? wanted
      if (wanted === 'auto' || (!(LANGUAGES as readonly string[]).includes(wanted) && !Object.values(LANGUAGE_NAMES).includes(wanted))) {
        throw new UsageError(`--language must be a language code (${LANGUAGES.filter((l) => l !== 'auto').join(', ')}) or its name (got '${values.language}')`)
      }
      list = list.filter((v) => (v.tags?.language ?? []).some((l) => l.toLowerCase() === name))
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
      return
    }
    const rows = list.map((v) => [v.voiceId, v.displayName, (v.tags?.language ?? []).join(','), v.tags?.gender ?? '', v.tags?.accent ?? ''])
    const head = ['VOICE ID', 'NAME', 'LANGUAGES', 'GENDER', 'ACCENT']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`)
  } finally {
    await client.close()
    await emulator?.close()
  }
}

async function serve(values: Values, log: (s: string) => void): Promise<void> {
  const emulator = await startEmulator({
    engine: await pickEngine(values, log),
    port: num('port', values.port) ?? 8099,
    host: values.host,
    maxConcurrent: num('max-concurrent', values['max-concurrent']),
    realtimeFactor: num('realtime-factor', values['realtime-factor']),
    chunkMs: num('chunk-ms', values['chunk-ms']),
    faults: values.fault ? parseFaultHeader(values.fault) : undefined,
  })
  process.stdout.write(`${emulator.url}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await emulator.close()
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage
  if (!(err instanceof LightningStreamError)) return EXIT.failure
  switch (err.code) {
    case 'ERR_INVALID_REQUEST':
    case 'ERR_INVALID_OPTION':
    case 'ERR_MISSING_API_KEY':
      return EXIT.usage
    case 'ERR_API':
      return EXIT.api
    case 'ERR_FFMPEG':
    case 'ERR_OPUS_ENGINE_MISSING':
    case 'ERR_ESPEAK_MISSING':
      return EXIT.failure
    case 'ERR_CONNECTION':
    case 'ERR_TIMEOUT':
      return EXIT.network
    case 'ERR_ABORTED':
      return EXIT.interrupted
    default:
      return EXIT.stream
  }
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let values: Values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }))
  } catch (err) {
    process.stderr.write(`lightning-stream: ${(err as Error).message}\nTry 'lightning-stream --help'.\n`)
    return EXIT.usage
  }
  const log = (s: string) => {
    if (!values.quiet) process.stderr.write(`${s}\n`)
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`)
    return EXIT.ok
  }
  const [command, ...rest] = positionals
  if (values.help || !command) {
    process.stdout.write(HELP)
    return values.help ? EXIT.ok : EXIT.usage
  }
  try {
    const allowed = COMMAND_OPTIONS[command]
    if (!allowed) throw new UsageError(`unknown command '${command}' (say, serve, voices)`)
    const stray = Object.keys(values).filter((k) => values[k as keyof Values] !== undefined && !allowed.includes(k))
    if (stray.length) throw new UsageError(`${stray.map((k) => `--${k}`).join(', ')} ${stray.length > 1 ? 'do' : 'does'} not apply to ${command}`)
    if (command === 'say') return await say(values, rest, log)
    if (command === 'voices') await voices(values, log)
    else await serve(values, log)
    return EXIT.ok
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EPIPE') return EXIT.ok // reader went away: `| head`
    const extra = NOTES.get(err as object)
    const code = extra?.interrupted ? EXIT.interrupted : exitCodeOf(err)
    const e = err as Error
    process.stderr.write(`lightning-stream: ${extra?.interrupted ? 'interrupted' : values.verbose && e.stack ? e.stack : e.message}\n`)
    if (extra) process.stderr.write(`lightning-stream: ${extra.note}\n`)
    if (code === EXIT.usage && err instanceof UsageError) process.stderr.write(`Try 'lightning-stream --help'.\n`)
    return code
  }
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok)
})
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
