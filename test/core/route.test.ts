// The routing core: RabbitMQ's exchanges (direct, fanout, topic, headers), bindings to queues,
// topics and other exchanges, alternate exchanges, on tables every thread shares. Every
// single-thread test runs against both builds (shared and plain memory); worker threads race on
// one shared core at the end.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errorOf } from '../expect-error.js'
import { nextMessage, useCoreThreads } from '../threads.js'
import { Model, type Headers, topicMatches } from './route-model.js'
import rabbit from './fixtures/rabbit-topic-routing.json' with { type: 'json' }
import {
  CTL_ROUTE, ROUTE_ARRAY_SLOTS, ROUTE_B_DEST, ROUTE_B_DEST_NEXT, ROUTE_B_KEY, ROUTE_B_KEY_LENGTH, ROUTE_B_SOURCE_NEXT, ROUTE_D_BINDINGS,
  ROUTE_EPOCH, ROUTE_EXCHANGES, ROUTE_LOCK, ROUTE_OP_BIND, ROUTE_OP_UNBIND, ROUTE_PENDING, ROUTE_PENDING_OP, ROUTE_X_BINDINGS,
} from '../../src/core/abi.js'
import { LogCore } from '../../src/core/log.js'
import { type Destination, type ExchangeType, type HeadersMatch, decodeDestination, encodeHeaderTable } from '../../src/core/routes.js'
import { RouteCache } from '../../src/exchanges/route-cache.js'

const q = (id: number): Destination => ({ kind: 'queue', id })
const sorted = (codes: Int32Array): number[] => [...codes].sort((a, b) => a - b)

