// FfmpegTranscoder (lib/codecs/ffmpeg-transcoder.ts) and its arguments (lib/codecs/ffmpeg-args.ts):
// every output is what ffprobe says it is, failures are coded, low-latency flags lose nothing, and
// no ffmpeg process outlives its stream.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Readable } from 'node:stream'
import type { PcmFormat } from '../lib/audio/format.js'
import { AUDIO_MEDIA_TYPES, type FfmpegOutput } from '../lib/codecs/ffmpeg-args.js'
import { ffmpegFound, FfmpegTranscoder } from '../lib/codecs/ffmpeg-transcoder.js'
import { collectBytes, errorOf, splitEvery } from './fixtures/helpers.js'
import { ffprobe } from './fixtures/ffmpeg.js'
import { ffmpegForLibrary } from './fixtures/tools.js'
import { twoTones } from './fixtures/signal.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-ffmpeg-'))
ffmpegForLibrary() // the library's FfmpegTranscoder gets the ffmpeg the tests found (FFMPEG_PATH when it is npm's)

const OUTPUTS: [FfmpegOutput, string][] = [
  ['mp3', 'mp3'],
  ['aac', 'aac'],
  ['flac', 'flac'],
  ['ogg-opus', 'opus'],
  ['webm-opus', 'opus'],
  ['wav', 'pcm_s16le'],
]

t.test('FfmpegTranscoder: every output format is what ffprobe says it is', async (t) => {
  const pcm = twoTones(24000, 1, 1)
  const format: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
  for (const [output, codec] of OUTPUTS) {
    const bytes = await collectBytes(Readable.from(splitEvery(pcm, 4000)).pipe(new FfmpegTranscoder({ input: format, output })))
    const file = join(dir, `out.${output}`)
    writeFileSync(file, bytes)
    const probe = ffprobe(file)
    t.equal(probe.streams[0]!['codec_name'], codec, `${output}: ${codec}`)
  }
  const raw = await collectBytes(Readable.from([pcm]).pipe(new FfmpegTranscoder({ input: format, output: 'pcm', sampleRate: 48000, channels: 2 })))
  t.equal(raw.length, pcm.length * 4, 'pcm at 48 kHz stereo: every sample arrives (no low-latency flag drops the tail)')
  // Decoding a container: the mp3 from above back to PCM.
  const mp3 = readFileSync(join(dir, 'out.mp3'))
  const back = await collectBytes(Readable.from([mp3]).pipe(new FfmpegTranscoder({ input: { container: 'mp3' }, output: 'pcm' })))
  t.ok(back.length >= pcm.length * 0.9, `mp3 decoded back to ${back.length} bytes of PCM`)
})

t.test('FfmpegTranscoder: failures are FfmpegError with exit code and stderr; a missing binary says how to install', async (t) => {
  const bad = await errorOf(() => collectBytes(Readable.from([Buffer.from('definitely not an mp3 file '.repeat(50))]).pipe(new FfmpegTranscoder({ input: { container: 'mp3' }, output: 'wav' }))))
  t.match(bad, { code: 'ERR_FFMPEG', name: 'FfmpegError' })
  t.not(bad['exitCode'], 0)
  t.ok(String(bad['stderr']).length > 0, 'stderr kept')
  const none = await errorOf(() => collectBytes(Readable.from([Buffer.alloc(100)]).pipe(new FfmpegTranscoder({ input: { sampleRate: 8000, channels: 1, encoding: 's16le' }, output: 'wav', ffmpegPath: '/nonexistent/ffmpeg' }))))
  t.match(none, { code: 'ERR_FFMPEG', message: /apt-get install ffmpeg.*FFMPEG_PATH/ })
  t.throws(() => new FfmpegTranscoder({ input: { container: 'mp3; rm -rf /' }, output: 'wav' }), { code: 'ERR_INVALID_OPTION', option: 'input.container' })
})

