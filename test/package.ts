import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { VERSION } from '../lib/index.js'
import { HELP } from '../lib/cli/args.js'

const root = new URL('..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
const pkgJson = pkg as unknown as Record<string, Record<string, unknown> | undefined> & {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, unknown>
}

t.test('VERSION matches package.json', async (t) => {
  t.equal(VERSION, pkg.version)
})

t.test('the built package loads by name from CommonJS and ESM, with the emulator subpath', async (t) => {
  t.ok(existsSync(`${root}dist/cjs/index.js`), 'dist/cjs exists (npm run build)')
  t.ok(existsSync(`${root}dist/esm/index.js`), 'dist/esm exists (npm run build)')
  // The package refers to itself by name (self-reference through "exports"), as a consumer would.
  const cjs = execFileSync(
    process.execPath,
    [
      '-e',
      `const ls = require('lightning-stream'); const emu = require('lightning-stream/emulator');
       const c = new ls.LightningClient({ baseUrl: 'http://127.0.0.1:1' });
       emu.startEmulator().then(async (e) => {
         const client = new ls.LightningClient({ baseUrl: e.url });
         const r = await client.synthesize({ text: 'cjs', voice_id: 'magnus' });
         console.log(JSON.stringify({ client: typeof ls.LightningClient, bytes: r.audio.length, err: new ls.AbortError().code }));
         await client.close(); await e.close();
       });`,
    ],
    { cwd: root, encoding: 'utf8' },
  )
  t.same(JSON.parse(cjs), { client: 'function', bytes: 8640, err: 'ERR_ABORTED' })
  const esm = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import { SseParser } from 'lightning-stream'; import { startEmulator } from 'lightning-stream/emulator'; import { createSseParser } from 'lightning-stream/core'; console.log(typeof SseParser, typeof startEmulator, typeof createSseParser)`],
    { cwd: root, encoding: 'utf8' },
  )
  t.equal(esm.trim(), 'function function function')
})

// What `npm pack` ships, installed by hand into a scratch project (no registry: the dependencies are
// linked from this checkout), the way a user's `npm install lightning-stream` lays it out.
const packed = (JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path)
const project = mkdtempSync(join(tmpdir(), 'ls-installed-'))
t.teardown(() => rmSync(project, { recursive: true, force: true }))
const installed = join(project, 'node_modules', 'lightning-stream')
for (const file of packed) {
  mkdirSync(dirname(join(installed, file)), { recursive: true })
  copyFileSync(join(root, file), join(installed, file))
}
for (const dep of [...Object.keys(pkgJson.dependencies), '@types/node', 'undici-types']) {
  mkdirSync(dirname(join(project, 'node_modules', dep)), { recursive: true })
  symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep))
}
mkdirSync(join(project, 'node_modules', '.bin'))
symlinkSync('../lightning-stream/dist/esm/cli/bin.js', join(project, 'node_modules', '.bin', 'lightning-stream'))
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, dependencies: { 'lightning-stream': pkg.version } }))

t.test('the guides ship with the package (the README and --help point at docs/*.md), not the generated quick report', async (t) => {
  const guides = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'benchmarks-quick.md')
  t.ok(guides.length >= 8, `${guides.length} guides`)
  for (const g of guides) t.ok(packed.includes(`docs/${g}`), `docs/${g} is in the package`)
  t.notOk(packed.includes('docs/benchmarks-quick.md'))
  t.match(HELP, /docs\/errors-and-retries\.md/)
})

t.test('package.json: repository, homepage and bugs (the README\'s relative links resolve on npm)', async (t) => {
  t.match(pkgJson.repository, { type: 'git', url: /^git\+https:\/\/github\.com\/lightning-stream\/lightning-stream\.git$/ })
  t.equal(pkgJson.homepage, 'https://github.com/lightning-stream/lightning-stream#readme')
  t.same(pkgJson.bugs, { url: 'https://github.com/lightning-stream/lightning-stream/issues' })
})

t.test('every source map in the package points at files the package ships', async (t) => {
  const files = new Set(packed)
  const maps = packed.filter((f) => f.endsWith('.map'))
  t.ok(maps.length > 50, `${maps.length} maps`)
  const missing: string[] = []
  for (const map of maps) {
    const { sources, sourceRoot } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[]; sourceRoot?: string }
    for (const s of sources) {
      const target = posix.normalize(posix.join(posix.dirname(map), sourceRoot ?? '', s))
      if (!files.has(target)) missing.push(`${map} → ${target}`)
    }
  }
  t.same(missing, [], 'no map refers to an unshipped file')
})

t.test('espeak-ng (GPL, 18 MB) is an optional peer, not installed into users\' projects', async (t) => {
  t.notOk(pkgJson.dependencies['espeak-ng'], 'not a dependency')
  t.notOk(pkgJson.optionalDependencies?.['espeak-ng'], 'not an optional dependency (npm would install it)')
  t.ok(pkgJson.peerDependencies['espeak-ng'], 'an optional peer')
  t.same(pkgJson.peerDependenciesMeta['espeak-ng'], { optional: true })
  t.ok(pkgJson.devDependencies['espeak-ng'], 'a dev dependency: `npm install && npm run demo` in a clone speaks with it')
})

t.test('installed without espeak-ng, `npx lightning-stream say` uses the tone engine and says once how to get speech', async (t) => {
  // As a user types it: none of the npm_* variables of the npm (or npx) running this suite.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  const r = spawnSync('npx', ['--no-install', 'lightning-stream', 'say', 'Hello from an installed package.', '-o', 'hello.wav'], { cwd: project, env: { ...env, SMALLEST_API_KEY: '' }, encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  const hints = r.stderr.match(/eSpeak NG is not installed.*npm install espeak-ng/g) ?? []
  t.equal(hints.length, 1, 'the hint, once')
  t.match(r.stderr, /using the built-in emulator \(tone engine\)/)
  t.equal(readFileSync(join(project, 'hello.wav')).toString('latin1', 0, 4), 'RIFF')
  const quiet = spawnSync(process.execPath, [join(installed, 'dist/esm/cli/bin.js'), 'say', 'Quiet.', '-o', 'q.wav', '-q'], { cwd: project, env: { ...process.env, SMALLEST_API_KEY: '' }, encoding: 'utf8', timeout: 60_000 })
  t.equal(quiet.stderr, '', '-q silences it')
})

t.test('types resolve under moduleResolution node10 (typesVersions), node16 and bundler', async (t) => {
  writeFileSync(
    join(project, 'index.ts'),
    `import { LightningClient, type PcmFormat } from 'lightning-stream'
import { startEmulator, type Emulator } from 'lightning-stream/emulator'
import { createSsePcmDecoder } from 'lightning-stream/core'
const format: PcmFormat = { sampleRate: 24000, channels: 1, encoding: 's16le' }
const started: Promise<Emulator> = startEmulator({ realtimeFactor: 2 })
void started.then((emu) => new LightningClient({ baseUrl: emu.url }).pcm({ text: 'hi', voice_id: 'magnus' }).format.sampleRate === format.sampleRate)
void createSsePcmDecoder({ sampleRate: 24000 }).format
`,
  )
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  for (const [module, moduleResolution] of [['commonjs', 'node10'], ['node16', 'node16'], ['preserve', 'bundler']] as const) {
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', module, '--moduleResolution', moduleResolution, '--target', 'es2022', '--types', 'node', '--skipLibCheck', 'index.ts'], { cwd: project, encoding: 'utf8' })
    t.equal(r.status, 0, `${moduleResolution}: ${r.stdout.trim() || 'type-checks'}`)
  }
})
