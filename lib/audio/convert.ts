import type { Transform } from 'node:stream'
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, describeFormat, type PcmFormat } from './format.js'
import { ChannelMixer } from './pcm-stages.js'
import type { ResamplerQuality } from './resample-core.js'
import { Resampler } from './resampler.js'

/**
 * The stages that turn PCM of format `from` into format `to`: a {@link Resampler} when the rates
 * differ and a {@link ChannelMixer} when the channel counts differ (mixing down before
 * resampling, up after, so the resampler filters as few channels as possible). Returns `[]`
 * when the formats already match. Encodings must match.
 *
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' })
 * const target = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const
 * await pipeline(pcm, ...convertPcm(pcm.format, target), new WavEncoder({ format: target }), file)
 * ```
 * @category Stages
 */
export function convertPcm(from: PcmFormat, to: PcmFormat, quality: ResamplerQuality = 'balanced'): Transform[] {
  assertPcmFormat(from, 'convertPcm from')
  assertPcmFormat(to, 'convertPcm to')
  if (from.encoding !== to.encoding) {
    throw new AudioFormatError(`convertPcm cannot change the encoding (${describeFormat(from)} → ${describeFormat(to)})`)
  }
  const stages: Transform[] = []
  const mix = from.channels !== to.channels ? new ChannelMixer({ from: from.channels, to: to.channels, encoding: from.encoding }) : undefined
  const downmixFirst = to.channels < from.channels
  if (mix && downmixFirst) stages.push(mix)
  if (from.sampleRate !== to.sampleRate) {
    stages.push(new Resampler({ from: from.sampleRate, to: to.sampleRate, channels: downmixFirst ? to.channels : from.channels, encoding: from.encoding, quality }))
  }
  if (mix && !downmixFirst) stages.push(mix)
  return stages
}
