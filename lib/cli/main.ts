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
import { describeFormat } from '../audio/format.js'
import { LightningStreamError } from '../errors.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { VERSION } from '../version.js'

/** Exit codes, documented in `--help` and the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, network: 4, stream: 5, interrupted: 130 } as const

class UsageError extends Error {}

const HELP = `lightning-stream ${VERSION}: Smallest.ai Lightning v3.1 text-to-speech from the command line

Usage:
  lightning-stream say [text] -o FILE [options]   speak text (or stdin) into a file or stdout
  lightning-stream serve [--port N]               run the local Lightning emulator
  lightning-stream voices [--json]                list voices

say options:
  -o, --output FILE      .wav or .pcm (raw s16le); '-' writes to stdout (see --format)
  -f, --format FMT       wav | pcm, for stdout (default wav)
      --voice ID         voice id (default magnus)
      --model NAME       lightning_v3.1 | lightning_v3.1_pro
      --language CODE    en, hi, es, … or auto
      --sample-rate HZ   8000 | 16000 | 24000 | 44100 (default 24000)
      --speed X          0.5 to 2 (default 1)
      --session-id ID    echoed back as X-External-Session-Id
      --request-id ID    echoed back as X-External-Request-Id

connection options (say, voices):
      --base-url URL     API origin (default https://api.smallest.ai)
      --api-key-file F   read the API key from a file (else SMALLEST_API_KEY)
      --local            use the built-in emulator even when a key is set
  With no key, the built-in emulator answers (offline; tone engine).

serve options:
      --port N           port (default 8099; 0 picks one)
      --host H           interface (default 127.0.0.1)
      --max-concurrent N requests in flight per key before 429 (default 1)
      --realtime-factor X  synthesis speed vs realtime (default: as fast as possible)
      --chunk-ms N       audio per SSE frame (default 20)

general:
  -q, --quiet            no progress or summary on stderr
  -v, --verbose          stack traces on errors
  -h, --help             this help
      --version          print the version

Exit codes: 0 ok, 2 usage, 3 API error (HTTP status), 4 network or timeout,
            5 stream error (truncated, malformed), 130 interrupted, 1 anything else.

Examples:
  lightning-stream say "Hello from Lightning." -o hello.wav
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

/** Creates the client: the real API with a key, else (or with --local) an in-process emulator. */
async function connect(values: Values, log: (s: string) => void): Promise<{ client: LightningClient; emulator?: Emulator }> {
  let apiKey = process.env['SMALLEST_API_KEY'] || undefined
  if (values['api-key-file']) apiKey = readFileSync(values['api-key-file'], 'utf8').trim()
  if (values.local || (!apiKey && !values['base-url'])) {
    const emulator = await startEmulator({ maxConcurrent: 4 })
    log(`lightning-stream: ${values.local ? '--local' : 'no SMALLEST_API_KEY'}: using the built-in emulator (tone engine) at ${emulator.url}`)
    try {
      return { client: new LightningClient({ baseUrl: emulator.url }), emulator }
    } catch (err) {
      await emulator.close()
      throw err
    }
  }
  return { client: new LightningClient({ apiKey, baseUrl: values['base-url'] }) }
}

async function say(values: Values, positionals: string[], log: (s: string) => void): Promise<void> {
  const output = values.output
  if (!output) throw new UsageError('say needs -o FILE (or -o - for stdout)')
  const kind = output === '-' ? (values.format ?? 'wav') : extname(output).slice(1).toLowerCase()
  if (kind !== 'wav' && kind !== 'pcm') {
    throw new UsageError(`unsupported output '${output}': use a .wav or .pcm file, or -o - with --format wav|pcm`)
  }
  let text = positionals.join(' ')
  if (!text || text === '-') {
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
  resolveTtsRequest(request) // a bad field is a usage error before anything starts
  const { client, emulator } = await connect(values, log)
  const started = performance.now()
  let firstAudioMs: number | undefined
  try {
    const pcm = client.pcm(request)
    pcm.once('data', () => (firstAudioMs = performance.now() - started))
    let bytes: number
    if (output === '-') {
      if (kind === 'wav') await pipeline(pcm, new WavEncoder({ format: pcm.format }), process.stdout)
      else await pipeline(pcm, process.stdout)
      bytes = pcm.delivered.bytes
    } else if (kind === 'wav') {
      bytes = (await writeWavFile(output, pcm, pcm.format)).dataBytes
    } else {
      await pipeline(pcm, createWriteStream(output))
      bytes = pcm.delivered.bytes
    }
    const seconds = bytes / (pcm.format.sampleRate * 2)
    const wall = (performance.now() - started) / 1000
    log(
      `lightning-stream: ${output === '-' ? 'stdout' : output}: ${seconds.toFixed(2)} s of ${describeFormat(pcm.format)}` +
        `, first audio after ${(firstAudioMs ?? 0).toFixed(0)} ms, ${(seconds / wall).toFixed(1)}× realtime`,
    )
  } finally {
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
    port: num('port', values.port) ?? 8099,
    host: values.host,
    maxConcurrent: num('max-concurrent', values['max-concurrent']),
    realtimeFactor: num('realtime-factor', values['realtime-factor']),
    chunkMs: num('chunk-ms', values['chunk-ms']),
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
