import { afterEach, describe, expect, it } from 'vitest'
import { createBus, manualClock, type Bus, type BusOptions, DLQ_HEADERS } from '../../src/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { extendHistory, rateOf, snapshot, valueText, type TopicView } from '../../src/inspector/snapshot.js'
import { FAILURES, populate } from './fixture.js'

const open: Bus[] = []
afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close()
})
async function newBus(options?: BusOptions): Promise<Bus> {
  const bus = await createBus(options)
  open.push(bus)
  return bus
}

describe('snapshot()', () => {
  it('shows what stats() and queueStats() report, the exchanges with their bindings and the dead letters', async () => {
    const bus = await newBus()
    await populate(bus)
    const snap = await snapshot(bus)
    const stats = bus.stats()
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap)
    expect(snap.topics.map((t) => t.name)).toEqual(Object.keys(stats).sort())
    for (const topic of snap.topics) {
      const s = stats[topic.name]!
      expect(topic.partitions).toEqual(s.partitions)
      expect(topic).toMatchObject({ codec: s.codec, readers: s.readers, published: s.published, deadLetters: s.deadLetters })
    }
    expect(snap.topics.find((t) => t.name === 'orders')!.partitions.reduce((n, p) => n + p.endOffset, 0)).toBe(37)
    expect(snap.topics.find((t) => t.name === 'jobs')!.deadLetters).toBe(FAILURES)

    const billing = snap.groups.find((g) => g.name === 'billing')!
    expect(billing.lag).toBe(7)
    expect(billing.members).toBe(1)
    expect(billing.partitions).toEqual(stats.orders!.groups.billing!.partitions.map((p) => ({ topic: 'orders', ...p })))
    expect(billing.partitions.every((p) => typeof p.owner === 'string')).toBe(true)
    expect(snap.groups.map((g) => g.name)).toEqual(['billing', 'runner'])

    expect(snap.queues).toEqual(Object.entries(bus.queueStats()).map(([name, s]) => ({ name, ...s })).sort((a, b) => a.name.localeCompare(b.name)))
    expect(snap.queues.find((q) => q.name === 'shipping')).toMatchObject({ ready: 4, unacked: 1, messages: 5 })
    expect(snap.queues.find((q) => q.name === 'invoices')).toMatchObject({ ready: 3, unacked: 0 })

    expect(snap.exchanges).toEqual([
      { name: 'audit', type: 'fanout', bindings: [{ kind: 'topic', to: 'payments', key: '' }] },
      {
        name: 'shop', type: 'topic', bindings: expect.arrayContaining([
          { kind: 'queue', to: 'shipping', key: 'order.*' },
          { kind: 'queue', to: 'invoices', key: 'order.paid' },
          { kind: 'exchange', to: 'audit', key: '#' },
        ]),
      },
    ])
    expect(snap.exchanges[1]!.bindings).toHaveLength(3)

    expect(snap.deadLetterTopics.map((d) => d.topic)).toEqual(['jobs.dlq'])
    const [dlq] = snap.deadLetterTopics
    expect(dlq!.ends).toEqual(stats['jobs.dlq']!.partitions.map((p) => p.endOffset))
    expect(dlq!.records).toHaveLength(FAILURES)
    const byOffset = [...dlq!.records].sort((a, b) => a.offset - b.offset)
    byOffset.forEach((r, n) => {
      expect(r).toMatchObject({ partition: 0, offset: n, key: `job-${n}`, value: `{"n":${n}}` })
      expect(r.failure).toMatchObject({ topic: 'jobs', partition: '0', offset: String(n), group: 'runner', attempts: '1', error: `job ${n} failed` })
      expect(Object.keys(r.failure).sort()).toEqual(Object.keys(DLQ_HEADERS).sort())
    })
    // the inspector's own reader came and went
    expect(bus.stats()['jobs.dlq']!.readers).toBe(0)
  })

  it('reuses the dead letters it read while their partitions stay put, and reads the new ones', async () => {
    const bus = await newBus()
    bus.topic('mail.dlq', { partitions: 2 })
    bus.publish('mail.dlq', 'a', { partition: 0, headers: { [DLQ_HEADERS.error]: 'boom' } })
    const first = await snapshot(bus)
    const second = await snapshot(bus, first)
    expect(second.deadLetterTopics[0]).toBe(first.deadLetterTopics[0])
    for (let i = 0; i < 12; i++) bus.publish('mail.dlq', `b${i}`, { partition: 1 })
    const third = await snapshot(bus, second)
    const records = third.deadLetterTopics[0]!.records
    expect(third.deadLetterTopics[0]!.ends).toEqual([1, 12])
    // the last 10 of partition 1, and the one of partition 0
    expect(records.filter((r) => r.partition === 1).map((r) => r.offset).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(records.find((r) => r.partition === 0)).toMatchObject({ value: '"a"', failure: { error: 'boom' } })
  })

  it('computes rates from the counters of the previous snapshot, by the bus clock', async () => {
    const clock = manualClock(10_000)
    const bus = await newBus({ clock })
    bus.topic('t')
    bus.on('t', () => {})
    const first = await snapshot(bus)
    expect(first.rates).toEqual({})
    expect(first.history.at).toEqual([])
    for (let i = 0; i < 50; i++) bus.publish('t', i)
    await bus.idle()
    clock.advance(500)
    const second = await snapshot(bus, first)
    expect({ ...second.rates }).toEqual({ t: { publish: 100, deliver: 100 } })
    expect(second.history).toEqual({ at: [10.5], publish: { t: [100] }, deliver: { t: [100] } })
    // the clock did not move: no rate, the history stays
    const third = await snapshot(bus, second)
    expect(third.rates).toEqual({})
    expect(third.history).toBe(second.history)
  })

  it('leaves its own reads of dead letters out of the delivery rate', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.topic('x.dlq')
    for (let i = 0; i < 3; i++) bus.publish('x.dlq', i)
    const first = await snapshot(bus)
    expect({ ...first.ownReads }).toEqual({ 'x.dlq': 3 })
    const got: number[] = []
    bus.on('x.dlq', (v) => { got.push(v as number) })
    bus.publish('x.dlq', 3)
    await bus.idle()
    clock.advance(1000)
    const second = await snapshot(bus, first)
    expect(bus.stats()['x.dlq']!.delivered).toBe(3 + 1 + 4) // the first read, the listener, the second read
    expect({ ...second.rates }).toEqual({ 'x.dlq': { publish: 1, deliver: 1 } })
    expect({ ...second.ownReads }).toEqual({ 'x.dlq': 4 })
  })

  it('refuses what is not a bus it can read', async () => {
    await expect(snapshot({} as never)).rejects.toThrow(InvalidArgumentError)
    await expect(snapshot(null as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'bus' })
  })

  it('refuses a closed bus', async () => {
    const bus = await newBus()
    await bus.close()
    await expect(snapshot(bus)).rejects.toMatchObject({ name: 'BusClosedError' })
  })
})

