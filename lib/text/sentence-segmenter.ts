/**
 * Incremental sentence segmentation for text that arrives in fragments (a language model's
 * tokens), and the length rules the vendor gives for one synthesis request. Pure: no stream, no
 * timer, no I/O.
 *
 * How a boundary is found:
 * - `Intl.Segmenter` with `granularity: 'sentence'` (ICU's UAX #29 rules) proposes boundaries. It
 *   already keeps decimals (`$3.14`), domains (`example.com`) and lower-case continuations
 *   (`e.g. this`) whole, and knows the sentence marks of other scripts (`。` `？` `！` `।` `॥`
 *   `؟` `۔` …).
 * - What it lacks is an abbreviation list: Node 20's V8 splits after `Dr. ` and ignores the
 *   `-u-ss-standard` locale extension that would enable ICU's suppressions. So a proposed
 *   boundary after a title (`Dr.`, `Mr.`, `Prof.` …), after initials (`J. R.`, `U.S.`), or after
 *   a reference word followed by a number (`No. 5`, `Fig. 3`) is dropped ({@link ABBREVIATIONS}).
 * - A boundary is decided only once the text after it holds a letter. The segmenter never decides
 *   on a fragment that ends in `Dr.` or `3.`: `3.` may become `3.14`, and `Dr. ` may be followed
 *   by `Smith`. ICU's own decision also depends on the next letter's case (`Hi. w` is one
 *   sentence, `Hi. W` two), so waiting for that letter keeps incremental and whole-text
 *   segmentation equal.
 * - A sentence longer than `maxChars` is split at a clause mark followed by a space (`,` `;` `:`
 *   `—` and the CJK `，` `、` `；` `：`), else at the last space, else at a grapheme boundary; never
 *   inside a word that may still be growing.
 *
 * Invariants (property-tested): the segments joined equal the input exactly (whitespace stays
 * with the segment it follows), and no segment is longer than `maxChars` UTF-16 code units.
 *
 * @module
 */
import { InvalidOptionError } from '../errors.js'

/**
 * The vendor's guidance on text per request: about 250 characters, best near 140
 * (`reference/lightning-api.md` §2.4). Segments never exceed {@link MAX_SEGMENT_CHARS}; short
 * sentences are merged up to {@link TARGET_SEGMENT_CHARS}.
 * @category Text
 */
export const MAX_SEGMENT_CHARS = 250
/** Short sentences are merged into one request up to this length (see {@link MAX_SEGMENT_CHARS}). @category Text */
export const TARGET_SEGMENT_CHARS = 140

/** The shape of {@link ABBREVIATIONS}. @category Text */
export interface AbbreviationList {
  /** Words (without their period) after which a period never ends a sentence: `Dr`, `e.g`, `vs`, … */
  readonly titles: readonly string[]
  /** Words after which a period ends no sentence when a digit follows: `No. 5`, `Fig. 3`. */
  readonly beforeNumber: readonly string[]
}

/**
 * Words that end with a period without ending a sentence. `titles` never end one; `beforeNumber`
 * only when a digit follows (`No. 5`, but "The answer is No." ends). Matching is case-sensitive.
 * @category Text
 */
export const ABBREVIATIONS: AbbreviationList = {
  titles: [
    'Mr', 'Mrs', 'Ms', 'Mx', 'Dr', 'Prof', 'Sr', 'Jr', 'St', 'Mt', 'Ft', 'Gen', 'Col', 'Lt', 'Sgt', 'Capt', 'Cmdr', 'Adm',
    'Gov', 'Sen', 'Rep', 'Rev', 'Hon', 'Pres', 'Supt', 'Messrs', 'Mme', 'Mlle', 'vs', 'e.g', 'i.e', 'cf', 'approx', 'ca',
    'viz', 'al', 'Jan', 'Feb', 'Apr', 'Aug', 'Sept', 'Sep', 'Oct', 'Nov', 'Dec',
  ],
  beforeNumber: ['No', 'Nos', 'no', 'Fig', 'fig', 'Figs', 'Vol', 'vol', 'Ch', 'ch', 'Art', 'Sec', 'sec', 'Eq', 'eq', 'pp', 'p', 'Ps', 'Ex', 'ex', 'Op', 'op'],
}

/** Options of {@link createSentenceSegmenter}. @category Text */
export interface SentenceSegmenterOptions {
  /** Longest segment, UTF-16 code units. At least 20. @defaultValue {@link MAX_SEGMENT_CHARS} (250) */
  maxChars?: number | undefined
  /** Locale passed to `Intl.Segmenter`. @defaultValue `'en'` (the rules are the same for most scripts) */
  locale?: string | undefined
}

