/**
 * `lightning-stream voices`: the catalog as a table or JSON, optionally for one language.
 * @internal
 * @module
 */
import { LANGUAGES } from '../client/request.js'
import { UsageError, type Values } from './args.js'
import { connect } from './connect.js'

/** Language names the voice catalog uses, by Lightning language code. */
const LANGUAGE_NAMES: Record<string, string> = {
  en: 'english', hi: 'hindi', mr: 'marathi', kn: 'kannada', ta: 'tamil', bn: 'bengali', gu: 'gujarati', te: 'telugu',
  ml: 'malayalam', pa: 'punjabi', or: 'odia', es: 'spanish', de: 'german', fr: 'french', it: 'italian', nl: 'dutch',
  sv: 'swedish', pt: 'portuguese', ru: 'russian', el: 'greek', fi: 'finnish', no: 'norwegian', pl: 'polish', ar: 'arabic',
  zh: 'chinese', id: 'indonesian', ja: 'japanese', ko: 'korean', ms: 'malay', tr: 'turkish', vi: 'vietnamese',
}

/** Runs `voices`. */
export async function voices(values: Values, log: (s: string) => void): Promise<void> {
  const { client, emulator } = await connect(values, log)
  try {
    let list = await client.voices()
    if (values.language !== undefined) {
      const wanted = values.language.toLowerCase()
      const name = LANGUAGE_NAMES[wanted] ?? wanted
      if (wanted === 'auto' || (!(LANGUAGES as readonly string[]).includes(wanted) && !Object.values(LANGUAGE_NAMES).includes(wanted))) {
        throw new UsageError(`--language must be a language code (${LANGUAGES.filter((l) => l !== 'auto').join(', ')}) or its name (got '${values.language}')`)
      }
      list = list.filter((v) => (v.tags?.language ?? []).some((l) => l.toLowerCase() === name))
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
      return
    }
    const rows = list.map((v) => [v.voiceId, v.displayName, (v.tags?.language ?? []).join(','), v.tags?.gender ?? '', v.tags?.accent ?? ''])
    const head = ['VOICE ID', 'NAME', 'LANGUAGES', 'GENDER', 'ACCENT']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`)
  } finally {
    await client.close()
    await emulator?.close()
  }
}
