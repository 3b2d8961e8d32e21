/**
 * The emulator's deterministic tone engine: PCM that depends only on (text, voice_id,
 * sample_rate, speed), so tests can compute the exact bytes a request must produce.
 *
 * Each character becomes a 60 ms / speed segment: letters and digits a tone whose pitch follows
 * the character and the voice, with a raised-cosine envelope; spaces and punctuation silence.
 * @module
 */

/** The request fields the tone depends on. */
export interface ToneRequest {
  /** Text: one segment per character. */
  text: string
  /** Voice: sets the base pitch. */
  voice_id: string
  /** Output rate. */
  sample_rate: number
  /** Speed: shortens each segment. */
  speed?: number | undefined
}

/** Milliseconds of audio per input character at speed 1. */
export const TONE_MS_PER_CHAR = 60

function voicePitch(voiceId: string): number {
  let h = 2166136261
  for (let i = 0; i < voiceId.length; i++) h = Math.imul(h ^ voiceId.charCodeAt(i), 16777619) >>> 0
  return 110 + (h % 110) // 110–219 Hz
}

/** Number of samples the tone engine produces for a request. */
export function toneSamples(req: ToneRequest): number {
  const segment = Math.round((req.sample_rate * TONE_MS_PER_CHAR) / 1000 / (req.speed ?? 1))
  return segment * [...req.text].length
}

/** Renders the whole utterance as s16le mono PCM. */
export function renderTone(req: ToneRequest): Buffer {
  const rate = req.sample_rate
  const segment = Math.round((rate * TONE_MS_PER_CHAR) / 1000 / (req.speed ?? 1))
  const chars = [...req.text]
  const out = Buffer.alloc(segment * chars.length * 2)
  const base = voicePitch(req.voice_id)
  let phase = 0
  let o = 0
  for (const ch of chars) {
    const code = ch.codePointAt(0) ?? 32
    const voiced = /[\p{L}\p{N}]/u.test(ch)
    const freq = base * (1 + (code % 12) / 12) * 2
    const step = (2 * Math.PI * freq) / rate
    for (let i = 0; i < segment; i++, o += 2) {
      if (!voiced) continue
      const env = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / segment)
      const v = Math.sin(phase + step * i) * env * 0.3 + Math.sin(2 * (phase + step * i)) * env * 0.05
      out.writeInt16LE(Math.round(v * 32767), o)
    }
    phase = (phase + step * segment) % (2 * Math.PI)
  }
  return out
}
