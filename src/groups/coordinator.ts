// The group coordinator (Kafka's): members, generations and who owns which partition, for every
// group of the bus. It lives in the creating thread. A rebalance is cooperative (KIP-429): the
// assignor says where each partition should be; only the partitions that must move are revoked,
// each from its owner once that owner stopped and committed, and only then assigned to the new
// owner, fenced with the new generation. Members keep running what they keep, and a partition
// never has two owners, not even for a moment.
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import type { Topic } from '../topic/topic.js'
import type { RebalanceEvent } from '../types.js'
import { assignors, checkAssignment, type Assignment, type Assignor, type TopicPartition } from './assignors.js'
import type { CoordinatorLink, GroupMember } from './member.js'

export interface CoordinatorHost {
  readonly core: LogCore
  /** The topic of this name as the creating thread knows it (after catching up with other threads). */
  topic(name: string): Topic | undefined
  rebalanced(event: RebalanceEvent): void
  /** A custom assignor threw or returned a wrong assignment: the group keeps its owners. */
  failed(error: unknown, group: string): void
}

interface Owner {
  member: string
  topic: string
  partition: number
}

class GroupState {
  readonly members = new Map<string, GroupMember>()
  /** Owner per partition, by `partition:topic`. */
  readonly owners = new Map<string, Owner>()
  generation = 0
  assignor: Assignor | undefined
  running = false
  again = false

  constructor(readonly name: string, readonly index: number) {}
}

const key = (topic: string, partition: number): string => `${partition}:${topic}`

export class GroupCoordinator implements CoordinatorLink {
  private readonly groups = new Map<string, GroupState>()
  /** Custom assignors given in this thread, by name. */
  private readonly custom = new Map<string, Assignor>()

  constructor(private readonly host: CoordinatorHost) {}

  /** Makes a user's assignor known by its name; a built-in name cannot be taken. */
  register(assignor: Assignor): void {
    if (typeof assignor?.assign !== 'function' || typeof assignor.name !== 'string') {
      throw new InvalidArgumentError('assignor must be a name or an object { name, assign(members, partitions, previous) }', { argument: 'assignor' })
    }
    const known = Object.hasOwn(assignors, assignor.name) ? assignors[assignor.name] : this.custom.get(assignor.name)
    if (known !== undefined && known !== assignor) {
      throw new InvalidArgumentError(`another assignor is already named ${assignor.name}`, { argument: 'assignor' })
    }
    this.custom.set(assignor.name, assignor)
  }

  private resolve(name: string): Assignor {
    const found = Object.hasOwn(assignors, name) ? assignors[name] : this.custom.get(name)
    if (found === undefined) throw new InvalidArgumentError(`unknown assignor ${name}: use 'cooperative-sticky', 'range', 'roundrobin' or pass the assignor object`, { argument: 'assignor' })
    return found
  }

  /** Throws when the member's assignor is unknown or differs from the group's (Kafka's INCONSISTENT_GROUP_PROTOCOL). */
  join(member: GroupMember): void {
    const assignor = this.resolve(member.options.assignor)
    let group = this.groups.get(member.groupName)
    if (group === undefined) this.groups.set(member.groupName, group = new GroupState(member.groupName, this.host.core.groupIndex(member.groupName, true)))
    if (group.members.size > 0 && group.assignor !== assignor) {
      throw new InvalidArgumentError(`group ${group.name} uses assignor ${group.assignor!.name}; a member cannot join with ${assignor.name}`, { argument: 'assignor' })
    }
    group.assignor = assignor
    group.members.set(member.id, member)
    this.schedule(group)
  }

  changed(member: GroupMember): void {
    const group = this.groups.get(member.groupName)
    if (group?.members.has(member.id)) this.schedule(group)
  }

  leave(member: GroupMember): void {
    const group = this.groups.get(member.groupName)
    if (group === undefined || !group.members.delete(member.id)) return
    for (const [k, owner] of group.owners) if (owner.member === member.id) group.owners.delete(k)
    this.schedule(group)
  }

