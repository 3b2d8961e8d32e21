/**
 * The exit codes of the `lightning-stream` command, documented in `--help` and the README, and
 * which error gets which.
 * @internal
 * @module
 */
import { LightningStreamError } from '../errors.js'
import { UsageError } from './args.js'

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, api: 3, network: 4, stream: 5, interrupted: 130 } as const

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage
  if (!(err instanceof LightningStreamError)) return EXIT.failure
  switch (err.code) {
    case 'ERR_INVALID_REQUEST':
    case 'ERR_INVALID_OPTION':
    case 'ERR_MISSING_API_KEY':
      return EXIT.usage
    case 'ERR_API':
      return EXIT.api
    case 'ERR_FFMPEG':
    case 'ERR_OPUS_ENGINE_MISSING':
    case 'ERR_ESPEAK_MISSING':
      return EXIT.failure
    case 'ERR_CONNECTION':
    case 'ERR_TIMEOUT':
      return EXIT.network
    case 'ERR_ABORTED':
      return EXIT.interrupted
    default:
      return EXIT.stream
  }
}
