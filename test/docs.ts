// Every code block in a guide (docs/*.md) is an excerpt of a file under examples/ that CI runs
// (test/cli.ts runs the examples), so the guides cannot drift from working code.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

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