  /** Who owns what in `group` now (member id -> partitions); undefined for a group nobody joined. */
  assignments(group: string): Assignment | undefined {
    const state = this.groups.get(group)
    return state === undefined ? undefined : this.current(state)
  }

  generation(group: string): number {
    return this.groups.get(group)?.generation ?? 0
  }

  /** The groups this coordinator knows, and the topics their members read. */
  *known(): Iterable<{ name: string; index: number; members: number; generation: number; topics: Set<string> }> {
    for (const group of this.groups.values()) {
      const topics = new Set<string>()
      for (const member of group.members.values()) for (const t of member.subscribedTopics()) topics.add(t)
      yield { name: group.name, index: group.index, members: group.members.size, generation: group.generation, topics }
    }
  }

  private current(group: GroupState): Assignment {
    const out: Assignment = {}
    for (const id of group.members.keys()) out[id] = []
    for (const owner of group.owners.values()) out[owner.member]?.push({ topic: owner.topic, partition: owner.partition })
    for (const list of Object.values(out)) list.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
    return out
  }

  /** One rebalance at a time per group; a change during one makes it run again. */
  private schedule(group: GroupState): void {
    if (group.running) {
      group.again = true
      return
    }
    group.running = true
    queueMicrotask(() => void this.rebalance(group))
  }

  private async rebalance(group: GroupState): Promise<void> {
    try {
      do {
        group.again = false
        if (group.members.size === 0) break
        const target = this.target(group)
        // revoke first: each moving partition is given up (stopped, committed) before it moves
        const revoked: Promise<void>[] = []
        for (const [k, owner] of group.owners) {
          if (!target[owner.member]?.some((tp) => tp.topic === owner.topic && tp.partition === owner.partition)) {
            const member = group.members.get(owner.member)
            revoked.push((member?.revoke(owner.topic, owner.partition) ?? Promise.resolve()).then(() => {
              if (group.owners.get(k) === owner) group.owners.delete(k)
            }))
          }
        }
        if (revoked.length > 0) await Promise.all(revoked)
        if (group.again) continue // members came or went meanwhile: assign from what is true now
        this.assign(group, target)
      } while (group.again)
    } catch (error) {
      this.host.failed(error, group.name)
    } finally {
      group.running = false
    }
  }

  /** What the assignor wants now, checked. */
  private target(group: GroupState): Assignment {
    const members = [...group.members.values()].map((m) => ({ id: m.id, topics: m.subscribedTopics() }))
    const partitions: TopicPartition[] = []
    for (const name of new Set(members.flatMap((m) => m.topics))) {
      const topic = this.host.topic(name)
      if (topic !== undefined) for (let partition = 0; partition < topic.partitions; partition++) partitions.push({ topic: name, partition })
    }
    const assignor = group.assignor!
    return checkAssignment(assignor.name, members, partitions, assignor.assign(members, partitions, this.current(group)))
  }

  /** Hands out the partitions nobody owns that the target gives someone, under a new generation. */
  private assign(group: GroupState, target: Assignment): void {
    const moves: Array<{ member: GroupMember; topic: Topic; partition: number }> = []
    for (const [id, partitions] of Object.entries(target)) {
      const member = group.members.get(id)
      if (member === undefined) continue
      for (const { topic, partition } of partitions) {
        const held = group.owners.get(key(topic, partition))
        const t = this.host.topic(topic)
        if (held?.member === id || t === undefined) continue
        moves.push({ member, topic: t, partition })
      }
    }
    if (moves.length === 0) return
    const generation = ++group.generation
    for (const { member, topic, partition } of moves) {
      // fence first: a commit from the partition's earlier owner is refused from here on
      this.host.core.fenceCommits(group.index, topic.ids[partition], generation)
      group.owners.set(key(topic.name, partition), { member: member.id, topic: topic.name, partition })
    }
    for (const { member, topic, partition } of moves) member.assigned(topic.name, partition, generation)
    this.host.rebalanced({ group: group.name, generation, assignments: this.current(group) })
  }
}
