/**
 * The one input check of the sinks: they take PCM (a `Readable` with a `format`), never a TTS
 * request. A request passed by mistake gets an error that says what to write instead.
 * @module
 * @internal
 */
import { InvalidOptionError } from '../errors.js'
import type { PcmReadable } from '../client/pcm-stream.js'

/**
 * Throws an {@link InvalidOptionError} (option `pcm`) unless `input` is a stream with a `format`.
 * @param sink - the function's name, for the message: `'createDiscordStream'`, `'sendAudio'`, …
 * @internal
 */
export function assertPcmInput(input: unknown, sink: string): asserts input is PcmReadable {
  const candidate = input as { text?: unknown; format?: unknown } | null | undefined
  if (candidate === null || typeof candidate !== 'object') throw new InvalidOptionError('pcm', `${sink}() takes a Readable with a \`format\` (a PcmFormat), such as client.pcm(request)`)
  if (candidate.format !== null && typeof candidate.format === 'object') return
  if (typeof candidate.text === 'string') {
    throw new InvalidOptionError('pcm', `${sink}() takes PCM, not a TTS request: pass client.pcm(request)`)
  }
  throw new InvalidOptionError('pcm', `${sink}() takes a Readable with a \`format\` (a PcmFormat), such as client.pcm(request)`)
}
