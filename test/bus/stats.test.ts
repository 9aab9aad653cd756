import { describe, expect, it } from 'vitest'
import { manualClock } from '../../src/index.js'
import { collect, deferred, onlyWhere, replay, SMALL, turns, useBuses } from './helpers.js'

const newBus = useBuses()

describe('stats()', () => {
  it('is a plain JSON-serialisable object keyed by topic name', async () => {
    const bus = await newBus(SMALL)
    bus.topic('a', { partitions: 3, codec: 'json' })
    bus.topic('r', { codec: 'raw', retention: { maxBytes: 4096 } })
    const got = collect(bus, 'a', { from: 'earliest' })
    bus.on('#', () => {})
    for (let i = 0; i < 30; i++) bus.publish('a', { i }, { key: `k${i}` })
    for (let i = 0; i < 200; i++) bus.publish('r', new Uint8Array(64))
    bus.publish('auto', 'x')
    await bus.idle()
    expect(got).toHaveLength(30)
    const s = bus.stats()
    expect(Object.keys(s).sort()).toEqual(['a', 'auto', 'r'])
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
    expect(Object.getPrototypeOf(s)).toBe(null) // keyed by user-chosen names: no inherited keys
    expect(Object.getPrototypeOf(s.a)).toBe(Object.prototype)
    expect(Array.isArray(s.a.partitions)).toBe(true)
  })

  onlyWhere('liveStats')('is JSON-serialisable at creation time too (no NaN or Infinity rates)', async () => {
    const bus = await newBus({ clock: manualClock(0) })
    bus.topic('t')
    bus.publish('t', 1)
    const s = bus.stats()
    // structuredClone keeps undefined and NaN, which JSON would not, and gives plain prototypes
    expect(JSON.parse(JSON.stringify(s))).toStrictEqual(structuredClone(s))
    expect(Number.isFinite(s.t.publishRate)).toBe(true)
  })

  onlyWhere('liveStats')('has per-partition startOffset, endOffset, bytes, segments and evicted', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { partitions: 2, retention: { maxBytes: 4096 } })
    bus.topic('empty', { partitions: 2 })
    for (let i = 0; i < 300; i++) bus.publish('t', 'x'.repeat(50), { partition: 0 })
    bus.publish('t', 'y', { partition: 1 })
    const [p0, p1] = bus.stats().t.partitions
    expect(p0.partition).toBe(0)
    expect(p0.endOffset).toBe(300)
    expect(p0.startOffset).toBeGreaterThan(0)
    expect(p0.evicted).toBe(p0.startOffset)
    expect(p0.bytes).toBeGreaterThan(0)
    expect(p0.bytes).toBeLessThanOrEqual(4096)
    expect(p0.segments).toBeGreaterThanOrEqual(1)
    expect(p1).toMatchObject({ partition: 1, startOffset: 0, endOffset: 1, evicted: 0 })
    expect(p1.bytes).toBeGreaterThan(0)
    expect(p1.bytes).toBeLessThan(p0.bytes)
    for (const p of bus.stats().empty.partitions) expect(p).toMatchObject({ startOffset: 0, endOffset: 0, bytes: 0, evicted: 0 })
  })

  onlyWhere('liveStats')('counts published, delivered and readers', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    expect(bus.stats().t).toMatchObject({ codec: 'msgpack', published: 0, delivered: 0, skipped: 0, readers: 0 })
    const sub = bus.subscribe('t', () => {})
    expect(bus.stats().t.readers).toBe(1)
    bus.publish('t', 1)
    bus.publishBatch('t', [{ value: 2 }, { value: 3 }])
    bus.emit('t', 4)
    await bus.idle()
    expect(bus.stats().t).toMatchObject({ published: 4, delivered: 4, readers: 1 })
    const off = bus.on('t', () => {})
    const pattern = bus.subscribe('#', () => {})
    const iterator = bus.consume('t')
    expect(bus.stats().t.readers).toBe(4)
    off()
    await pattern.close()
    await iterator.return!()
    await sub.close()
    expect(bus.stats().t.readers).toBe(0)
    expect(bus.stats().t.published).toBe(4)
  })

  onlyWhere('liveStats')('rates are per second of the bus clock since the topic was created', async () => {
    const clock = manualClock(1_000)
    const bus = await newBus({ clock })
    bus.topic('t')
    bus.subscribe('t', () => {})
    for (let i = 0; i < 10; i++) bus.publish('t', i)
    await bus.idle()
    clock.advance(2_000)
    expect(bus.stats().t.publishRate).toBe(5)
    expect(bus.stats().t.deliverRate).toBe(5)
  })

  onlyWhere('liveStats')('returns a fresh snapshot that callers may change freely', async () => {
    const bus = await newBus()
    bus.publish('t', 1)
    const s = bus.stats()
    s.t.partitions[0].endOffset = 99
    s.t.published = 99
    delete (s as Record<string, unknown>).t
    expect(bus.stats().t.partitions[0].endOffset).toBe(1)
    expect(bus.stats().t.published).toBe(1)
  })
})

