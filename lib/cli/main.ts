#!/usr/bin/env node
/**
 * The `lightning-stream` command: `say`, `serve`, `voices`.
 * @internal
 * @module
 */
import { readFileSync, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { extname } from 'node:path'
import { parseArgs } from 'node:util'
import { LightningClient } from '../client/client.js'
import { resolveTtsRequest, type TtsRequest } from '../client/request.js'
import { WavEncoder, writeWavFile } from '../audio/wav-encoder.js'
import { describeFormat, type PcmFormat } from '../audio/format.js'
import { convertPcm } from '../audio/convert.js'
import { OpusEncoder } from '../codecs/opus-encoder.js'
import { OggOpusMuxer } from '../codecs/ogg-opus.js'
import { FfmpegTranscoder } from '../codecs/ffmpeg.js'
import type { TtsMetrics } from '../metrics/metrics.js'
import type { Duplex } from 'node:stream'
import { LightningStreamError } from '../errors.js'
import { parseFaultHeader, startEmulator, toneEngine, type Emulator, type SpeechEngine } from '../emulator/server.js'
import { createEspeakEngine } from '../emulator/espeak.js'
import { findPlayer, NO_PLAYER_HELP, playerArgs, startPlayer, type Player } from './player.js'
import { openSpeech } from './say-stream.js'
import { resolveStreamTextRequest } from '../client/ws-protocol.js'
import { VERSION } from '../version.js'

/** Exit codes, documented in `--help` and the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, network: 4, stream: 5, interrupted: 130 } as const

class UsageError extends Error {}

const HELP = `lightning-stream ${VERSION}: Smallest.ai Lightning v3.1 text-to-speech from the command line

Usage:
  lightning-stream say [text] [-o FILE] [options] speak text (or stdin) into a file, stdout, or the speakers
  lightning-stream serve [--port N]               run the local Lightning emulator
  lightning-stream voices [--json]                list voices

say options:
  -o, --output FILE      .wav .ogg .opus .mp3 .flac or .pcm (raw s16le); '-' is stdout;
                         without -o, plays through ffplay, paplay, aplay or afplay
      --stream           read stdin as it arrives and speak each sentence as soon as it is
                         complete (the WebSocket route), e.g. from a language model's output
      --words            print word timestamps (start and end, seconds) to stderr
      --words-json FILE  write word timestamps to a JSON file
  -f, --format FMT       wav | ogg | mp3 | flac | pcm, for stdout (default wav)
      --voice ID         voice id (default magnus)
      --model NAME       lightning_v3.1 | lightning_v3.1_pro
      --language CODE    en, hi, es, … or auto
      --sample-rate HZ   8000 | 16000 | 24000 | 44100 (default 24000)
      --speed X          0.5 to 2 (default 1)
      --session-id ID    echoed back as X-External-Session-Id
      --request-id ID    echoed back as X-External-Request-Id
      --rate HZ          output sample rate (converted locally; Opus: 48000)
      --channels N       output channels, 1 or 2
      --bitrate BPS      for ogg/opus/mp3 (default 64000 Opus, 128000 mp3)
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
  some-llm-cli | lightning-stream say --stream -o - | ffplay -nodisp -autoexit -
  lightning-stream say "Heard it?" --words
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
  stream: { type: 'boolean' },
  words: { type: 'boolean' },
  'words-json': { type: 'string' },
  engine: { type: 'string' },
  fault: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

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

/** The offline speech engine: espeak when installed (or asked for), else the tone engine. */
async function pickEngine(values: Values): Promise<SpeechEngine> {
  const wanted = values.engine
  if (wanted !== undefined && wanted !== 'espeak' && wanted !== 'tone') throw new UsageError(`--engine must be espeak or tone (got '${wanted}')`)
  if (wanted === 'tone') return toneEngine
  try {
    return await createEspeakEngine()
  } catch (err) {
    if (wanted === 'espeak') throw err
    return toneEngine
  }
}

/** Creates the client: the real API with a key, else (or with --local) an in-process emulator. */
async function connect(values: Values, log: (s: string) => void): Promise<{ client: LightningClient; emulator?: Emulator }> {
  let apiKey = process.env['SMALLEST_API_KEY'] || undefined
  if (values['api-key-file']) apiKey = readFileSync(values['api-key-file'], 'utf8').trim()
  if (values.local || (!apiKey && !values['base-url'])) {
    const engine = await pickEngine(values)
    const emulator = await startEmulator({ maxConcurrent: 4, engine })
    const what = engine.name === 'espeak' ? 'eSpeak NG speech' : 'tone engine'
    log(`lightning-stream: ${values.local ? '--local' : 'no SMALLEST_API_KEY'}: using the built-in emulator (${what}) at ${emulator.url}`)
    try {
      return { client: new LightningClient({ baseUrl: emulator.url }), emulator }
    } catch (err) {
      await emulator.close()
      throw err
    }
  }
  return { client: new LightningClient({ apiKey, baseUrl: values['base-url'] }) }
}

const KINDS = ['wav', 'pcm', 'ogg', 'opus', 'mp3', 'flac'] as const
type Kind = (typeof KINDS)[number]

/** The output stages for a kind, after PCM shaping. */
async function encoders(kind: Kind, format: PcmFormat, bitrate: number | undefined, log: (s: string) => void): Promise<Duplex[]> {
  switch (kind) {
    case 'wav':
      return [new WavEncoder({ format })]
    case 'pcm':
      return []
    case 'mp3':
    case 'flac':
      return [new FfmpegTranscoder({ input: format, output: kind, bitrate })]
    case 'ogg':
    case 'opus': {
      const opus = new OpusEncoder({ format, bitrate })
      try {
        await opus.ready()
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_OPUS_ENGINE_MISSING') throw err
        log('lightning-stream: no Opus engine installed (npm install @evan/opus or opusscript): encoding with ffmpeg')
        return [new FfmpegTranscoder({ input: format, output: 'ogg-opus', bitrate })]
      }
      return [opus, new OggOpusMuxer({ encoder: opus })]
    }
  }
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

async function say(values: Values, positionals: string[], log: (s: string) => void): Promise<void> {
  // Without -o, play through the default audio device (issue 15, player.ts).
  const player = values.output === undefined ? findPlayer() : undefined
  if (values.output === undefined && !player) throw new UsageError(NO_PLAYER_HELP)
  const output = values.output ?? '-'
  const kind = (player ? (player.name === 'paplay' || player.name === 'aplay' ? 'pcm' : 'wav') : output === '-' ? (values.format ?? 'wav') : extname(output).slice(1).toLowerCase()) as Kind
  if (!KINDS.includes(kind)) {
    throw new UsageError(`unsupported output '${output === '-' ? values.format : output}': use .wav .ogg .opus .mp3 .flac or .pcm (or -o - with --format)`)
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
  const rate = num('rate', values.rate)
  const channels = num('channels', values.channels)
  const bitrate = num('bitrate', values.bitrate)
  if (channels !== undefined && channels !== 1 && channels !== 2) throw new UsageError('--channels must be 1 or 2')
  const { client, emulator } = await connect(values, log)
  const started = performance.now()
  let progress: NodeJS.Timeout | undefined
  let playing: Player | undefined
  try {
    const speech = openSpeech(client, request, values, text.trim()) // --stream, --words (say-stream.ts)
    const pcm = speech?.pcm ?? client.pcm(request)
    const opus = kind === 'ogg' || kind === 'opus'
    const opusRates = [8000, 12000, 16000, 24000, 48000]
    const targetRate = rate ?? (opus && !opusRates.includes(pcm.format.sampleRate) ? 48000 : pcm.format.sampleRate)
    const target: PcmFormat = { sampleRate: targetRate, channels: channels ?? pcm.format.channels, encoding: 's16le' }
    if (opus && !opusRates.includes(target.sampleRate)) throw new UsageError(`Opus encodes 8000, 12000, 16000, 24000 or 48000 Hz (--rate ${target.sampleRate})`)
    const shaping = convertPcm(pcm.format, target)
    if (!values.quiet && process.stderr.isTTY) {
      progress = setInterval(() => {
        const m = pcm.metrics
        process.stderr.write(`\r  ${(m.audioMs / 1000).toFixed(1)} s of audio, first audio after ${m.firstPcmByte?.toFixed(0) ?? '-'} ms `)
      }, 200)
      progress.unref()
    }
    if (player) {
      if (player.name === 'afplay') throw new UsageError('afplay cannot read a pipe: use -o out.wav and play the file')
      playing = startPlayer(player, target)
      log(`lightning-stream: playing through ${player.name} (${playerArgs(player.name, target).input}); use -o FILE to write a file`)
      await pipeline([pcm, ...shaping, ...(await encoders(kind, target, bitrate, log)), playing.stdin])
      await playing.done
    } else if (output !== '-' && kind === 'wav') {
      await writeWavFile(output, pcm, target, shaping)
    } else {
      const sink = output === '-' ? process.stdout : createWriteStream(output)
      await pipeline([pcm, ...shaping, ...(await encoders(kind, target, bitrate, log)), sink])
    }
    await speech?.finish()
    if (progress) {
      clearInterval(progress)
      process.stderr.write('\r\x1b[K')
    }
    const m = pcm.metrics
    const seconds = m.audioMs / 1000
    const wall = (performance.now() - started) / 1000
    log(
      `lightning-stream: ${player ? player.name : output === '-' ? 'stdout' : output}: ${seconds.toFixed(2)} s of speech as ${kind} (${describeFormat(target)})` +
        `, first audio after ${(m.firstPcmByte ?? 0).toFixed(0)} ms, ${(seconds / wall).toFixed(1)}× realtime`,
    )
    if (values.stats) printStats(m)
  } finally {
    if (progress) clearInterval(progress)
    if (playing && playing.child.exitCode === null && playing.child.signalCode === null) playing.child.kill('SIGTERM')
    await client.close()
    await emulator?.close()
  }
}

async function voices(values: Values, log: (s: string) => void): Promise<void> {
  const { client, emulator } = await connect(values, log)
  try {
    const list = await client.voices()
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

async function serve(values: Values): Promise<void> {
  const emulator = await startEmulator({
    engine: await pickEngine(values),
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
    if (command === 'say') await say(values, rest, log)
    else if (command === 'voices') await voices(values, log)
    else if (command === 'serve') await serve(values)
    else throw new UsageError(`unknown command '${command}' (say, serve, voices)`)
    return EXIT.ok
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EPIPE') return EXIT.ok // reader went away: `| head`
    const code = exitCodeOf(err)
    const e = err as Error
    process.stderr.write(`lightning-stream: ${values.verbose && e.stack ? e.stack : e.message}\n`)
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
