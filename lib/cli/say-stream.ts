/**
 * `lightning-stream say --stream` and `--words`: speech from text as it arrives on stdin (a
 * language model's output), over the WebSocket route, with word timestamps on stderr or in a JSON
 * file.
 * @internal
 * @module
 */
import { writeFile } from 'node:fs/promises'
import type { LightningClient } from '../client/client.js'
import type { TtsRequest } from '../client/request.js'
import type { TextToSpeechStream } from '../client/text-to-speech-stream.js'
import type { WordTimestamp } from '../client/ws-protocol.js'

/** The say options this module reads. */
export interface SayStreamValues {
  stream?: boolean | undefined
  words?: boolean | undefined
  'words-json'?: string | undefined
}

/** What {@link openSpeech} returns. */
export interface StreamingSpeech {
  /** The PCM source (a `TextToSpeechStream`). */
  pcm: TextToSpeechStream
  /** Writes the word file, if asked for; call after the audio ended. */
  finish(): Promise<void>
}

/**
 * With `--stream`, `--words` or `--words-json`: a `TextToSpeechStream` fed with `text` (when given)
 * or with stdin as it arrives (`--stream` without text). Otherwise undefined (say uses `pcm()`).
 */
export function openSpeech(
  client: LightningClient,
  request: TtsRequest,
  values: SayStreamValues,
  text: string,
  signal?: AbortSignal,
  stdin: NodeJS.ReadableStream = process.stdin,
): StreamingSpeech | undefined {
  const wantWords = values.words === true || values['words-json'] !== undefined
  if (!values.stream && !wantWords) return undefined
  const { text: _t, output_format: _o, ...rest } = request
  const pcm = client.streamText({ ...rest, ...(wantWords ? { word_timestamps: true } : {}) }, { signal })
  const words: WordTimestamp[] = []
  if (wantWords) {
    pcm.on('word', (w: WordTimestamp) => {
      if (values['words-json'] !== undefined) words.push(w)
      if (values.words) process.stderr.write(`${w.start.toFixed(3).padStart(9)} ${w.end.toFixed(3).padStart(9)}  ${w.word}\n`)
    })
  }
  if (text) pcm.end(text)
  else {
    // Incremental: each chunk of stdin is a fragment (UTF-8 decoded statefully by the stream).
    stdin.on('error', (err: Error) => pcm.destroy(err))
    stdin.pipe(pcm)
  }
  return {
    pcm,
    async finish() {
      const file = values['words-json']
      if (file !== undefined) await writeFile(file, `${JSON.stringify(words, null, 2)}\n`)
    },
  }
}
