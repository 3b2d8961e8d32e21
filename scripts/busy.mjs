#!/usr/bin/env node
// Runs a command while busy-looping processes compete for the CPU, the way a voice bot's host is
// busy with other guilds and calls: `npm run test:busy` runs the sink, browser and reliability
// tests this way. BUSY sets the number of loops (default: 4 per core, the load at which the
// Discord path used to fail). The loops end with the command; each also ends itself if this
// script dies (it checks every few milliseconds that its parent is still there).
//   node scripts/busy.mjs tap test/sinks.ts        BUSY=2 node scripts/busy.mjs npm test
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'

const [command, ...args] = process.argv.slice(2)
if (!command) {
  console.error('usage: [BUSY=N] node scripts/busy.mjs COMMAND [ARGS...]')
  process.exit(2)
}
const count = Number(process.env.BUSY ?? 4 * availableParallelism())
const loop = `const parent = ${process.pid}
for (let i = 1; ; i++) {
  if ((i & 0xfffff) === 0) {
    try { process.kill(parent, 0) } catch { process.exit(0) }
  }
}`
const loops = Array.from({ length: count }, () => spawn(process.execPath, ['-e', loop], { stdio: 'ignore' }))
const stopLoops = () => {
  for (const l of loops) if (l.pid !== undefined && l.exitCode === null && l.signalCode === null) l.kill('SIGKILL')
}
console.error(`busy: ${count} busy-looping processes on ${availableParallelism()} cores while running: ${[command, ...args].join(' ')}`)
const child = spawn(command, args, { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
child.on('error', (err) => {
  stopLoops()
  console.error(`busy: could not run ${command}: ${err.message}`)
  process.exit(127)
})
child.on('exit', (code, signal) => {
  stopLoops()
  process.exit(code ?? (signal ? 128 : 1))
})
