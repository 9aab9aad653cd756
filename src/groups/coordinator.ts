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
import type { CoordinatorLink } from './member.js'

/**
 * A member as the coordinator sees it: in this thread (MemberEndpoint) or in a worker (a proxy that
 * talks over the worker's port).
 */
export interface MemberEndpoint {
  readonly id: string
  readonly groupName: string
  /** The assignor's name. */
  readonly assignor: string
  /** The topics it reads now. */
  subscribedTopics(): string[]
  assigned(topic: string, partition: number, generation: number): void
  /** Resolves once the member stopped the partition and committed what it handled. */
  revoke(topic: string, partition: number): Promise<void>
  /** How many joins and changes the member has asked for (each may need a rebalance). */
  readonly requested: number
  /** A rebalance that saw the first `requested` of them is over: the member knows what it owns. */
  rebalanced(requested: number): void
}

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
  readonly members = new Map<string, MemberEndpoint>()
  /** Owner per partition, by `partition:topic`. */
  readonly owners = new Map<string, Owner>()
  generation = 0
  assignor: Assignor | undefined
  running = false
  again = false
  /** Leaves waiting for the rebalance they caused to end. */
  leaving: Array<() => void> = []

  constructor(readonly name: string, readonly index: number) {}
}

const key = (topic: string, partition: number): string => `${partition}:${topic}`

export class GroupCoordinator implements CoordinatorLink<MemberEndpoint> {
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

  /**
   * Throws what join() would for a member of `group` with this assignor (unknown, another object
   * under a taken name, or not the group's), without changing anything.
   */
  admits(group: string, name: string, object?: Assignor): void {
    const known = Object.hasOwn(assignors, name) ? assignors[name] : this.custom.get(name)
    if (object !== undefined && known !== undefined && known !== object) throw new InvalidArgumentError(`another assignor is already named ${name}`, { argument: 'assignor' })
    const assignor = known ?? object ?? this.resolve(name)
    const state = this.groups.get(group)
    if (state !== undefined && state.members.size > 0 && state.assignor !== assignor) {
      throw new InvalidArgumentError(`group ${group} uses assignor ${state.assignor!.name}; a member cannot join with ${assignor.name}`, { argument: 'assignor' })
    }
  }

  private resolve(name: string): Assignor {
    const found = Object.hasOwn(assignors, name) ? assignors[name] : this.custom.get(name)
    if (found === undefined) throw new InvalidArgumentError(`unknown assignor ${name}: use 'cooperative-sticky', 'range', 'roundrobin' or pass the assignor object`, { argument: 'assignor' })
    return found
  }

  /** Throws when the member's assignor is unknown or differs from the group's (Kafka's INCONSISTENT_GROUP_PROTOCOL). */
  join(member: MemberEndpoint): void {
    const assignor = this.resolve(member.assignor)
    let group = this.groups.get(member.groupName)
    if (group === undefined) this.groups.set(member.groupName, group = new GroupState(member.groupName, this.host.core.groupIndex(member.groupName, true)))
    if (group.members.size > 0 && group.assignor !== assignor) {
      throw new InvalidArgumentError(`group ${group.name} uses assignor ${group.assignor!.name}; a member cannot join with ${assignor.name}`, { argument: 'assignor' })
    }
    group.assignor = assignor
    group.members.set(member.id, member)
    this.schedule(group)
  }

  changed(member: MemberEndpoint): void {
    const group = this.groups.get(member.groupName)
    if (group?.members.has(member.id)) this.schedule(group)
  }

  leave(member: MemberEndpoint): Promise<void> {
    const group = this.groups.get(member.groupName)
    if (group === undefined || !group.members.delete(member.id)) return Promise.resolve()
    for (const [k, owner] of group.owners) if (owner.member === member.id) group.owners.delete(k)
    return new Promise((resolve) => {
      group.leaving.push(resolve)
      this.schedule(group)
    })
  }

  /** Who owns what in `group` now (member id -> partitions); undefined for a group nobody joined. */
  assignments(group: string): Assignment | undefined {
    const state = this.groups.get(group)
    return state === undefined ? undefined : this.current(state)
  }

  /** The group's generation and member count, if it ever had members here. */
  describe(group: string): { generation: number; members: number } | undefined {
    const state = this.groups.get(group)
    return state === undefined ? undefined : { generation: state.generation, members: state.members.size }
  }

  /** The member that owns a partition now. */
  owner(group: string, topic: string, partition: number): string | undefined {
    return this.groups.get(group)?.owners.get(key(topic, partition))?.member
  }

  private current(group: GroupState): Assignment {
    const out: Assignment = {}
    for (const id of group.members.keys()) out[id] = []
    for (const owner of group.owners.values()) out[owner.member]?.push({ topic: owner.topic, partition: owner.partition })
    for (const list of Object.values(out)) list.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
    return out
  }

  /** The bus closes: no more rebalances; leaves resolve at once. */
  stop(): void {
    this.stopped = true
    for (const group of this.groups.values()) for (const resolve of group.leaving.splice(0)) resolve()
  }

  private stopped = false

  /** One rebalance at a time per group; a change during one makes it run again. */
  private schedule(group: GroupState): void {
    if (this.stopped) {
      for (const resolve of group.leaving.splice(0)) resolve()
      return
    }
    if (group.running) {
      group.again = true
      return
    }
    group.running = true
    queueMicrotask(() => void this.rebalance(group))
  }

  /** Reassigns the group's partitions; rebalanced(event) tells who owns what after every change of owners. */
  private async rebalance(group: GroupState): Promise<void> {
    const seen = new Map<MemberEndpoint, number>()
    try {
      do {
        group.again = false
        for (const member of group.members.values()) seen.set(member, member.requested)
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
      for (const member of group.members.values()) member.rebalanced(seen.get(member) ?? 0)
      for (const resolve of group.leaving.splice(0)) resolve()
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
    const moves: Array<{ member: MemberEndpoint; topic: Topic; partition: number }> = []
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
