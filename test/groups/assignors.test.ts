// The partition assignors of consumer groups: Kafka's documented examples as literal
// expectations, then properties over random groups (member ids, subsets of topics, 1..8
// partitions a topic) and random previous assignments (members that left, partitions that no
// longer exist, partitions claimed twice): every built-in's output passes checkAssignment and
// does not depend on input order; the sticky assignor is balanced and moves as little as balance
// allows; checkAssignment rejects corrupted outputs, naming what is wrong.
// The seed is fixed so that runs are reproducible; FC_SEED=<n> and FC_RUNS=<n> explore more.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errors } from '../../src/index.js'
import {
  assignors, checkAssignment, rangeAssignor, roundRobinAssignor, stickyAssignor,
  type Assignment, type Assignor, type AssignorMember, type TopicPartition,
} from '../../src/groups/assignors.js'

// ---- notation: 't0p2' is partition 2 of topic t0 --------------------------------------------------

const tp = (s: string): TopicPartition => {
  const [, topic, partition] = /^(.+)p(\d+)$/.exec(s)!
  return { topic: topic!, partition: Number(partition) }
}
const show = (a: Assignment): Record<string, string[]> =>
  Object.fromEntries(Object.entries(a).map(([id, list]) => [id, list.map((p) => `${p.topic}p${p.partition}`)]))
const parse = (a: Record<string, string[]>): Assignment => Object.fromEntries(Object.entries(a).map(([id, list]) => [id, list.map(tp)]))
/** { t0: 3 } -> t0p0, t0p1, t0p2 */
const topics = (counts: Record<string, number>): TopicPartition[] =>
  Object.entries(counts).flatMap(([topic, n]) => Array.from({ length: n }, (_, partition) => ({ topic, partition })))
const member = (id: string, ...subscribed: string[]): AssignorMember => ({ id, topics: subscribed })

// ---- literal examples -----------------------------------------------------------------------------

describe('range', () => {
  it("splits each topic into contiguous ranges (Kafka's example)", () => {
    const out = rangeAssignor.assign([member('C1', 't0', 't1'), member('C0', 't0', 't1')], topics({ t0: 3, t1: 3 }), {})
    expect(show(out)).toEqual({ C0: ['t0p0', 't0p1', 't1p0', 't1p1'], C1: ['t0p2', 't1p2'] })
  })

  it('gives the first (n mod m) subscribers one more, per topic, among that topic\'s subscribers only', () => {
    const out = rangeAssignor.assign(
      [member('a', 't', 'u'), member('b', 't'), member('c', 't', 'u'), member('d')],
      topics({ t: 7, u: 3, v: 2 }),
      {},
    )
    // v has no subscribers: its partitions are absent; d subscribes nothing and is present with []
    expect(show(out)).toEqual({ a: ['tp0', 'tp1', 'tp2', 'up0', 'up1'], b: ['tp3', 'tp4'], c: ['tp5', 'tp6', 'up2'], d: [] })
  })

  it('ranges over the partitions given, even when their numbers have gaps', () => {
    const out = rangeAssignor.assign([member('a', 't'), member('b', 't')], ['tp9', 'tp1', 'tp4'].map(tp), {})
    expect(show(out)).toEqual({ a: ['tp1', 'tp4'], b: ['tp9'] })
  })
})

describe('roundrobin', () => {
  it("deals all partitions round the members (Kafka's example)", () => {
    const out = roundRobinAssignor.assign([member('C0', 't0', 't1'), member('C1', 't0', 't1')], topics({ t0: 3, t1: 3 }), {})
    expect(show(out)).toEqual({ C0: ['t0p0', 't0p2', 't1p1'], C1: ['t0p1', 't1p0', 't1p2'] })
  })

  it("skips members that do not subscribe the partition's topic (Kafka's example)", () => {
    const out = roundRobinAssignor.assign(
      [member('C2', 't0', 't1', 't2'), member('C1', 't0', 't1'), member('C0', 't0')],
      topics({ t0: 1, t1: 2, t2: 3 }),
      {},
    )
    expect(show(out)).toEqual({ C0: ['t0p0'], C1: ['t1p0'], C2: ['t1p1', 't2p0', 't2p1', 't2p2'] })
  })

  it('leaves topics nobody subscribes unassigned', () => {
    const out = roundRobinAssignor.assign([member('a', 't'), member('b')], topics({ t: 2, u: 2 }), {})
    expect(show(out)).toEqual({ a: ['tp0', 'tp1'], b: [] })
  })
})

