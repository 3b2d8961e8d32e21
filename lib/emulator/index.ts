/**
 * `lightning-stream/emulator`: a local, Lightning-compatible server for tests, benchmarks,
 * examples and offline use.
 * @module
 */
export { startEmulator, type Emulator, type EmulatorOptions, type EmulatorStats } from './server.js'
export type { SpeechEngine } from './synthesis.js'
export { parseFaultHeader, type EmulatorFaults } from './faults.js'
export { sseChunkFrame, sseTerminator, splitChunks } from './sse-writer.js'
export { renderTone, toneSamples, toneWords, createToneRenderer, toneEngine, TONE_MS_PER_CHAR, type ToneRequest, type ToneRenderer, type ToneWord } from './tone.js'
export type { WsEmulatorOptions } from './ws-route.js'
export { EMULATOR_VOICES } from './voices.js'
export { createEspeakEngine, EspeakMissingError, ESPEAK_VOICES } from './espeak.js'
