/**
 * Files that are correct on disk or not there: output goes to a temporary file beside the target
 * and is renamed over it only when complete, so a failure never leaves a broken file or destroys
 * an existing one. Used by {@link writeWavFile} and the CLI.
 * @internal
 * @module
 */
import { randomBytes } from 'node:crypto'
import { rm, rename } from 'node:fs/promises'
import { rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'

/** A hidden temporary path in the target's directory (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.part`)
}

/** Moves a finished temporary file over the target. */
export async function commitFile(temp: string, target: string): Promise<void> {
  await rename(temp, target)
}

/** Removes a temporary file, if it exists. */
export async function discardFile(temp: string): Promise<void> {
  await rm(temp, { force: true })
}

/** Synchronous {@link discardFile}, for exit paths. */
export function discardFileSync(temp: string): void {
  rmSync(temp, { force: true })
}

/**
 * A readable that carries `source`'s data and, when `source` fails, ends cleanly instead and
 * hands the error to `onFailure`: the stages after it finish normally (a WAV header gets its
 * sizes, an Ogg stream its end granule, ffmpeg its trailer), so a partial file is still valid.
 */
export function endOnFailure(source: Readable, onFailure: (err: unknown) => void, onChunk?: (chunk: Buffer) => void): Readable {
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of source) {
          onChunk?.(chunk as Buffer)
          yield chunk as Buffer
        }
      } catch (err) {
        onFailure(err)
      }
    })(),
    { objectMode: false },
  )
}