describe('cooperative-sticky', () => {
  const all = ['t0', 't1', 't2', 't3']

  it("balances a new group like Kafka's StickyAssignor example 1, and when C1 leaves moves only C1's partitions", () => {
    const parts = topics({ t0: 2, t1: 2, t2: 2, t3: 2 })
    const first = stickyAssignor.assign([member('C0', ...all), member('C1', ...all), member('C2', ...all)], parts, {})
    expect(show(first)).toEqual({ C0: ['t0p0', 't1p1', 't3p0'], C1: ['t0p1', 't2p0', 't3p1'], C2: ['t1p0', 't2p1'] })
    const after = stickyAssignor.assign([member('C0', ...all), member('C2', ...all)], parts, first)
    expect(show(after)).toEqual({ C0: ['t0p0', 't1p1', 't2p0', 't3p0'], C2: ['t0p1', 't1p0', 't2p1', 't3p1'] })
  })

  it("balances different subscriptions like Kafka's example 2, and when C0 leaves its partition goes to the least loaded", () => {
    const parts = topics({ t0: 1, t1: 2, t2: 3 })
    const members = [member('C0', 't0'), member('C1', 't0', 't1'), member('C2', 't0', 't1', 't2')]
    const first = stickyAssignor.assign(members, parts, {})
    expect(show(first)).toEqual({ C0: ['t0p0'], C1: ['t1p0', 't1p1'], C2: ['t2p0', 't2p1', 't2p2'] })
    const after = stickyAssignor.assign(members.slice(1), parts, first)
    expect(show(after)).toEqual({ C1: ['t0p0', 't1p0', 't1p1'], C2: ['t2p0', 't2p1', 't2p2'] })
  })

  it('a joining member takes the last partition of the most loaded member (ties: first by id), one at a time', () => {
    const previous = parse({ a: ['tp0', 'tp1', 'tp2', 'tp3'], b: ['tp4', 'tp5', 'tp6'] })
    const out = stickyAssignor.assign([member('a', 't'), member('b', 't'), member('c', 't')], topics({ t: 7 }), previous)
    // a (4) gives tp3; then a and b have 3 each and a, first by id, gives tp2
    expect(show(out)).toEqual({ a: ['tp0', 'tp1'], b: ['tp4', 'tp5', 'tp6'], c: ['tp2', 'tp3'] })
  })

  it('ignores members that left, partitions that are gone, unsubscribed topics and second claims', () => {
    const previous = parse({
      gone: ['tp0', 'tp1'],
      a: ['tp2', 'tp9', 'up0', 'xp0'], // tp9 and x no longer exist; a no longer subscribes u
      b: ['tp2', 'tp3', 'tp3'], // tp2 is a's (first by id); tp3 named twice
    })
    const out = stickyAssignor.assign([member('b', 't'), member('a', 't')], topics({ t: 4, u: 1 }), previous)
    expect(show(out)).toEqual({ a: ['tp0', 'tp2'], b: ['tp1', 'tp3'] })
  })

  it('does not move a partition to even out counts when no other member subscribes its topic', () => {
    const out = stickyAssignor.assign([member('a', 't'), member('b', 'u')], topics({ t: 5, u: 1 }), {})
    expect(show(out)).toEqual({ a: ['tp0', 'tp1', 'tp2', 'tp3', 'tp4'], b: ['up0'] })
  })

  it('hands out the partitions with the fewest subscribers first', () => {
    // u0 (2 subscribers) before t1 (3): u0 goes to b, t1 to c, and a keeps t0. In plain order
    // t1 would go to b and u0 to a, and then a (2) would have to give t0 to c (0).
    const members = [member('a', 't', 'u'), member('b', 't', 'u'), member('c', 't')]
    const out = stickyAssignor.assign(members, topics({ t: 2, u: 1 }), parse({ a: ['tp0'] }))
    expect(show(out)).toEqual({ a: ['tp0'], b: ['up0'], c: ['tp1'] })
  })

  it('to rebalance, moves a partition handed out this round before one its owner kept', () => {
    // a keeps up0; the free ones go to the least loaded: t0 to b, u1 to c, v0..v3 to a and b in
    // turn. a and b then have 3 and c 1: b's t0 (handed out) moves to c, not a's up0 (kept).
    const members = [member('a', 'u', 'v'), member('b', 't', 'v'), member('c', 't', 'u')]
    const out = stickyAssignor.assign(members, topics({ t: 1, u: 2, v: 4 }), parse({ a: ['up0'] }))
    expect(show(out)).toEqual({ a: ['up0', 'vp0', 'vp2'], b: ['vp1', 'vp3'], c: ['tp0', 'up1'] })
  })
})

