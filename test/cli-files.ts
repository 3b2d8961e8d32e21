// Files the CLI writes are correct on disk, or not there; its options are checked up front.
// Durations are checked with ffprobe and with music-metadata (a reader we did not write), and by
// decoding (ffmpeg, libopus in process): every format holds exactly the audio the emulator sent.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseFile } from 'music-metadata'
import { parseWavHeader } from '../lib/core.js'
import { renderTone, startEmulator, toneEngine } from '../lib/emulator/index.js'
import { ffmpeg, ffmpegBin, ffprobe } from './fixtures/ffmpeg.js'
import { decodeOggOpus } from './fixtures/ogg-opus.js'

const root = new URL('..', import.meta.url).pathname
const bin = join(root, 'dist/esm/cli/bin.js')
const env = { ...process.env, SMALLEST_API_KEY: '', FFMPEG_PATH: ffmpegBin() }
const fresh = () => mkdtempSync(join(tmpdir(), 'ls-cli-files-'))
const run = (cwd: string, args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, input: '', cwd, timeout: 60_000 })

/** Like `run`, without blocking this process (needed when the emulator runs in this process). */
function runAsync(cwd: string, args: string[]): Promise<{ status: number | null; stderr: Buffer }> {
  const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  const err: Buffer[] = []
  child.stderr.on('data', (d: Buffer) => err.push(d))
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr: Buffer.concat(err) })))
}

const TEXT = 'Containers, please.'
const PCM = renderTone({ text: TEXT, voice_id: 'magnus', sample_rate: 24000 }) // what the emulator sends
const N = PCM.length / 2 // samples at 24 kHz mono

/** Samples (per channel) ffmpeg decodes from a file, at `rate`. */
function decodedSamples(path: string, rate = 24000, inputArgs: string[] = []): number {
  return ffmpeg([...inputArgs, '-i', path, '-f', 's16le', '-ac', '1', '-ar', String(rate), 'pipe:1']).length / 2
}

/** Nothing but the listed files in the directory: no temporary `.part` files left behind. */
function listing(dir: string): string[] {
  return readdirSync(dir).sort()
}

t.test('every format: exact duration by ffprobe, music-metadata and decoding', async (t) => {
  const dir = fresh()
  const seconds = N / 24000
  for (const kind of ['wav', 'ogg', 'opus', 'mp3', 'flac', 'aac', 'webm', 'pcm']) {
    const out = join(dir, `out.${kind}`)
    const r = run(dir, ['say', TEXT, '-o', out, '--engine', 'tone', '-q'])
    t.equal(r.status, 0, `${kind}: ${r.stderr.toString()}`)
    if (kind === 'pcm') {
      t.same(readFileSync(out), PCM, 'pcm: exactly the samples sent')
      t.equal(decodedSamples(out, 24000, ['-f', 's16le', '-ar', '24000', '-ac', '1']), N)
      continue
    }
    const probe = ffprobe(out)
    const stream = probe.streams[0]!
    const meta = await parseFile(out, { duration: true })
    if (kind === 'wav') {
      const wav = readFileSync(out)
      const info = parseWavHeader(wav)!
      t.equal(info.dataSize, PCM.length, 'wav: data size patched')
      t.equal(wav.readUInt32LE(4), wav.length - 8, 'wav: RIFF size patched')
      t.same(wav.subarray(info.dataOffset), PCM)
      t.equal(Number(probe.format['duration']), seconds, 'wav: ffprobe duration')
      t.equal(meta.format.numberOfSamples, N, 'wav: music-metadata samples')
    } else if (kind === 'ogg' || kind === 'opus') {
      // ffprobe's Ogg duration counts the pre-skip: duration_ts is the final granule.
      t.equal(Number(stream['duration_ts']) - 312, 2 * N, `${kind}: ffprobe final granule − pre-skip = input at 48 kHz`)
      t.equal(meta.format.duration, seconds, `${kind}: music-metadata duration`)
      t.equal(decodeOggOpus(readFileSync(out)).length, 2 * N, `${kind}: libopus decodes exactly the input (48 kHz)`)
      t.equal(decodedSamples(out, 48000), 2 * N, `${kind}: ffmpeg decodes exactly the input (48 kHz)`)
    } else if (kind === 'flac') {
      t.equal(Number(probe.format['duration']), seconds, 'flac: ffprobe duration from STREAMINFO (not N/A)')
      t.equal(Number(stream['duration_ts']), N, 'flac: ffprobe sample count')
      t.equal(meta.format.duration, seconds, 'flac: music-metadata duration')
      t.equal(decodedSamples(out), N, 'flac: decodes exactly')
    } else if (kind === 'webm') {
      t.equal(stream['codec_name'], 'opus', 'webm: Opus')
      t.equal(decodedSamples(out, 48000), 2 * N, 'webm: ffmpeg decodes exactly the input (48 kHz; pre-skip trimmed)')
    } else if (kind === 'aac') {
      // ADTS has no gapless info: the decoder's priming (1024 samples) and the last frame's padding
      // stay, so the decoded length is the input plus less than two AAC frames, never less.
      t.equal(stream['codec_name'], 'aac', 'aac: AAC')
      const got = decodedSamples(out)
      t.ok(got >= N && got < N + 2 * 1024, `aac: decodes ${got} samples for ${N} (priming and padding, under two frames)`)
    } else {
      // mp3: the seekable file has a Xing/Info frame count and LAME gapless info (delay, padding).
      const frames = Math.round((Number(probe.format['duration']) * 24000) / 576)
      t.equal(Number(probe.format['duration']), (frames * 576) / 24000, 'mp3: ffprobe duration is a whole number of frames (read from the Xing header)')
      t.equal(meta.format.duration, (frames * 576) / 24000, 'mp3: music-metadata reads the same frame count')
      t.equal(decodedSamples(out), N, 'mp3: ffmpeg decodes exactly the input (LAME gapless trim)')
    }
  }
  t.same(listing(dir), ['out.aac', 'out.flac', 'out.mp3', 'out.ogg', 'out.opus', 'out.pcm', 'out.wav', 'out.webm'], 'no temporary files left')
})

