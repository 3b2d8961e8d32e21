/**
 * Playing audio on the default output device for `lightning-stream say` without `-o`: the first of
 * ffplay, paplay, aplay (PipeWire/PulseAudio/ALSA on Linux) or afplay (macOS) found on PATH, fed
 * through its standard input so playback starts with the first audio.
 * @internal
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Writable } from 'node:stream'
import type { PcmFormat } from '../audio/format.js'

/** The players tried, in order. */
export const PLAYERS = ['ffplay', 'paplay', 'aplay', 'afplay'] as const
/** A player's name. */
export type PlayerName = (typeof PLAYERS)[number]

/** What each player reads on stdin. */
export type PlayerInput = 'wav' | 'pcm'

/** How the CLI says there is no player. */
export const NO_PLAYER_HELP =
  'no audio player found (ffplay, paplay, aplay or afplay). Install one (Debian/Ubuntu: apt install ffmpeg, ' +
  'or pulseaudio-utils, or alsa-utils; macOS has afplay), or write a file with -o out.wav (or -o - to pipe it)'

/** Finds an executable on PATH without running anything. */
export function which(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const file = join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // not here
    }
  }
  return undefined
}

/** The first player on PATH, or undefined. */
export function findPlayer(path?: string): { name: PlayerName; file: string } | undefined {
  for (const name of PLAYERS) {
    const file = which(name, path)
    if (file) return { name, file }
  }
  return undefined
}

/** The arguments and stdin format for a player (afplay cannot read a pipe: it gets a temp file). */
export function playerArgs(name: PlayerName, format: PcmFormat, file?: string): { args: string[]; input: PlayerInput } {
  const rate = String(format.sampleRate)
  const ch = String(format.channels)
  switch (name) {
    case 'ffplay':
      return { args: ['-nodisp', '-autoexit', '-loglevel', 'error', '-i', 'pipe:0'], input: 'wav' }
    case 'paplay':
      return { args: ['--raw', '--format=s16le', `--rate=${rate}`, `--channels=${ch}`], input: 'pcm' }
    case 'aplay':
      return { args: ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', rate, '-c', ch, '-'], input: 'pcm' }
    case 'afplay':
      return { args: [file ?? ''], input: 'wav' }
  }
}

/** A running player: write audio to `stdin`; `done` settles when it exits. */
export interface Player {
  name: PlayerName
  input: PlayerInput
  stdin: Writable
  done: Promise<void>
  child: ChildProcess
}

/** Starts a player reading from stdin (not for afplay). */
export function startPlayer(player: { name: PlayerName; file: string }, format: PcmFormat): Player {
  const { args, input } = playerArgs(player.name, format)
  const child = spawn(player.file, args, { stdio: ['pipe', 'ignore', 'inherit'] })
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${player.name} exited with ${signal ?? `code ${code}`}`))))
  })
  return { name: player.name, input, stdin: child.stdin as Writable, done, child }
}
