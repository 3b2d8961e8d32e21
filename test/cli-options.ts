// CLI options are checked up front and never silently ignored (issue: -f with a mismatching
// extension, -f to any path, directories, --rate 0, --bitrate with WAV, voices --language,
// -o - to a terminal, the summary line).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseWavHeader } from '../lib/core.js'
import { renderTone } from '../lib/emulator/index.js'
import { ffmpegBin } from './fixtures/ffmpeg.js'

const root = new URL('..', import.meta.url).pathname
const bin = join(root, 'dist/esm/cli/bin.js')
const env = { ...process.env, SMALLEST_API_KEY: '', FFMPEG_PATH: ffmpegBin() }
const fresh = () => mkdtempSync(join(tmpdir(), 'ls-cli-options-'))
const run = (cwd: string, args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, input: '', cwd, timeout: 60_000 })
const listing = (dir: string) => readdirSync(dir).sort()

const TEXT = 'Containers, please.'
const PCM = renderTone({ text: TEXT, voice_id: 'magnus', sample_rate: 24000 })

t.test('options are checked before anything starts (exit 2), never ignored', async (t) => {
  const dir = fresh()
  const cases: [string[], RegExp][] = [
    [['say', 'hi', '-f', 'mp3', '-o', 'x.wav'], /--format mp3 contradicts the \.wav extension/],
    [['say', 'hi', '-o', 'out.bin'], /cannot tell the format of 'out\.bin' from its extension: add --format/],
    [['say', 'hi', '-o', dir], /is a directory: give a file name/],
    [['say', 'hi', '-o', join(dir, 'no/such/dir/x.wav')], /directory '.*no\/such\/dir' does not exist/],
    [['say', 'hi', '-o', 'x.wav', '--rate', '0'], /--rate must be an integer from 8000 to 192000/],
    [['say', 'hi', '-o', 'x.ogg', '--rate', '44100'], /--rate for Opus must be one of 8000, 12000, 16000, 24000, 48000/],
    [['say', 'hi', '-o', 'x.wav', '--bitrate', '32000'], /--bitrate applies to ogg, opus, webm, mp3 and aac output, not wav/],
    [['say', 'hi', '-o', 'x.mp3', '--bitrate', '1'], /--bitrate for mp3 must be an integer from 8000 to 320000/],
    [['say', 'hi', '-o', '-', '--keep-partial'], /--keep-partial applies to a file/],
    [['say', 'hi', '-o', 'x.wav', '--json'], /--json does not apply to say/],
    [['voices', '--language', 'xx'], /--language must be a language code/],
    [['voices', '-o', 'x.wav'], /--output does not apply to voices/],
    [['serve', '--voice', 'magnus'], /--voice does not apply to serve/],
  ]
  for (const [args, message] of cases) {
    const r = run(dir, [...args, '--engine', 'tone'])
    t.equal(r.status, 2, args.join(' '))
    t.match(r.stderr.toString(), message)
  }
  t.same(listing(dir), [], 'nothing written')
})

t.test('-f writes to any path: a file without a known extension, /dev/stdout; /dev/full fails cleanly', async (t) => {
  const dir = fresh()
  const bin1 = run(dir, ['say', TEXT, '-f', 'wav', '-o', 'out.bin', '--engine', 'tone', '-q'])
  t.equal(bin1.status, 0, bin1.stderr.toString())
  const wav = readFileSync(join(dir, 'out.bin'))
  t.equal(parseWavHeader(wav)!.dataSize, PCM.length, 'a WAV file with exact sizes')
  // The shell's `> captured.raw`: stdout is that file, and /dev/stdout leads to it.
  const fd = openSync(join(dir, 'captured.raw'), 'w')
  const out = spawnSync(process.execPath, [bin, 'say', TEXT, '-f', 'pcm', '-o', '/dev/stdout', '--engine', 'tone', '-q'], { env, cwd: dir, stdio: ['ignore', fd, 'pipe'] })
  closeSync(fd)
  t.equal(out.status, 0, out.stderr?.toString())
  t.same(readFileSync(join(dir, 'captured.raw')), PCM, 'raw PCM through /dev/stdout')
  if (existsSync('/dev/full')) {
    const full = run(dir, ['say', TEXT, '-f', 'wav', '-o', '/dev/full', '--engine', 'tone', '-q'])
    t.equal(full.status, 1)
    t.match(full.stderr.toString(), /ENOSPC/)
  }
  t.same(listing(dir), ['captured.raw', 'out.bin'])
})

t.test('-o - to a terminal is refused, as curl and sox do', async (t) => {
  const dir = fresh()
  const tty = join(dir, 'tty.mjs')
  writeFileSync(tty, "Object.defineProperty(process.stdout, 'isTTY', { value: true })\n")
  const r = spawnSync(process.execPath, ['--import', tty, bin, 'say', 'hi', '-o', '-', '--engine', 'tone'], { env, cwd: dir, input: '' })
  t.equal(r.status, 2)
  t.match(r.stderr.toString(), /refusing to write audio to a terminal/)
  t.equal(r.stdout.length, 0, 'nothing on the screen')
})

t.test('the summary names the output format and what was spoken', async (t) => {
  const dir = fresh()
  const ogg = run(dir, ['say', TEXT, '-o', 'x.ogg', '--engine', 'tone'])
  t.match(ogg.stderr.toString(), /x\.ogg: \d+\.\d\d s of tone \(the emulator's test signal, not speech\) as ogg \(Opus, 48000 Hz mono, 64 kbit\/s, encoded from 24000 Hz\)/)
  const mp3 = run(dir, ['say', TEXT, '-o', 'x.mp3', '--engine', 'tone', '--bitrate', '96000', '--channels', '2'])
  t.match(mp3.stderr.toString(), /as mp3 \(MP3, 24000 Hz stereo, 96 kbit\/s\)/)
  const flac = run(dir, ['say', TEXT, '-o', 'x.flac', '--engine', 'tone', '--rate', '16000'])
  t.match(flac.stderr.toString(), /as flac \(FLAC, 16000 Hz mono, 16-bit\)/)
})

t.test('voices --language filters the catalog (code or name)', async (t) => {
  const dir = fresh()
  const ids = (lang: string) => (JSON.parse(run(dir, ['voices', '--json', '-q', '--language', lang, '--engine', 'tone']).stdout.toString()) as { voiceId: string }[]).map((v) => v.voiceId)
  t.same(ids('hi'), ['meher', 'devansh', 'kartik', 'maithili'])
  t.same(ids('marathi'), ['maithili'])
  t.same(ids('ja'), [])
})
