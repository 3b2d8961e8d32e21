// Where the Opus pool's worker script sits, next to this file, in both builds (dist/esm and
// dist/cjs) and when run from the TypeScript sources (tests). A `.cts` file is CommonJS in every
// build, so `__dirname` is always defined: the CommonJS build has no `import.meta`.
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const js = join(__dirname, 'opus-worker.js')
/** The worker script of `OpusEncoderPool`. @internal */
const opusWorkerFile: string = existsSync(js) ? js : join(__dirname, 'opus-worker.ts')
export = opusWorkerFile
