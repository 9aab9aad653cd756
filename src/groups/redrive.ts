// Redrive: dead letters republished to the topic they came from (or another), once each. A
// dead-letter topic is a log, so nothing is removed from it; instead every redrive continues
// where the last one of that topic stopped, like a consumer group of its own whose position
// lives in the shared commit words (so a redrive in any thread sees it).
import { INTERNAL_PREFIX } from '../core/directory.js'
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import type { Publisher } from '../publish/publisher.js'
import { PartitionFetcher } from '../reader/partition-fetcher.js'
import type { TopicRegistry } from '../topic/registry.js'
import type { Delivered } from '../topic/topic.js'
import type { Headers, Message, TopicMap } from '../types.js'
import { DLQ_HEADERS } from './dead-letter.js'

export interface RedriveOptions {
  /** Which dead letters to republish; the others are passed over for good. Default: all. */
  filter?: (message: Message<TopicMap, string>) => boolean
  /** Most records to republish; the rest wait for the next redrive. Default: all. */
  limit?: number
  /** Republish here instead of each record's source topic. */
  to?: string
}

/** The group whose commit words hold each dead-letter topic's redrive position. */
export const REDRIVE_GROUP = `${INTERNAL_PREFIX}redrive`
const DLQ_PREFIX = 'ringbus.dlq.'

export interface RedriveHost {
  readonly core: LogCore
  readonly registry: TopicRegistry
  readonly publisher: Publisher
  now(): number
}

function checkOptions(options: RedriveOptions | undefined): { filter: RedriveOptions['filter']; limit: number; to: string | undefined } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('redrive options must be an object', { argument: 'options' })
  const { filter, limit = Infinity, to } = options ?? {}
  if (filter !== undefined && typeof filter !== 'function') throw new InvalidArgumentError('filter must be a function', { argument: 'filter' })
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw new InvalidArgumentError(`limit must be a non-negative integer, got ${String(limit)}`, { argument: 'limit' })
  if (to !== undefined && typeof to !== 'string') throw new InvalidArgumentError('to must be a topic name', { argument: 'to' })
  return { filter, limit, to }
}

/** The record's own headers, without the ones dead-lettering added. */
function sourceHeaders(headers: Readonly<Headers>): Headers {
  const out: Headers = {}
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(DLQ_PREFIX)) out[name] = value
  return out
}

/** Republishes dead letters of `dlqTopic` not redriven before; returns how many it republished. */
export function redrive(host: RedriveHost, dlqTopic: string, options: RedriveOptions | undefined): number {
  const { filter, limit, to } = checkOptions(options)
  const { core, registry, publisher } = host
  registry.sync()
  const dlq = registry.byName.get(dlqTopic)
  if (dlq === undefined) throw new InvalidArgumentError(`no topic ${dlqTopic} to redrive`, { topic: dlqTopic, argument: 'dlqTopic' })
  const group = core.groupIndex(REDRIVE_GROUP, true)
  let count = 0
  const fetchHost = { core, recorder: { skipped: () => {} }, skipped: () => {}, failed: () => {} }
  for (let partition = 0; partition < dlq.partitions && count < limit; partition++) {
    const id = dlq.ids[partition]
    core.initCommit(group, id, core.startOffset(id))
    const generation = core.commitGeneration(group, id)
    // retention may have removed dead letters since: the fetcher starts at the log start then
    const fetcher = new PartitionFetcher(fetchHost, dlq, partition, Math.max(core.committed(group, id), core.startOffset(id)), 'earliest')
    try {
      while (count < limit && fetcher.behind()) {
        const batch = fetcher.fetch(256)
        let i = 0
        for (; i < batch.length && count < limit; i++) {
          if (republish(batch[i])) count++
          core.commitOffset(group, id, generation, batch[i].offset + 1)
        }
        if (batch.length === 0) break
      }
    } finally {
      fetcher.close()
    }
  }
  return count

  function republish(message: Delivered): boolean {
    if (filter !== undefined && !filter(message as Message<TopicMap, string>)) return false
    const source = message.headers[DLQ_HEADERS.topic]
    const target = to ?? (typeof source === 'string' ? source : undefined)
    if (target === undefined) throw new InvalidArgumentError(`record ${dlqTopic}/${message.partition}@${message.offset} names no source topic; give redrive a 'to'`, { topic: dlqTopic, argument: 'to' })
    const sourcePartition = Number(message.headers[DLQ_HEADERS.partition])
    const topic = registry.byName.get(target)
    const keepPartition = to === undefined && topic !== undefined && Number.isInteger(sourcePartition) && sourcePartition < topic.partitions
    publisher.publish(target, message.value, { key: message.key, headers: sourceHeaders(message.headers), partition: keepPartition ? sourcePartition : undefined }, host.now())
    return true
  }
}
