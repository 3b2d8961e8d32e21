// docs/discord.md: speak into a Discord voice channel. Offline this plays into an AudioPlayer
// with no connection (NoSubscriberBehavior.Play); in a bot, subscribe a VoiceConnection to it.
import { AudioPlayerStatus, NoSubscriberBehavior, createAudioPlayer, createAudioResource, entersState } from '@discordjs/voice'
import { LightningClient, createDiscordStream } from 'lightning-stream'
import { startEmulator } from 'lightning-stream/emulator'

const emulator = process.env.SMALLEST_API_KEY ? undefined : await startEmulator({ realtimeFactor: 3 })
const client = new LightningClient({ baseUrl: emulator?.url })
const player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play } })
// In a bot: const connection = joinVoiceChannel({ channelId, guildId, adapterCreator }); connection.subscribe(player)

async function say(text) {
  const { stream, inputType, metrics } = createDiscordStream(client.pcm({ text, voice_id: 'magnus' }), { mode: 'opus' })
  const resource = createAudioResource(stream, { inputType })
  player.play(resource)
  await entersState(player, AudioPlayerStatus.Playing, 5_000)
  await entersState(player, AudioPlayerStatus.Idle, 60_000)
  console.error(`played ${resource.playbackDuration} ms; ${metrics.silenceFrames} silence frames covered stalls`)
}

await say('Hello, voice channel!')
// Barge-in: stop() destroys the stream, which aborts synthesis; the next say() starts clean.
const interrupted = say('This sentence gets interrupted halfway through, as a user starts talking.')
await entersState(player, AudioPlayerStatus.Playing, 5_000)
setTimeout(() => player.stop(true), 500) // the user starts talking half a second in
await interrupted
await say('Sorry, go ahead.')

await client.close()
await emulator?.close()
