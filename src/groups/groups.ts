// Consumer groups in one bus: opening a member for subscribe({ group }), the coordinator of
// every group (in the creating thread), dead-lettering through the bus's publisher, and lag.
// The bus delegates all of it here.
import type { Publisher } from '../publish/publisher.js'
import type { Handler } from '../reader/delivery-loop.js'
import { readerOptions } from '../reader/surface.js'
import { compileSubscription, isPattern } from '../topic/names.js'
import type { TopicRegistry } from '../topic/registry.js'
import type { Delivered, Topic } from '../topic/topic.js'
import type { Headers, RebalanceEvent, RecordMetadata, SubscribeOptions, TopicStats } from '../types.js'
import { InvalidArgumentError } from '../errors.js'
import { GroupCoordinator } from './coordinator.js'
import { deadLetterHeaders, deadLetterTopic } from './dead-letter.js'
import { groupOptions, retryDelay, type GroupOptions } from './group-options.js'
import { isRetryTopic, parseRetryTopic, retryHeaders, retryTopic } from './retry-topics.js'
import { GroupMember, type CoordinatorLink, type MemberHost } from './member.js'
import { redrive, REDRIVE_GROUP, type RedriveOptions } from './redrive.js'
import { runTransaction, type Transaction } from './transaction.js'
import { PortLink, PortServer, type GroupPort, type ToCoordinator, type ToMember } from './port-link.js'

/** What the bus gives its groups: what a member needs of it, and more. */
export interface GroupsHost extends Pick<MemberHost, 'core' | 'clock' | 'recorder' | 'skipped' | 'handlerFailed' | 'poison'> {
  readonly registry: TopicRegistry
  readonly publisher: Publisher
  rebalanced(event: RebalanceEvent): void
  /** A member was opened: the delivery scheduler runs it like a reader. */
  opened(member: GroupMember): void
  settled(member: GroupMember): void
  closed(member: GroupMember): void
}

/** Where a member's reports go instead of this bus's events (a copying worker's member: to that worker). */
export type MemberHooks = Partial<Pick<MemberHost, 'skipped' | 'handlerFailed' | 'poison'>>

/** Per-partition lag of a group: end offset - committed offset. */
export type GroupLag = Record<string, Record<number, number>>

/**
 * Which topics a member reads: those its target matches, and (retryTopics) its group's retry
 * topics of those; never another group's retry topics, nor its own as sources.
 */
function readsTopic(target: string, options: GroupOptions): (topic: string) => boolean {
  const matches = compileSubscription(target)
  const pattern = isPattern(target)
  return (topic) => {
    const retry = parseRetryTopic(topic, options.group)
    if (retry !== undefined) return options.retryTopics && matches(retry.source)
    // a pattern never picks up retry topics (another group's); a member may still name one
    return matches(topic) && !(pattern && isRetryTopic(topic))
  }
}

export class Groups {
  /** In the creating thread: the coordinator of every group. */
  private readonly coordinator: GroupCoordinator | undefined
  /** In a worker: the link to the creating thread's coordinator. */
  private readonly remote: PortLink | undefined
  private readonly link: CoordinatorLink
  private readonly memberHost: MemberHost
  private readonly members = new Set<GroupMember>()
  /** The ports of this thread's workers (creating thread). */
  private readonly servers = new Set<PortServer>()
  /** What else hears of rebalances here: the ports and copying handles of workers with members. */
  private readonly watchers = new Set<(event: RebalanceEvent) => void>()
  private sequence = 0