/** The incremental segmenter returned by {@link createSentenceSegmenter}. @category Text */
export interface SentenceSegmenter {
  /** Adds text; returns the segments now decided (possibly none), in order. */
  push(text: string): string[]
  /** Ends the input; returns the remaining segments (the undecided tail, split to the cap). */
  flush(): string[]
  /** Characters held back, waiting for the next fragment to decide on them. */
  readonly pending: number
}

const TITLE_RE = new RegExp(`(?:^|[\\s(\\["'“‘])(?:${ABBREVIATIONS.titles.map(escape).join('|')})\\.[\\s"'”’)\\]]*$`)
const BEFORE_NUMBER_RE = new RegExp(`(?:^|[\\s(\\["'“‘])(?:${ABBREVIATIONS.beforeNumber.map(escape).join('|')})\\.\\s*$`)
/** Initials: `J.`, `J. R.`, `U.S.` at the end of a proposed sentence. */
const INITIALS_RE = /(?:^|[\s(["'“‘])(?:\p{Lu}\.\s?)+\s*$/u
const LETTER_RE = /\p{L}/u
const CLAUSE_RE = /[,;:)\]}\u2014\u2013]\s+|[\uFF0C\u3001\uFF1B\uFF1A]\s*/gu
const SPACE_RE = /\s+/gu

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function checkMax(maxChars: unknown): number {
  if (maxChars === undefined) return MAX_SEGMENT_CHARS
  if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 20) {
    throw new InvalidOptionError('maxChars', `must be an integer ≥ 20 (got ${String(maxChars)})`)
  }
  return maxChars
}

/** True when a proposed boundary after `sentence` is an abbreviation, given the text after it. */
function isFalseBoundary(sentence: string, next: string): boolean {
  if (TITLE_RE.test(sentence)) return true
  if (INITIALS_RE.test(sentence)) {
    // "I." alone is a pronoun more often than an initial only before a lower-case word; keep it.
    return !/(?:^|\s)I\.\s*$/.test(sentence)
  }
  return BEFORE_NUMBER_RE.test(sentence) && /^\s*\d/.test(next)
}

/**
 * Where to cut `text` (longer than `max`) so the first piece has at most `max` code units:
 * after the last clause mark and its spaces, else after the last run of spaces, else at the last
 * grapheme boundary. With `complete: false` the text may still grow, so a cut must be followed by
 * a non-space character (the word before it is whole). Returns 0 when no cut is allowed yet.
 */
function cutPoint(text: string, max: number, complete: boolean, graphemes: Intl.Segmenter): number {
  const window = text.slice(0, max + 1)
  const ok = (end: number) => end > 0 && end <= max && (complete || end < text.length)
  // Aim for equal pieces (a 300-character sentence becomes two of ~150, not 250 + 50).
  const ideal = Math.min(max, text.length / Math.ceil(text.length / max))
  const nearest = (re: RegExp, floor: number): number => {
    let best = 0
    for (const m of window.matchAll(re)) {
      const end = (m.index ?? 0) + m[0].length
      if (ok(end) && end >= floor && (best === 0 || Math.abs(end - ideal) < Math.abs(best - ideal))) best = end
    }
    return best
  }
  const clause = nearest(CLAUSE_RE, ideal / 2)
  if (clause) return clause
  const space = nearest(SPACE_RE, 1)
  if (space) return space
  if (!complete && text.length <= max) return 0
  let best = 0
  for (const g of graphemes.segment(window)) {
    if (g.index > 0 && g.index <= max) best = g.index
  }
  return best || Math.min(max, text.length)
}

/** Splits `text` into pieces of at most `max` code units (see {@link cutPoint}); `rest` is what may still grow. */
function splitLong(text: string, max: number, complete: boolean, graphemes: Intl.Segmenter): { pieces: string[]; rest: string } {
  const pieces: string[] = []
  let rest = text
  while (rest.length > max) {
    const cut = cutPoint(rest, max, complete, graphemes)
    if (cut === 0) break
    pieces.push(rest.slice(0, cut))
    rest = rest.slice(cut)
  }
  if (complete && rest) {
    pieces.push(rest)
    rest = ''
  }
  return { pieces, rest }
}

