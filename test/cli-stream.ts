/** The CLI's streaming features: `say --stream`, `--words`, and `say` without -o playing through a player. */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderTone, toneWords } from '../lib/emulator/index.js'
import { findPlayer, playerArgs } from '../lib/cli/player.js'

const root = new URL('..', import.meta.url).pathname
const bin = join(root, 'dist/esm/cli/bin.js')
const dir = mkdtempSync(join(tmpdir(), 'ls-cli-stream-'))
const env = { ...process.env, SMALLEST_API_KEY: '' }
const tone = (text: string) => renderTone({ text, voice_id: 'magnus', sample_rate: 24000 })

t.test('say --stream reads stdin as it arrives and speaks each sentence before the input ends', async (t) => {
  const child = spawn(process.execPath, [bin, 'say', '--stream', '-o', '-', '-f', 'pcm', '--engine', 'tone', '-q'], { env, cwd: dir })
  const out: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.stdin.write('The first sentence arrives. The')
  const first = tone('The first sentence arrives. ').length
  while (Buffer.concat(out).length < first) await new Promise((r) => setTimeout(r, 10))
  t.equal(Buffer.concat(out).length, first, 'the first sentence was spoken while stdin was still open')
  child.stdin.end(' second one follows.')
  t.equal(await exited, 0)
  t.ok(Buffer.concat(out).equals(tone('The first sentence arrives. The second one follows.')))
})

t.test('--words prints word timestamps to stderr; --words-json writes them to a file', async (t) => {
  const file = join(dir, 'words.json')
  const r = spawnSync(process.execPath, [bin, 'say', 'Heard every word?', '-o', join(dir, 'w.wav'), '--engine', 'tone', '--words', '--words-json', file], { env, cwd: dir })
  t.equal(r.status, 0, r.stderr.toString())
  const expected = toneWords('Heard every word?', { voice_id: 'magnus', sample_rate: 24000 })
  t.same(JSON.parse(readFileSync(file, 'utf8')), expected.map((w, index) => ({ ...w, index })))
  for (const w of expected) t.match(r.stderr.toString(), new RegExp(`${w.start.toFixed(3)}\\s+${w.end.toFixed(3)}\\s+${w.word.replace('?', '\\?')}`))
})

t.test('say without -o plays through the first player on PATH, from its stdin', async (t) => {
  const fake = mkdtempSync(join(tmpdir(), 'ls-fake-player-'))
  const got = join(fake, 'played.raw')
  const argsFile = join(fake, 'args.txt')
  writeFileSync(join(fake, 'aplay'), `#!/bin/sh\necho "$@" > '${argsFile}'\nexec /bin/cat > '${got}'\n`)
  chmodSync(join(fake, 'aplay'), 0o755)
  const r = spawnSync(process.execPath, [bin, 'say', 'Out loud.', '--engine', 'tone'], { env: { ...env, PATH: fake }, cwd: dir })
  t.equal(r.status, 0, r.stderr.toString())
  t.match(r.stderr.toString(), /playing through aplay/)
  t.ok(readFileSync(got).equals(tone('Out loud.')), 'the player got the exact PCM')
  t.equal(readFileSync(argsFile, 'utf8').trim(), '-q -t raw -f S16_LE -r 24000 -c 1 -')
})

t.test('say without -o and no player says how to get one, or to use -o', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'ls-no-player-'))
  const r = spawnSync(process.execPath, [bin, 'say', 'Silence.', '--engine', 'tone'], { env: { ...env, PATH: empty }, cwd: dir })
  t.equal(r.status, 1, 'a missing tool is exit 1, as a missing ffmpeg is (not 2, usage)')
  t.match(r.stderr.toString(), /no audio player found \(ffplay, paplay, aplay or afplay\).*apt install ffmpeg.*-o out\.wav/s)
  t.equal(findPlayer(empty), undefined)
})

t.test('player arguments', async (t) => {
  const f = { sampleRate: 16000, channels: 1, encoding: 's16le' as const }
  t.same(playerArgs('ffplay', f), { args: ['-nodisp', '-autoexit', '-loglevel', 'error', '-i', 'pipe:0'], input: 'wav' })
  t.same(playerArgs('paplay', f), { args: ['--raw', '--format=s16le', '--rate=16000', '--channels=1'], input: 'pcm' })
})
