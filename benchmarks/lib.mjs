// Shared benchmark method for lightning-stream.
//
// Method: every variant of a scenario runs once per repetition, interleaved (A B C, A B C, …), so
// machine noise hits all of them alike; a warm-up repetition is discarded; the median of the
// repetitions is reported, and ratios are taken within the same run. Each variant's output is
// checked inside the run (a wrong answer throws), so a fast-but-broken variant cannot win.
// --quick cuts repetitions and input sizes: it keeps the benchmarks working in CI, it does not
// judge speed. Figures on a shared 2-core VM move 10–30 % between runs: trust ratios, not digits.
import os from 'node:os'

export const QUICK = process.argv.includes('--quick')

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Runs `variants` ({ name, run(): result, check?(result) }) interleaved for `reps` repetitions
 * (plus one warm-up). Returns { name: medianMs } and checks every result.
 */
export function interleave(variants, reps) {
  const times = Object.fromEntries(variants.map((v) => [v.name, []]))
  for (let r = 0; r <= reps; r++) {
    for (const v of variants) {
      const t0 = performance.now()
      const out = v.run()
      const ms = performance.now() - t0
      if (v.check) v.check(out)
      if (r > 0) times[v.name].push(ms)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]))
}

/** Async variant of {@link interleave}. */
export async function interleaveAsync(variants, reps) {
  const times = Object.fromEntries(variants.map((v) => [v.name, []]))
  for (let r = 0; r <= reps; r++) {
    for (const v of variants) {
      const t0 = performance.now()
      const out = await v.run()
      const ms = performance.now() - t0
      if (v.check) v.check(out)
      if (r > 0) times[v.name].push(ms)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]))
}

/** The machine, for result files. */
export function machine() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
    quick: QUICK,
  }
}

/** A deterministic "speech-like" test signal: 220/1330/3100 Hz tones plus noise, s16le mono. */
export function speechLike(rate, seconds) {
  const n = Math.round(rate * seconds)
  const out = Buffer.alloc(n * 2)
  let seed = 12345
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1
  for (let i = 0; i < n; i++) {
    const t = i / rate
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)
    const v = env * (0.3 * Math.sin(2 * Math.PI * 220 * t) + 0.15 * Math.sin(2 * Math.PI * 1330 * t) + 0.08 * Math.sin(2 * Math.PI * 3100 * t)) + 0.02 * rnd()
    out.writeInt16LE(Math.round(v * 32767), i * 2)
  }
  return out
}

/** Splits a buffer into pieces of `size` bytes. */
export function chunks(buf, size) {
  const out = []
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size))
  return out
}
