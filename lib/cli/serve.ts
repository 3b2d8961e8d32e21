/**
 * `lightning-stream serve`: the emulator on a port until Ctrl-C (or SIGTERM).
 * @internal
 * @module
 */
import { startEmulator } from '../emulator/server.js'
import { parseFaultHeader } from '../emulator/faults.js'
import { num, type Values } from './args.js'
import { pickEngine } from './connect.js'

/** Runs `serve`: prints the URL, then serves until SIGINT or SIGTERM. */
export async function serve(values: Values, log: (s: string) => void): Promise<void> {
  const emulator = await startEmulator({
    engine: await pickEngine(values, log),
    port: num('port', values.port) ?? 8099,
    host: values.host,
    maxConcurrent: num('max-concurrent', values['max-concurrent']),
    realtimeFactor: num('realtime-factor', values['realtime-factor']),
    chunkMs: num('chunk-ms', values['chunk-ms']),
    faults: values.fault ? parseFaultHeader(values.fault) : undefined,
  })
  process.stdout.write(`${emulator.url}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await emulator.close()
}