describe('every built-in', () => {
  it('is in `assignors` under its name, and nothing else is', () => {
    expect(Object.keys(assignors).sort()).toEqual(['cooperative-sticky', 'range', 'roundrobin'])
    for (const a of [rangeAssignor, roundRobinAssignor, stickyAssignor]) expect(assignors[a.name]).toBe(a)
    expect(assignors['constructor']).toBeUndefined()
    expect(Object.isFrozen(assignors)).toBe(true)
  })

  it.each(Object.values(assignors))('$name: treats member ids like __proto__ and constructor as ordinary ids', (assignor) => {
    const out = assignor.assign([member('__proto__', 't'), member('constructor', 't')], topics({ t: 2 }), parse({ constructor: ['tp1'] }))
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor'])
    expect([...out['__proto__']!, ...out['constructor']!].map((p) => p.partition).sort()).toEqual([0, 1])
  })

  it.each(Object.values(assignors))('$name: gives every member [] when there is nothing to assign', (assignor) => {
    expect(show(assignor.assign([member('b', 't'), member('a')], [], {}))).toEqual({ a: [], b: [] })
    expect(show(assignor.assign([], topics({ t: 2 }), {}))).toEqual({})
  })

  it.each(Object.values(assignors))('$name: refuses two members with one id and a partition given twice', (assignor) => {
    const dupMember = () => assignor.assign([member('a', 't'), member('a', 't')], topics({ t: 1 }), {})
    expect(dupMember).toThrow(errors.InvalidArgumentError)
    expect(dupMember).toThrow(`assignor '${assignor.name}': member id "a" appears twice`)
    const dupPartition = () => assignor.assign([member('a', 't')], ['tp0', 'tp0'].map(tp), {})
    expect(dupPartition).toThrow('partition t-0 appears twice')
    try {
      assignor.assign([member('a', 't')], [{ topic: 't', partition: -1 }], {})
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(errors.InvalidArgumentError)
      expect((e as errors.InvalidArgumentError).argument).toBe('partitions')
    }
  })
})

describe('checkAssignment', () => {
  const members = [member('a', 't'), member('b', 't', 'u')]
  const parts = topics({ t: 2, u: 1, v: 1 })
  const check = (result: unknown) => () => checkAssignment('mine', members, parts, result)

  it('returns a sorted copy with every member present', () => {
    const result = { b: [tp('up0'), { ...tp('tp1'), extra: true }], a: [tp('tp0')] }
    const out = checkAssignment('mine', members, parts, result)
    expect(show(out)).toEqual({ a: ['tp0'], b: ['tp1', 'up0'] })
    expect(out['b']![0]).toEqual({ topic: 't', partition: 1 }) // fields it does not know are dropped
    expect(show(checkAssignment('mine', [...members, member('c')], parts, result))).toEqual({ a: ['tp0'], b: ['tp1', 'up0'], c: [] })
  })

  it('says what is wrong, naming the assignor and the member or partition', () => {
    expect(check(null)).toThrow(`assignor 'mine' returned null, not an object of member id -> partitions`)
    expect(check([])).toThrow(`assignor 'mine' returned an array`)
    expect(check(new Map())).toThrow(`assignor 'mine' returned a Map object`)
    expect(check({ a: 'tp0' })).toThrow(`assignor 'mine' gave member "a" "tp0", not an array of partitions`)
    expect(check({ a: [7] })).toThrow(`assignor 'mine' gave member "a" 7, not a { topic, partition }`)
    expect(check({ a: ['tp0', 'tp1'].map(tp), b: ['up0', 'zp0'].map(tp) })).toThrow(`assignor 'mine' gave member "b" partition z-0, which does not exist`)
    expect(check({ a: ['tp0', 'tp0', 'tp1'].map(tp), b: [tp('up0')] })).toThrow(`assignor 'mine' gave member "a" partition t-0 twice`)
    expect(check({ a: ['tp0', 'tp1'].map(tp), b: ['tp1', 'up0'].map(tp) })).toThrow(`assignor 'mine' gave partition t-1 to both "a" and "b"`)
    expect(check({ a: ['tp0', 'tp1', 'up0'].map(tp), b: [] })).toThrow(`assignor 'mine' gave partition u-0 to member "a", which does not subscribe u`)
    expect(check({ a: ['tp0', 'tp1'].map(tp), b: [tp('up0')], c: [] })).toThrow(`assignor 'mine' assigned partitions to "c", which is not a member of the group`)
    expect(check({ a: [tp('tp0')], b: [tp('up0')] })).toThrow(`assignor 'mine' left partition t-1 unassigned, though "a" subscribes t`)
    expect(check({ a: ['tp0', 'tp1', 'vp0'].map(tp), b: [tp('up0')] })).toThrow(`which does not subscribe v`) // nobody subscribes v
  })

  it('throws InvalidArgumentError carrying the assignor, member and partition', () => {
    try {
      check({ a: ['tp0', 'tp1', 'up0'].map(tp), b: [] })()
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(errors.InvalidArgumentError)
      expect(e).toMatchObject({ argument: 'assignor', assignor: 'mine', member: 'a', topic: 'u', partition: 0 })
    }
  })
})

