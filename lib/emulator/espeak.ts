/**
 * Real speech for the emulator: eSpeak NG compiled to WebAssembly (the npm package `espeak-ng`,
 * GPL-3.0-or-later). It is an optional peer dependency, loaded only here and only when present, so
 * lightning-stream's own code and dependency graph stay MIT.
 *
 * The WASM module is compiled once and instantiated per utterance (the package exports only its
 * command-line `main`); `benchmarks/espeak.mjs` measures the cost per sentence. espeak writes
 * 22 050 Hz WAV; the
 * library's own {@link createResamplerCore} converts it to the requested rate.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, dirname } from 'node:path'
import { LightningStreamError } from '../errors.js'
import type { ResolvedTtsRequest } from '../client/request.js'
import { createResampler as createResamplerCore } from '../audio/resampler.core.js'
import { parseWavHeader } from '../audio/wav-header.js'
import type { SpeechEngine } from './synthesis.js'
import { EMULATOR_VOICES } from './voices.js'

/** The `espeak-ng` package is not installed. */
export class EspeakMissingError extends LightningStreamError {
  constructor(cause?: unknown) {
    super('The espeak-ng speech engine is not installed: `npm install espeak-ng` (GPL-3.0), or use the tone engine.', 'ERR_ESPEAK_MISSING', { cause })
  }
}

/** Lightning language codes → eSpeak NG voices (English when a language has no voice). */
export const ESPEAK_VOICES: Readonly<Record<string, string>> = {
  auto: 'en-us', en: 'en-us', hi: 'hi', mr: 'mr', kn: 'kn', ta: 'ta', bn: 'bn', gu: 'gu', te: 'te', ml: 'ml',
  pa: 'pa', or: 'or', es: 'es', de: 'de', fr: 'fr-fr', it: 'it', nl: 'nl', sv: 'sv', pt: 'pt', ru: 'ru',
  el: 'el', fi: 'fi', no: 'nb', pl: 'pl', ar: 'ar', zh: 'cmn', id: 'id', ja: 'ja', ko: 'ko', ms: 'ms', tr: 'tr', vi: 'vi',
}

/** The WebAssembly API (Node's global; @types/node 20 does not declare it). */
interface Wasm {
  compile(bytes: Uint8Array): Promise<object>
  Instance: new (module: object, imports: object) => { exports: object }
}
const WASM = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly

type EspeakFactory = (opts: Record<string, unknown>) => Promise<{ FS: { readFile(p: string): Uint8Array } }>

function locateWasm(): string | undefined {
  // Resolve from the running program (the CLI, or the user's script), where an optional
  // dependency is installed next to lightning-stream.
  for (const base of [process.argv[1], join(process.cwd(), 'index.js')]) {
    if (!base) continue
    try {
      return join(dirname(createRequire(base).resolve('espeak-ng')), 'espeak-ng.wasm')
    } catch {
      // try the next base
    }
  }
  return undefined
}

/**
 * Creates the eSpeak NG engine. @throws {@link EspeakMissingError} when `espeak-ng` is not
 * installed.
 */
export async function createEspeakEngine(): Promise<SpeechEngine> {
  let factory: EspeakFactory
  try {
    const mod = (await import('espeak-ng' as string)) as { default: EspeakFactory }
    factory = mod.default
  } catch (err) {
    throw new EspeakMissingError(err)
  }
  let compiled: object | undefined
  const wasm = locateWasm()
  if (wasm) {
    try {
      compiled = await WASM.compile(await readFile(wasm))
    } catch {
      compiled = undefined // fall back to the package's own loading (slower: compiles per call)
    }
  }
  return {
    name: 'espeak',
    async render(req: ResolvedTtsRequest): Promise<Buffer> {
      const voice = ESPEAK_VOICES[req.language ?? 'en'] ?? 'en-us'
      // This build has no voice variants (+f3…): voices differ by pitch. Never pass -q: in espeak
      // it means "no sound". A leading '-' would read as an option.
      const gender = EMULATOR_VOICES.find((v) => v.voiceId === req.voice_id)?.tags?.gender
      const pitch = gender === 'female' ? '72' : '38'
      const wpm = String(Math.round(175 * (req.speed ?? 1)))
      const text = req.text.startsWith('-') ? ` ${req.text}` : req.text
      const opts: Record<string, unknown> = {
        arguments: ['-v', voice, '-p', pitch, '-s', wpm, '-w', '/out.wav', text],
        print: () => {},
        printErr: () => {},
      }
      if (compiled) {
        const mod = compiled
        opts['instantiateWasm'] = (imports: object, done: (i: object, m: object) => void) => {
          const instance = new WASM.Instance(mod, imports)
          done(instance, mod)
          return instance.exports
        }
      }
      const es = await factory(opts)
      const wav = Buffer.from(es.FS.readFile('/out.wav'))
      const info = parseWavHeader(wav)
      if (info) {
        const pcm = wav.subarray(info.dataOffset, Math.min(wav.length, info.dataOffset + info.dataSize))
        const even = pcm.subarray(0, pcm.length - (pcm.length % 2))
        const rate = info.sampleRate ?? 22050
        if (rate === req.sample_rate) return Buffer.from(even)
        const rs = createResamplerCore({ from: rate, to: req.sample_rate })
        return Buffer.concat([rs.push(even), rs.flush()])
      }
      throw new LightningStreamError('espeak-ng wrote no audio', 'ERR_ESPEAK_FAILED')
    },
  }
}