/**
 * Creates an incremental sentence segmenter (see the module notes for the rules).
 *
 * @example
 * ```ts
 * const seg = createSentenceSegmenter()
 * seg.push('Dr.')          // [] (undecided: "Dr." may be a title)
 * seg.push(' Smith paid $3.') // []
 * seg.push('14. Then he left.') // ['Dr. Smith paid $3.14. ']
 * seg.flush()              // ['Then he left.']
 * ```
 * @throws {@link InvalidOptionError} when `maxChars` is not an integer ≥ 20.
 * @category Text
 */
export function createSentenceSegmenter(options: SentenceSegmenterOptions = {}): SentenceSegmenter {
  const max = checkMax(options.maxChars)
  const locale = options.locale ?? 'en'
  const sentences = new Intl.Segmenter(locale, { granularity: 'sentence' })
  const graphemes = new Intl.Segmenter(locale, { granularity: 'grapheme' })
  // Text not yet emitted. It always starts at a decided boundary, and it stays short: past
  // `max` code units it is cut at a clause or word boundary.
  let pending = ''

  const take = (complete: boolean): string[] => {
    const out: string[] = []
    const parts = [...sentences.segment(pending)].map((s) => s.segment)
    // Merge proposals that are abbreviations into the sentence after them.
    const merged: string[] = []
    for (let i = 0; i < parts.length; i++) {
      const s = parts[i] as string
      const prev = merged[merged.length - 1]
      if (prev !== undefined && isFalseBoundary(prev, s)) merged[merged.length - 1] = prev + s
      else merged.push(s)
    }
    // Every sentence but the last is decided once a letter follows it (always, on flush).
    let consumed = 0
    for (let i = 0; i < merged.length; i++) {
      const s = merged[i] as string
      const after = pending.slice(consumed + s.length)
      const last = i === merged.length - 1
      if (!complete && (last || !LETTER_RE.test(after))) break
      const { pieces } = splitLong(s, max, true, graphemes)
      out.push(...pieces)
      consumed += s.length
    }
    pending = pending.slice(consumed)
    if (!complete && pending.length > max) {
      // No sentence end in sight: cut the undecided sentence at a clause or word boundary.
      const { pieces, rest } = splitLong(pending, max, false, graphemes)
      out.push(...pieces)
      pending = rest
    }
    return out
  }

  return {
    push(text: string): string[] {
      if (typeof text !== 'string') throw new InvalidOptionError('text', `must be a string (got ${typeof text})`)
      if (!text) return []
      pending += text
      return take(false)
    },
    flush(): string[] {
      if (!pending) return []
      const out = take(true)
      pending = ''
      return out
    },
    get pending() {
      return pending.length
    },
  }
}

/** Options of {@link mergeSegments} and {@link segmentText}. @category Text */
export interface MergeOptions {
  /** Merge short segments up to this length. @defaultValue {@link TARGET_SEGMENT_CHARS} (140) */
  targetChars?: number | undefined
  /** Never exceed this length. @defaultValue {@link MAX_SEGMENT_CHARS} (250) */
  maxChars?: number | undefined
}

/**
 * Merges adjacent short segments: a segment is appended to the previous one while the result
 * stays within `targetChars` (and `maxChars`). Joined output equals joined input.
 * @category Text
 */
export function mergeSegments(segments: readonly string[], options: MergeOptions = {}): string[] {
  const max = checkMax(options.maxChars)
  const target = Math.min(options.targetChars ?? TARGET_SEGMENT_CHARS, max)
  const out: string[] = []
  for (const s of segments) {
    const prev = out[out.length - 1]
    if (prev !== undefined && prev.length + s.length <= target) out[out.length - 1] = prev + s
    else out.push(s)
  }
  return out
}

/** Options of {@link segmentText}. @category Text */
export interface SegmentTextOptions extends MergeOptions {
  /** Locale for `Intl.Segmenter`. @defaultValue `'en'` */
  locale?: string | undefined
  /**
   * Keep the first sentence as its own segment, so the first request is short and its audio
   * starts early. @defaultValue `true`
   */
  firstAlone?: boolean | undefined
}

/**
 * Segments a whole text into requests: sentences (see {@link createSentenceSegmenter}), the
 * first one alone, the others merged up to `targetChars`, none over `maxChars`.
 * `LightningClient.pcm()` uses it for text longer than `maxChars`.
 * @category Text
 */
export function segmentText(text: string, options: SegmentTextOptions = {}): string[] {
  const seg = createSentenceSegmenter({ maxChars: options.maxChars, locale: options.locale })
  const all = [...seg.push(text), ...seg.flush()]
  if (options.firstAlone === false || all.length < 2) return mergeSegments(all, options)
  return [all[0] as string, ...mergeSegments(all.slice(1), options)]
}