// ---- properties -----------------------------------------------------------------------------------

const SEED = Number(process.env.FC_SEED ?? 0x67726f75)
const RUNS = Number(process.env.FC_RUNS ?? 400)
const settings = (offset: number) => ({ numRuns: RUNS, seed: SEED + offset })

interface Case { members: AssignorMember[]; partitions: TopicPartition[]; previous: Assignment; seed: number }

const TOPICS = ['t0', 't1', 't2', 't3']
const memberId = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Array.from({ length: 10 }, (_, i) => `m${i}`)) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '', 'M1') },
  { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
)

/**
 * A group: 1..4 topics of 1..8 partitions, up to `maxMembers` members subscribing random subsets
 * of them (all the same one when `homogeneous`), and a random previous assignment naming current
 * and departed members, existing and gone partitions, some of them twice.
 */
const groupArb = ({ homogeneous = false, minMembers = 0, maxMembers = 8 } = {}): fc.Arbitrary<Case> =>
  fc.record({
    counts: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: TOPICS.length }),
    ids: fc.uniqueArray(memberId, { minLength: minMembers, maxLength: maxMembers }),
    seed: fc.integer(),
  }).chain(({ counts, ids, seed }) => {
    const names = TOPICS.slice(0, counts.length)
    const partitions = topics(Object.fromEntries(names.map((t, i) => [t, counts[i]!])))
    // 'tx' has no partitions: a subscription to it gives nothing
    const subset = fc.subarray([...names, 'tx'])
    const previousPool = [...partitions, tp('t0p99'), tp('zzp0')]
    const previous = fc.dictionary(
      fc.constantFrom(...ids, 'gone', 'left'),
      fc.array(fc.constantFrom(...previousPool), { maxLength: partitions.length }),
      { maxKeys: ids.length + 2 },
    )
    return fc.record({
      members: homogeneous
        ? subset.map((shared) => ids.map((id) => member(id, ...shared)))
        : fc.tuple(...ids.map(() => subset)).map((subs) => ids.map((id, i) => member(id, ...subs[i]!))),
      partitions: fc.constant(partitions),
      previous,
      seed: fc.constant(seed),
    })
  })

/** A seeded Fisher-Yates shuffle (mulberry32), so a case's shuffled copy is reproducible. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** The same case in another order: members, their topics, partitions, previous's keys and lists. */
const shuffled = (c: Case): Case => ({
  members: shuffle(c.members, c.seed).map((m, i) => member(m.id, ...shuffle(m.topics, c.seed + i))),
  partitions: shuffle(c.partitions, c.seed + 1).map((p) => ({ ...p })),
  previous: Object.fromEntries(shuffle(Object.entries(c.previous), c.seed + 2).map(([id, list], i) => [id, shuffle(list, c.seed + i)])),
  seed: c.seed,
})

const key = (p: TopicPartition) => `${p.topic}-${p.partition}`
/** partition key -> owner id */
const owners = (a: Assignment): Map<string, string> => new Map(Object.entries(a).flatMap(([id, list]) => list.map((p) => [key(p), id] as const)))
const counts = (a: Assignment): Map<string, number> => new Map(Object.entries(a).map(([id, list]) => [id, list.length]))

