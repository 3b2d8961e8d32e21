// The test tools (test/fixtures/tools.ts): where each came from in this run, the resolution order
// (variable, then PATH, then npm), and a missing tool failing its tests at once, in one line.
// With TEST_TOOLS_EXPECT=npm or =system (set by .ci/run), it also checks that the run used the
// tools it meant to: the npm fallbacks on the fresh-machine path, the system's on the other.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { describeTools, findTool, requireChromium, requireTool, ToolMissingError, type ToolName } from './fixtures/tools.js'

const root = new URL('..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'ls-tools-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const expected = process.env['TEST_TOOLS_EXPECT']

/** A PATH made of links to everything on this PATH except `hidden`: this machine, without those tools. */
function pathWithout(hidden: RegExp): string {
  const bin = mkdtempSync(join(dir, 'bin-'))
  for (const d of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      continue
    }
    for (const n of names) {
      if (hidden.test(n)) continue
      try {
        symlinkSync(join(d, n), join(bin, n))
      } catch {
        // an earlier PATH entry already provides it
      }
    }
  }
  return bin
}

/** A fake executable that prints `version`. */
function fake(path: string, version: string): string {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, `#!/bin/sh\necho "${version}"\n`)
  chmodSync(path, 0o755)
  return path
}

t.test('where each tool came from in this run', async (t) => {
  const lines = await describeTools()
  for (const line of lines) console.error(`tools: ${line}`) // on stderr, so it shows under every tap reporter
  for (const line of lines) t.comment(line)
  for (const name of ['ffmpeg', 'ffprobe'] as const) t.ok(requireTool(name), `${name} found and runs`)
  t.ok(await requireChromium(), 'chromium found and runs')
  if (expected === 'npm' || expected === 'system') {
    for (const name of ['ffmpeg', 'ffprobe', 'chromium'] as const) {
      const tool = name === 'chromium' ? await requireChromium() : requireTool(name)
      t.equal(tool.source === 'npm' ? 'npm' : 'system', expected, `${name} came from ${tool.origin} (TEST_TOOLS_EXPECT=${expected})`)
    }
  }
})

t.test('the ffmpeg found can make every format the tests check', async (t) => {
  const r = spawnSync(requireTool('ffmpeg').path, ['-hide_banner', '-encoders'], { encoding: 'utf8' })
  for (const encoder of ['libopus', 'libmp3lame', 'aac', 'flac', 'pcm_s16le']) t.match(r.stdout, new RegExp(`^ A\\S* ${encoder} `, 'm'), `encoder ${encoder}`)
})

t.test('resolution order: the variable, then PATH, then the npm binary', async (t) => {
  const pathDir = join(dir, 'path')
  const onPath = fake(join(pathDir, 'ffmpeg'), 'ffmpeg from PATH')
  const explicit = fake(join(dir, 'explicit', 'ffmpeg'), 'ffmpeg from FFMPEG_PATH')
  t.match(findTool('ffmpeg', { env: { PATH: pathDir, FFMPEG_PATH: explicit } }), { source: 'env', path: explicit, origin: 'FFMPEG_PATH' })
  t.match(findTool('ffmpeg', { env: { PATH: pathDir } }), { source: 'PATH', path: onPath })
  t.match(findTool('ffmpeg', { env: { PATH: pathDir, FFMPEG_PATH: '' } }), { source: 'PATH' }, 'an empty variable counts as unset')
  const empty = join(dir, 'empty')
  mkdirSync(empty, { recursive: true })
  if (process.platform === 'linux' && process.arch === 'x64') {
    for (const [name, pkg] of [['ffmpeg', '@ffmpeg-installer/linux-x64'], ['ffprobe', '@ffprobe-installer/linux-x64'], ['chromium', '@sparticuz/chromium']] as const) {
      const tool = findTool(name, { env: { PATH: empty } })
      t.equal(tool.source, 'npm', `${name}: nothing on PATH, so the npm binary`)
      t.match(tool.origin, pkg)
    }
  }
  const sox = (() => {
    try {
      return findTool('sox', { env: { PATH: empty } })
    } catch (err) {
      return err as Error
    }
  })()
  t.match(sox, { name: 'ToolMissingError', message: /there is no npm fallback for sox.*apt-get install sox/ }, 'sox has no npm fallback')
})

t.test('a missing tool is one line naming the tool and the fix', async (t) => {
  const empty = join(dir, 'empty2')
  mkdirSync(empty, { recursive: true })
  for (const [name, variable, fix] of [['ffmpeg', 'FFMPEG_PATH', 'apt-get install ffmpeg'], ['ffprobe', 'FFPROBE_PATH', 'apt-get install ffmpeg'], ['chromium', 'CHROMIUM_PATH', 'apt-get install chromium']] as const) {
    const err = (() => {
      try {
        findTool(name as ToolName, { env: { PATH: empty }, npm: false })
      } catch (e) {
        return e as ToolMissingError
      }
      return undefined
    })()
    t.ok(err instanceof ToolMissingError, `${name}: ToolMissingError`)
    t.notMatch(err!.message, /\n/, 'one line')
    t.match(err!.message, new RegExp(`^${name} not found: .*Fix: .*${fix}.*${variable}`), err!.message)
  }
  const wrong = join(dir, 'nope', 'ffmpeg')
  t.throws(() => findTool('ffmpeg', { env: { PATH: '', FFMPEG_PATH: wrong } }), { name: 'ToolMissingError', message: `ffmpeg: FFMPEG_PATH=${wrong} is not an executable file. Fix: point FFMPEG_PATH at ffmpeg, or unset it.` }, 'a wrong variable is an error, not a reason to look elsewhere')
})

t.test('without Chromium, the browser test fails at once, alone, with the fix', async (t) => {
  // The real test file, run by tap on this machine minus every Chromium and with the npm fallback
  // off: it must end on its own with the one-line message (no server or emulator left open to
  // keep it alive until tap's timeout).
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithout(/^(chromium|chromium-browser|google-chrome.*|chrome)$/), TEST_TOOLS_NPM: '0' }
  delete env['CHROMIUM_PATH']
  delete env['TEST_TOOLS_EXPECT']
  for (const k of Object.keys(env)) if (k.startsWith('TAP')) delete env[k] // a fresh tap run, not a child of this one
  const r = spawnSync(process.execPath, [join(root, 'node_modules/tap/dist/esm/run.mjs'), '--disable-coverage', '--reporter=tap', '--timeout=60', 'test/browser.ts'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 })
  const out = r.stdout + r.stderr
  t.equal(r.status, 1, 'the run fails')
  t.match(out, /not ok \d+ - chromium not found: not in CHROMIUM_PATH, not on PATH, the npm fallback is off\. Fix: apt-get install chromium, or install Google Chrome, or set CHROMIUM_PATH\./)
  t.notMatch(out, /timeout!|SIGTERM/, 'it ended by itself, not by a timeout or a signal')
  const time = /^not ok 1 - test\/browser\.ts # time=([\d.]+)ms/m.exec(out)
  t.ok(time, 'tap reports the file')
  t.comment(`test/browser.ts without Chromium failed after ${time?.[1] ?? '?'} ms`)
})
