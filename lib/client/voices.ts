/**
 * The voice catalog's shape (`GET /waves/v1/lightning-v3.1/get_voices`), shared by the client,
 * which reads it, and the emulator, which serves it.
 * @module
 */

/** One voice of the catalog. @category Client */
export interface Voice {
  /** The id to pass as `voice_id`. */
  voiceId: string
  /** Name to show people. */
  displayName: string
  /** Descriptive tags (`language` holds full names such as `"english"`, not ISO codes). */
  tags?: VoiceTags
}

/** Tags of a {@link Voice}. @category Client */
export interface VoiceTags {
  /** Languages, as full names (`"english"`, `"hindi"`). */
  language?: string[]
  /** Accent, e.g. `"american"`. */
  accent?: string
  /** Gender. */
  gender?: string
  /** Age group. */
  age?: string
  /** Emotions the voice can carry. */
  emotions?: string[]
  /** Suggested uses. */
  usecases?: string[]
}