describe.each([{ shared: true }, { shared: false }])('routing (shared: $shared)', ({ shared }) => {
  const make = (routeBytes?: number) => LogCore.create({ maxBytes: 1 << 20, shared, segmentBytes: 8192, lanes: 2, routeBytes })

  it("replays RabbitMQ's topic routing test table (routing_SUITE topic1)", async () => {
    const { routes } = await make()
    const x = routes.declare('topic_matching-exchange', 'topic')
    const queue = (name: string) => Number(name.slice(1))
    for (const b of rabbit.bindings) {
      const args = 'args' in b ? { match: 'all' as const, table: encodeHeaderTable(b.args as Headers) } : undefined
      expect(routes.bind(x, q(queue(b.queue)), b.key, args)).toBe(true)
    }
    const check = (table: Array<{ key: string; queues: string[] }>) => {
      for (const { key, queues } of table) {
        expect({ key, queues: sorted(routes.route(x, key)) }).toEqual({ key, queues: queues.map(queue).sort((a, b) => a - b) })
      }
    }
    check(rabbit.expect)
    for (const n of rabbit.removed) {
      const b = rabbit.bindings[n - 1]!
      const args = 'args' in b ? { match: 'all' as const, table: encodeHeaderTable(b.args as Headers) } : undefined
      expect(routes.unbind(x, q(queue(b.queue)), b.key, args)).toBe(true)
    }
    check(rabbit.expectAfterRemoval)
    // the suite deletes the exchange; unbinding every queue leaves nothing to match either
    for (const b of rabbit.bindings) routes.unbindAll(q(queue(b.queue)))
    check(rabbit.expectAfterDelete)
    expect(routes.count().bindings).toBe(0)
  })

  it('direct: exact key equality, one hash lookup; * and # are plain characters', async () => {
    const { routes } = await make()
    const x = routes.declare('d', 'direct')
    routes.bind(x, q(1), 'a.b')
    routes.bind(x, q(2), '*')
    routes.bind(x, q(3), '')
    routes.bind(x, q(4), 'A.b')
    for (let i = 0; i < 500; i++) routes.bind(x, q(100 + i), `key-${i}`)
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1])
    expect(sorted(routes.route(x, 'a.c'))).toEqual([])
    expect(sorted(routes.route(x, 'x'))).toEqual([])
    expect(sorted(routes.route(x, '*'))).toEqual([2])
    expect(sorted(routes.route(x, ''))).toEqual([3])
    expect(sorted(routes.route(x, 'A.b'))).toEqual([4])
    expect(sorted(routes.route(x, 'key-321'))).toEqual([421])
    expect(sorted(routes.route(x, 'key-3210'))).toEqual([])
  })

  it('fanout: every binding whatever the key; a queue bound twice gets one copy', async () => {
    const { routes } = await make()
    const x = routes.declare('f', 'fanout')
    expect(routes.bind(x, q(1), '')).toBe(true)
    expect(routes.bind(x, q(1), 'other')).toBe(true) // another binding (the key is part of its identity)
    expect(routes.bind(x, q(2), 'x')).toBe(true)
    expect(routes.bind(x, { kind: 'topic', id: 7 }, '')).toBe(true)
    const codes = sorted(routes.route(x, 'anything'))
    expect(codes).toEqual([1, 2, (1 << 24) | 7])
    expect(codes.map(decodeDestination)).toEqual([q(1), q(2), { kind: 'topic', id: 7 }])
    expect(routes.route(x, '')).toHaveLength(3)
  })

  it('topic: the empty key is zero words, empty words count, * is exactly one word, # any number anywhere', async () => {
    const { routes } = await make()
    const x = routes.declare('t', 'topic')
    const patterns = ['', '#', '*', '*.*', 'a.#', '#.#', 'a.#.b', '#.*', 'a..b', 'a.*.b', '.', 'a.', '.a', '#.b.#', '*.#.*', 'a.*.#', '#.#.#.a']
    patterns.forEach((p, i) => routes.bind(x, q(i), p))
    const keys = ['', 'a', 'b', '.', 'a.b', 'a..b', 'a.x.b', 'a.x.y.b', 'a.', '.a', '..', 'b.a', 'x.b.y', 'a.a.a.a', 'a.b.a']
    for (const key of keys) {
      const expected = patterns.map((p, i) => (topicMatches(p, key) ? i : -1)).filter((i) => i >= 0)
      expect({ key, routes: sorted(routes.route(x, key)) }).toEqual({ key, routes: expected })
    }
    // spot checks of the rules themselves, so the model cannot drift with the code
    const hits = (key: string) => sorted(routes.route(x, key)).map((i) => patterns[i])
    expect(hits('')).toEqual(['', '#', '#.#'])
    expect(hits('a')).toEqual(expect.arrayContaining(['*', 'a.#', '#', '#.*', '#.#']))
    expect(hits('a')).not.toContain('a.')
    expect(hits('a..b')).toEqual(expect.arrayContaining(['a.#.b', 'a..b', 'a.*.b', '#.*', '*.#.*', 'a.*.#']))
    expect(hits('a..b')).not.toContain('*.*')
    expect(hits('.')).toEqual(expect.arrayContaining(['*.*', '.', '#.*', '*.#.*']))
    expect(hits('.')).not.toContain('*')
    expect(hits('a.')).toEqual(expect.arrayContaining(['a.', 'a.#', '*.*']))
    expect(hits('b.a')).toContain('#.#.#.a')
  })

  it('topic: keys and patterns of up to 255 UTF-8 bytes', async () => {
    const { routes } = await make()
    const x = routes.declare('t', 'topic')
    const longest = 'é'.repeat(127) + 'a' // 255 bytes
    const ascii = `${'w.'.repeat(127)}z` // 255 bytes, 128 words
    expect(routes.bind(x, q(1), longest)).toBe(true)
    expect(routes.bind(x, q(2), ascii)).toBe(true)
    expect(routes.bind(x, q(3), `${'*.'.repeat(127)}*`)).toBe(true)
    expect(sorted(routes.route(x, longest))).toEqual([1])
    expect(sorted(routes.route(x, ascii))).toEqual([2, 3])
    for (const key of ['é'.repeat(128), 'a'.repeat(256), `${ascii}x`]) {
      const bind = errorOf(() => routes.bind(x, q(1), key))
      expect(bind.name).toBe('InvalidArgumentError')
      expect((bind as { argument?: string }).argument).toBe('key')
      expect(errorOf(() => routes.route(x, key)).name).toBe('InvalidArgumentError')
    }
  })

  it("topic: many '#' in one pattern stay polynomial (RabbitMQ's topic_match_many_hashes)", async () => {
    const { routes } = await make()
    const x = routes.declare('t', 'topic')
    routes.bind(x, q(1), Array(15).fill('#').join('.'))
    routes.bind(x, q(2), Array(127).fill('#').join('.') + '.b')
    routes.bind(x, q(3), Array(64).fill('#').join('.') + '.*')
    expect(sorted(routes.route(x, Array(31).fill('a').join('.')))).toEqual([1, 3])
    expect(sorted(routes.route(x, Array(128).fill('a').join('.')))).toEqual([1, 3])
    expect(sorted(routes.route(x, Array(127).fill('a').join('.') + '.b'))).toEqual([1, 2, 3])
  })

  it('headers: all, any, all-with-x, any-with-x; void means present; x- keys; values by type and bytes', async () => {
    const { routes } = await make()
    const x = routes.declare('h', 'headers')
    const bind = (id: number, match: HeadersMatch, args: Headers | Record<string, unknown>) =>
      routes.bind(x, q(id), '', { match, table: encodeHeaderTable(args as Record<string, unknown>) })
    bind(1, 'all', { a: 1, b: 'x' })
    bind(2, 'any', { a: 1, b: 'x' })
    bind(3, 'all', { a: null })
    bind(4, 'all', { 'x-foo': 1 }) // only x- args: all matches everything
    bind(5, 'any', { 'x-foo': 1 }) // and any nothing
    bind(6, 'all-with-x', { 'x-foo': 1, a: 1 })
    bind(7, 'any-with-x', { 'x-foo': 1 })
    bind(8, 'all', {})
    bind(9, 'any', {})
    bind(10, 'all', { n: '1' })
    bind(11, 'all', { n: 1 })
    bind(12, 'all', { t: true })
    bind(13, 'all', { bytes: new Uint8Array([1, 2, 3]) })
    bind(14, 'all', { obj: { deep: [1, 2] } })
    bind(15, 'all-with-x', { 'x-match': 'ignored' }) // -with-x modes skip x-match only
    expect(routes.bind(x, q(16), 'key ignored')).toBe(true) // no args: all with no args
    const route = (headers?: Record<string, unknown>) =>
      sorted(routes.route(x, 'whatever', headers === undefined ? undefined : encodeHeaderTable(headers)))
    expect(route()).toEqual([4, 8, 15, 16])
    expect(route({ a: 1 })).toEqual([2, 3, 4, 8, 15, 16])
    expect(route({ a: 1, b: 'x', c: 3 })).toEqual([1, 2, 3, 4, 8, 15, 16])
    expect(route({ a: 0, b: 'x' })).toEqual([2, 3, 4, 8, 15, 16])
    expect(route({ a: null })).toEqual([3, 4, 8, 15, 16])
    expect(route({ a: '1' })).toEqual([3, 4, 8, 15, 16]) // '1' is not 1
    expect(route({ 'x-foo': 1, a: 1 })).toEqual([2, 3, 4, 6, 7, 8, 15, 16])
    expect(route({ 'x-foo': 2, a: 1 })).toEqual([2, 3, 4, 8, 15, 16])
    expect(route({ n: '1' })).toEqual([4, 8, 10, 15, 16])
    expect(route({ n: 1 })).toEqual([4, 8, 11, 15, 16])
    expect(route({ t: true })).toEqual([4, 8, 12, 15, 16])
    expect(route({ t: 1 })).toEqual([4, 8, 15, 16])
    expect(route({ bytes: new Uint8Array([1, 2, 3]) })).toEqual([4, 8, 13, 15, 16])
    expect(route({ bytes: new Uint8Array([1, 2]) })).toEqual([4, 8, 15, 16])
    expect(route({ obj: { deep: [1, 2] } })).toEqual([4, 8, 14, 15, 16])
    expect(route({ obj: { deep: [1, 3] } })).toEqual([4, 8, 15, 16])
    // -0 is encoded as 0
    routes.bind(x, q(17), '', { match: 'all', table: encodeHeaderTable({ z: -0 }) })
    expect(route({ z: 0 })).toEqual([4, 8, 15, 16, 17])
    expect(route({ z: -0 })).toEqual([4, 8, 15, 16, 17])
    expect(encodeHeaderTable({ n: -0 })).toEqual(encodeHeaderTable({ n: 0 }))
    // key order does not matter: the encoding sorts by key bytes
    expect(encodeHeaderTable({ b: 1, a: 2, é: 3, B: 4 })).toEqual(encodeHeaderTable({ é: 3, B: 4, a: 2, b: 1 }))
    // a malformed table is refused by the core
    const bad = encodeHeaderTable({ a: 1 }).slice(0, -1)
    expect(errorOf(() => routes.route(x, '', bad)).name).toBe('InvalidArgumentError')
    expect(errorOf(() => routes.bind(x, q(1), '', { match: 'all', table: bad })).name).toBe('InvalidArgumentError')
    const unsorted = new Uint8Array([...encodeHeaderTable({ b: 1, a: 1 })])
    unsorted[6] = 0x63 // the first key 'a' becomes 'c', after 'b'
    expect(errorOf(() => routes.route(x, '', unsorted)).name).toBe('InvalidArgumentError')
  })

  it('one copy per destination however many bindings and exchange-to-exchange paths lead to it; cycles are cut', async () => {
    const { routes } = await make()
    const top = routes.declare('top', 'fanout')
    const left = routes.declare('left', 'topic')
    const right = routes.declare('right', 'direct')
    const bottom = routes.declare('bottom', 'fanout')
    const e = (id: number): Destination => ({ kind: 'exchange', id })
    routes.bind(top, e(left), '')
    routes.bind(top, e(right), '')
    routes.bind(left, e(bottom), 'k.#')
    routes.bind(right, e(bottom), 'k')
    routes.bind(bottom, q(1), '')
    routes.bind(left, q(1), '#')
    routes.bind(left, q(1), 'k')
    routes.bind(right, q(2), 'k')
    routes.bind(bottom, e(top), '') // a cycle back to the top
    routes.bind(bottom, e(bottom), '') // and to itself
    expect(sorted(routes.route(top, 'k'))).toEqual([1, 2])
    expect(sorted(routes.route(bottom, 'k'))).toEqual([1, 2])
    expect(sorted(routes.route(top, 'x'))).toEqual([1])
    expect(sorted(routes.route(right, 'x'))).toEqual([])
  })

  it('alternate exchanges: an exchange whose bindings matched nothing hands the message on; chains, cycles, declared later', async () => {
    const { routes } = await make()
    const main = routes.declare('main', 'direct', 'ae1')
    expect(sorted(routes.route(main, 'nope'))).toEqual([]) // ae1 is not declared yet
    const ae1 = routes.declare('ae1', 'direct', 'ae2')
    routes.bind(ae1, q(10), 'k1')
    const ae2 = routes.declare('ae2', 'fanout', 'main') // a cycle back to main
    routes.bind(main, q(1), 'k')
    expect(sorted(routes.route(main, 'k'))).toEqual([1]) // matched: no alternate
    expect(sorted(routes.route(main, 'k1'))).toEqual([10])
    expect(sorted(routes.route(main, 'zz'))).toEqual([]) // main -> ae1 -> ae2 (no bindings) -> main: seen
    routes.bind(ae2, q(20), '')
    expect(sorted(routes.route(main, 'zz'))).toEqual([20])
    // ae1 routes 'k' nowhere, so ae2 (fanout) gets it; main is ae2's alternate but ae2 matched
    expect(sorted(routes.route(ae1, 'k'))).toEqual([20])
    // an exchange whose only match is an exchange binding did match: no alternate, even when that exchange routes nowhere
    const front = routes.declare('front', 'fanout', 'ae2')
    const empty = routes.declare('empty', 'topic')
    routes.bind(front, { kind: 'exchange', id: empty }, '')
    expect(sorted(routes.route(front, 'k'))).toEqual([])
    // but the exchange it reaches has its own alternate
    const empty2 = routes.declare('empty2', 'topic', 'ae2')
    routes.bind(front, { kind: 'exchange', id: empty2 }, '')
    expect(sorted(routes.route(front, 'k'))).toEqual([20])
    // an exchange naming itself
    const self = routes.declare('self', 'topic', 'self')
    expect(sorted(routes.route(self, 'k'))).toEqual([])
  })

  it('the version moves with every change of the tables, and only then', async () => {
    const { routes } = await make()
    let last = routes.version
    const moved = (): boolean => {
      const was = last
      last = routes.version
      return last !== was
    }
    const x = routes.declare('t', 'topic')
    expect(moved()).toBe(true)
    routes.route(x, 'a.b')
    routes.bindings(x)
    routes.count()
    expect(moved()).toBe(false)
    expect(routes.bind(x, q(1), 'a.*')).toBe(true)
    expect(moved()).toBe(true)
    expect(routes.bind(x, q(1), 'a.*')).toBe(false)
    expect(moved()).toBe(false)
    expect(routes.unbind(x, q(1), 'a.*')).toBe(true)
    expect(moved()).toBe(true)
    expect(routes.unbind(x, q(1), 'a.*')).toBe(false)
    expect(moved()).toBe(false)
    routes.bind(x, q(2), '#')
    moved()
    expect(routes.unbindAll(q(2))).toBe(1)
    expect(moved()).toBe(true)
    expect(routes.unbindAll(q(2))).toBe(0)
    expect(moved()).toBe(false)
  })

  it('a route cache answers what routing answers: keys past its bound, keys that never come back, tables changing', async () => {
    const { routes } = await make()
    const cache = new RouteCache(routes)
    const x = routes.declare('t', 'topic')
    // a second exchange, asked in turn with the first: each keeps its own routes
    const y = routes.declare('u', 'topic')
    for (let i = 0; i < 50; i++) routes.bind(x, q(i), i % 5 === 0 ? `k${i}.#` : `k${i}.*`)
    for (let i = 0; i < 50; i++) routes.bind(y, q(200 + i), `k${i}.#`)
    let turn = 0
    const check = (key: string) => {
      const e = turn++ % 3 === 0 ? y : x
      expect(sorted(cache.route(e, key).codes)).toEqual(sorted(routes.route(e, key)))
    }
    // 30,000 keys seen once each (the cache fills, finds them not worth keeping, routes without it for a while, tries again)
    for (let i = 0; i < 30_000; i++) check(`k${i % 60}.${i}`)
    // a few keys again and again, with the tables changing under them
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) check(`k${i % 60}.x`)
      if (round % 2 === 0) routes.bind(x, q(100 + round), `k${round}.x`)
      else routes.unbindAll(q(100 + round - 1))
    }
  })

  it('unbind, unbindAll and binding the same twice', async () => {
    const { routes } = await make()
    const x = routes.declare('t', 'topic')
    const y = routes.declare('f', 'fanout')
    expect(routes.bind(x, q(1), 'a.*')).toBe(true)
    expect(routes.bind(x, q(1), 'a.*')).toBe(false)
    expect(routes.bind(x, q(1), 'a.#')).toBe(true)
    expect(routes.bind(x, q(2), 'a.*')).toBe(true)
    expect(routes.bind(y, q(1), '')).toBe(true)
    expect(routes.count().bindings).toBe(4)
    expect(routes.unbind(x, q(1), 'a.b')).toBe(false)
    expect(routes.unbind(x, q(3), 'a.*')).toBe(false)
    expect(routes.unbind(x, q(1), 'a.*')).toBe(true)
    expect(routes.unbind(x, q(1), 'a.*')).toBe(false)
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2])
    expect(routes.bindings(x).map((b) => `${b.destination.id}:${b.key}`).sort()).toEqual(['1:a.#', '2:a.*'])
    expect(routes.unbindAll(q(1))).toBe(2)
    expect(routes.unbindAll(q(1))).toBe(0)
    expect(sorted(routes.route(x, 'a.b'))).toEqual([2])
    expect(sorted(routes.route(y, ''))).toEqual([])
    expect(routes.count().bindings).toBe(1)
    // args are part of a binding's identity
    const h = routes.declare('h', 'headers')
    const t1 = encodeHeaderTable({ a: 1 })
    expect(routes.bind(h, q(5), '', { match: 'all', table: t1 })).toBe(true)
    expect(routes.bind(h, q(5), '', { match: 'any', table: t1 })).toBe(true)
    expect(routes.bind(h, q(5), '', { match: 'all', table: encodeHeaderTable({ a: 1 }) })).toBe(false)
    expect(routes.bind(h, q(5), '')).toBe(true)
    expect(routes.bindings(h).map((b) => b.match ?? 'none').sort()).toEqual(['all', 'any', 'none'])
    expect(routes.unbind(h, q(5), '', { match: 'any', table: t1 })).toBe(true)
    expect(routes.unbind(h, q(5), '', { match: 'any', table: t1 })).toBe(false)
  })

  it('declares by name: the same type and alternate finds it, another type or alternate is a precondition failure', async () => {
    const { routes } = await make()
    const a = routes.declare('a', 'topic')
    const b = routes.declare('b', 'headers', 'a')
    expect(routes.declare('a', 'topic')).toBe(a)
    expect(routes.declare('b', 'headers', 'a')).toBe(b)
    expect(a).not.toBe(b)
    const type = errorOf(() => routes.declare('a', 'direct'))
    expect(type).toMatchObject({ name: 'InvalidArgumentError', exchange: 'a', reason: 'precondition', argument: 'type' })
    expect(type.message).toContain("inequivalent arg 'type'")
    expect(errorOf(() => routes.declare('b', 'headers'))).toMatchObject({ name: 'InvalidArgumentError', reason: 'precondition', argument: 'alternate' })
    expect(errorOf(() => routes.declare('b', 'headers', 'c'))).toMatchObject({ reason: 'precondition' })
    expect(routes.find('a')).toEqual({ id: a, type: 'topic', alternate: undefined })
    expect(routes.find('b')).toEqual({ id: b, type: 'headers', alternate: 'a' })
    expect(routes.find('nope')).toBeUndefined()
    expect(routes.name(b)).toBe('b')
    const unicode = routes.declare('é'.repeat(127) + 'x', 'fanout')
    expect(routes.name(unicode)).toBe('é'.repeat(127) + 'x')
    expect(routes.count().exchanges).toBe(3)
  })

  it('rejects bad input with typed errors', async () => {
    const { routes } = await make()
    const x = routes.declare('x', 'topic')
    const cases: Array<[() => unknown, string, string | undefined]> = [
      [() => routes.declare('', 'topic'), 'InvalidArgumentError', 'name'],
      [() => routes.declare('a'.repeat(256), 'topic'), 'InvalidArgumentError', 'name'],
      [() => routes.declare('\ud800', 'topic'), 'InvalidArgumentError', 'name'],
      [() => routes.declare('y', 'nope' as ExchangeType), 'InvalidArgumentError', 'type'],
      [() => routes.declare('y', 'topic', ''), 'InvalidArgumentError', 'alternate'],
      [() => routes.bind(x, q(1), 'a\udc00'), 'InvalidArgumentError', 'key'],
      [() => routes.bind(x, { kind: 'queue', id: -1 }, 'a'), 'InvalidArgumentError', 'destination'],
      [() => routes.bind(x, { kind: 'queue', id: 1 << 24 }, 'a'), 'InvalidArgumentError', 'destination'],
      [() => routes.bind(x, { kind: 'nope' as 'queue', id: 1 }, 'a'), 'InvalidArgumentError', 'destination'],
      [() => routes.bind(x, { kind: 'exchange', id: 99 }, 'a'), 'UnknownExchangeError', 'destination'],
      [() => routes.bind(99, q(1), 'a'), 'UnknownExchangeError', 'source'],
      [() => routes.bind(1.5, q(1), 'a'), 'InvalidArgumentError', 'source'],
      [() => routes.bind(x, q(1), 'a', { match: 'some' as HeadersMatch, table: encodeHeaderTable({}) }), 'InvalidArgumentError', 'args'],
      [() => routes.bind(x, q(1), 'a', { match: 'all', table: new Uint8Array(2) }), 'InvalidArgumentError', 'args'],
      [() => routes.route(99, 'a'), 'UnknownExchangeError', undefined],
      [() => routes.route(-1, 'a'), 'InvalidArgumentError', 'exchange'],
      [() => routes.route(x, 5 as unknown as string), 'InvalidArgumentError', 'key'],
      [() => routes.name(42), 'UnknownExchangeError', undefined],
      [() => encodeHeaderTable({ ['\ud800']: 1 }), 'InvalidArgumentError', 'headers'],
      [() => encodeHeaderTable([] as unknown as Record<string, unknown>), 'InvalidArgumentError', 'headers'],
    ]
    for (const [fn, name, argument] of cases) {
      const error = errorOf(fn)
      expect({ name: error.name, argument: (error as { argument?: string }).argument }).toEqual({ name, argument })
    }
    expect(routes.count()).toMatchObject({ exchanges: 1, bindings: 0 })
  })

  it('a full routing region refuses with BackPressureError (routes), changes nothing, and existing bindings keep working', async () => {
    const { routes } = await make(65536)
    const x = routes.declare('t', 'topic')
    const d = routes.declare('d', 'direct')
    let bound = 0
    let full: Error | undefined
    for (let i = 0; full === undefined; i++) {
      try {
        routes.bind(x, q(i), `w${i}.${'p'.repeat(i % 50)}.*.#`)
        routes.bind(d, q(i), `key-${i}-${'k'.repeat(i % 100)}`)
        bound = i + 1
      } catch (error) {
        full = error as Error
      }
    }
    expect(full).toMatchObject({ name: 'BackPressureError', reason: 'routes', retriable: true })
    expect(full!.message).toContain('routeBytes')
    const before = routes.count()
    // failing again changes nothing: same counts, same bytes
    for (let i = 0; i < 20; i++) {
      expect(errorOf(() => routes.bind(x, q(5000 + i), `z${i}.a.b.c.d.e.f.g.h.i.j.${'q'.repeat(200)}`)).name).toBe('BackPressureError')
    }
    expect(routes.count()).toEqual(before)
    expect(bound).toBeGreaterThan(50)
    for (let i = 0; i < bound; i++) {
      expect(sorted(routes.route(x, `w${i}.${'p'.repeat(i % 50)}.x`))).toEqual([i])
      expect(sorted(routes.route(d, `key-${i}-${'k'.repeat(i % 100)}`))).toEqual([i])
    }
    // room comes back with unbinding
    routes.unbindAll(q(0))
    routes.unbindAll(q(1))
    expect(routes.bind(x, q(9999), 'fits.again')).toBe(true)
  })

  it('binding and unbinding many times leaks no arena bytes', async () => {
    const { routes } = await make()
    const t = routes.declare('t', 'topic')
    const d = routes.declare('d', 'direct')
    const h = routes.declare('h', 'headers')
    const f = routes.declare('f', 'fanout')
    const baseline = routes.count()
    const churn = () => {
      for (let i = 0; i < 300; i++) {
        routes.bind(t, q(i), `a.${i}.*.#.${i % 7}`)
        routes.bind(t, q(i % 13), `#.${i}`)
        routes.bind(d, q(i), `k${i}`)
        routes.bind(h, q(i), '', { match: 'any', table: encodeHeaderTable({ i, s: 'x'.repeat(i % 40) }) })
        routes.bind(f, { kind: 'exchange', id: t }, `${i}`)
      }
      for (let i = 0; i < 300; i += 2) routes.unbind(t, q(i), `a.${i}.*.#.${i % 7}`)
      for (let i = 0; i < 300; i++) routes.unbindAll(q(i))
      for (let i = 0; i < 300; i++) routes.unbind(f, { kind: 'exchange', id: t }, `${i}`)
    }
    churn()
    expect(routes.count()).toEqual(baseline)
    // with bindings that stay, the bytes after each round are the same
    routes.bind(t, q(5000), 'keep.#')
    routes.bind(d, q(5001), 'keep')
    churn()
    const steady = routes.count()
    for (let round = 0; round < 3; round++) churn()
    expect(routes.count()).toEqual(steady)
    expect(sorted(routes.route(t, 'keep.x'))).toEqual([5000])
  })

  it('routes correctly across a wrap of the visit epoch', async () => {
    const core = await make()
    const { routes } = core
    const x = routes.declare('t', 'topic', 'alt')
    const alt = routes.declare('alt', 'fanout')
    routes.bind(x, q(1), 'a.#')
    routes.bind(x, q(2), '#.b')
    routes.bind(alt, q(3), '')
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2])
    const epoch = (core.layout.route + ROUTE_EPOCH) >> 2
    const words = new Uint32Array(core.memory.buffer)
    words[epoch] = 0xfffffffe
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2]) // epoch 0xffffffff
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2]) // wraps: stamps cleared, epoch 1
    expect(words[epoch]).toBe(1)
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2])
    expect(sorted(routes.route(x, 'c'))).toEqual([3])
  })

  it('returns a reused array and reports too many destinations', async () => {
    const { routes } = await make()
    const x = routes.declare('f', 'fanout')
    routes.bind(x, q(1), '')
    const first = routes.route(x, '')
    expect([...first]).toEqual([1])
    expect(routes.route(x, '')).toBe(first)
    for (let i = 2; i <= 16385; i++) routes.bind(x, q(i), '')
    expect(errorOf(() => routes.route(x, ''))).toMatchObject({ name: 'InvalidArgumentError', max: 16384 })
    routes.unbind(x, q(16385), '')
    expect(routes.route(x, '')).toHaveLength(16384)
  })

  it('agrees with a reference model on random bind/unbind/route sequences (topic, direct, headers, exchange-to-exchange)', async () => {
    const words = ['a', 'b', '', 'c']
    const word = fc.constantFrom(...words)
    const patternWord = fc.constantFrom(...words, '*', '#')
    const key = fc.array(word, { maxLength: 4 }).map((w) => w.join('.'))
    const pattern = fc.array(patternWord, { maxLength: 4 }).map((w) => w.join('.'))
    const headers = fc.dictionary(fc.constantFrom('a', 'b', 'x-c'), fc.oneof(fc.constantFrom(1, 2, '1', true, null)), { maxKeys: 3 })
    const dest = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }).map((id) => ({ kind: 'queue' as const, id })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((id) => ({ kind: 'exchange' as const, id })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((id) => ({ kind: 'topic' as const, id })) },
    )
    const op = fc.oneof(
      fc.record({ op: fc.constant('bind' as const), source: fc.nat(5), dest, pattern, match: fc.constantFrom<HeadersMatch>('all', 'any', 'all-with-x', 'any-with-x'), args: headers }),
      fc.record({ op: fc.constant('unbind' as const), source: fc.nat(5), dest, pattern, match: fc.constantFrom<HeadersMatch>('all', 'any', 'all-with-x', 'any-with-x'), args: headers }),
      fc.record({ op: fc.constant('unbindAll' as const), dest }),
      fc.record({ op: fc.constant('route' as const), source: fc.nat(5), key, headers }),
    )
    const types: ExchangeType[] = ['topic', 'direct', 'headers', 'topic', 'fanout', 'direct']
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.array(fc.option(fc.nat(5), { nil: undefined }), { minLength: 6, maxLength: 6 }), async (ops, alternates) => {
      const { routes } = await make()
      const model = new Model()
      types.forEach((type, i) => {
        const alternate = alternates[i] === undefined ? undefined : `x${alternates[i]}`
        const id = routes.declare(`x${i}`, type, alternate)
        model.declare(id, `x${i}`, type, alternate)
      })
      for (const o of ops) {
        if (o.op === 'route') {
          expect(sorted(routes.route(o.source, o.key, encodeHeaderTable(o.headers)))).toEqual(model.route(o.source, o.key, o.headers))
        } else if (o.op === 'unbindAll') {
          expect(routes.unbindAll(o.dest)).toBe(model.unbindAll((['queue', 'topic', 'exchange'].indexOf(o.dest.kind) << 24) | o.dest.id))
        } else {
          const headersExchange = types[o.source] === 'headers'
          const args = headersExchange ? { match: o.match, table: encodeHeaderTable(o.args) } : undefined
          const b = { source: o.source, dest: (['queue', 'topic', 'exchange'].indexOf(o.dest.kind) << 24) | o.dest.id, key: o.pattern,
            match: headersExchange ? o.match : undefined, args: headersExchange ? o.args : undefined }
          const done = o.op === 'bind' ? routes.bind(o.source, o.dest, o.pattern, args) : routes.unbind(o.source, o.dest, o.pattern, args)
          expect(done).toBe(o.op === 'bind' ? model.bind(b) : model.unbind(b))
        }
      }
      expect(routes.count().bindings).toBe(model.bindings.length)
      for (let source = 0; source < types.length; source++) {
        for (const k of ['', 'a', 'a.b', '.', 'a..c', 'c.b.a']) expect(sorted(routes.route(source, k))).toEqual(model.route(source, k))
      }
    }), { numRuns: 150 })
  })
})

