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
export { renderTone, toneSamples, TONE_MS_PER_CHAR, type ToneRequest } from './tone.js'
export { EMULATOR_VOICES } from './voices.js'
export { createEspeakEngine, EspeakMissingError, ESPEAK_VOICES } from './espeak.js'
