// Builds dist/esm (the package is "type": "module") and dist/cjs (a nested package.json marks it
// CommonJS), so `import` and `require()` both work on every supported Node version, including
// 20.18 where require(esm) is not available. Runs on `npm install` from a clone via `prepare`.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
rmSync('dist', { recursive: true, force: true })
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
writeFileSync('dist/cjs/package.json', '{\n  "type": "commonjs"\n}\n')
if (existsSync('dist/esm/cli/bin.js')) chmodSync('dist/esm/cli/bin.js', 0o755)
