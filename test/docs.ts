// The reader's check: every js/mjs/ts block of the README and docs/*.md, pasted into a project that
// installed the packed tarball (not this source tree), runs against the emulator and type-checks
// under --strict (module nodenext, and once with node10 resolution), as do examples/*.mjs. A block
// whose first line is `// continues the previous block` runs together with the block before it; a
// block after `<!-- docs-test: typecheck-only -->` is type-checked only. Failures name page:line.
import t from 'tap'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import ts from 'typescript'
import { closed, spawnServer } from './fixtures/helpers.js'
import { extractBlocks, type DocBlock } from './fixtures/doc-blocks.js'
import { ffmpegForLibrary } from './fixtures/tools.js'

// Blocks that make mp3 run the library's ffmpeg: give it the one the tests found, through
// FFMPEG_PATH as a user would (a fresh machine has none on PATH).
ffmpegForLibrary()

const root = new URL('..', import.meta.url).pathname
// docs/benchmarks-quick.md is written by `benchmarks/run.mjs --quick` (git-ignored): not a page.
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && !f.startsWith('benchmarks-quick')).sort().map((f) => `docs/${f}`)]
const blocks: DocBlock[] = pages.flatMap((page) => extractBlocks(page, readFileSync(join(root, page), 'utf8')))
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mjs')).sort()

// The packed library, installed into a scratch project: the tarball through npm (its dependencies
// from the npm cache), the optional peers the blocks use linked from this checkout.
const project = mkdtempSync(join(tmpdir(), 'ls-docs-'))
t.teardown(() => rmSync(project, { recursive: true, force: true }))
let installError: string | undefined
if (!existsSync(join(root, 'dist/esm/index.js'))) installError = 'dist/ is missing: run npm run build first'
else {
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1)!
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'docs-reader', version: '1.0.0', private: true, type: 'module' }))
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', join(project, tgz)], { cwd: project, encoding: 'utf8', stdio: 'pipe' })
    for (const peer of ['@discordjs/voice', '@evan/opus', 'opusscript', 'espeak-ng', '@roamhq/wrtc', '@livekit/rtc-node', '@types/node', '@types/ws', 'undici-types']) {
      const to = join(project, 'node_modules', peer)
      if (existsSync(to)) continue
      mkdirSync(dirname(to), { recursive: true })
      symlinkSync(join(root, 'node_modules', peer), to)
    }
  } catch (err) {
    installError = `npm pack / install of the tarball failed: ${String((err as { stderr?: unknown }).stderr ?? err)}`
  }
}

/** A file name for a block: page and line, e.g. `docs-discord.md-L12.mjs`. */
const fileOf = (b: DocBlock): string => `${b.page.replace(/\//g, '-')}-L${b.line}.${b.lang === 'ts' ? 'ts' : 'mjs'}`
const where = (b: DocBlock, line = 1): string => `${b.page}:${b.lines[line - 1] ?? b.line}`

t.test('the docs have code blocks, and the packed tarball installs', async (t) => {
  t.equal(installError, undefined, installError ?? 'installed')
  t.ok(blocks.length >= 10, `${blocks.length} blocks in ${pages.length} pages`)
  for (const page of pages.filter((p) => p !== 'docs/benchmarks.md' && p !== 'docs/performance.md')) {
    t.ok(blocks.some((b) => b.page === page), `${page} has a checked code block`)
  }
})

// Written once: the blocks and the examples, as a reader pastes them.
mkdirSync(join(project, 'blocks'))
for (const b of blocks) writeFileSync(join(project, 'blocks', fileOf(b)), b.code + '\n')
mkdirSync(join(project, 'examples'))
for (const e of examples) writeFileSync(join(project, 'examples', e), readFileSync(join(root, 'examples', e), 'utf8'))

/** Type-checks blocks and examples with the given options; returns the diagnostics as `page:line: TSnnnn message`. */
function typecheck(options: Record<string, unknown>): string[] {
  const tsconfig = join(project, `tsconfig.${String(options['moduleResolution'])}.json`)
  const files = [...blocks.map((b) => `blocks/${fileOf(b)}`), ...examples.map((e) => `examples/${e}`)]
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, allowJs: true, checkJs: true, target: 'es2022', lib: ['es2023'], types: ['node'], skipLibCheck: true, ...options },
      files,
    }),
  )
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--pretty', 'false'], { cwd: project, encoding: 'utf8' })
  const byFile = new Map(blocks.map((b) => [`blocks/${fileOf(b)}`, b]))
  return r.stdout
    .split('\n')
    .filter((l) => /error TS/.test(l))
    .map((l) => {
      const m = /^(.*?)\((\d+),\d+\): (.*)$/.exec(l)
      const b = m ? byFile.get(m[1]!) : undefined
      return b ? `${where(b, Number(m![2]))}: ${m![3]}` : l
    })
}

t.test('every block and example type-checks: --strict, module nodenext', async (t) => {
  t.same(typecheck({ module: 'nodenext', moduleResolution: 'nodenext' }), [], `${blocks.length} blocks and ${examples.length} examples`)
})

t.test('every block and example type-checks: --strict, moduleResolution node10', async (t) => {
  t.same(typecheck({ module: 'es2022', moduleResolution: 'node10', esModuleInterop: true }), [], `${blocks.length} blocks and ${examples.length} examples`)
})

/** Runs a file under node in its own directory; resolves with status and output. */
function run(file: string, cwd: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, SMALLEST_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, out })
    })
  })
}

for (const b of blocks) {
  if (b.typecheckOnly) continue
  t.test(`${where(b)} runs as pasted (against the emulator)`, async (t) => {
    const cwd = join(project, 'run', fileOf(b))
    mkdirSync(cwd, { recursive: true })
    const file = join(project, 'blocks', fileOf(b).replace(/\.ts$/, '.run.mjs'))
    if (b.lang === 'ts') {
      writeFileSync(file, ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText)
    }
    const r = await run(b.lang === 'ts' ? file : join(project, 'blocks', fileOf(b)), cwd)
    t.equal(r.status, 0, `${where(b)}: exit ${r.status}\n${r.out.trim().split('\n').slice(-12).join('\n')}`)
    // What the block wrote lands in its directory: any audio file there is not empty.
    for (const f of readdirSync(cwd)) {
      if (/\.(wav|ogg|opus|mp3|pcm)$/.test(f)) t.ok(statSync(join(cwd, f)).size > 44, `${where(b)} wrote ${basename(f)}`)
    }
  })
}

t.test('README: its first three blocks, pasted into one fresh file, put audio on disk', async (t) => {
  const readme = blocks.filter((b) => b.page === 'README.md' && !b.typecheckOnly).slice(0, 3)
  const cwd = join(project, 'run', 'readme-first-three')
  mkdirSync(cwd, { recursive: true })
  // Pasted one after the other: later blocks repeat imports, so each runs as its own module.
  for (const [i, b] of readme.entries()) writeFileSync(join(cwd, `step${i}.mjs`), b.code)
  writeFileSync(join(cwd, 'main.mjs'), readme.map((_, i) => `await import('./step${i}.mjs')`).join('\n'))
  const r = await run(join(cwd, 'main.mjs'), cwd)
  t.equal(r.status, 0, r.out)
  const audio = readdirSync(cwd).filter((f) => /\.(wav|ogg|opus|mp3)$/.test(f))
  t.ok(audio.length > 0, `audio on disk: ${audio.join(', ')}`)
})

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