/** Kafka's balance rule: no partition could move to a subscriber of its topic with 2 fewer. */
function unbalanced(a: Assignment, members: readonly AssignorMember[]): string | undefined {
  const count = counts(a)
  for (const [id, list] of Object.entries(a)) {
    for (const p of list) {
      const other = members.find((m) => m.topics.includes(p.topic) && count.get(m.id)! <= list.length - 2)
      if (other !== undefined) return `${key(p)} could move from ${id} (${list.length}) to ${other.id} (${count.get(other.id)})`
    }
  }
  return undefined
}

/**
 * What each member may keep of `previous`, by the rule the assignor states (a model, written
 * again here): partitions that exist and it subscribes; a partition claimed twice is the
 * claimant's first by id.
 */
function keepable(c: Case): Map<string, string> {
  const exists = new Set(c.partitions.map(key))
  const claimed = new Map<string, string>()
  for (const m of [...c.members].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    for (const p of Object.hasOwn(c.previous, m.id) ? c.previous[m.id]! : []) {
      if (exists.has(key(p)) && m.topics.includes(p.topic) && !claimed.has(key(p))) claimed.set(key(p), m.id)
    }
  }
  return claimed
}

/**
 * The most partitions a balanced assignment can leave with their previous owner when every
 * member subscribes the same topics: the n mod m larger shares go to the members that could keep
 * the most, and each member keeps min(what it may keep, its share).
 */
function mostKeepable(memberCount: number, assignable: number, mayKeep: number[]): number {
  const floor = Math.floor(assignable / memberCount)
  const extra = assignable % memberCount
  return [...mayKeep, ...Array(memberCount - mayKeep.length).fill(0)]
    .sort((a, b) => b - a)
    .reduce((sum, n, i) => sum + Math.min(n, floor + (i < extra ? 1 : 0)), 0)
}

const assignable = (c: Case): TopicPartition[] => c.partitions.filter((p) => c.members.some((m) => m.topics.includes(p.topic)))
const builtIns: Assignor[] = [rangeAssignor, roundRobinAssignor, stickyAssignor]

