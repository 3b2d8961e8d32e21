/**
 * Opus engines, chosen at run time from the optional peers that are installed, fastest first:
 * `@discordjs/opus` (native libopus), `@evan/opus` (prebuilt native, WASM fallback), `opusscript`
 * (WASM). None is a dependency of lightning-stream: install one.
 *
 * prism-media is deliberately not used: its stale optional-peer ranges make
 * `npm install prism-media opusscript@0.1.1` fail with ERESOLVE, and its Encoder re-concatenates a
 * growing buffer per chunk; a direct engine call with {@link PcmFramer}'s exact frames does the
 * same work (see `reference/sinks-and-peers.md`).
 * @module
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LightningStreamError } from '../errors.js'
import { int16View } from '../audio/pcm-buffers.js'
import { opusPreSkip } from './opus-packet.js'

/** Names of the supported Opus engines, fastest first. @category Stages */
export const OPUS_ENGINES = ['@discordjs/opus', '@evan/opus', 'opusscript'] as const
/** An Opus engine package name. @category Stages */
export type OpusEngineName = (typeof OPUS_ENGINES)[number]

/** Opus application modes. @category Stages */
export type OpusApplication = 'voip' | 'audio' | 'lowdelay'

/** Settings an engine is created with. @category Stages */
export interface OpusEngineSettings {
  /** 8000, 12000, 16000, 24000 or 48000. */
  sampleRate: number
  /** 1 or 2. */
  channels: number
  /** Application mode. */
  application: OpusApplication
  /** Target bitrate, bit/s. */
  bitrate: number
  /** 0 (fastest) to 10 (best). */
  complexity: number | undefined
  /** In-band forward error correction. */
  fec: boolean
  /** Expected packet loss, percent (tunes FEC). */
  packetLossPercent: number
}

/** A created encoder, whatever the engine. @category Stages */
export interface OpusEngine {
  /** The package that encodes. */
  readonly name: OpusEngineName
  /** Encoder lookahead at 48 kHz: the pre-skip to write in OpusHead. */
  readonly preSkip: number
  /** Encodes exactly one frame of interleaved s16le PCM into one packet (an owned Buffer). */
  encode(frame: Buffer, frameSamples: number): Buffer
  /** Frees native or WASM memory. Idempotent. */
  free(): void
}

/** No Opus engine is installed. @category Errors */
export class OpusEngineMissingError extends LightningStreamError {
  constructor(tried: string[]) {
    super(
      `No Opus engine is installed (tried ${tried.join(', ')}). Install one: ` +
        '`npm install @evan/opus` (prebuilt, fastest), `npm install opusscript` (WASM, no build) or ' +
        '`npm install @discordjs/opus` (native, builds from source without a prebuilt).',
      'ERR_OPUS_ENGINE_MISSING',
    )
  }
}

const CTL = { SET_BITRATE: 4002, SET_COMPLEXITY: 4010, SET_INBAND_FEC: 4012, SET_PACKET_LOSS_PERC: 4014, GET_LOOKAHEAD: 4027 }
const APPLICATION = { voip: 2048, audio: 2049, lowdelay: 2051 } as const

const ownedCopy = (u: Uint8Array): Buffer => {
  const b = Buffer.alloc(u.length)
  b.set(u)
  return b
}

type Loader = (s: OpusEngineSettings) => Promise<OpusEngine>

const loaders: Record<OpusEngineName, Loader> = {
  async '@discordjs/opus'(s) {
    const mod = (await import('@discordjs/opus' as string)) as { OpusEncoder: new (rate: number, channels: number) => DiscordEncoder }
    const OpusEncoder = mod.OpusEncoder ?? (mod as unknown as { default: typeof mod }).default.OpusEncoder
    const enc = new OpusEncoder(s.sampleRate, s.channels)
    enc.applyEncoderCTL(4000, APPLICATION[s.application])
    enc.setBitrate(s.bitrate)
    if (s.complexity !== undefined) enc.applyEncoderCTL(CTL.SET_COMPLEXITY, s.complexity)
    if (s.fec) enc.applyEncoderCTL(CTL.SET_INBAND_FEC, 1)
    if (s.packetLossPercent) enc.applyEncoderCTL(CTL.SET_PACKET_LOSS_PERC, s.packetLossPercent)
    return { name: '@discordjs/opus', preSkip: opusPreSkip(s.application), encode: (f) => ownedCopy(enc.encode(f)), free() {} }
  },
  async '@evan/opus'(s) {
    const mod = (await import('@evan/opus' as string)) as { Encoder: new (o: object) => EvanEncoder }
    const Encoder = mod.Encoder ?? (mod as unknown as { default: typeof mod }).default.Encoder
    const enc = new Encoder({ channels: s.channels, sample_rate: s.sampleRate, application: s.application === 'lowdelay' ? 'restricted_lowdelay' : s.application })
    enc.bitrate = s.bitrate
    if (s.complexity !== undefined) enc.complexity = s.complexity
    if (s.fec) enc.inband_fec = true
    if (s.packetLossPercent) enc.packet_loss = s.packetLossPercent
    let preSkip = opusPreSkip(s.application)
    try {
      const la = enc.ctl(CTL.GET_LOOKAHEAD)
      if (Number.isInteger(la) && la > 0) preSkip = Math.round((la * 48000) / s.sampleRate)
    } catch {
      // Older builds: keep libopus's documented lookahead.
    }
    return {
      name: '@evan/opus',
      preSkip,
      encode: (f) => ownedCopy(enc.encode(int16View(f))),
      free() {},
    }
  },
  async opusscript(s) {
    const mod = (await import('opusscript' as string)) as { default?: OpusScriptCtor } & OpusScriptCtor
    const OpusScript = (mod.default ?? mod) as OpusScriptCtor
    const enc = new OpusScript(s.sampleRate, s.channels, APPLICATION[s.application])
    enc.setBitrate(s.bitrate)
    if (s.complexity !== undefined) enc.encoderCTL(CTL.SET_COMPLEXITY, s.complexity)
    if (s.fec) enc.encoderCTL(CTL.SET_INBAND_FEC, 1)
    if (s.packetLossPercent) enc.encoderCTL(CTL.SET_PACKET_LOSS_PERC, s.packetLossPercent)
    let freed = false
    return {
      name: 'opusscript',
      preSkip: opusPreSkip(s.application),
      encode: (f, frameSamples) => ownedCopy(enc.encode(f, frameSamples)),
      free() {
        if (!freed) {
          freed = true
          enc.delete()
        }
      },
    }
  },
}

