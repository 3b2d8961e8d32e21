/**
 * The command line's vocabulary: the help text, the options and which command takes which, the
 * number parsing, and {@link UsageError} (exit code 2).
 * @internal
 * @module
 */
import type { parseArgs } from 'node:util'
import { VERSION } from '../version.js'
import { OPUS_SAMPLE_RATES_TEXT } from '../codecs/opus-packet.js'

/** A usage problem: the CLI prints it with a hint and exits 2. */
export class UsageError extends Error {}

/** `--help`. */
export const HELP = `lightning-stream ${VERSION}: Smallest.ai Lightning v3.1 text-to-speech from the command line

Usage:
  lightning-stream say [text] [-o FILE] [options] speak text (or stdin) into a file, stdout, or the speakers
  lightning-stream serve [--port N]               run the local Lightning emulator
  lightning-stream voices [--json] [--language L] list voices (L: a code such as hi, or a name)

say options:
  -o, --output FILE      .wav or .pcm (raw s16le); .ogg .opus (an Opus engine: npm install
                         @evan/opus, else ffmpeg); .mp3 .flac .aac .webm (ffmpeg); '-' is stdout.
                         A file is written whole or not at all: a failure leaves it
                         untouched (an older file of that name survives). Without -o,
                         plays through ffplay, paplay or aplay
      --stream           read stdin as it arrives and speak each sentence as soon as it is
                         complete (the WebSocket route), e.g. from a language model's output
      --words            print word timestamps (start and end, seconds) to stderr
      --words-json FILE  write word timestamps to a JSON file
  -f, --format FMT       wav | ogg | opus | mp3 | flac | aac | webm | pcm: for stdout (default wav), a
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
                         ${OPUS_SAMPLE_RATES_TEXT})
      --channels N       output channels, 1 or 2
      --bitrate BPS      ogg/opus/webm (6000-510000, default 64000), mp3 (8000-320000, default
                         128000) or aac (8000-512000, default 96000)
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
      --chunk-ms N       audio per chunk message (default 20)
      --fault SPEC       inject faults into every request, e.g. 'drop-after=3' or
                         'fail-status=429,fail-count=2,fail-retry-after=1' (see docs/errors-and-retries.md)

general:
  -q, --quiet            no progress or summary on stderr
  -v, --verbose          stack traces on errors
  -h, --help             this help
      --version          print the version

Exit codes: 0 ok, 2 usage, 3 API error (HTTP status), 4 network or timeout,
            5 stream error (truncated, malformed), 130 interrupted, 1 anything else
            (a missing ffmpeg, Opus engine or audio player included).

Examples:
  lightning-stream say "Hello from Lightning." -o hello.wav
  lightning-stream say "Small file for a chat app." -o hi.ogg --bitrate 32000
  echo "Piped text." | lightning-stream say -o - --format pcm | ffplay -f s16le -ar 24000 -ac 1 -
  lightning-stream serve --port 8099 --realtime-factor 3
`

/** Every option of every command (`node:util` `parseArgs` table). */
export const OPTIONS = {
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

/** The parsed options. */
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

const CONNECTION = ['base-url', 'api-key-file', 'local', 'engine'] as const
const GENERAL = ['quiet', 'verbose', 'help', 'version'] as const
/** The options each command takes; any other is refused, never silently ignored. */
export const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  say: ['output', 'format', 'keep-partial', 'stream', 'words', 'words-json', 'voice', 'model', 'language', 'sample-rate', 'speed', 'session-id', 'request-id', 'rate', 'channels', 'bitrate', 'stats', ...CONNECTION, ...GENERAL],
  voices: ['json', 'language', ...CONNECTION, ...GENERAL],
  serve: ['port', 'host', 'max-concurrent', 'realtime-factor', 'chunk-ms', 'fault', 'engine', ...GENERAL],
}

/** A number, or a usage error naming the option. */
export function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number (got '${v}')`)
  return n
}

/** A positive integer in [lo, hi], or a usage error naming the option. */
export function intIn(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  const n = num(name, v)
  if (n === undefined) return undefined
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi} (got '${v}')`)
  return n
}