describe('topics named like members of Object.prototype', () => {
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']

  onlyWhere('syncAppend')('publish, subscribe, replay and stats treat them as any other name', async () => {
    const bus = await newBus()
    const live = names.map((name) => collect(bus, name))
    const wildcard = collect(bus, '#')
    for (const [i, name] of names.entries()) {
      if (i % 2 === 0) bus.topic(name, { partitions: 2 })
      expect(bus.publish(name, { i }, { key: name, headers: { name } }).offset).toBe(0)
      bus.publishBatch(name, [{ value: { i, second: true } }])
    }
    await bus.idle()
    const s = bus.stats()
    expect(Object.keys(s).sort()).toEqual([...names].sort())
    expect(Object.getPrototypeOf(s)).toBe(null)
    for (const [i, name] of names.entries()) {
      expect(Object.hasOwn(s, name)).toBe(true)
      expect(s[name].partitions).toHaveLength(i % 2 === 0 ? 2 : 1)
      expect(s[name].published).toBe(2)
      expect(live[i].map((m) => m.value)).toEqual([{ i }, { i, second: true }])
      const replayed = await replay(bus, name)
      expect(replayed).toHaveLength(2)
      expect(replayed.map((m) => [m.topic, m.key, m.headers, m.value])).toEqual(expect.arrayContaining([[name, name, { name }, { i }], [name, undefined, {}, { i, second: true }]]))
    }
    expect(wildcard).toHaveLength(names.length * 2)
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
  })

  it('a codec option named like one is not a codec', async () => {
    const bus = await newBus()
    for (const codec of ['toString', 'constructor', '__proto__']) {
      expect(() => bus.topic('t', { codec: codec as never })).toThrow(/codec must be/)
    }
    expect(bus.stats()).toEqual({})
  })
})

describe('bus.idle()', () => {
  it('resolves at once when there is nothing to deliver', async () => {
    const bus = await newBus()
    await bus.idle()
    bus.publish('t', 1) // no readers
    await bus.idle()
  })

  it('resolves once every reader has every record', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    const a = collect(bus, 't')
    const b = collect(bus, '#', { maxPollRecords: 1 })
    for (let i = 0; i < 1000; i++) bus.publish('t', i)
    await bus.idle()
    expect(a).toHaveLength(1000)
    expect(b).toHaveLength(1000)
  })

  it('counts a paused reader as idle', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    got.sub.pause()
    bus.publish('t', 1)
    await bus.idle()
    expect(got).toHaveLength(0)
  })

  it('several waiters all resolve, and handlers that publish more are waited for', async () => {
    const bus = await newBus()
    const seen: string[] = []
    bus.subscribe('a', async (m) => {
      await Promise.resolve()
      bus.publish('b', `${m.value}->b`)
    })
    bus.subscribe('b', async (m) => {
      await turns(1)
      seen.push(m.value as string)
    })
    bus.publish('a', 1)
    bus.publish('a', 2)
    await Promise.all([bus.idle(), bus.idle(), bus.idle()])
    expect(seen).toEqual(['1->b', '2->b'])
  })

  it('does not resolve while a handler is pending', async () => {
    const bus = await newBus()
    const gate = deferred()
    bus.subscribe('t', () => gate.promise)
    bus.publish('t', 1)
    let resolved = false
    const idle = bus.idle().then(() => { resolved = true })
    await turns(5)
    expect(resolved).toBe(false)
    gate.resolve()
    await idle
    expect(resolved).toBe(true)
  })
})
