#!/usr/bin/env node
/**
 * The `lightning-stream` executable: runs {@link main} on the process's arguments and sets the
 * exit code. The only module of the CLI with a side effect.
 * @internal
 * @module
 */
import { EXIT, main } from './main.js'

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok) // the reader went away: `| head`
})
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
