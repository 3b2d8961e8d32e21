// An ffmpeg that stops reading its input must not hang the pipeline. Stand-in executables play
// the misbehaving process; the real ffmpeg plays `-t 0.1`. Each case must settle (a hang is the
// failure, so the bound is a generous guard, not a latency claim), with the right result, and
// leave no process behind.
import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { FfmpegTranscoder, type PcmFormat } from '../lib/index.js'
import { parseWavHeader } from '../lib/core.js'
import { ffmpegBin } from './fixtures/ffmpeg.js'

const dir = mkdtempSync(join(tmpdir(), 'ls-ffmpeg-exit-'))
const stereo48: PcmFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' }
const INPUT = 768 * 1024 // far more than a pipe buffer (64 KiB): writes must wait for 'drain'

/** Writes an executable Node script that stands in for ffmpeg. */
function standIn(name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!${process.execPath}\nconst fs = require('node:fs')\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

const STAND_INS = {
  // Reads 100 bytes, writes 1000 bytes of output, exits 0 (like `-t` or `-frames`).
  exit0: standIn('exit0.cjs', `let got = 0
process.stdin.on('data', (c) => {
  got += c.length
  if (got >= 100) { process.stdin.pause(); fs.writeSync(1, Buffer.alloc(1000, 7)); process.exit(0) }
})`),
  // Reads 100 bytes, complains, exits 1.
  exit1: standIn('exit1.cjs', `let got = 0
process.stdin.on('data', (c) => {
  got += c.length
  if (got >= 100) { process.stdin.pause(); fs.writeSync(2, 'Invalid data found when processing input\\n'); process.exit(1) }
})`),
  // Never reads stdin: writes its output (as a generator such as lavfi would) and exits 0.
  neverReads: standIn('never-reads.cjs', `fs.writeSync(1, Buffer.alloc(500, 3))
setTimeout(() => { fs.writeSync(1, Buffer.alloc(500, 4)); process.exit(0) }, 100)`),
  // Closes stdout after some output, then keeps running (and keeps reading, so it is not EPIPE).
  closesStdout: standIn('closes-stdout.cjs', `fs.writeSync(1, Buffer.alloc(1000, 5))
fs.closeSync(1)
process.stdin.resume()
setInterval(() => {}, 1000)`),
  // Closes stdout and keeps running without reading stdin.
  closesStdoutNoRead: standIn('closes-stdout-no-read.cjs', `fs.writeSync(1, Buffer.alloc(1000, 6))
fs.closeSync(1)
setInterval(() => {}, 1000)`),
} as const

interface Outcome {
  settled: 'resolved' | 'rejected' | 'hung'
  error: (Error & { code?: string; exitCode?: number | null; stderr?: string }) | undefined
  output: Buffer
  order: string[]
}

/** Pipes `INPUT` bytes through `tr` into a collecting writable; waits at most `guardMs`. */
async function run(tr: FfmpegTranscoder, guardMs = 5000): Promise<Outcome> {
  const chunks: Buffer[] = []
  const order: string[] = []
  tr.once('finish', () => order.push('input finished'))
  tr.once('end', () => order.push('output ended'))
  const source = Readable.from((function* () {
    for (let i = 0; i < INPUT; i += 16384) yield Buffer.alloc(16384, 1)
  })())
  source.once('end', () => order.push('source ended'))
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c)
      cb()
    },
  })
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), guardMs)))
  let error: Outcome['error']
  const settled = await Promise.race([
    pipeline(source, tr, sink).then(
      () => 'resolved' as const,
      (err: Outcome['error']) => {
        error = err
        return 'rejected' as const
      },
    ),
    guard,
  ])
  clearTimeout(timer)
  if (settled === 'hung') tr.destroy()
  return { settled, error, output: Buffer.concat(chunks), order }
}

/** The child is gone: exited() resolved and the pid no longer exists. */
async function checkNoProcess(t: Test, tr: FfmpegTranscoder) {
  const pid = tr.pid
  t.ok(pid !== undefined, 'the child was started')
  const exit = await Promise.race([tr.exited(), new Promise<'alive'>((r) => setTimeout(() => r('alive'), 5000).unref())])
  t.not(exit, 'alive', 'the child exited')
  let alive = true
  try {
    process.kill(pid!, 0)
  } catch (err) {
    alive = (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
  t.notOk(alive, `pid ${pid} is gone`)
}

t.test('real ffmpeg with -t 0.1 on 768 KB of input: resolves with exactly 0.1 s, the rest discarded', async (t) => {
  const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', extraArgs: ['-t', '0.1'], ffmpegPath: ffmpegBin() })
  const r = await run(tr)
  t.equal(r.settled, 'resolved', r.error?.message ?? '')
  const info = parseWavHeader(r.output)!
  t.equal(r.output.length - info.dataOffset, 4800 * 4, '4800 sample frames (0.1 s at 48 kHz stereo)')
  t.ok(tr.discardedBytes > 0 && tr.discardedBytes < INPUT, `${tr.discardedBytes} input bytes discarded`)
  t.same(r.order.slice(-2), ['input finished', 'output ended'], 'the output ends once the input side has finished')
  await checkNoProcess(t, tr)
})

t.test('a stand-in that reads 100 bytes and exits 0: resolves with its output', async (t) => {
  const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', ffmpegPath: STAND_INS.exit0 })
  const r = await run(tr)
  t.equal(r.settled, 'resolved', r.error?.message ?? '')
  t.same(r.output, Buffer.alloc(1000, 7))
  t.ok(tr.discardedBytes > 0, `${tr.discardedBytes} bytes discarded`)
  t.same(r.order, ['source ended', 'input finished', 'output ended'])
  await checkNoProcess(t, tr)
})

t.test('a stand-in that reads 100 bytes and exits 1: FfmpegError with the code and stderr', async (t) => {
  const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', ffmpegPath: STAND_INS.exit1 })
  const r = await run(tr)
  t.equal(r.settled, 'rejected')
  t.match(r.error, { name: 'FfmpegError', code: 'ERR_FFMPEG', exitCode: 1, stderr: /Invalid data found/ })
  await checkNoProcess(t, tr)
})

t.test('a stand-in that never reads stdin and exits 0: resolves with its output', async (t) => {
  const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', ffmpegPath: STAND_INS.neverReads })
  const r = await run(tr)
  t.equal(r.settled, 'resolved', r.error?.message ?? '')
  t.same(r.output, Buffer.concat([Buffer.alloc(500, 3), Buffer.alloc(500, 4)]))
  t.ok(tr.discardedBytes >= INPUT / 2, `${tr.discardedBytes} bytes discarded (all but what the pipes and stream buffers held)`)
  await checkNoProcess(t, tr)
})

for (const [name, path] of [['reading', STAND_INS.closesStdout], ['not reading', STAND_INS.closesStdoutNoRead]] as const) {
  t.test(`a stand-in that closes stdout but keeps running (${name} stdin): killed, FfmpegError`, async (t) => {
    const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', ffmpegPath: path })
    const r = await run(tr)
    t.equal(r.settled, 'rejected')
    t.match(r.error, { code: 'ERR_FFMPEG', message: /closed its output but was still running 500 ms later/ })
    await checkNoProcess(t, tr)
  })
}

t.test('exitTimeoutMs is an option', async (t) => {
  const tr = new FfmpegTranscoder({ input: stereo48, output: 'wav', ffmpegPath: STAND_INS.closesStdout, exitTimeoutMs: 50 })
  const r = await run(tr)
  t.match(r.error, { code: 'ERR_FFMPEG', message: /still running 50 ms later/ })
  await checkNoProcess(t, tr)
})
