// Every code block in a guide (docs/*.md) is an excerpt of a file under examples/ that CI runs
// (test/cli.ts runs the examples), so the guides cannot drift from working code.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closed, spawnServer } from './fixtures/helpers.js'

const root = new URL('..', import.meta.url).pathname
const examples = readdirSync(join(root, 'examples')).map((f) => readFileSync(join(root, 'examples', f), 'utf8'))
const exampleLines = new Set(examples.flatMap((src) => src.split('\n').map((l) => l.trim())))

for (const guide of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && !f.startsWith('benchmarks'))) {
  t.test(`docs/${guide}: every js block is from examples/`, async (t) => {
    const md = readFileSync(join(root, 'docs', guide), 'utf8')
    const blocks = [...md.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!)
    t.ok(blocks.length > 0, 'the guide has code')
    for (const block of blocks) {
      const missing = block
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('//') && !exampleLines.has(l))
      t.same(missing, [], `block starting "${block.split('\n')[0]}" appears in an example`)
    }
  })
}

/** Splits a shell command line into words: double quotes group, `#` starts a comment. */
function words(line: string): string[] {
  const out: string[] = []
  for (const m of line.replace(/\s+#.*$/, '').matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!)
  return out
}

/** A directory holding a stand-in `ffplay` that counts the bytes it reads into `played-bytes`. */
function stubPlayerDir(cwd: string): string {
  const dir = join(cwd, 'stub-bin')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'ffplay'), `#!/bin/sh\nwc -c > "${join(cwd, 'played-bytes')}"\n`, { mode: 0o755 })
  return dir
}

t.test('README and getting started: every CLI line runs as written (npx lightning-stream, offline)', async (t) => {
  const docs = ['README.md', 'docs/getting-started.md'].map((f) => readFileSync(join(root, f), 'utf8'))
  const lines = docs.flatMap((md) => md.split('\n').filter((l) => l.startsWith('npx lightning-stream ') || l.includes('| npx lightning-stream ')))
  t.ok(lines.length >= 8, `${lines.length} lines`)
  const bin = join(root, 'dist/esm/cli/bin.js')
  const cwd = mkdtempSync(join(tmpdir(), 'ls-readme-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const env = { ...process.env, SMALLEST_API_KEY: '' }
  for (const line of lines) {
    // `echo "x" | npx lightning-stream … | ffplay …`: stdin from the echo; the player is not run.
    const parts = line.split(' | ')
    const echo = parts.length > 1 && parts[0]!.startsWith('echo ') ? words(parts[0]!)[1] : undefined
    const command = words(parts.find((p) => p.includes('npx lightning-stream'))!)
    t.same(command.slice(0, 2), ['npx', 'lightning-stream'], line)
    const args = command.slice(2)
    if (args[0] === 'serve') {
      // The server runs until stopped: start it (on a free port), see it answer, stop it.
      const { child, url } = await spawnServer(t, [bin, ...args.map((a, i) => (args[i - 1] === '--port' ? '0' : a))], { cwd, env })
      t.equal((await fetch(`${url}/waves/v1/health`)).status, 200, `${line.trim()}: answers`)
      child.kill('SIGTERM')
      t.equal(await closed(child), 0, 'and stops on SIGTERM')
      continue
    }
    // Without -o, `say` plays through the first player on PATH: a stand-in ffplay counts what it got.
    const plays = args[0] === 'say' && !args.includes('-o')
    const runEnv = plays ? { ...env, PATH: `${stubPlayerDir(cwd)}:${process.env['PATH'] ?? ''}` } : env
    const r = spawnSync(process.execPath, [bin, ...args], { cwd, env: runEnv, input: echo === undefined ? '' : `${echo}\n`, timeout: 60_000 })
    t.equal(r.status, 0, `${line.trim()}: ${r.stderr.toString().trim().split('\n').at(-1)}`)
    const out = args[args.indexOf('-o') + 1]
    if (plays) t.ok(Number(readFileSync(join(cwd, 'played-bytes'), 'utf8')) > 44 + 4800, 'the player got the audio (a WAV with more than 0.1 s)')
    else if (args.includes('-o') && out !== '-') t.ok(statSync(join(cwd, out!)).size > 100, `wrote ${out}`)
    else t.ok(r.stdout.length > 0, 'wrote to stdout')
    if (args.includes('--words')) t.match(r.stderr.toString(), /\d+\.\d{3}\s+\d+\.\d{3}\s+\S+/, 'printed word timestamps')
  }
})
