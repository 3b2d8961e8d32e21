// docs/llm-voice.md: speak a language model's reply into a Discord voice channel while the model
// is still writing it, with barge-in and what-was-heard. Offline: a fake model (an async generator
// at model-like speed) and the local emulator; in a bot, subscribe a VoiceConnection to the player.
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { AudioPlayerStatus, NoSubscriberBehavior, createAudioPlayer, createAudioResource, entersState } from '@discordjs/voice'
import { LightningClient, PlayedWords, createDiscordStream, playheadOf } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator({ realtimeFactor: 3 })
const client = new LightningClient({ baseUrl: emulator?.url })
const player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play } })

// A stand-in for your model's token stream (OpenAI, Anthropic, a local model…): ~40 tokens a second.
/** @param {string} reply */
async function* fakeModel(reply) {
  for (const token of reply.match(/\S+\s*/g) ?? []) {
    await sleep(25)
    yield token
  }
}

/** @param {string} reply @param {{ interruptAfterMs?: number }} [options] */
async function speak(reply, { interruptAfterMs } = {}) {
  const tts = client.streamText({ voice_id: 'meher', word_timestamps: true })
  const discord = createDiscordStream(tts, { mode: 'opus' })
  const heard = new PlayedWords(tts, playheadOf(discord))
  const received = []
  tts.on('word', (w) => received.push(w.word))
  Readable.from(fakeModel(reply)).pipe(tts) // tokens in as the model writes them
  const resource = createAudioResource(discord.stream, { inputType: discord.inputType })
  player.play(resource)
  await entersState(player, AudioPlayerStatus.Playing, 10_000)
  if (interruptAfterMs) {
    await sleep(interruptAfterMs)
    // Barge-in: the user started talking. Close the socket and stop playback at once.
    tts.destroy()
    player.stop(true)
  }
  await entersState(player, AudioPlayerStatus.Idle, 60_000)
  const words = heard.stop().map((w) => w.word)
  console.error(`played ${resource.playbackDuration} ms; heard ${words.length} of ${received.length} words: ${words.join(' ')}`)
  return words
}

await speak('Sure! Streaming speech starts with the first sentence, long before the model has finished writing the answer.')
const heard = await speak('Here is a much longer answer that the listener will interrupt halfway, so we keep only what was actually heard.', { interruptAfterMs: 1500 })
console.error(`the bot's memory of its own turn: "${heard.join(' ')}…"`)

await client.close()
await emulator?.close()