t.test('FfmpegTranscoder: low-latency flags — output after 100 ms of input, not 2 s', async (t) => {
  const tr = new FfmpegTranscoder({ input: { sampleRate: 24000, channels: 1, encoding: 's16le' }, output: 'pcm' })
  t.teardown(() => {
    tr.destroy()
    return tr.exited()
  })
  t.ok(tr.args.includes('low_delay') && tr.args.includes('-flush_packets'))
  t.notOk(tr.args.includes('nobuffer'), '-fflags nobuffer drops audio on piped raw PCM')
  // Five 20 ms frames and then nothing: with ffmpeg's default probing it would sit on them (it
  // wants ~2 s of input first); with ours it must answer with no more input. Counted in input
  // frames, not milliseconds; the wait below only guards against a hang.
  const frame = twoTones(24000, 0.02, 1)
  const first = new Promise<Buffer>((resolve, reject) => {
    tr.once('data', resolve)
    tr.once('error', reject)
  })
  for (let i = 0; i < 5; i++) tr.write(frame)
  let timer: NodeJS.Timeout | undefined
  const out = await Promise.race([first, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no output after 100 ms of input and a 20 s wait')), 20_000)))])
  clearTimeout(timer)
  t.ok(out.length > 0, `first output (${out.length} bytes) after 5 frames (100 ms) of input and no more`)
})

t.test('destroying a transcode whose ffmpeg never started signals nothing (no kill(0) to the process group)', async (t) => {
  // In a child that leads its own process group: before the fix, FfmpegTranscoder killed the
  // pid-less child of a failed spawn, and libuv sent SIGTERM to the whole group (under tap: the
  // runner and every test file after this one).
  const script = fileURLToPath(new URL('./fixtures/ffmpeg-missing-child.mjs', import.meta.url))
  const child = spawn(process.execPath, [script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])))
  t.equal(signal, null, `the child was not killed (${signal ?? 'no signal'})`)
  t.equal(status, 0, stderr)
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { destroyedWithoutPid: number; pidlessKills: number; received: string[]; siblingAlive: boolean }
  t.equal(out.destroyedWithoutPid, 20, '20 transcodes destroyed between the failed spawn and its error event')
  t.equal(out.pidlessKills, 0, 'kill() was never called on a child without a pid')
  t.same(out.received, [], 'no signal reached the process')
  t.equal(out.siblingAlive, true, 'a sibling in the process group survived')
})

t.test('100 aborted transcodes leave no ffmpeg process behind', async (t) => {
  const pids: number[] = []
  for (let i = 0; i < 100; i++) {
    const tr = new FfmpegTranscoder({ input: { sampleRate: 24000, channels: 1, encoding: 's16le' }, output: i % 2 ? 'mp3' : 'ogg-opus', killGraceMs: 500 })
    tr.on('error', () => {})
    tr.write(Buffer.alloc(4800))
    if (tr.pid) pids.push(tr.pid)
    tr.destroy()
    await tr.exited()
  }
  t.equal(pids.length, 100)
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  })
  t.same(alive, [], 'every child exited')
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  const children = ps.stdout.split('\n').map((s) => Number(s.trim())).filter((p) => pids.includes(p))
  t.same(children, [], 'no child of this process is left (zombie or orphan)')
})

t.test('a missing ffmpeg is found when the transcoder is constructed, before any audio (ffmpegFound)', async (t) => {
  const pcm = { sampleRate: 8000, channels: 1, encoding: 's16le' } as const
  t.throws(() => new FfmpegTranscoder({ input: pcm, output: 'mp3', ffmpegPath: '/nonexistent/ffmpeg' }), { name: 'FfmpegError', code: 'ERR_FFMPEG', message: /ffmpeg was not found at '\/nonexistent\/ffmpeg'.*FFMPEG_PATH/ })
  t.equal(ffmpegFound('/nonexistent/ffmpeg'), false, 'a path that is not there')
  const plain = join(mkdtempSync(join(tmpdir(), 'ls-not-exec-')), 'ffmpeg')
  writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 })
  t.equal(ffmpegFound(plain), false, 'a file that is not executable')
  t.equal(ffmpegFound(tmpdir()), false, 'a directory')
  t.equal(ffmpegFound(process.execPath), true, 'an executable path')
  t.equal(ffmpegFound('definitely-not-a-tool-on-path'), false, 'a bare name not on PATH')
  const saved = process.env['PATH']
  process.env['PATH'] = `/nonexistent-dir:${dirname(process.execPath)}`
  try {
    t.equal(ffmpegFound(basename(process.execPath)), true, 'a bare name found on PATH')
  } finally {
    process.env['PATH'] = saved
  }
})

