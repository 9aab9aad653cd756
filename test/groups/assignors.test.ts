// The partition assignors of consumer groups: Kafka's documented examples as literal
// expectations, the sticky assignor's choices on small groups, and checkAssignment's answer to
// every way a result can be wrong.
import { describe, expect, it } from 'vitest'
import { errors } from '../../src/index.js'
import {
  assignors, checkAssignment, rangeAssignor, roundRobinAssignor, stickyAssignor,
  type Assignment, type AssignorMember, type TopicPartition,
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