t.test('an unknown voice (exit 3) leaves no file, and an existing file survives', async (t) => {
  const dir = fresh()
  for (const name of ['hello.wav', 'hello.ogg', 'hello.mp3']) {
    const r = run(dir, ['say', 'hi', '-o', name, '--voice', 'nobody', '--local', '--engine', 'tone', '-q'])
    t.equal(r.status, 3)
    t.match(r.stderr.toString(), /no audio had arrived \(delivered\); hello\.\w+ was not written/)
  }
  t.same(listing(dir), [], 'no file, not even 0 bytes')
  writeFileSync(join(dir, 'keep.wav'), 'precious')
  t.equal(run(dir, ['say', 'hi', '-o', 'keep.wav', '--voice', 'nobody', '--local', '--engine', 'tone', '-q']).status, 3)
  t.equal(readFileSync(join(dir, 'keep.wav'), 'utf8'), 'precious', 'the previous file is untouched')
  t.same(listing(dir), ['keep.wav'])
})

t.test('no ffmpeg for mp3/flac: exit 1 before any synthesis is asked for; an existing file survives', async (t) => {
  const emu = await startEmulator()
  t.teardown(() => emu.close())
  const dir = fresh()
  writeFileSync(join(dir, 'keep.mp3'), 'precious')
  for (const name of ['keep.mp3', 'new.flac']) {
    const child = spawn(process.execPath, [bin, 'say', 'hi', '-o', name, '--base-url', emu.url, '-q'], { env: { ...env, SMALLEST_API_KEY: 'sk_test_key', FFMPEG_PATH: '/nonexistent/ffmpeg' }, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    const err: Buffer[] = []
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve))
    t.equal(status, 1, `${name}: exit 1 (a missing tool)`)
    t.match(Buffer.concat(err).toString(), /ffmpeg was not found at '\/nonexistent\/ffmpeg': install it .*FFMPEG_PATH/, `${name}: says what is missing and the fix`)
  }
  t.equal(emu.stats.requests, 0, 'no synthesis was requested')
  t.same(listing(dir), ['keep.mp3'], 'no new file')
  t.equal(readFileSync(join(dir, 'keep.mp3'), 'utf8'), 'precious', 'the existing file is untouched')
})