  /** `port`: this bus is a worker's, and the coordinator is at the port's other end. */
  constructor(private readonly host: GroupsHost, port?: GroupPort) {
    const { core, registry } = host
    const topic = (name: string): Topic | undefined => registry.byName.get(name) ?? (registry.sync(), registry.byName.get(name))
    if (port === undefined) {
      this.link = this.coordinator = new GroupCoordinator({
        core,
        topic,
        rebalanced: (event) => {
          host.rebalanced(event)
          for (const watcher of this.watchers) watcher(event)
        },
        failed: (error, group) => host.handlerFailed(error, { topic: `(group ${group})`, partition: -1, offset: -1 }),
      })
    } else {
      this.link = this.remote = new PortLink(port, {
        refused: (member, error) => {
          host.handlerFailed(error, { topic: member.target, partition: -1, offset: -1 })
          member.close()
        },
        rebalanced: host.rebalanced,
      })
    }
    this.memberHost = {
      core,
      clock: host.clock,
      recorder: host.recorder,
      skipped: host.skipped,
      handlerFailed: host.handlerFailed,
      poison: host.poison,
      deadLetter: (message, source, options, attempts, error) => this.deadLetter(message, source, options, attempts, error),
      retryLater: (message, source, options, attempt) => {
        const now = host.clock.now()
        this.append(retryTopic(source.name, options.group, attempt), source, message, retryHeaders(message, attempt, now + retryDelay(options, attempt)), now)
      },
      topic,
      memberSettled: host.settled,
      memberClosed: (member) => {
        this.members.delete(member)
        host.closed(member)
      },
    }
  }

  /** A member of `options.group` reading `target` (subscribe or consume with a group); `hooks` take its reports. */
  open(target: string, handler: Handler, options: SubscribeOptions, hooks?: MemberHooks): GroupMember {
    const reader = readerOptions(options)
    const group = groupOptions(options)
    // refused before anything is fixed for the group (its slot, its start position) where the
    // coordinator is here; a worker's member hears a refusal later, over its port
    this.coordinator?.admits(group.group, group.assignor, typeof options.assignor === 'object' ? options.assignor : undefined)
    if (typeof options.assignor === 'object') {
      if (this.coordinator === undefined) throw new InvalidArgumentError('an assignor object cannot cross threads: give it to a member in the creating thread and name it here', { argument: 'assignor' })
      this.coordinator.register(options.assignor)
    }
    const member = new GroupMember(hooks === undefined ? this.memberHost : { ...this.memberHost, ...hooks }, this.link, `member-${this.host.core.laneToken}-${++this.sequence}`,
      target, readsTopic(target, group), handler, reader, group)
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
    const now = this.host.clock.now()
    this.append(options.deadLetter || deadLetterTopic(source.name), source, message, deadLetterHeaders(message, options.group, attempts, error, now), now)
  }

  /**
   * Appends a failed record (its key and value, `headers`) to a dead-letter or retry topic,
   * created like its source if need be, in the partition of the source's number.
   */
  private append(name: string, source: Topic, message: Delivered, headers: Headers, now: number): void {
    const { registry, publisher } = this.host
    registry.sync()
    const target = registry.byName.get(name) ?? registry.declare(name, { partitions: source.partitions, codec: source.options.codec })
    publisher.publish(name, message.value, { key: message.key, headers, partition: message.partition < target.partitions ? message.partition : undefined }, now)
  }

  /**
   * end offset - committed offset for every partition the group has a committed offset in (from
   * its members' first subscribe on: `from` is fixed there). Read from the shared memory, so any
   * thread sees every member's commits.
   */
  lag(group: string): GroupLag {
    const { core, registry } = this.host
    const out: GroupLag = Object.create(null)
    const index = core.groupIndex(group, false)
    if (index < 0) return out
    registry.sync()
    for (const topic of registry.byName.values()) {
      const partitions = this.committedIn(index, topic)
      if (partitions.length > 0) out[topic.name] = Object.fromEntries(partitions.map((p) => [p.partition, p.lag]))
    }
    return out
  }

  /** The group's lag on each partition of one topic it committed in (undefined: none). */
  topicLag(group: string, name: string): Record<number, number> | undefined {
    const index = this.host.core.groupIndex(group, false)
    const topic = this.host.registry.byName.get(name)
    if (index < 0 || topic === undefined) return undefined
    return Object.fromEntries(this.committedIn(index, topic).map((p) => [p.partition, p.lag]))
  }

