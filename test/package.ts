import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { VERSION } from '../lib/index.js'

const root = new URL('..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

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
    ['--input-type=module', '-e', `import { SseParser } from 'lightning-stream'; import { startEmulator } from 'lightning-stream/emulator'; console.log(typeof SseParser, typeof startEmulator)`],
    { cwd: root, encoding: 'utf8' },
  )
  t.equal(esm.trim(), 'function function')
})
