import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderTone } from '../lib/emulator/index.js'
import { ffprobe } from './fixtures/ffmpeg.js'
import { ffmpegForLibrary } from './fixtures/tools.js'
import { decode } from './fixtures/signal.js'
import { closed, spawnServer } from './fixtures/helpers.js'

const root = new URL('..', import.meta.url).pathname
const bin = join(root, 'dist/esm/cli/bin.js')
const dir = mkdtempSync(join(tmpdir(), 'ls-cli-'))
ffmpegForLibrary() // the CLI's mp3/flac and the transcoding example inherit FFMPEG_PATH when ffmpeg is npm's
const env = { ...process.env, SMALLEST_API_KEY: '' }
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { env, input: input ?? '', cwd: dir, timeout: 30_000 })

t.test('say writes an exact WAV file offline through the emulator', async (t) => {
  const out = join(dir, 'hello.wav')
  const r = run(['say', 'Hello from lightning stream.', '-o', out, '--engine', 'tone'])
  t.equal(r.status, 0, r.stderr.toString())
  const stderr = r.stderr.toString()
  t.match(stderr, /using the built-in emulator \(tone engine\)/)
  t.match(stderr, /1\.68 s of tone \(the emulator's test signal, not speech\) as wav \(24000 Hz mono s16le\), first audio after \d+ ms/)
  const wav = readFileSync(out)
  const pcm = renderTone({ text: 'Hello from lightning stream.', voice_id: 'magnus', sample_rate: 24000 })
  t.equal(wav.readUInt32LE(4), 36 + pcm.length, 'RIFF size patched')
  t.equal(wav.readUInt32LE(40), pcm.length, 'data size patched')
  t.same(wav.subarray(44), pcm)
})

t.test('say reads stdin and writes raw PCM or streaming WAV to stdout', async (t) => {
  const pcm = run(['say', '-o', '-', '--format', 'pcm', '-q', '--sample-rate', '16000', '--engine', 'tone'], 'Piped text.')
  t.equal(pcm.status, 0)
  t.same(pcm.stdout, renderTone({ text: 'Piped text.', voice_id: 'magnus', sample_rate: 16000 }))
  t.equal(pcm.stderr.length, 0, '--quiet prints nothing')
  const wav = run(['say', 'x', '-o', '-', '-q', '--engine', 'tone'])
  t.equal(wav.stdout.toString('latin1', 0, 4), 'RIFF')
  t.equal(wav.stdout.readUInt32LE(40), 0xffffffff, 'a pipe gets the unknown-length header')
})

t.test('exit codes: usage 2 with a readable message, no stack', async (t) => {
  for (const args of [['say', 'hi', '-o', 'x.aiff'], ['say', 'hi', '-o', 'x.wav', '--engine', 'festival'], ['say', 'hi', '-o', 'x.wav', '--channels', '6'], ['say', 'hi', '-o', 'a.wav', '--speed', '9'], ['--nope'], ['fly']]) {
    const r = run(args)
    t.equal(r.status, 2, args.join(' '))
    t.match(r.stderr.toString(), /^lightning-stream: /)
    t.notMatch(r.stderr.toString(), /\n\s+at /, 'no stack trace')
  }
  t.equal(run(['--help']).status, 0)
  t.match(run(['--help']).stdout.toString(), /Exit codes/)
  t.equal(run(['--version']).stdout.toString().trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)
})

t.test('offline, the main job speaks with eSpeak NG: plausible length, not silence', async (t) => {
  const out = join(dir, 'speech.wav')
  const text = 'Hello from lightning stream. This is real speech.'
  const r = run(['say', text, '-o', out, '--voice', 'emily'])
  t.equal(r.status, 0, r.stderr.toString())
  t.match(r.stderr.toString(), /using the built-in emulator \(eSpeak NG speech\)/)
  const probe = ffprobe(out)
  const seconds = Number(probe.format['duration'])
  t.ok(seconds > text.length * 0.03 && seconds < text.length * 0.15, `${seconds.toFixed(2)} s for ${text.length} characters`)
  const samples = decode(readFileSync(out).subarray(44), 's16le')
  let sum = 0
  for (const v of samples) sum += v * v
  const rmsDb = 10 * Math.log10(sum / samples.length)
  t.ok(rmsDb > -40, `RMS ${rmsDb.toFixed(1)} dBFS: not silence`)
  const hindi = run(['say', 'नमस्ते दुनिया', '-o', join(dir, 'hi.wav'), '--language', 'hi', '-q'])
  t.equal(hindi.status, 0, 'language maps to an espeak voice')
  t.ok(statSync(join(dir, 'hi.wav')).size > 10_000)
})

t.test('say writes ogg, opus, mp3 and flac, with --rate/--channels shaping and --stats', async (t) => {
  const cases: [string, string, string[]][] = [
    ['out.ogg', 'opus', []],
    ['out.opus', 'opus', ['--channels', '2', '--bitrate', '32000']],
    ['out.mp3', 'mp3', ['--rate', '44100']],
    ['out.flac', 'flac', ['--rate', '16000']],
  ]
  for (const [name, codec, extra] of cases) {
    const out = join(dir, name)
    const r = run(['say', 'Containers, please.', '-o', out, '--engine', 'tone', '-q', ...extra])
    t.equal(r.status, 0, r.stderr.toString())
    const s = ffprobe(out).streams[0]!
    t.equal(s['codec_name'], codec, name)
    if (extra.includes('--channels')) t.equal(s['channels'], 2)
    if (extra.includes('--rate')) t.equal(Number(s['sample_rate']), Number(extra[extra.indexOf('--rate') + 1]))
  }
  const stats = run(['say', 'Stats.', '-o', join(dir, 's.wav'), '--engine', 'tone', '--stats'])
  t.match(stats.stderr.toString(), /first PCM byte \(time to first audio\)\s+\d+\.\d ms/)
  t.match(stats.stderr.toString(), /realtime factor \(synthesis, request to end\)\s+\d/)
})

t.test('an API error exits 3', async (t) => {
  const r = run(['say', 'hi', '-o', join(dir, 'x.wav'), '--voice', 'nobody', '--local', '--engine', 'tone'])
  t.equal(r.status, 3)
  t.match(r.stderr.toString(), /400 invalid request: voice_id: Invalid Voice ID/)
})

t.test('writing into a closed pipe exits quietly with 0', async (t) => {
  const child = spawn(process.execPath, [bin, 'say', 'A longer sentence for the pipe test. '.repeat(20), '-o', '-', '-q', '--engine', 'tone'], { env, cwd: dir })
  const code = await new Promise<number | null>((resolve) => {
    child.stdout.once('data', () => child.stdout.destroy())
    child.on('close', resolve)
  })
  t.equal(code, 0)
})

t.test('voices prints a table and JSON', async (t) => {
  const table = run(['voices', '-q'])
  t.equal(table.status, 0)
  t.match(table.stdout.toString(), /^VOICE ID\s+NAME/)
  const json = JSON.parse(run(['voices', '--json', '-q']).stdout.toString()) as { voiceId: string }[]
  t.ok(json.some((v) => v.voiceId === 'magnus'))
})

t.test('serve runs the emulator until SIGTERM', async (t) => {
  const { child, url } = await spawnServer(t, [bin, 'serve', '--port', '0', '--engine', 'tone'], { env, cwd: dir })
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const res = await fetch(`${url}/waves/v1/health`)
  t.same(await res.json(), { status: 'ok' })
  child.kill('SIGTERM')
  t.equal(await closed(child), 0)

  const faulty = await spawnServer(t, [bin, 'serve', '--port', '0', '--engine', 'tone', '--fault', 'fail-status=503,fail-count=5'], { env, cwd: dir })
  const r = await fetch(`${faulty.url}/waves/v1/tts`, { method: 'POST', body: JSON.stringify({ text: 'x', voice_id: 'magnus' }), headers: { 'content-type': 'application/json' } })
  t.equal(r.status, 503, '--fault injects into every request')
  faulty.child.kill('SIGTERM')
  await closed(faulty.child)
})

t.test('the errors guide example retries a 503, then reports the cut-off audio', async (t) => {
  const r = spawnSync(process.execPath, [join(root, 'examples/errors-and-retries.mjs')], { env, cwd: dir, encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /retry 1 in \d+ ms: Lightning API 503/)
  t.match(r.stderr, /cut off after 820 ms of audio: Connection failed/)
})

t.test('the guides\' examples run: a custom stage, a transcoding server', async (t) => {
  const custom = spawnSync(process.execPath, [join(root, 'examples/custom-stage.mjs'), join(dir, 'louder.wav')], { env, cwd: dir, encoding: 'utf8', timeout: 30_000 })
  t.equal(custom.status, 0, custom.stderr)
  t.match(custom.stderr, /gain: \d+ chunks in, \d+ out/)
  const server = spawnSync(process.execPath, [join(root, 'examples/transcoding-server.mjs')], { env, cwd: dir, encoding: 'utf8', timeout: 60_000 })
  t.equal(server.status, 0, server.stderr)
  t.match(server.stderr, /ogg: 200 audio\/ogg, \d+ bytes, starts with OggS/)
  t.match(server.stderr, /mp3: 200 audio\/mpeg, \d+ bytes/)
  t.match(server.stderr, /empty text: 400 \{"error":\{"code":"ERR_INVALID_REQUEST"/, 'an invalid request is a 400 with a JSON body')
})

t.test('the README example runs and writes a WAV file', async (t) => {
  const out = join(dir, 'speech.wav')
  const r = spawnSync(process.execPath, [join(root, 'examples/pipeline-wav.mjs'), out], { env, cwd: root, encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /request id [0-9a-f-]{36}/)
  t.ok(statSync(out).size > 44)
})

t.test('importing the CLI modules runs nothing; main(argv) resolves with the exit code', async (t) => {
  const stdout = process.stdout.write.bind(process.stdout)
  const capture = async <T>(fn: () => Promise<T>): Promise<[T, string[]]> => {
    const written: string[] = []
    process.stdout.write = ((chunk: string | Uint8Array) => written.push(String(chunk)) > 0) as typeof process.stdout.write
    try {
      return [await fn(), written]
    } finally {
      process.stdout.write = stdout
    }
  }
  const count = () => ({ error: process.stdout.listenerCount('error'), sigint: process.listenerCount('SIGINT'), sigterm: process.listenerCount('SIGTERM') })
  const listeners = count()
  const exitCode = process.exitCode
  const [main, onImport] = await capture(async () => {
    for (const m of ['args', 'connect', 'exit-codes', 'output', 'player', 'say', 'say-stream', 'serve', 'voices']) await import(`../lib/cli/${m}.js`)
    return (await import('../lib/cli/main.js')).main
  })
  t.same(onImport, [], 'nothing was printed on import')
  t.equal(process.exitCode, exitCode, 'the exit code is untouched')
  t.same(count(), listeners, 'no listener was added to the process')
  const [code, printed] = await capture(() => main(['--version']))
  t.equal(code, 0)
  t.equal(printed.length, 1, 'main(--version) printed one line')
  t.match(printed[0], /^\d+\.\d+\.\d+/)
  t.equal(process.exitCode, exitCode, 'main() returns the code; only bin.ts sets it')
})
