// Partition assignors for consumer groups, after Kafka's RangeAssignor, RoundRobinAssignor and
// CooperativeStickyAssignor. Inside a group every partition of the subscribed topics has one
// owner; the coordinator calls an assignor on each rebalance and checks what it returned with
// checkAssignment (a user's assignor can return anything). Pure functions of their input: no bus,
// no clock, no randomness, so that any thread computing an assignment computes the same one.
//
// Every assignor works on the same normalised input (see prepare): members sorted by id,
// partitions sorted by (topic, partition), each referred to by its index in that order. Member
// ids are chosen by callers, so results are null-prototype objects: a member called '__proto__'
// or 'constructor' is an ordinary key.
import { InvalidArgumentError } from '../errors.js'

export interface TopicPartition { topic: string; partition: number }
/** A member as the assignor sees it: its id and the topics it subscribes to (names that exist now). */
export interface AssignorMember { id: string; topics: readonly string[] }
/** member id -> the partitions it owns, sorted by topic then partition. Every member id appears (maybe with []). */
export type Assignment = Record<string, TopicPartition[]>
export interface Assignor {
  readonly name: string
  /** Must be deterministic: the same input gives the same output, whatever the input order. */
  assign(members: readonly AssignorMember[], partitions: readonly TopicPartition[], previous: Readonly<Assignment>): Assignment
}

// ---- normalised input ---------------------------------------------------------------------------

/** Plain code-unit order, the same on every platform and locale (localeCompare is not). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

interface Input {
  members: AssignorMember[] // sorted by id
  memberIndex: Map<string, number>
  subscribes: Array<Set<string>> // by member index
  partitions: TopicPartition[] // sorted by topic, then partition
  /** topic -> partition number -> index in `partitions` */
  partitionIndex: Map<string, Map<number, number>>
  /** topic -> the indices of the members subscribing it, ascending (so by id) */
  subscribers: Map<string, number[]>
}

const NONE: readonly number[] = []
const subscribersOf = (input: Input, p: number): readonly number[] => input.subscribers.get(input.partitions[p]!.topic) ?? NONE
const name = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`

/** Checks and sorts what an assignor is given; `who` starts the messages ("assignor 'range'"). */
function prepare(who: string, members: readonly AssignorMember[], partitions: readonly TopicPartition[]): Input {
  const bad = (argument: string, message: string) => new InvalidArgumentError(`${who}: ${message}`, { argument })
  if (!Array.isArray(members as unknown)) throw bad('members', `members must be an array, got ${describe(members)}`)
  if (!Array.isArray(partitions as unknown)) throw bad('partitions', `partitions must be an array, got ${describe(partitions)}`)

  for (const m of members as unknown[]) {
    const member = m as Partial<AssignorMember> | null
    if (typeof member !== 'object' || member === null || typeof member.id !== 'string') throw bad('members', `a member must be { id: string, topics: string[] }, got ${describe(m)}`)
    if (!Array.isArray(member.topics) || !member.topics.every((t) => typeof t === 'string')) throw bad('members', `member ${JSON.stringify(member.id)}'s topics must be an array of strings`)
  }
  const sortedMembers = [...members].sort((a, b) => compare(a.id, b.id))
  const memberIndex = new Map<string, number>()
  sortedMembers.forEach((m, i) => {
    // an Assignment is keyed by id: two members with one id could not both be given partitions
    if (memberIndex.has(m.id)) throw bad('members', `member id ${JSON.stringify(m.id)} appears twice`)
    memberIndex.set(m.id, i)
  })

  for (const p of partitions as unknown[]) {
    const tp = p as Partial<TopicPartition> | null
    if (typeof tp !== 'object' || tp === null || typeof tp.topic !== 'string' || !Number.isSafeInteger(tp.partition) || tp.partition! < 0) {
      throw bad('partitions', `a partition must be { topic: string, partition: integer >= 0 }, got ${describe(p)}`)
    }
  }
  const sortedPartitions = partitions.map((p) => ({ topic: p.topic, partition: p.partition }))
    .sort((a, b) => compare(a.topic, b.topic) || a.partition - b.partition)
  const partitionIndex = new Map<string, Map<number, number>>()
  sortedPartitions.forEach((p, i) => {
    let numbers = partitionIndex.get(p.topic)
    if (numbers === undefined) partitionIndex.set(p.topic, (numbers = new Map()))
    if (numbers.has(p.partition)) throw bad('partitions', `partition ${name(p)} appears twice`)
    numbers.set(p.partition, i)
  })

  const subscribes = sortedMembers.map((m) => new Set(m.topics))
  const subscribers = new Map<string, number[]>()
  subscribes.forEach((topics, i) => {
    for (const topic of topics) {
      if (!partitionIndex.has(topic)) continue // a topic without partitions has nothing to assign
      const list = subscribers.get(topic)
      if (list === undefined) subscribers.set(topic, [i])
      else list.push(i)
    }
  })
  return { members: sortedMembers, memberIndex, subscribes, partitions: sortedPartitions, partitionIndex, subscribers }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value
}