interface DiscordEncoder {
  encode(b: Buffer): Buffer
  setBitrate(n: number): void
  applyEncoderCTL(ctl: number, value: number): void
}
interface EvanEncoder {
  encode(b: ArrayBufferView): Uint8Array
  ctl(cmd: number, value?: number): number
  bitrate: number
  complexity: number
  inband_fec: boolean
  packet_loss: number
}
type OpusScriptCtor = new (rate: number, channels: number, app: number) => {
  encode(b: Buffer, frameSize: number): Buffer
  setBitrate(n: number): void
  encoderCTL(ctl: number, arg: number): void
  delete(): void
}

function isMissing(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string }
  const msg = e.message ?? ''
  // Some loaders (TypeScript runners) rethrow without the code: match Node's message too.
  return (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND' || /^Cannot find (package|module)/.test(msg)) && msg.includes(name)
}

/** This file's path, in the ESM and the CommonJS build alike (from the first stack frame). */
function thisFile(): string | undefined {
  if (typeof __filename === 'string') return __filename
  const line = new Error().stack?.split('\n').find((l) => /opus-engines\.[cm]?[jt]s/.test(l))
  const m = line && /(file:\/\/[^\s)]+|\/[^\s)]+?):\d+:\d+\)?$/.exec(line.trim())
  if (!m?.[1]) return undefined
  return m[1].startsWith('file:') ? fileURLToPath(m[1]) : m[1]
}

/** Whether `name` can be found from `base` (a file path): resolvable, or a package folder on the way up. */
function findable(name: string, base: string): boolean {
  try {
    createRequire(base).resolve(name)
    return true
  } catch {
    // ESM-only packages or ones without a CommonJS entry: look for the folder instead.
  }
  for (let dir = dirname(base); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true
    if (dirname(dir) === dir) return false
  }
}

/**
 * Whether an engine package is installed where it can be loaded: searched from this library's
 * own files, the running program and the working directory, without loading it. Synchronous,
 * so {@link OpusEncoder} can report a missing engine when it is constructed.
 */
export function opusEngineInstalled(name: OpusEngineName): boolean {
  const bases = [thisFile(), process.argv[1], join(process.cwd(), 'index.js')].filter((b): b is string => !!b)
  return bases.some((b) => findable(name, b))
}

/**
 * Creates an encoder with the first engine that loads, in `order` (default: fastest first).
 * @throws {@link OpusEngineMissingError} when none is installed; other load errors propagate.
 */
export async function createOpusEngine(settings: OpusEngineSettings, order: readonly OpusEngineName[] = OPUS_ENGINES): Promise<OpusEngine> {
  for (const name of order) {
    try {
      return await loaders[name](settings)
    } catch (err) {
      if (!isMissing(err, name)) throw err
    }
  }
  throw new OpusEngineMissingError([...order])
}

/** Which engines are installed and load here: a dependency report, like voice's. @category Stages */
export async function opusEngineReport(): Promise<Record<OpusEngineName, 'ok' | 'missing' | string>> {
  const out = {} as Record<OpusEngineName, string>
  for (const name of OPUS_ENGINES) {
    try {
      const e = await loaders[name]({ sampleRate: 48000, channels: 2, application: 'audio', bitrate: 64000, complexity: undefined, fec: false, packetLossPercent: 0 })
      e.free()
      out[name] = 'ok'
    } catch (err) {
      out[name] = isMissing(err, name) ? 'missing' : `fails to load: ${(err as Error).message}`
    }
  }
  return out
}