const topic = (name: string, published: number, delivered: number): TopicView =>
  ({ name, codec: 'msgpack', readers: 0, published, delivered, skipped: 0, deadLetters: 0, partitions: [] })

describe('rateOf()', () => {
  it('is records per second per topic; a new topic counts from 0, a counter never goes back', () => {
    const previous = { at: 1000, topics: [topic('a', 10, 4), topic('gone', 5, 5)], ownReads: {} }
    expect({ ...rateOf(previous, 3000, [topic('a', 30, 4), topic('new', 8, 2)]) }).toEqual({
      a: { publish: 10, deliver: 0 },
      new: { publish: 4, deliver: 1 },
    })
    expect({ ...rateOf({ at: 1000, topics: [topic('a', 10, 10)], ownReads: {} }, 2000, [topic('a', 3, 3)]) }).toEqual({ a: { publish: 0, deliver: 0 } })
    expect(rateOf(previous, 1000, [topic('a', 30, 4)])).toEqual({})
  })
})

describe('extendHistory()', () => {
  const r = (publish: number) => ({ publish, deliver: publish / 2 })

  it('keeps aligned columns: null before a topic appears and after it goes, the oldest dropped past the length', () => {
    let h = extendHistory(undefined, 1000, { a: r(1) }, 3)
    h = extendHistory(h, 2000, { a: r(2), b: r(4) }, 3)
    expect(h).toEqual({ at: [1, 2], publish: { a: [1, 2], b: [null, 4] }, deliver: { a: [0.5, 1], b: [null, 2] } })
    h = extendHistory(h, 3000, { b: r(6) }, 3)
    expect(h.publish).toEqual({ a: [1, 2, null], b: [null, 4, 6] })
    h = extendHistory(h, 4000, { b: r(8) }, 3)
    expect(h.at).toEqual([2, 3, 4])
    expect(h.publish).toEqual({ a: [2, null, null], b: [4, 6, 8] })
    h = extendHistory(h, 5000, { b: r(8) }, 3)
    // a's last value scrolled out: it is gone
    expect(h.publish).toEqual({ b: [6, 8, 8] })
    for (const series of [...Object.values(h.publish), ...Object.values(h.deliver)]) expect(series).toHaveLength(h.at.length)
  })
})

describe('valueText()', () => {
  it('shows values as short JSON-like text', () => {
    expect(valueText('hi')).toBe('"hi"')
    expect(valueText({ a: [1, 2] })).toBe('{"a":[1,2]}')
    expect(valueText(new Uint8Array(5))).toBe('<5 bytes>')
    expect(valueText(new Map([['k', 1n]]))).toBe('{"k":"1n"}')
    expect(valueText(undefined)).toBe('undefined')
    const long = valueText('x'.repeat(1000))
    expect(long).toHaveLength(200)
    expect(long.endsWith('…')).toBe(true)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(valueText(cyclic)).toBe('[object Object]')
  })
})