/** owner: partition index -> member index, -1 for none. Partitions come out sorted because indices are. */
function output(input: Input, owner: Int32Array): Assignment {
  const result: Assignment = Object.create(null)
  const lists = input.members.map((m): TopicPartition[] => (result[m.id] = []))
  owner.forEach((m, p) => {
    if (m >= 0) lists[m]!.push({ ...input.partitions[p]! })
  })
  return result
}

// ---- range --------------------------------------------------------------------------------------

/**
 * Per topic, its subscribers (sorted by id) take contiguous ranges of its partitions; the first
 * (n mod m) take one more. Topics are independent, so with many topics the first members end up
 * with more partitions overall: that is Kafka's behaviour, kept because users choose range to get
 * the same partition numbers of co-partitioned topics on one member.
 */
export const rangeAssignor: Assignor = Object.freeze({
  name: 'range',
  assign(members: readonly AssignorMember[], partitions: readonly TopicPartition[]): Assignment {
    const input = prepare(`assignor 'range'`, members, partitions)
    const owner = new Int32Array(input.partitions.length).fill(-1)
    for (const [topic, numbers] of input.partitionIndex) {
      const subs = input.subscribers.get(topic)
      if (subs === undefined) continue
      // a topic's partitions are contiguous in the sorted order
      const first = Math.min(...numbers.values())
      const n = numbers.size
      const each = Math.floor(n / subs.length)
      const extra = n % subs.length
      subs.forEach((m, i) => {
        const start = i * each + Math.min(i, extra)
        const length = each + (i < extra ? 1 : 0)
        owner.fill(m, first + start, first + start + length)
      })
    }
    return output(input, owner)
  },
})

// ---- round robin --------------------------------------------------------------------------------

/**
 * All partitions in order, each to the next member (members in a circle sorted by id) that
 * subscribes its topic. Balanced when every member subscribes the same topics; otherwise members
 * that subscribe more can end up with far more (Kafka's behaviour too).
 */
export const roundRobinAssignor: Assignor = Object.freeze({
  name: 'roundrobin',
  assign(members: readonly AssignorMember[], partitions: readonly TopicPartition[]): Assignment {
    const input = prepare(`assignor 'roundrobin'`, members, partitions)
    const owner = new Int32Array(input.partitions.length).fill(-1)
    let next = 0
    input.partitions.forEach(({ topic }, p) => {
      // nobody subscribes: skip it, or the search below would go round forever
      if (!input.subscribers.has(topic)) return
      while (!input.subscribes[next]!.has(topic)) next = (next + 1) % input.members.length
      owner[p] = next
      next = (next + 1) % input.members.length
    })
    return output(input, owner)
  },
})

// ---- cooperative sticky -------------------------------------------------------------------------

