/**
 * Where `say` and `voices` send their requests: the real API with a key, else (or with
 * `--local`) an in-process emulator speaking with eSpeak NG when it is installed, or the tone
 * engine. `serve` picks its engine the same way.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs'
import { LightningClient } from '../client/client.js'
import { createEspeakEngine } from '../emulator/espeak.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import type { SpeechEngine } from '../emulator/synthesis.js'
import { toneEngine } from '../emulator/tone.js'
import { UsageError, type Values } from './args.js'

/** What to do for real speech offline: said once, when espeak-ng is missing and no engine was asked for. */
const ESPEAK_HINT =
  'lightning-stream: eSpeak NG is not installed, so the emulator speaks with the tone engine (a test tone, not speech). For real speech offline: npm install espeak-ng (GPL-3.0-or-later).'

/**
 * The offline speech engine: espeak when installed (or asked for), else the tone engine. espeak-ng
 * is an optional peer (GPL, 18 MB), not installed by default: without it, say so once.
 */
export async function pickEngine(values: Values, log: (s: string) => void): Promise<SpeechEngine> {
  const wanted = values.engine
  if (wanted !== undefined && wanted !== 'espeak' && wanted !== 'tone') throw new UsageError(`--engine must be espeak or tone (got '${wanted}')`)
  if (wanted === 'tone') return toneEngine
  try {
    return await createEspeakEngine()
  } catch (err) {
    if (wanted === 'espeak') throw err
    if ((err as { code?: unknown }).code === 'ERR_ESPEAK_MISSING') log(ESPEAK_HINT)
    else log(`lightning-stream: eSpeak NG could not start (${(err as Error).message}), so the emulator speaks with the tone engine.`)
    return toneEngine
  }
}

/** Creates the client: the real API with a key, else (or with --local) an in-process emulator. */
export async function connect(values: Values, log: (s: string) => void): Promise<{ client: LightningClient; emulator?: Emulator; engine?: string }> {
  let apiKey = process.env['SMALLEST_API_KEY'] || undefined
  if (values['api-key-file']) apiKey = readFileSync(values['api-key-file'], 'utf8').trim()
  if (values.local || (!apiKey && !values['base-url'])) {
    const engine = await pickEngine(values, log)
    const emulator = await startEmulator({ maxConcurrent: 4, engine })
    const what = engine.name === 'espeak' ? 'eSpeak NG speech' : 'tone engine'
    log(`lightning-stream: ${values.local ? '--local' : 'no SMALLEST_API_KEY'}: using the built-in emulator (${what}) at ${emulator.url}`)
    try {
      return { client: new LightningClient({ baseUrl: emulator.url }), emulator, engine: engine.name }
    } catch (err) {
      await emulator.close()
      throw err
    }
  }
  return { client: new LightningClient({ apiKey, baseUrl: values['base-url'] }) }
}
