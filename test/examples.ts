// The sink guides' examples run as users would run them, offline against the emulator.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'ls-examples-'))
const run = (name: string) =>
  spawnSync(process.execPath, [join(root, 'examples', name)], { env: { ...process.env, SMALLEST_API_KEY: '' }, cwd: dir, encoding: 'utf8', timeout: 60_000 })

t.test('examples/discord-bot.mjs: plays, is interrupted, plays again', async (t) => {
  const r = run('discord-bot.mjs')
  t.equal(r.status, 0, r.stderr)
  const played = [...r.stderr.matchAll(/played (\d+) ms/g)].map((m) => Number(m[1]))
  t.equal(played.length, 3)
  t.ok(played[1]! < 1500, `the interrupted sentence stopped after ${played[1]} ms`)
})

t.test('examples/webrtc.mjs: 10 ms frames into a real RTCAudioSource', async (t) => {
  const r = run('webrtc.mjs')
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /sent \d+ frames of 10 ms \(0 of silence\)/)
})

t.test('examples/livekit.mjs: AudioFrames into a real AudioSource', async (t) => {
  const r = run('livekit.mjs')
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /captured \d+ frames/)
})
