import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { errors, manualClock } from '../../src/index.js'
import { collect, kafkaPartition, murmur2, onlyWhere, replay, SMALL, useBuses, utf8 } from './helpers.js'

const newBus = useBuses()

// Values from the Kafka Java client's Utils.murmur2 (as kafkajs recorded them for its Java-compatible partitioner).
const javaMurmur2: Record<string, number> = {
  '0': 971027396, '1': -1993445489, '128': -326012175, '2187': -1508407203, '16384': -325739742,
  '78125': -1654490814, '279936': 1462227128, '823543': -2014198330, '2097152': 607668903,
  '4782969': -1182699775, '10000000': -1830336757, '19487171': -1603849305, '35831808': -857013643,
  '62748517': -1167431028, '105413504': -381294639, '170859375': -1658323481, '100:48069': 1009543857,
}

describe('publish', () => {
  onlyWhere('syncAppend')('returns { topic, partition, offset, timestamp } with offsets counting up from 0', async () => {
    const clock = manualClock(1_000)
    const bus = await newBus({ clock })
    expect(bus.publish('a', 1)).toEqual({ topic: 'a', partition: 0, offset: 0, timestamp: 1_000 })
    clock.advance(5)
    expect(bus.publish('a', 2)).toEqual({ topic: 'a', partition: 0, offset: 1, timestamp: 1_005 })
    expect(bus.publish('b', 3)).toEqual({ topic: 'b', partition: 0, offset: 0, timestamp: 1_005 })
    expect(bus.publish('a', 4, { timestamp: 42 })).toEqual({ topic: 'a', partition: 0, offset: 2, timestamp: 42 })
  })

  onlyWhere('liveStats')('appends synchronously: the record is replayable as soon as publish returns', async () => {
    const bus = await newBus()
    bus.publish('a', 'x')
    expect(bus.stats().a.partitions[0].endOffset).toBe(1)
    const got = await replay(bus, 'a')
    expect(got.map((m) => m.value)).toEqual(['x'])
  })

  onlyWhere('lifecycleEvents')('auto-creates a topic with defaults on first publish and reports topic.created once', async () => {
    const bus = await newBus()
    const created: unknown[] = []
    bus.events.on('topic.created', (e) => created.push(e))
    expect(bus.stats()).toEqual({})
    bus.publish('fresh.topic', 1)
    bus.publish('fresh.topic', 2)
    expect(created).toEqual([{ topic: 'fresh.topic', partitions: 1 }])
    const s = bus.stats()['fresh.topic']
    expect(s.codec).toBe('msgpack')
    expect(s.partitions).toHaveLength(1)
    expect(s.published).toBe(2)
  })

  onlyWhere('liveStats')('uses topicDefaults for auto-created topics', async () => {
    const bus = await newBus({ topicDefaults: { partitions: 3, codec: 'json' } })
    bus.publish('t', { a: 1 })
    expect(bus.stats().t.partitions).toHaveLength(3)
    expect(bus.stats().t.codec).toBe('json')
  })

  it('delivers key, headers, timestamp and attempt with the value', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    const bin = new Uint8Array([1, 2, 3])
    bus.publish('t', 'v', { key: 'k', headers: { a: 'b', bin }, timestamp: 7 })
    bus.publish('t', 'w', { key: bin })
    bus.publish('t', 'x')
    await bus.idle()
    expect(got[0]).toMatchObject({ topic: 't', partition: 0, offset: 0, timestamp: 7, key: 'k', headers: { a: 'b', bin }, value: 'v', attempt: 1 })
    expect(got[1].key).toEqual(bin)
    expect(got[2].key).toBeUndefined()
    expect(got[2].headers).toEqual({})
    // the same fields come back when the record is read from the log
    const again = await replay(bus, 't')
    expect(again[0]).toMatchObject({ timestamp: 7, key: 'k', headers: { a: 'b', bin }, value: 'v', attempt: 1 })
    expect(again[0].headers.bin).toBeInstanceOf(Uint8Array)
    expect(again[1].key).toBeInstanceOf(Uint8Array)
    expect(again[1].key).toEqual(bin)
    expect(again[2].key).toBeUndefined()
    expect(again[2].headers).toEqual({})
  })
})

