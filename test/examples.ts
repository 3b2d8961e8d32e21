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

t.test('examples/llm-to-discord.mjs: a model reply spoken while it is written; barge-in keeps what was heard', async (t) => {
  const r = run('llm-to-discord.mjs')
  t.equal(r.status, 0, r.stderr)
  const lines = [...r.stderr.matchAll(/heard (\d+) of (\d+) words: (.*)/g)]
  t.equal(lines.length, 2)
  const [full, cut] = lines
  t.equal(full![1], full![2], 'the whole first reply was heard')
  t.ok(Number(cut![1]) > 0 && Number(cut![1]) < Number(cut![2]), `interrupted: ${cut![1]} of ${cut![2]} words heard`)
  t.match(r.stderr, /the bot's memory of its own turn: "Here is/)
})

t.test('examples/stream-text.mjs: streamText basics, the SSE transport and long text on pcm()', async (t) => {
  const r = run('stream-text.mjs')
  t.equal(r.status, 0, r.stderr)
  t.match(r.stderr, /first audio \d+ ms after the first token; 15 words/)
  t.match(r.stderr, /segment 0: "Dr\. Smith paid \$3\.14 for a coffee\. "/)
  t.match(r.stderr, /segment 2: "Nobody knows where he went\."/)
  t.match(r.stderr, /long text: \d+ bytes/)
})