t.test('a connection dropped mid-stream: target untouched, the message says what was delivered; --keep-partial keeps a valid file', async (t) => {
  const emulator = await startEmulator({ engine: toneEngine, maxConcurrent: 8, faults: { dropAfterChunk: 3 } })
  t.teardown(() => emulator.close())
  const dir = fresh()
  const text = 'A sentence long enough to be cut off in the middle, and then some more words.'
  writeFileSync(join(dir, 'cut.wav'), 'old')
  for (const name of ['cut.wav', 'cut.ogg', 'cut.mp3']) {
    const r = await runAsync(dir, ['say', text, '-o', name, '--base-url', emulator.url, '-q'])
    t.equal(r.status, 4, `${name}: network exit code`)
    t.match(r.stderr.toString(), new RegExp(`0\\.\\d\\d s of audio \\(\\d+ chunks, \\d+ bytes\\) had arrived \\(delivered\\); ${name.replace('.', '\\.')} was not written`))
  }
  t.equal(readFileSync(join(dir, 'cut.wav'), 'utf8'), 'old', 'an existing file survives')
  t.same(listing(dir), ['cut.wav'])

  for (const kind of ['wav', 'ogg', 'mp3', 'flac']) {
    const out = join(dir, `kept.${kind}`)
    const r = await runAsync(dir, ['say', text, '-o', out, '--base-url', emulator.url, '-q', '--keep-partial'])
    t.equal(r.status, 4, `${kind}: still a failure`)
    const m = /(\d+) bytes\) had arrived \(delivered\); kept them in .* as a valid \w+ file/.exec(r.stderr.toString())
    t.ok(m, `${kind}: says what it kept: ${r.stderr.toString()}`)
    const bytes = Number(m?.[1])
    t.ok(bytes > 0 && bytes < renderTone({ text, voice_id: 'magnus', sample_rate: 24000 }).length, `${bytes} bytes: a part`)
    const samples = bytes / 2
    if (kind === 'wav') {
      const wav = readFileSync(out)
      t.equal(parseWavHeader(wav)!.dataSize, bytes, 'wav: sizes finalized to the audio that arrived')
      t.equal(wav.readUInt32LE(4), wav.length - 8)
      t.equal(Number(ffprobe(out).format['duration']), samples / 24000)
    } else if (kind === 'ogg') {
      t.equal(decodeOggOpus(readFileSync(out)).length, 2 * samples, 'ogg: end granule written, decodes exactly')
    } else {
      t.equal(decodedSamples(out), samples, `${kind}: finalized by ffmpeg, decodes exactly`)
    }
  }
})

/** Starts `say` against a slow emulator, sends SIGINT once audio is being written, and waits. */
async function interrupt(dir: string, url: string, out: string, extra: string[] = []) {
  const child = spawn(process.execPath, [bin, 'say', 'Slow speech that takes a few seconds to arrive in full, word by word.', '-o', out, '--base-url', url, '-q', ...extra], { env, cwd: dir })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const closed = new Promise<number | null>((r) => child.on('close', r))
  // Wait until the temporary file beside the target exists (audio has started to arrive), and a
  // little more; the speech takes seconds to arrive (realtime), so the run is still going.
  const until = Date.now() + 20_000
  while (!readdirSync(dir).some((f) => f.endsWith('.part')) && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 300))
  child.kill('SIGINT')
  return { code: await closed, stderr: () => stderr }
}

t.test('Ctrl-C: exits 130 saying how much audio had arrived; no file (or, with --keep-partial, a valid one)', async (t) => {
  const emulator = await startEmulator({ engine: toneEngine, realtimeFactor: 1, maxConcurrent: 8 })
  t.teardown(() => emulator.close())
  const dir = fresh()
  for (const name of ['int.wav', 'int.mp3']) {
    const r = await interrupt(dir, emulator.url, name)
    t.equal(r.code, 130, name)
    t.match(r.stderr(), /^lightning-stream: interrupted\nlightning-stream: \d+\.\d\d s of audio \(\d+ chunks, \d+ bytes\) had arrived \(delivered\); int\.\w+ was not written/m)
  }
  t.same(listing(dir), [], 'no partial file, no temporary file')
  const kept = await interrupt(dir, emulator.url, 'kept.wav', ['--keep-partial'])
  t.equal(kept.code, 130)
  t.match(kept.stderr(), /had arrived \(delivered\); kept them in kept\.wav as a valid wav file/)
  const wav = readFileSync(join(dir, 'kept.wav'))
  const bytes = Number(/(\d+) bytes\) had arrived/.exec(kept.stderr())?.[1])
  t.equal(parseWavHeader(wav)!.dataSize, wav.length - 44, 'finalized sizes')
  t.equal(wav.length - 44, bytes, `holds the ${bytes} bytes that arrived`)
  const ogg = await interrupt(dir, emulator.url, 'kept.ogg', ['--keep-partial'])
  t.equal(ogg.code, 130)
  t.ok(decodeOggOpus(readFileSync(join(dir, 'kept.ogg'))).length > 0, 'a valid Ogg Opus file')
  t.same(listing(dir), ['kept.ogg', 'kept.wav'])
})