describe('routing across worker threads (shared memory)', () => {
  const thread = useCoreThreads(new URL('./fixtures/route.mjs', import.meta.url))

  it.each([false, true])('threads binding, unbinding and routing at once end up with the tables the model says (through a route cache: %s)', async (cached) => {
    const core = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192, lanes: 4 })
    const { routes } = core
    const topic = routes.declare('t', 'topic')
    const direct = routes.declare('d', 'direct')
    const headers = routes.declare('h', 'headers')
    routes.bind(direct, { kind: 'exchange', id: topic }, 'to-topic')
    routes.bind(headers, q(9999), '', { match: 'any', table: encodeHeaderTable({ a: 1 }) })
    const go = new Int32Array(new SharedArrayBuffer(8))
    const keys = ['', 'a', 'a.b', 'a.b.c', 'b.a', 'x.y', 'to-topic', 'a..b', 'k1', 'k2']
    const workers = [0, 1, 2].map((i) => thread(core, 'churn', { topic, direct, headers, go, seed: i + 1, owner: i + 1, rounds: 3000, keys, cached }))
    Atomics.store(go, 0, 1)
    Atomics.notify(go, 0)
    const results = await Promise.all(workers.map((w) => nextMessage(w, 'done')))
    const model = new Model()
    model.declare(topic, 't', 'topic')
    model.declare(direct, 'd', 'direct')
    model.declare(headers, 'h', 'headers')
    model.bind({ source: direct, dest: (2 << 24) | topic, key: 'to-topic' })
    model.bind({ source: headers, dest: 9999, key: '', match: 'any', args: { a: 1 } })
    for (const r of results) {
      expect(r.mismatches).toEqual([])
      for (const b of r.bindings) model.bind(b)
    }
    expect(routes.count().bindings).toBe(model.bindings.length)
    for (const r of results) {
      expect(r.busy).toBe(0)
      for (const [i, key] of keys.entries()) {
        expect({ key, topic: r.final[i].topic, direct: r.final[i].direct }).toEqual({ key, topic: model.route(topic, key), direct: model.route(direct, key) })
        expect(sorted(routes.route(topic, key))).toEqual(model.route(topic, key))
      }
    }
  })

  it('recovers the route lock of a thread that died holding it, finishing the bind or unbind it was in', async () => {
    const core = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192, lanes: 4 })
    const { routes } = core
    const x = routes.declare('t', 'topic')
    routes.bind(x, q(1), 'a.#')
    routes.bind(x, q(2), 'a.b')
    const worker = thread(core, 'hold', { exchange: x })
    const held = await nextMessage(worker, 'holding')
    const words = new Int32Array(core.memory.buffer)
    const lock = (core.layout.route + ROUTE_LOCK) >> 2
    expect(Atomics.load(words, lock)).toBe(worker.token)
    expect(held.routed).toEqual([1, 2])
    // another thread cannot get in: it gives up with BackPressureError (busy)
    expect(errorOf(() => routes.route(x, 'a.b'))).toMatchObject({ name: 'BackPressureError', reason: 'busy' })
    await worker.terminate()
    expect(core.recoverLane(worker.token).released).toBeGreaterThanOrEqual(1)
    expect(Atomics.load(words, lock)).toBe(0)
    expect(sorted(routes.route(x, 'a.b'))).toEqual([1, 2, 3])
    expect(routes.count().bindings).toBe(3)

    // simulated: a thread died inside an unbind, with the binding on its lists still (the pending mark set)
    const region = core.layout.route
    const view = new DataView(core.memory.buffer)
    expect(view.getUint32(core.layout.ctl + CTL_ROUTE, true)).toBe(region)
    routes.bind(x, q(4), 'z.*')
    const before = routes.count().bytesUsed
    const binding = findBinding(core, x, 'z.*')
    view.setUint32(region + ROUTE_PENDING_OP, ROUTE_OP_UNBIND, true)
    view.setUint32(region + ROUTE_PENDING, binding, true)
    Atomics.store(words, lock, 777)
    expect(core.recoverLane(777).released).toBe(1)
    expect(view.getUint32(region + ROUTE_PENDING, true)).toBe(0)
    expect(sorted(routes.route(x, 'z.q'))).toEqual([])
    expect(routes.bindings(x).map((b) => b.key).sort()).toEqual(['#.b', 'a.#', 'a.b'])
    expect(routes.count().bindings).toBe(3)
    expect(routes.count().bytesUsed).toBeLessThan(before)
    // and everything goes on working
    expect(routes.bind(x, q(4), 'z.*')).toBe(true)
    expect(sorted(routes.route(x, 'z.q'))).toEqual([4])

    // simulated: a thread died inside a bind, with the binding linked on its node's list only (a
    // new binding is the head of all three lists, so unlinking it from two is two head stores)
    routes.bind(x, q(5), 'y.#')
    const fresh = findBinding(core, x, 'y.#')
    const record = view.getUint32(view.getUint32(region + ROUTE_EXCHANGES, true) + ROUTE_ARRAY_SLOTS + x * 4, true)
    const dest = view.getUint32(fresh + ROUTE_B_DEST, true)
    expect(view.getUint32(record + ROUTE_X_BINDINGS, true)).toBe(fresh)
    view.setUint32(record + ROUTE_X_BINDINGS, view.getUint32(fresh + ROUTE_B_SOURCE_NEXT, true), true)
    view.setUint32(dest + ROUTE_D_BINDINGS, view.getUint32(fresh + ROUTE_B_DEST_NEXT, true), true)
    expect(routes.bindings(x).map((b) => b.key)).not.toContain('y.#')
    view.setUint32(region + ROUTE_PENDING_OP, ROUTE_OP_BIND, true)
    view.setUint32(region + ROUTE_PENDING, fresh, true)
    Atomics.store(words, lock, 778)
    expect(core.recoverLane(778).released).toBe(1)
    expect(routes.bindings(x).map((b) => b.key).sort()).toEqual(['#.b', 'a.#', 'a.b', 'y.#', 'z.*'])
    expect(routes.count().bindings).toBe(5)
    expect(routes.unbindAll(q(5))).toBe(1) // found through its destination's list again
    expect(sorted(routes.route(x, 'y.a.b'))).toEqual([3])
    expect(routes.unbind(x, q(4), 'z.*')).toBe(true)
    expect(routes.count().bindings).toBe(3)
  })
})

/** The address of the binding with `key` on exchange `x` (from its source list), read in memory: tests only. */
function findBinding(core: LogCore, x: number, key: string): number {
  const view = new DataView(core.memory.buffer)
  const region = core.layout.route
  const array = view.getUint32(region + ROUTE_EXCHANGES, true)
  const record = view.getUint32(array + ROUTE_ARRAY_SLOTS + x * 4, true)
  const bytes = new TextEncoder().encode(key)
  for (let b = view.getUint32(record + ROUTE_X_BINDINGS, true); b !== 0; b = view.getUint32(b + ROUTE_B_SOURCE_NEXT, true)) {
    const length = view.getUint32(b + ROUTE_B_KEY_LENGTH, true)
    if (length === bytes.length && bytes.every((c, i) => view.getUint8(b + ROUTE_B_KEY + i) === c)) return b
  }
  throw new Error(`no binding ${key}`)
}