/**
 * Balanced first, then sticky. Balanced: no partition could move from its owner to another
 * subscriber of its topic that has at least 2 fewer partitions (for members with the same
 * subscriptions, counts differ by at most 1). Sticky: subject to that, partitions stay with their
 * previous owner, so a rebalance revokes (and the member stops reading) as little as possible.
 * "Cooperative" is the coordinator's protocol (revoke what moves first, then hand it out); the
 * assignment itself follows the rules of Kafka's sticky assignors (not its exact tie-breaks).
 *
 * 1. Every member keeps the partitions it owned before that still exist and that it still
 *    subscribes (one claimed twice stays with the member first by id).
 * 2. The others are handed out one by one, to the least loaded subscriber (ties: first by id);
 *    those with the fewest subscribers go first, while there is still room to balance around them.
 * 3. While the result is unbalanced, one partition moves from the most loaded owner that has a
 *    movable one to its least loaded subscriber. A partition handed out in step 2 moves before
 *    any kept one (moving it costs nothing); among kept ones the last in order moves, so a
 *    member keeps its first partitions. Each move lowers the sum of squared counts by at least
 *    2 (a → a-1 and b → b+1 with a ≥ b+2), so the loop ends; it ends only when no move is left,
 *    which is the balance rule. A move looks at the giver's partitions and at the subscribers of
 *    their topics, so even 100 members joining one that owns 2000 partitions take ~0.1 s.
 *
 * With identical subscriptions this keeps the most partitions any balanced assignment can keep:
 * a member that had more than its share only gives and one that had less only receives, so a
 * joining member takes partitions only from members above their new share, and when a member
 * leaves only its own partitions move. With different subscriptions the best balanced
 * assignment is a harder problem; this is the same kind of greedy Kafka uses (against a brute
 * force search over small random groups it kept one partition fewer than possible in about 1
 * case in 500), and a balanced previous assignment of the same members and partitions is
 * returned unchanged.
 */
export const stickyAssignor: Assignor = Object.freeze({
  name: 'cooperative-sticky',
  assign(members: readonly AssignorMember[], partitions: readonly TopicPartition[], previous: Readonly<Assignment>): Assignment {
    const input = prepare(`assignor 'cooperative-sticky'`, members, partitions)
    const owner = keep(input, previous)
    const kept = owner.slice()
    const owned = input.members.map(() => new Set<number>())
    owner.forEach((m, p) => m >= 0 && owned[m]!.add(p))
    const count = (m: number) => owned[m]!.size

    // 2. hand out the rest, the most constrained first
    const waiting = [...owner.keys()].filter((p) => owner[p] === -1 && subscribersOf(input, p).length > 0)
    waiting.sort((a, b) => subscribersOf(input, a).length - subscribersOf(input, b).length || a - b)
    for (const p of waiting) {
      let to = -1
      for (const m of subscribersOf(input, p)) if (to === -1 || count(m) < count(to)) to = m
      owner[p] = to
      owned[to]!.add(p)
    }

    // 3. rebalance by single moves
    const findMove = (freeOnly: boolean): { p: number; from: number; to: number } | undefined => {
      const byLoad = [...owned.keys()].sort((a, b) => count(b) - count(a) || a - b)
      const least = byLoad.length === 0 ? 0 : count(byLoad[byLoad.length - 1]!)
      for (const from of byLoad) {
        if (count(from) - least < 2) break // nobody after this one can give either
        // per topic (candidates are per topic, not per partition), the last movable partition
        const last = new Map<string, number>()
        for (const p of owned[from]!) {
          const { topic } = input.partitions[p]!
          if ((!freeOnly || kept[p] !== from) && p > (last.get(topic) ?? -1)) last.set(topic, p)
        }
        let to = -1
        for (const topic of last.keys()) {
          for (const m of input.subscribers.get(topic)!) {
            if (count(m) <= count(from) - 2 && (to === -1 || count(m) < count(to) || (count(m) === count(to) && m < to))) to = m
          }
        }
        if (to === -1) continue
        let p = -1
        for (const [topic, q] of last) if (q > p && input.subscribes[to]!.has(topic)) p = q
        return { p, from, to }
      }
      return undefined
    }
    for (let move = findMove(true) ?? findMove(false); move !== undefined; move = findMove(true) ?? findMove(false)) {
      owned[move.from]!.delete(move.p)
      owned[move.to]!.add(move.p)
      owner[move.p] = move.to
    }
    return output(input, owner)
  },
})

