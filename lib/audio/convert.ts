import { PassThrough, type Transform } from 'node:stream'
import { AudioFormatError } from '../errors.js'
import { assertPcmFormat, describeFormat, type PcmFormat } from './format.js'
import { ChannelMixer } from './channel-mixer.js'
import type { ResamplerQuality } from './resampler-filter.js'
import { Resampler } from './resampler.js'

/**
 * The stages that turn PCM of format `from` into format `to`: a {@link Resampler} when the rates
 * differ and a {@link ChannelMixer} when the channel counts differ (mixing down before
 * resampling, up after, so the resampler filters as few channels as possible). When the formats
 * already match it returns one `PassThrough`, so the result is never empty: TypeScript accepts
 * both `pipeline(pcm, ...convertPcm(a, b), sink)` and `pipeline([pcm, ...convertPcm(a, b), sink])`.
 * Encodings must match.
 *
 * @example
 * ```ts
 * const pcm = client.pcm({ text: 'Hi', voice_id: 'magnus' })
 * const target = pcmFormat(48000, 2)
 * await pipeline(pcm, ...convertPcm(pcm.format, target), new WavEncoder({ format: target }), file)
 * ```
 * @category Stages
 */
export function convertPcm(from: PcmFormat, to: PcmFormat, quality: ResamplerQuality = 'balanced'): ConvertStages {
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
  return stages.length > 0 ? (stages as ConvertStages) : [new PassThrough()]
}

/** What {@link convertPcm} returns: one or more stages, so it spreads into `pipeline(...)`'s overloads. */
export type ConvertStages = [Transform, ...Transform[]]
