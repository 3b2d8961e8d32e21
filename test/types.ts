// The public types a user relies on (test/fixtures/types/assertions.ts), compiled with tsc --strict:
// Discord's inputType, convertPcm in both pipeline() forms, formats that keep their literals, typed
// events and async iteration. The `@ts-expect-error` lines there must stay errors.
import t from 'tap'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname

t.test('the public types: tsc --strict over test/fixtures/types/assertions.ts', async (t) => {
  const r = spawnSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2023', '--types', 'node', '--skipLibCheck', '--pretty', 'false', `${root}test/fixtures/types/assertions.ts`],
    { cwd: root, encoding: 'utf8' },
  )
  t.equal(r.status, 0, 'compiles')
  t.same(r.stdout.split('\n').filter(Boolean), [], 'no type errors')
})