  /** lag() of every group of the bus (a copying worker keeps them to answer its own lag()). */
  lags(): Record<string, GroupLag> {
    const out: Record<string, GroupLag> = Object.create(null)
    for (let index = 0, count = this.host.core.groupCount(); index < count; index++) {
      const name = this.host.core.groupName(index)
      if (name !== REDRIVE_GROUP) out[name] = this.lag(name)
    }
    return out
  }

  /** Committed offset and lag of every partition of `topic` the group (by index) committed in. */
  private committedIn(index: number, topic: Topic): Array<{ partition: number; committed: number; lag: number }> {
    const core = this.host.core
    const out = []
    for (let partition = 0; partition < topic.partitions; partition++) {
      const id = topic.ids[partition]
      const committed = core.committed(index, id)
      if (committed >= 0) out.push({ partition, committed, lag: Math.max(0, core.endOffset(id) - committed) })
    }
    return out
  }

  /** Calls `watcher` with every rebalance of the bus's groups until the returned function is called. */
  rebalances(watcher: (event: RebalanceEvent) => void): () => void {
    this.watchers.add(watcher)
    return () => this.watchers.delete(watcher)
  }


  /** Republishes the dead letters of `dlqTopic` that no redrive republished or passed over yet. */
  redrive(dlqTopic: string, options: RedriveOptions | undefined): number {
    const { core, registry, publisher, clock } = this.host
    return redrive({ core, registry, publisher, now: () => clock.now() }, dlqTopic, options)
  }

  /** Runs a transaction (see Transaction): resolves to the coordinates of its records. */
  transaction(fn: (tx: Transaction) => unknown): Promise<RecordMetadata[]> {
    return runTransaction({
      publisher: this.host.publisher,
      now: () => this.host.clock.now(),
      holder: (message) => {
        for (const member of this.members) {
          const run = member.holder(message)
          if (run !== undefined) return run
        }
        return undefined
      },
    }, fn)
  }

  /** Adds each topic's groups and dead-letter depth to a stats() snapshot. */
  annotate(stats: Record<string, TopicStats>): void {
    const { core, registry } = this.host
    const names: string[] = []
    for (let g = 0, count = core.groupCount(); g < count; g++) names.push(core.groupName(g))
    const redriveGroup = names.indexOf(REDRIVE_GROUP)
    for (const [name, entry] of Object.entries(stats)) {
      const topic = registry.byName.get(name)!
      entry.groups = Object.create(null)
      names.forEach((group, g) => {
        if (g === redriveGroup) return
        const partitions = this.committedIn(g, topic).map((p) => {
          const owner = this.coordinator?.owner(group, name, p.partition)
          return owner === undefined ? p : { ...p, owner }
        })
        if (partitions.length > 0) entry.groups[group] = { partitions, ...this.coordinator?.describe(group) }
      })
      const dlq = registry.byName.get(deadLetterTopic(name))
      entry.deadLetters = dlq === undefined ? 0 : dlq.ids.reduce((sum, id) => {
        const redriven = redriveGroup < 0 ? -1 : core.committed(redriveGroup, id)
        return sum + core.endOffset(id) - Math.max(core.startOffset(id), redriven)
      }, 0)
    }
  }

  /** The creating thread serves a worker's members over its port; undefined in a worker. */
  serve(port: GroupPort): { receive(message: unknown): void; closed(): void } | undefined {
    if (this.coordinator === undefined) return undefined
    const server = new PortServer(port, this.coordinator)
    this.servers.add(server)
    const unwatch = this.rebalances((event) => server.rebalanced(event))
    return {
      receive: (message) => server.receive(message as ToCoordinator),
      closed: () => {
        this.servers.delete(server)
        unwatch()
        server.closed()
      },
    }
  }

  /** A worker's bus: a message from the coordinator. */
  receive(message: unknown): void {
    this.remote?.receive(message as ToMember)
  }

  /** The bus closes: members stop at once, keeping what they committed. */
  close(): void {
    // a worker's members leave at once; the creating thread's coordinator ends with its bus
    for (const member of [...this.members]) member.halt(this.remote !== undefined)
    this.members.clear()
    for (const server of this.servers) server.stop()
    this.coordinator?.stop()
  }
}
