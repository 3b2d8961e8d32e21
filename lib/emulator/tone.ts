/**
 * The emulator's deterministic tone engine: PCM that depends only on (text, voice_id,
 * sample_rate, speed), so tests can compute the exact bytes a request must produce.
 *
 * Each character becomes a 60 ms / speed segment: letters and digits a tone whose pitch follows
 * the character and the voice, with a raised-cosine envelope; spaces and punctuation silence.
 * @module
 */
import type { SpeechEngine } from './synthesis.js'

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
  return createToneRenderer(req).render(req.text)
}

/** A tone renderer that continues its phase across calls (see {@link createToneRenderer}). */
export interface ToneRenderer {
  /** Samples per character. */
  readonly segmentSamples: number
  /** Renders `text` as the continuation of everything rendered before. */
  render(text: string): Buffer
}

/**
 * A renderer for text that arrives in parts (the emulator's WebSocket route): rendering `a` then
 * `b` gives exactly the bytes of `renderTone` on `a + b`, so output does not depend on where the
 * input was split or flushed.
 */
export function createToneRenderer(req: Omit<ToneRequest, 'text'>): ToneRenderer {
  const rate = req.sample_rate
  const segment = Math.round((rate * TONE_MS_PER_CHAR) / 1000 / (req.speed ?? 1))
  const base = voicePitch(req.voice_id)
  let phase = 0
  return {
    segmentSamples: segment,
    render(text: string): Buffer {
      const chars = [...text]
      const out = Buffer.alloc(segment * chars.length * 2)
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
    },
  }
}

/** A word of the tone engine's output and where it sits, in seconds. */
export interface ToneWord {
  /** The word as written (a maximal run of non-space characters). */
  word: string
  /** Start, seconds from the start of `text`'s audio. */
  start: number
  /** End, seconds. */
  end: number
}

/**
 * The tone engine's word timings for `text`: every character lasts `segmentSamples` samples, so a
 * word starts at its first character and ends after its last (characters counted as code points).
 */
export function toneWords(text: string, req: Omit<ToneRequest, 'text'>): ToneWord[] {
  const segment = Math.round((req.sample_rate * TONE_MS_PER_CHAR) / 1000 / (req.speed ?? 1))
  const out: ToneWord[] = []
  let chars = 0
  let last = 0
  for (const m of text.matchAll(/\S+/gu)) {
    chars += [...text.slice(last, m.index)].length
    const len = [...m[0]].length
    out.push({ word: m[0], start: (chars * segment) / req.sample_rate, end: ((chars + len) * segment) / req.sample_rate })
    chars += len
    last = (m.index ?? 0) + m[0].length
  }
  return out
}

/** The deterministic tone engine, the emulator's default (see {@link renderTone}). */
export const toneEngine: SpeechEngine = { name: 'tone', render: (req) => renderTone(req) }