describe('properties', () => {
  it.each(builtIns)('$name: the output passes checkAssignment and does not depend on input order', (assignor) => {
    fc.assert(fc.property(groupArb(), (c) => {
      const out = assignor.assign(c.members, c.partitions, c.previous)
      expect(checkAssignment(assignor.name, c.members, c.partitions, out)).toEqual(out)
      // every member, in one order (JavaScript lists integer-like keys such as '0' first, whatever
      // the insertion order, so the order is compared between runs, not with the sorted ids)
      expect(Object.keys(out).sort()).toEqual(c.members.map((m) => m.id).sort())
      const again = shuffled(c)
      const other = assignor.assign(again.members, again.partitions, again.previous)
      expect(other).toEqual(out)
      expect(Object.keys(other)).toEqual(Object.keys(out))
    }), settings(builtIns.indexOf(assignor)))
  })

  it('range and roundrobin ignore the previous assignment; with one subscription, counts differ by at most 1', () => {
    fc.assert(fc.property(groupArb({ homogeneous: true }), (c) => {
      const range = rangeAssignor.assign(c.members, c.partitions, c.previous)
      const roundRobin = roundRobinAssignor.assign(c.members, c.partitions, c.previous)
      expect(rangeAssignor.assign(c.members, c.partitions, {})).toEqual(range)
      expect(roundRobinAssignor.assign(c.members, c.partitions, {})).toEqual(roundRobin)
      const spread = (xs: number[]) => (xs.length === 0 ? 0 : Math.max(...xs) - Math.min(...xs))
      expect(spread([...counts(roundRobin).values()])).toBeLessThanOrEqual(1)
      for (const topic of TOPICS) { // range balances each topic on its own
        expect(spread(Object.values(range).map((list) => list.filter((p) => p.topic === topic).length))).toBeLessThanOrEqual(1)
      }
    }), settings(10))
  })

  it('cooperative-sticky is balanced, and returns a balanced previous assignment unchanged', () => {
    fc.assert(fc.property(groupArb(), (c) => {
      const out = stickyAssignor.assign(c.members, c.partitions, c.previous)
      expect(unbalanced(out, c.members)).toBeUndefined()
      expect(stickyAssignor.assign(c.members, c.partitions, out)).toEqual(out)
    }), settings(11))
  })

  it('cooperative-sticky, one subscription: counts differ by at most 1 and it keeps as many previous owners as any balanced assignment could', () => {
    fc.assert(fc.property(groupArb({ homogeneous: true }), (c) => {
      const out = stickyAssignor.assign(c.members, c.partitions, c.previous)
      const n = [...counts(out).values()]
      if (n.length > 0) expect(Math.max(...n) - Math.min(...n)).toBeLessThanOrEqual(1)
      const mayKeep = keepable(c)
      const owner = owners(out)
      const kept = [...mayKeep].filter(([p, id]) => owner.get(p) === id).length
      const perMember = c.members.map((m) => [...mayKeep.values()].filter((id) => id === m.id).length)
      expect(kept).toBe(c.members.length === 0 ? 0 : mostKeepable(c.members.length, assignable(c).length, perMember))
    }), settings(12))
  })

  it('cooperative-sticky, one subscription: when a member leaves, only its partitions move', () => {
    fc.assert(fc.property(groupArb({ homogeneous: true, minMembers: 1 }), (c) => {
      const before = stickyAssignor.assign(c.members, c.partitions, c.previous)
      const leaver = c.members[Math.abs(c.seed) % c.members.length]!.id
      const rest = c.members.filter((m) => m.id !== leaver)
      const after = owners(stickyAssignor.assign(rest, c.partitions, before))
      for (const [p, id] of owners(before)) if (id !== leaver) expect(after.get(p), p).toBe(id)
    }), settings(13))
  })

  it('cooperative-sticky, one subscription: a joining member takes partitions only from members above the new share, and as few as balance needs', () => {
    fc.assert(fc.property(groupArb({ homogeneous: true }), (c) => {
      const before = stickyAssignor.assign(c.members, c.partitions, c.previous)
      const joiner = member('joiner', ...(c.members[0]?.topics ?? TOPICS))
      const members = [...c.members, joiner]
      const after = owners(stickyAssignor.assign(members, c.partitions, before))
      const n = assignable({ ...c, members }).length
      const share = Math.floor(n / members.length)
      const had = counts(before)
      const owned = owners(before).size
      let moved = 0
      for (const [p, id] of owners(before)) {
        if (after.get(p) === id) continue
        moved++
        expect(had.get(id), `${p} moved from ${id}`).toBeGreaterThan(share)
      }
      expect(moved).toBe(owned - mostKeepable(members.length, n, [...had.values()]))
    }), settings(14))
  })

  it('checkAssignment rejects a duplicate, an unknown member, an unsubscribed topic and a missing partition', () => {
    fc.assert(fc.property(groupArb({ minMembers: 1 }), fc.nat(), (c, pick) => {
      const out = stickyAssignor.assign(c.members, c.partitions, c.previous)
      const owned = [...owners(out)]
      fc.pre(owned.length > 0)
      const [p, id] = owned[pick % owned.length]!
      const victim = tp(p.replace(/-(\d+)$/, 'p$1'))
      const copy = (): Record<string, TopicPartition[]> => Object.fromEntries(Object.entries(out).map(([m, list]) => [m, [...list]]))
      const expectRejected = (result: unknown, message: string) => {
        const attempt = () => checkAssignment('prop', c.members, c.partitions, result)
        expect(attempt).toThrow(errors.InvalidArgumentError)
        expect(attempt).toThrow(`assignor 'prop' `)
        expect(attempt).toThrow(message)
      }

      const duplicate = copy()
      const other = c.members.find((m) => m.id !== id && m.topics.includes(victim.topic))
      duplicate[other?.id ?? id]!.push(victim)
      expectRejected(duplicate, `partition ${p}`)

      const unknown = copy()
      const stranger = 'x'.repeat(4) + c.members.map((m) => m.id).join('')
      unknown[stranger] = []
      expectRejected(unknown, `${JSON.stringify(stranger)}, which is not a member`)

      const outsider = c.members.find((m) => !m.topics.includes(victim.topic))
      if (outsider !== undefined) {
        const unsubscribed = copy()
        unsubscribed[id] = unsubscribed[id]!.filter((q) => key(q) !== p)
        unsubscribed[outsider.id]!.push(victim)
        expectRejected(unsubscribed, `gave partition ${p} to member ${JSON.stringify(outsider.id)}, which does not subscribe ${victim.topic}`)
      }

      const missing = copy()
      missing[id] = missing[id]!.filter((q) => key(q) !== p)
      expectRejected(missing, `left partition ${p} unassigned`)
    }), settings(15))
  })
})
