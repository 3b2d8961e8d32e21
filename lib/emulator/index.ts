/**
 * `lightning-stream/emulator`: a local, Lightning-compatible server for tests, benchmarks,
 * examples and offline use.
 * @module
 */
export {
  startEmulator,
  toneEngine,
  sseChunkFrame,
  sseTerminator,
  splitChunks,
  type Emulator,
  type EmulatorOptions,
  type EmulatorStats,
  type EmulatorFaults,
  parseFaultHeader,
  type SpeechEngine,
} from './server.js'
export { renderTone, toneSamples, toneWords, createToneRenderer, TONE_MS_PER_CHAR, type ToneRequest, type ToneRenderer, type ToneWord } from './tone.js'
export type { WsEmulatorOptions } from './ws-route.js'
export { EMULATOR_VOICES } from './voices.js'
export { createEspeakEngine, EspeakMissingError, ESPEAK_VOICES } from './espeak.js'
