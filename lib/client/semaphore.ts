import { AbortError } from '../errors.js'

/**
 * A FIFO counting semaphore. `acquire()` resolves with a release function that is safe to call
 * more than once; an abort while queued removes the waiter and rejects with {@link AbortError}.
 * @internal
 */
export class Semaphore {
  readonly #limit: number
  #active = 0
  readonly #queue: { grant: () => void }[] = []

  constructor(limit: number) {
    this.#limit = limit
  }

  /** Requests running now. */
  get active(): number {
    return this.#active
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#queue.length
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError('Aborted while waiting for a concurrency slot'))
    const release = this.#releaser()
    if (this.#active < this.#limit) {
      this.#active++
      return Promise.resolve(release)
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort)
          this.#active++
          resolve(release)
        },
      }
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter)
        if (i >= 0) this.#queue.splice(i, 1)
        reject(new AbortError('Aborted while waiting for a concurrency slot'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
    })
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.#active--
      this.#queue.shift()?.grant()
    }
  }
}
