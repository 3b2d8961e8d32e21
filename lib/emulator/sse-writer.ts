/**
 * The emulator's SSE framing, exactly as the vendor writes it (`reference/lightning-api.md` §4):
 * chunk messages, the terminator, how an utterance is cut into chunks, and a writer that honours
 * the socket's backpressure (and can write one byte at a time, to test parsers).
 * @module
 */
import type { ServerResponse } from 'node:http'

/** Serializes one chunk message (SSE event) exactly as the emulator writes it. */
export function sseChunkFrame(audio: Buffer, shape: 'current' | 'legacy' = 'current', eol = '\n'): string {
  const b64 = audio.toString('base64')
  const json = shape === 'current' ? `{"audio":"${b64}","done":false,"status":"206"}` : `{"audio":"${b64}"}`
  return `event: audio${eol}data: ${json}${eol}${eol}`
}

/** Serializes the terminator event (no `event:` line, as the vendor sends it). */
export function sseTerminator(shape: 'current' | 'legacy' = 'current', eol = '\n'): string {
  return `data: ${shape === 'current' ? '{"status":"200","done":true}' : '{"done":true}'}${eol}${eol}`
}

/** Serializes the mid-stream error event the vendor sends when synthesis fails. @internal */
export function sseErrorFrame(message: string, eol = '\n'): string {
  return `data: {"status":"error","message":${JSON.stringify(message)}}${eol}${eol}`
}

/** Splits the audio bytes of an utterance into the chunks the emulator sends. */
export function splitChunks(audio: Buffer, bytesPerChunk: number): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off < audio.length; off += bytesPerChunk) out.push(audio.subarray(off, off + bytesPerChunk))
  return out
}

/** Counters the writer updates. @internal */
export interface WriterCounts {
  /** `res.write()` calls that returned false. */
  blockedWrites: number
  /** SSE events written. */
  framesWritten: number
}

/**
 * Writes SSE events to a response, waiting for `'drain'` when the socket's buffer is full (so a
 * slow client slows synthesis, as with the vendor). `splitWrites` writes every byte on its own.
 * @internal
 */
export function sseWriter(res: ServerResponse, counts: WriterCounts, splitWrites: boolean): (frame: string) => Promise<void> {
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done)
        res.off('close', done)
        resolve()
      }
      res.on('drain', done)
      res.on('close', done)
    })
  return async (frame) => {
    if (splitWrites) {
      const bytes = Buffer.from(frame)
      for (let i = 0; i < bytes.length && !res.destroyed; i++) {
        if (!res.write(bytes.subarray(i, i + 1))) {
          counts.blockedWrites++
          await drained()
        }
      }
    } else if (!res.write(frame)) {
      counts.blockedWrites++
      await drained()
    }
    counts.framesWritten++
  }
}