/** Step 1 of the sticky assignor: what each member may keep of `previous` (partition -> member, -1). */
function keep(input: Input, previous: Readonly<Assignment>): Int32Array {
  const owner = new Int32Array(input.partitions.length).fill(-1)
  if (typeof previous !== 'object' || previous === null) return owner
  input.members.forEach((member, m) => {
    // own properties only: a member named 'constructor' had nothing before unless it is there
    const list: unknown = Object.hasOwn(previous, member.id) ? previous[member.id] : undefined
    if (!Array.isArray(list)) return
    for (const item of list as unknown[]) {
      const tp = item as Partial<TopicPartition> | null
      if (typeof tp !== 'object' || tp === null || typeof tp.topic !== 'string' || typeof tp.partition !== 'number') continue
      const p = input.partitionIndex.get(tp.topic)?.get(tp.partition)
      // gone, unsubscribed or already claimed by a member earlier by id: handed out again
      if (p === undefined || owner[p] !== -1 || !input.subscribes[m]!.has(tp.topic)) continue
      owner[p] = m
    }
  })
  return owner
}

// ---- by name ------------------------------------------------------------------------------------

/** The built-ins by name (a worker names one). Null prototype: assignors['constructor'] is undefined. */
export const assignors: Readonly<Record<string, Assignor>> = Object.freeze(Object.assign(Object.create(null), {
  [rangeAssignor.name]: rangeAssignor,
  [roundRobinAssignor.name]: roundRobinAssignor,
  [stickyAssignor.name]: stickyAssignor,
}))

// ---- checking a result --------------------------------------------------------------------------

/** Checks what an assignor (maybe a user's) returned; throws InvalidArgumentError saying what is wrong. */
export function checkAssignment(assignor: string, members: readonly AssignorMember[], partitions: readonly TopicPartition[], result: unknown): Assignment {
  const who = `assignor '${assignor}'`
  const input = prepare(who, members, partitions)
  const fail = (message: string, context: { member?: string; topic?: string; partition?: number } = {}) =>
    new InvalidArgumentError(`${who} ${message}`, { argument: 'assignor', assignor, ...context })

  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw fail(`returned ${describe(result)}, not an object of member id -> partitions`)
  }
  const proto: unknown = Object.getPrototypeOf(result)
  // a Map or a class instance would read as "no members given anything": say what it is instead
  if (proto !== Object.prototype && proto !== null) throw fail(`returned a ${result.constructor?.name ?? 'non-plain'} object, not a plain object of member id -> partitions`)

  const owner = new Int32Array(input.partitions.length).fill(-1)
  for (const id of Object.keys(result)) {
    const m = input.memberIndex.get(id)
    if (m === undefined) throw fail(`assigned partitions to ${JSON.stringify(id)}, which is not a member of the group`, { member: id })
    const list: unknown = (result as Record<string, unknown>)[id]
    if (!Array.isArray(list)) throw fail(`gave member ${JSON.stringify(id)} ${describe(list)}, not an array of partitions`, { member: id })
    for (const item of list as unknown[]) {
      const tp = item as Partial<TopicPartition> | null
      if (typeof tp !== 'object' || tp === null || typeof tp.topic !== 'string' || typeof tp.partition !== 'number') {
        throw fail(`gave member ${JSON.stringify(id)} ${describe(item)}, not a { topic, partition }`, { member: id })
      }
      const { topic, partition } = tp
      const where = { member: id, topic, partition }
      const p = input.partitionIndex.get(topic)?.get(partition)
      if (p === undefined) throw fail(`gave member ${JSON.stringify(id)} partition ${name(tp as TopicPartition)}, which does not exist`, where)
      if (owner[p] === m) throw fail(`gave member ${JSON.stringify(id)} partition ${name(tp as TopicPartition)} twice`, where)
      if (owner[p] !== -1) {
        throw fail(`gave partition ${name(tp as TopicPartition)} to both ${JSON.stringify(input.members[owner[p]!]!.id)} and ${JSON.stringify(id)}`, where)
      }
      if (!input.subscribes[m]!.has(topic)) throw fail(`gave partition ${name(tp as TopicPartition)} to member ${JSON.stringify(id)}, which does not subscribe ${topic}`, where)
      owner[p] = m
    }
  }
  owner.forEach((m, p) => {
    if (m !== -1 || subscribersOf(input, p).length === 0) return
    const tp = input.partitions[p]!
    throw fail(`left partition ${name(tp)} unassigned, though ${JSON.stringify(input.members[subscribersOf(input, p)[0]!]!.id)} subscribes ${tp.topic}`, tp)
  })
  return output(input, owner)
}
