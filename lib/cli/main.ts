/**
 * The `lightning-stream` command: argv → the command → an exit code. {@link main} has no side
 * effect beyond the command it runs; importing this module runs nothing (`bin.ts` is the
 * executable).
 * @internal
 * @module
 */
import { parseArgs } from 'node:util'
import { VERSION } from '../version.js'
import { COMMAND_OPTIONS, HELP, OPTIONS, UsageError, type Values } from './args.js'
import { EXIT, exitCodeOf } from './exit-codes.js'
import { NOTES, say } from './say.js'
import { serve } from './serve.js'
import { voices } from './voices.js'

export { EXIT }

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let values: Values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }))
  } catch (err) {
    process.stderr.write(`lightning-stream: ${(err as Error).message}\nTry 'lightning-stream --help'.\n`)
    return EXIT.usage
  }
  const log = (s: string) => {
    if (!values.quiet) process.stderr.write(`${s}\n`)
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`)
    return EXIT.ok
  }
  const [command, ...rest] = positionals
  if (values.help || !command) {
    process.stdout.write(HELP)
    return values.help ? EXIT.ok : EXIT.usage
  }
  try {
    const allowed = COMMAND_OPTIONS[command]
    if (!allowed) throw new UsageError(`unknown command '${command}' (say, serve, voices)`)
    const stray = Object.keys(values).filter((k) => values[k as keyof Values] !== undefined && !allowed.includes(k))
    if (stray.length) throw new UsageError(`${stray.map((k) => `--${k}`).join(', ')} ${stray.length > 1 ? 'do' : 'does'} not apply to ${command}`)
    if (command === 'say') return await say(values, rest, log)
    if (command === 'voices') await voices(values, log)
    else await serve(values, log)
    return EXIT.ok
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EPIPE') return EXIT.ok // reader went away: `| head`
    const extra = NOTES.get(err as object)
    const code = extra?.interrupted ? EXIT.interrupted : exitCodeOf(err)
    const e = err as Error
    process.stderr.write(`lightning-stream: ${extra?.interrupted ? 'interrupted' : values.verbose && e.stack ? e.stack : e.message}\n`)
    if (extra) process.stderr.write(`lightning-stream: ${extra.note}\n`)
    if (code === EXIT.usage && err instanceof UsageError) process.stderr.write(`Try 'lightning-stream --help'.\n`)
    return code
  }
}
