// What this thread counted per topic (records published, delivered, skipped) and the stats()
// figures built from those counts and the log's own. Publishing and readers report here; nothing
// else writes the counts.
import type { LogCore } from '../core/log.js'
import type { TopicStats } from '../types.js'
import type { Topic } from './topic.js'

interface Counts {
  published: number
  delivered: number
  skipped: number
}

export class StatsRecorder {
  private readonly counts = new Map<Topic, Counts>()
  /** The topic counted last and its counts: a burst to one topic looks its counts up once. */
  private last: Topic | undefined
  private lastCounts: Counts | undefined

  constructor(private readonly core: LogCore) {}

  published(topic: Topic, count: number): void {
    this.of(topic).published += count
  }

  delivered(topic: Topic, count: number): void {
    this.of(topic).delivered += count
  }

  /** Records a reader lost to retention. */
  skipped(topic: Topic, count: number): void {
    this.of(topic).skipped += count
  }

  private of(topic: Topic): Counts {
    if (topic === this.last) return this.lastCounts!
    let counts = this.counts.get(topic)
    if (counts === undefined) this.counts.set(topic, (counts = { published: 0, delivered: 0, skipped: 0 }))
    this.last = topic
    return (this.lastCounts = counts)
  }

  /** Per-topic figures as a JSON-serialisable object (without prototype) keyed by topic name. */
  snapshot(topics: Iterable<Topic>, now: number): Record<string, TopicStats> {
    const core = this.core
    // topic names are user-chosen: '__proto__' or 'constructor' must be plain keys
    const out: Record<string, TopicStats> = Object.create(null)
    for (const topic of topics) {
      const seconds = (now - topic.createdAt) / 1000
      const { published, delivered, skipped } = this.counts.get(topic) ?? { published: 0, delivered: 0, skipped: 0 }
      out[topic.name] = {
        codec: topic.codecName,
        partitions: topic.ids.map((id, partition) => ({
          partition,
          startOffset: core.startOffset(id),
          endOffset: core.endOffset(id),
          bytes: core.bytes(id),
          segments: core.segments(id),
          evicted: core.evicted(id),
        })),
        readers: topic.readers.size,
        published,
        delivered,
        skipped,
        publishRate: seconds > 0 ? published / seconds : 0,
        deliverRate: seconds > 0 ? delivered / seconds : 0,
        // consumer groups fill these in (see Groups.annotate)
        groups: Object.create(null),
        deadLetters: 0,
      }
    }
    return out
  }
}
