// Consumer groups in one bus: opening a member for subscribe({ group }), the coordinator of
// every group (in the creating thread), dead-lettering through the bus's publisher, and lag.
// The bus delegates all of it here.
import type { Clock } from '../clock.js'
import type { LogCore } from '../core/log.js'
import type { Publisher } from '../publish/publisher.js'
import type { Handler } from '../reader/delivery-loop.js'
import { readerOptions } from '../reader/surface.js'
import { compileSubscription } from '../topic/names.js'
import type { TopicRegistry } from '../topic/registry.js'
import type { StatsRecorder } from '../topic/stats-recorder.js'
import type { Delivered, Topic } from '../topic/topic.js'
import type { PoisonEvent, RebalanceEvent, SkippedEvent, SubscribeOptions } from '../types.js'
import { GroupCoordinator } from './coordinator.js'
import { deadLetterHeaders, deadLetterTopic } from './dead-letter.js'
import { groupOptions, type GroupOptions } from './group-options.js'
import { GroupMember, type MemberHost } from './member.js'

export interface GroupsHost {
  readonly core: LogCore
  readonly clock: Clock
  readonly registry: TopicRegistry
  readonly publisher: Publisher
  readonly recorder: Pick<StatsRecorder, 'delivered' | 'skipped'>
  skipped(event: SkippedEvent): void
  handlerFailed(error: unknown, where: { topic: string; partition: number; offset: number }): void
  poison(event: PoisonEvent): void
  rebalanced(event: RebalanceEvent): void
  /** A member was opened: the delivery scheduler runs it like a reader. */
  opened(member: GroupMember): void
  settled(member: GroupMember): void
  closed(member: GroupMember): void
}

/** Per-partition lag of a group: end offset - committed offset. */
export type GroupLag = Record<string, Record<number, number>>

export class Groups {
  private readonly coordinator: GroupCoordinator
  private readonly memberHost: MemberHost
  private readonly members = new Set<GroupMember>()
  private sequence = 0

  constructor(private readonly host: GroupsHost) {
    const { core, registry } = host
    const topic = (name: string): Topic | undefined => registry.byName.get(name) ?? (registry.sync(), registry.byName.get(name))
    this.coordinator = new GroupCoordinator({
      core,
      topic,
      rebalanced: host.rebalanced,
      failed: (error, group) => host.handlerFailed(error, { topic: `(group ${group})`, partition: -1, offset: -1 }),
    })
    this.memberHost = {
      core,
      clock: host.clock,
      recorder: host.recorder,
      skipped: host.skipped,
      handlerFailed: host.handlerFailed,
      poison: host.poison,
      deadLetter: (message, source, options, attempts, error) => this.deadLetter(message, source, options, attempts, error),
      topic,
      memberSettled: host.settled,
      memberClosed: (member) => {
        this.members.delete(member)
        host.closed(member)
      },
    }
  }

  /** A member of `options.group` reading `target` (subscribe or consume with a group). */
  open(target: string, handler: Handler, options: SubscribeOptions): GroupMember {
    const reader = readerOptions(options)
    const group = groupOptions(options)
    if (typeof options.assignor === 'object') this.coordinator.register(options.assignor)
    const member = new GroupMember(this.memberHost, this.coordinator, `member-${this.host.core.lane}-${++this.sequence}`,
      target, compileSubscription(target), handler, reader, group)
    this.members.add(member)
    this.host.opened(member) // attaches the topics it matches
    try {
      member.join()
    } catch (error) {
      member.halt()
      this.memberHost.memberClosed(member)
      throw error
    }
    return member
  }

  /** Appends a dead letter to the member's dead-letter topic, created like its source if need be. */
  private deadLetter(message: Delivered, source: Topic, options: GroupOptions, attempts: number, error: unknown): void {
    const { registry, publisher, clock } = this.host
    const name = options.deadLetter || deadLetterTopic(source.name)
    registry.sync()
    const dlq = registry.byName.get(name) ?? registry.declare(name, { partitions: source.partitions, codec: source.options.codec })
    const now = clock.now()
    publisher.publish(name, message.value, {
      key: message.key,
      headers: deadLetterHeaders(message, options.group, attempts, error, now),
      partition: message.partition < dlq.partitions ? message.partition : undefined,
    }, now)
  }

  /**
   * end offset - committed offset for every partition the group committed in, and every
   * partition of the topics its members read here (with nothing committed: from the log start).
   */
  lag(group: string): GroupLag {
    const { core, registry } = this.host
    const out: GroupLag = Object.create(null)
    const index = core.groupIndex(group, false)
    if (index < 0) return out
    registry.sync()
    const read = new Set<string>()
    for (const known of this.coordinator.known()) if (known.name === group) for (const t of known.topics) read.add(t)
    for (const topic of registry.byName.values()) {
      for (let partition = 0; partition < topic.partitions; partition++) {
        const id = topic.ids[partition]
        const committed = core.committed(index, id)
        if (committed < 0 && !read.has(topic.name)) continue
        ;(out[topic.name] ??= Object.create(null))[partition] = Math.max(0, core.endOffset(id) - (committed < 0 ? core.startOffset(id) : committed))
      }
    }
    return out
  }

  /** The bus closes: members stop at once, keeping what they committed. */
  close(): void {
    for (const member of [...this.members]) member.halt()
    this.members.clear()
  }
}
