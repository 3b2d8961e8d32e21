/**
 * Buffer helpers the PCM cores share: carrying a partial unit between chunks, and typed-array
 * views over Node Buffers (which may start at any byte offset). Internal: reachable from this
 * file for the cores and the tests, not part of the root export.
 * @module
 */

/**
 * Splits chunks into whole units of `unit` bytes (a sample frame, usually), carrying a partial
 * unit to the next chunk. Holds at most `unit - 1` bytes.
 */
export class UnitCarry {
  #tail: Buffer | null = null
  /** @param unit - bytes per unit (a sample frame). */
  constructor(
    /** Bytes per unit. */
    readonly unit: number,
  ) {}
  /** Returns the whole units in `tail + chunk`; keeps the rest. */
  take(chunk: Buffer): Buffer {
    let buf = chunk
    if (this.#tail) {
      // Bounded: the tail is shorter than one unit, so this copies at most unit - 1 extra bytes.
      buf = Buffer.concat([this.#tail, chunk])
      this.#tail = null
    }
    const rem = buf.length % this.unit
    if (rem) {
      this.#tail = Buffer.from(buf.subarray(buf.length - rem))
      buf = buf.subarray(0, buf.length - rem)
    }
    return buf
  }
  /** Bytes carried. */
  get pending(): number {
    return this.#tail?.length ?? 0
  }
}

/**
 * An Int16Array over `buf`'s bytes (little-endian hosts): a view when the offset is aligned, a
 * copy when it is not (Node's pooled Buffers can start at odd offsets).
 */
export function int16View(buf: Buffer): Int16Array {
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1)
  return new Int16Array(Uint8Array.prototype.slice.call(buf).buffer, 0, buf.length >> 1)
}

/** A Float32Array over `buf`'s bytes: a view when aligned, else a copy. */
export function float32View(buf: Buffer): Float32Array {
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.length >> 2)
  return new Float32Array(Uint8Array.prototype.slice.call(buf).buffer, 0, buf.length >> 2)
}