describe('publishBatch', () => {
  onlyWhere('syncAppend')('returns one record metadata per record, in order, with consecutive offsets', async () => {
    const clock = manualClock(50)
    const bus = await newBus({ clock })
    bus.publish('a', 0)
    const recs = bus.publishBatch('a', [{ value: 1 }, { value: 2 }, { value: 3, timestamp: 9 }])
    expect(recs).toEqual([
      { topic: 'a', partition: 0, offset: 1, timestamp: 50 },
      { topic: 'a', partition: 0, offset: 2, timestamp: 50 },
      { topic: 'a', partition: 0, offset: 3, timestamp: 9 },
    ])
    expect((await replay(bus, 'a')).map((m) => m.value)).toEqual([0, 1, 2, 3])
  })

  onlyWhere('liveStats')('an empty batch appends nothing', async () => {
    const bus = await newBus()
    expect(bus.publishBatch('a', [])).toEqual([])
    expect(bus.stats().a.partitions[0].endOffset).toBe(0)
  })

  onlyWhere('syncAppend')('partitions each record by its own key or partition', async () => {
    const bus = await newBus()
    bus.topic('p', { partitions: 5 })
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']
    const recs = bus.publishBatch('p', [...keys.map((key) => ({ value: key, key })), { value: 'x', partition: 4 }])
    expect(recs.map((r) => r.partition)).toEqual([...keys.map((k) => kafkaPartition(k, 5)), 4])
  })

  onlyWhere('syncAppend')('a batch larger than one segment goes in whole, in order', async () => {
    const bus = await newBus(SMALL)
    const records = Array.from({ length: 1000 }, (_, i) => ({ value: { i, pad: 'p'.repeat(40) } }))
    const recs = bus.publishBatch('big', records)
    expect(recs.map((r) => r.offset)).toEqual(records.map((_, i) => i))
    const got = await replay(bus, 'big')
    expect(got.map((m) => (m.value as { i: number }).i)).toEqual(records.map((_, i) => i))
  })

  onlyWhere('syncRefusals')('a bad record rejects the whole batch and appends nothing', async () => {
    const bus = await newBus()
    bus.publish('a', 'before')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => bus.publishBatch('a', [{ value: 1 }, { value: circular }, { value: 3 }])).toThrow(errors.CodecError)
    expect(() => bus.publishBatch('a', [{ value: 1 }, { value: 2, key: 5 as unknown as string }])).toThrow(errors.InvalidArgumentError)
    expect(() => bus.publishBatch('a', [{ value: 1 }, { value: 2, partition: 3 }])).toThrow(errors.InvalidArgumentError)
    expect(() => bus.publishBatch('a', 'nope' as never)).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().a.partitions[0].endOffset).toBe(1)
    expect(bus.stats().a.published).toBe(1)
    expect(bus.publishBatch('a', [{ value: 'after' }])[0].offset).toBe(1)
    expect((await replay(bus, 'a')).map((m) => m.value)).toEqual(['before', 'after'])
  })
})

describe('emit', () => {
  type Topics = { tick: undefined; n: number }

  onlyWhere('syncAppend')('publishes without options and returns whether a same-thread reader exists', async () => {
    const bus = await newBus<Topics>()
    expect(bus.emit('n', 1)).toBe(false)
    const values: unknown[] = []
    const off = bus.on('n', (v) => { values.push(v) })
    expect(bus.emit('n', 2)).toBe(true)
    await bus.idle()
    expect(values).toEqual([2])
    off()
    expect(bus.emit('n', 3)).toBe(false)
    expect(bus.stats().n.partitions[0].endOffset).toBe(3)
  })

  it("topics typed undefined take no value: bus.emit('tick')", async () => {
    const bus = await newBus<Topics>()
    const ticks: unknown[] = []
    bus.on('tick', (v, m) => { ticks.push([v, m.offset]) })
    bus.emit('tick')
    bus.emit('tick')
    await bus.idle()
    expect(ticks).toEqual([[undefined, 0], [undefined, 1]])
    const replayed = await replay(bus, 'tick')
    expect(replayed.map((m) => m.value)).toEqual([undefined, undefined])
    expect(replayed.every((m) => 'value' in m)).toBe(true)
  })
})

