// Soak: many sequential and concurrent streams through the emulator, with aborts and faults mixed
// in. At the end: no socket left open to the emulator, no handle beyond the baseline, bounded RSS
// growth. CI runs SOAK_SEQUENTIAL=200 / SOAK_CONCURRENT=20; `npm run soak` runs 2 000 and 50.
import t from 'tap'
import { LightningClient, type TtsRequest } from '../lib/index.js'
import { startEmulator } from '../lib/emulator/index.js'
import { FaultAgent } from './fixtures/fault-agent.js'
import { until } from './fixtures/helpers.js'

const SEQUENTIAL = Number(process.env['SOAK_SEQUENTIAL'] ?? 200)
const CONCURRENT = Number(process.env['SOAK_CONCURRENT'] ?? 20)
/** Live-heap growth allowed over the run after a full GC (documented in the README). */
const HEAP_BOUND = 8 * 1024 * 1024
/** RSS growth allowed (V8 keeps freed pages; this catches native leaks such as sockets). */
const RSS_BOUND = 192 * 1024 * 1024

const req: TtsRequest = { text: 'Soak test utterance number one.', voice_id: 'emily' }

/** Fault for request i: most succeed; some drop, break, fail with 503 (retried) or get aborted. */
function faultFor(i: number): string | undefined {
  if (i % 7 === 3) return 'drop-after=2'
  if (i % 11 === 5) return 'malformed-json-at=1'
  if (i % 13 === 6) return `fail-status=503,fail-count=1,key=soak${i}`
  if (i % 17 === 8) return 'no-terminator'
  return undefined
}

type Outcome = 'ok' | 'aborted' | string

async function one(client: LightningClient, i: number): Promise<Outcome> {
  const ac = new AbortController()
  const stream = client.pcm({ ...req, request_id: `soak-${i}` }, { signal: ac.signal })
  const abort = i % 5 === 1
  return new Promise<Outcome>((resolve) => {
    stream.on('data', () => {
      if (abort) ac.abort()
    })
    stream.on('end', () => resolve('ok'))
    stream.on('error', (e: { code?: string }) => resolve(e.code === 'ERR_ABORTED' ? 'aborted' : (e.code ?? 'unknown')))
  })
}

t.test(`soak: ${SEQUENTIAL} sequential and ${CONCURRENT} concurrent streams with faults and aborts`, async (t) => {
  const emu = await startEmulator({ maxConcurrent: CONCURRENT })
  t.teardown(() => emu.close()) // idempotent: also closed below, before the handle count
  const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort()
  // The fault travels with the request (its request_id), so a retry keeps it.
  const dispatcher = new FaultAgent((opts) => {
    const m = typeof opts.body === 'string' ? /"request_id":"soak-(\d+)"/.exec(opts.body) : null
    return m ? faultFor(Number(m[1])) : undefined
  })
  const client = new LightningClient({ baseUrl: emu.url, dispatcher, maxConcurrent: CONCURRENT, retry: { baseDelayMs: 2 } })
  const tally = new Map<Outcome, number>()
  const count = (o: Outcome) => tally.set(o, (tally.get(o) ?? 0) + 1)

  // Warm up, then take the RSS baseline.
  for (let i = 0; i < 20; i++) await one(client, 0)
  const gc = globalThis.gc
  t.ok(gc, 'run with --expose-gc (tap --node-arg=--expose-gc) so heap growth is measured after a full GC')
  const settle = async () => {
    for (let k = 0; k < 3; k++) {
      gc?.()
      await new Promise((r) => setImmediate(r))
    }
  }
  await settle()
  const rss0 = process.memoryUsage().rss
  const heap0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  for (let i = 0; i < SEQUENTIAL; i++) count(await one(client, i))
  const batches = Math.max(1, Math.round(SEQUENTIAL / CONCURRENT / 4))
  for (let b = 0; b < batches; b++) {
    const outcomes = await Promise.all(Array.from({ length: CONCURRENT }, (_, j) => one(client, b * CONCURRENT + j)))
    outcomes.forEach(count)
  }
  const seconds = (performance.now() - t0) / 1000
  await client.close()
  await dispatcher.close()
  await until('every socket to the emulator to close', () => emu.stats.connections === 0).catch(() => {}) // asserted below
  await settle()
  const growth = process.memoryUsage().rss - rss0
  const heapGrowth = process.memoryUsage().heapUsed - heap0
  const total = [...tally.values()].reduce((a, b) => a + b, 0)

  t.equal(total, SEQUENTIAL + batches * CONCURRENT, 'every stream finished: none hung')
  t.ok((tally.get('ok') ?? 0) > total / 2, 'most streams succeeded (503s were retried)')
  t.ok((tally.get('aborted') ?? 0) > 0, 'aborts happened')
  for (const code of tally.keys()) t.ok(['ok', 'aborted', 'ERR_CONNECTION', 'ERR_CHUNK_INVALID_JSON', 'ERR_STREAM_TRUNCATED'].includes(code), `outcome ${code}`)
  t.equal(emu.stats.active, 0, 'no synthesis left running in the emulator')
  t.equal(emu.stats.connections, 0, 'no socket left open to the emulator')
  await emu.close()
  const after = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort()
  t.same(after.filter((r) => r !== 'TCPServerWrap'), baseline.filter((r) => r !== 'TCPServerWrap'), 'no active handle beyond the baseline')
  t.ok(heapGrowth < HEAP_BOUND, `live heap growth after GC ${(heapGrowth / 2 ** 20).toFixed(2)} MiB < ${HEAP_BOUND / 2 ** 20} MiB`)
  t.ok(growth < RSS_BOUND, `RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB < ${RSS_BOUND / 2 ** 20} MiB`)
  console.error(
    `soak: ${total} streams in ${seconds.toFixed(1)} s; outcomes ${JSON.stringify(Object.fromEntries(tally))}; ` +
      `heap growth ${(heapGrowth / 2 ** 20).toFixed(2)} MiB, RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB; handles before ${JSON.stringify(baseline)} after ${JSON.stringify(after)}`,
  )
})