describe('bus.topic() declarations', () => {
  onlyWhere('liveStats')('returns the name and partition count', async () => {
    const bus = await newBus()
    expect(bus.topic('t', { partitions: 3 })).toEqual({ name: 't', partitions: 3 })
    expect(bus.stats().t.partitions.map((p) => p.partition)).toEqual([0, 1, 2])
  })

  onlyWhere('lifecycleEvents')('declaring twice with the same options is a no-op', async () => {
    const bus = await newBus({ clock: manualClock() })
    const options = { partitions: 2, retention: { maxBytes: 64 * 1024, maxAgeMs: 60_000 }, onFull: 'evict', codec: 'json' } as const
    const created: unknown[] = []
    bus.events.on('topic.created', (e) => created.push(e))
    bus.topic('t', options)
    bus.publish('t', 'a', { partition: 0 })
    bus.publish('t', 'b', { partition: 1 })
    const before = bus.stats()
    expect(bus.topic('t', { ...options, retention: { ...options.retention } })).toEqual({ name: 't', partitions: 2 })
    expect(bus.stats()).toEqual(before)
    expect(created).toHaveLength(1)
    expect((await replay(bus, 't')).map((m) => m.value).sort()).toEqual(['a', 'b'])
    expect(bus.publish('t', 'c', { partition: 0 }).offset).toBe(1)
  })

  onlyWhere('liveStats')('declaring an auto-created topic with the default codec spelled out is a no-op', async () => {
    const bus = await newBus()
    bus.publish('t', 1)
    expect(() => bus.topic('t', { codec: 'msgpack' })).not.toThrow()
    expect(() => bus.topic('t')).not.toThrow()
    expect(bus.stats().t.partitions[0].endOffset).toBe(1)
  })

  onlyWhere('liveStats')('grows partitions, keeping the records already in the old ones', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 1 })
    bus.publish('t', 'old')
    expect(bus.topic('t', { partitions: 4 })).toEqual({ name: 't', partitions: 4 })
    expect(bus.stats().t.partitions).toHaveLength(4)
    expect(bus.publish('t', 'new', { partition: 3 })).toMatchObject({ partition: 3, offset: 0 })
    const got = await replay(bus, 't')
    expect(got.map((m) => [m.partition, m.offset, m.value]).sort()).toEqual([[0, 0, 'old'], [3, 0, 'new']])
  })

  it('an existing reader picks up new partitions from offset 0', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 1 })
    const got = collect(bus, 't')
    bus.topic('t', { partitions: 3 })
    bus.publish('t', 'x', { partition: 2 })
    bus.publish('t', 'y', { partition: 1 })
    await bus.idle()
    expect(got.map((m) => [m.partition, m.offset, m.value]).sort()).toEqual([[1, 0, 'y'], [2, 0, 'x']])
    expect(got.sub.assignments()).toEqual(expect.arrayContaining([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }]))
  })

  onlyWhere('syncRefusals')('shrinking partitions throws InvalidArgumentError and changes nothing', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    expect(() => bus.topic('t', { partitions: 2 })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().t.partitions).toHaveLength(3)
    expect(bus.publish('t', 1, { partition: 2 }).partition).toBe(2)
  })

  onlyWhere('syncRefusals')('changing the codec throws InvalidArgumentError and keeps the old one', async () => {
    const bus = await newBus()
    bus.publish('t', { a: 1 })
    expect(() => bus.topic('t', { codec: 'json' })).toThrow(errors.InvalidArgumentError)
    expect(() => bus.topic('t', { codec: 'raw' })).toThrow(errors.InvalidArgumentError)
    bus.topic('j', { codec: 'json' })
    expect(() => bus.topic('j', { codec: 'msgpack' })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().t.codec).toBe('msgpack')
    expect(bus.stats().j.codec).toBe('json')
    expect((await replay(bus, 't')).map((m) => m.value)).toEqual([{ a: 1 }])
  })

  onlyWhere('customCodecs')('a custom codec may be declared again with the same object, not another one', async () => {
    const bus = await newBus()
    const mk = () => ({ name: 'upper', encode: (v: unknown) => utf8(String(v)), decode: (b: Uint8Array) => new TextDecoder().decode(b) })
    const codec = mk()
    bus.topic('c', { codec })
    expect(() => bus.topic('c', { codec })).not.toThrow()
    expect(() => bus.topic('c', { codec: mk() })).toThrow(errors.InvalidArgumentError)
  })
})

describe('partitioning', () => {
  it('uses an explicit partition as given', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    expect([3, 0, 2, 2, 1].map((partition) => bus.publish('t', partition, { partition, key: 'same' }).partition)).toEqual([3, 0, 2, 2, 1])
  })

  it('the reference murmur2 in this test matches the Kafka Java vectors', () => {
    for (const [key, hash] of Object.entries(javaMurmur2)) expect(murmur2(utf8(key)), key).toBe(hash)
  })

  onlyWhere('syncAppend')("puts a key where Kafka's Java client would: (murmur2 & 0x7fffffff) % n", async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 7 })
    expect(bus.publish('t', 'v', { key: '0' }).partition).toBe((971027396 & 0x7fffffff) % 7)
    for (const [key, hash] of Object.entries(javaMurmur2)) {
      expect(bus.publish('t', key, { key }).partition, key).toBe((hash & 0x7fffffff) % 7)
    }
  })

  onlyWhere('syncAppend')('a string key and its UTF-8 bytes go to the same partition, every time', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 13 })
    for (const key of ['user-1', 'üñíçødé', '🎉', '']) {
      const first = bus.publish('t', 1, { key }).partition
      expect(bus.publish('t', 2, { key }).partition).toBe(first)
      expect(bus.publish('t', 3, { key: utf8(key) }).partition).toBe(first)
      expect(first, key).toBe(kafkaPartition(key, 13))
    }
  })

  onlyWhere('syncAppend')('property: any key lands on (murmur2(utf8(key)) & 0x7fffffff) % n', async () => {
    const bus = await newBus()
    const counts = [1, 2, 3, 7, 16, 31]
    for (const n of counts) bus.topic(`p${n}`, { partitions: n })
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 40 })), fc.constantFrom(...counts), (key, n) => {
        expect(bus.publish(`p${n}`, null, { key }).partition).toBe(kafkaPartition(key, n))
      }),
      { numRuns: 300 },
    )
  })

  onlyWhere('core')('hashes a key once per record: the same hash picks the partition and goes into the frame', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    const hash = vi.spyOn(bus.core, 'murmur2')
    bus.publish('t', 1, { key: 'k' })
    bus.publishBatch('t', [{ value: 2, key: 'k' }, { value: 3, key: utf8('j') }])
    expect(hash).toHaveBeenCalledTimes(3)
    expect(bus.publish('t', 4, { key: 'k' }).partition).toBe(kafkaPartition('k', 4))
  })

  onlyWhere('syncAppend')('without key or partition goes round-robin over the partitions', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const parts = Array.from({ length: 9 }, (_, i) => bus.publish('t', i).partition)
    expect(parts).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2])
    expect(bus.stats().t.partitions.map((p) => p.endOffset)).toEqual([3, 3, 3])
  })

  onlyWhere('syncAppend')('property: order is kept within every partition', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ key: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: undefined }) }), { maxLength: 60 }),
        async (partitions, records) => {
          const bus = await newBus()
          bus.topic('t', { partitions })
          const live = collect(bus, 't', { from: 'earliest' })
          const sent = records.map((r, i) => ({ ...bus.publish('t', i, r.key === undefined ? undefined : { key: r.key }), key: r.key, value: i }))
          for (const s of sent) if (s.key !== undefined) expect(s.partition).toBe(kafkaPartition(s.key, partitions))
          await bus.idle()
          const replayed = await replay(bus, 't')
          for (const got of [live, replayed]) {
            expect(got).toHaveLength(records.length)
            for (let p = 0; p < partitions; p++) {
              const expected = sent.filter((s) => s.partition === p)
              expect(expected.map((s) => s.offset)).toEqual(expected.map((_, i) => i))
              const actual = got.filter((m) => m.partition === p)
              expect(actual.map((m) => [m.offset, m.value, m.key])).toEqual(expected.map((s) => [s.offset, s.value, s.key]))
            }
          }
          await bus.close()
        },
      ),
      { numRuns: 40 },
    )
  })
})
