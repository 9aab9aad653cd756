import { describe, expect, it } from 'vitest'
import { createBus, errors, manualClock, type Bus } from '../../src/index.js'
import { collect, onlyWhere, replay, SMALL, useBuses } from './helpers.js'

const newBus = useBuses()

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

/** Everything observable about a topic's log, to check a failed call changed nothing. */
const snapshot = (bus: Bus<any>, topic: string) => {
  const s = bus.stats()[topic]
  return s === undefined ? undefined : { partitions: s.partitions, published: s.published }
}

describe('error classes', () => {
  it('every error extends BusError and Error, with a name and retriable', () => {
    const all = [
      errors.InvalidArgumentError, errors.InvalidTopicError, errors.CodecError, errors.BackPressureError,
      errors.OffsetOutOfRangeError, errors.UnknownQueueError, errors.UnknownExchangeError, errors.UnroutableError,
      errors.RequestTimeoutError, errors.BusClosedError, errors.DeliveryLimitExceededError,
    ]
    for (const E of all) {
      const e = new E('m', { topic: 't', partition: 1 })
      expect(e).toBeInstanceOf(errors.BusError)
      expect(e).toBeInstanceOf(Error)
      expect(e.name).toBe(E.name)
      expect(e.message).toBe('m')
      expect(typeof e.retriable).toBe('boolean')
      expect(e.topic).toBe('t')
      expect(e.partition).toBe(1)
    }
    expect(new errors.BackPressureError('x').retriable).toBe(true)
    expect(new errors.RequestTimeoutError('x').retriable).toBe(true)
    expect(new errors.InvalidArgumentError('x').retriable).toBe(false)
    const cause = new Error('root')
    expect(new errors.CodecError('x', { cause }).cause).toBe(cause)
  })

  it('subclass context fields survive construction (RecordTooLargeError size/max, InvalidArgumentError argument)', () => {
    const big = new errors.RecordTooLargeError('x', { topic: 't', size: 10, max: 5 })
    expect(big.size).toBe(10)
    expect(big.max).toBe(5)
    expect(big.topic).toBe('t')
    const bad = new errors.InvalidArgumentError('x', { argument: 'partitions' })
    expect(bad.argument).toBe('partitions')
  })
})

describe('InvalidTopicError', () => {
  const bad: Array<[string, unknown]> = [
    ['empty', ''],
    ['250 characters', 'a'.repeat(250)],
    ['a space', 'order placed'],
    ['a slash', 'order/placed'],
    ['non-ASCII', 'ordér'],
    ['a colon', 'a:b'],
    ['"."', '.'],
    ['".."', '..'],
    ['a number', 42],
  ]

  for (const [what, name] of bad) {
    it(`for a name with ${what}, on publish, declare and subscribe, changing nothing`, async () => {
      const bus = await newBus()
      expect(() => bus.publish(name as string, 1)).toThrow(errors.InvalidTopicError)
      expect(() => bus.emit(name as string, 1)).toThrow(errors.InvalidTopicError)
      expect(() => bus.publishBatch(name as string, [{ value: 1 }])).toThrow(errors.InvalidTopicError)
      expect(() => bus.topic(name as string)).toThrow(errors.InvalidTopicError)
      expect(() => bus.subscribe(name as string, () => {})).toThrow(errors.InvalidTopicError)
      expect(() => bus.on(name as string, () => {})).toThrow(errors.InvalidTopicError)
      expect(() => bus.consume(name as string)).toThrow(errors.InvalidTopicError)
      expect(bus.stats()).toEqual({})
    })
  }

  onlyWhere('syncAppend')('accepts every legal character and exactly 249 characters', async () => {
    const bus = await newBus()
    for (const name of ['a'.repeat(249), 'A-z_0.9', '-', '_', 'a..b', '.hidden']) {
      expect(bus.publish(name, 1).offset, name).toBe(0)
    }
  })

  it('for wildcards where a topic name is needed', async () => {
    const bus = await newBus()
    for (const pattern of ['order.*', 'order.#', '#', '*', 'a*b']) {
      expect(() => bus.publish(pattern, 1), pattern).toThrow(errors.InvalidTopicError)
      expect(() => bus.emit(pattern, 1), pattern).toThrow(errors.InvalidTopicError)
      expect(() => bus.publishBatch(pattern, [{ value: 1 }]), pattern).toThrow(errors.InvalidTopicError)
      expect(() => bus.topic(pattern), pattern).toThrow(errors.InvalidTopicError)
    }
    expect(bus.stats()).toEqual({})
  })

  it('for malformed subscription patterns', async () => {
    const bus = await newBus()
    for (const pattern of ['order.*x', 'order.#x', 'a.b*.c', `a.${'b'.repeat(300)}.*`, 'a b.*']) {
      expect(() => bus.subscribe(pattern, () => {}), pattern).toThrow(errors.InvalidTopicError)
    }
  })

  it('carries the topic name', async () => {
    const bus = await newBus()
    const e = thrown(() => bus.publish('bad name', 1)) as errors.InvalidTopicError
    expect(e.topic).toBe('bad name')
    expect(e.name).toBe('InvalidTopicError')
  })
})

describe('RecordTooLargeError', () => {
  onlyWhere('syncRefusals')('carries { size, max } and the topic; the log is unchanged and later publishes work', async () => {
    const bus = await newBus(SMALL)
    bus.topic('r', { codec: 'raw' })
    bus.publish('r', new Uint8Array(10))
    const before = snapshot(bus, 'r')
    const e = thrown(() => bus.publish('r', new Uint8Array(5000))) as errors.RecordTooLargeError
    expect(e).toBeInstanceOf(errors.RecordTooLargeError)
    expect(e).toBeInstanceOf(errors.BusError)
    expect(e.retriable).toBe(false)
    expect(e.topic).toBe('r')
    expect(typeof e.size).toBe('number')
    expect(typeof e.max).toBe('number')
    expect(e.size).toBeGreaterThanOrEqual(5000)
    expect(e.max).toBeLessThan(e.size)
    expect(e.max).toBeLessThanOrEqual(SMALL.segmentBytes)
    expect(snapshot(bus, 'r')).toEqual(before)
    expect(bus.publish('r', new Uint8Array([1])).offset).toBe(1)
  })

  onlyWhere('syncRefusals')('max is the real limit: the largest value that fits is just under it', async () => {
    const bus = await newBus(SMALL)
    bus.topic('r', { codec: 'raw' })
    // binary search for the longest raw value the topic takes
    let lo = 0
    let hi = 10_000
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      try {
        bus.publish('r', new Uint8Array(mid))
        lo = mid
      } catch (error) {
        expect(error).toBeInstanceOf(errors.RecordTooLargeError)
        hi = mid - 1
      }
    }
    const e = thrown(() => bus.publish('r', new Uint8Array(lo + 1))) as errors.RecordTooLargeError
    expect(e.size).toBeGreaterThan(e.max)
    expect(e.max).toBeGreaterThanOrEqual(lo)
    expect(e.max - lo).toBeLessThan(64) // only the frame header and alignment apart
    const fill = new Uint8Array(lo).fill(7)
    const { offset } = bus.publish('r', fill)
    const got = collect(bus, 'r', { from: { offset } })
    await bus.idle()
    expect(got[0].value).toEqual(fill)
  })

  onlyWhere('syncRefusals')('a topic byte cap lowers the limit; the same record fits an uncapped topic', async () => {
    const bus = await newBus()
    bus.topic('capped', { codec: 'raw', retention: { maxBytes: 64 * 1024 } })
    bus.topic('free', { codec: 'raw' })
    const value = new Uint8Array(20_000)
    const e = thrown(() => bus.publish('capped', value)) as errors.RecordTooLargeError
    expect(e).toBeInstanceOf(errors.RecordTooLargeError)
    expect(e.max).toBeLessThanOrEqual(16 * 1024)
    expect(bus.publish('free', value).offset).toBe(0)
  })

  onlyWhere('syncRefusals')('counts the key and headers too, and a batch with one oversized record appends nothing', async () => {
    const bus = await newBus(SMALL)
    expect(() => bus.publish('t', 'v', { key: 'k'.repeat(5000) })).toThrow(errors.RecordTooLargeError)
    expect(() => bus.publish('t', 'v', { headers: { h: 'h'.repeat(5000) } })).toThrow(errors.RecordTooLargeError)
    expect(() => bus.publish('t', 'v', { headers: { h: 'h'.repeat(70_000) } })).toThrow(errors.RecordTooLargeError)
    expect(() => bus.publishBatch('t', [{ value: 'ok' }, { value: 'x'.repeat(5000) }])).toThrow(errors.RecordTooLargeError)
    expect(bus.stats().t).toBeUndefined() // a rejected publish does not create its topic
    expect(bus.publish('t', 'ok').offset).toBe(0)
    expect(() => bus.publishBatch('t', [{ value: 'ok' }, { value: 'x'.repeat(5000) }])).toThrow(errors.RecordTooLargeError)
    expect(bus.stats().t.partitions[0].endOffset).toBe(1)
  })
})

describe('limits of the partition table and the topic directory', () => {
  onlyWhere('syncRefusals')('a topic with more partitions than are left fails clearly and takes none; a smaller one still fits', async () => {
    const bus = await newBus({ maxPartitions: 8, topicDefaults: { codec: 'json' } })
    bus.topic('a', { partitions: 3 })
    const e = thrown(() => bus.topic('big', { partitions: 6 })) as errors.InvalidArgumentError
    expect(e).toBeInstanceOf(errors.InvalidArgumentError)
    expect(e.message).toMatch(/partition table is full.*raise maxPartitions/)
    expect(e.message).not.toMatch(/undefined/)
    expect(e.argument).toBe('maxPartitions')
    expect(() => bus.topic('a', { partitions: 9 })).toThrow(/partition table is full/)
    expect(bus.topic('b', { partitions: 5 }).partitions).toBe(5)
    expect(bus.publish('b', 1, { partition: 4 }).offset).toBe(0)
    expect(Object.keys(bus.stats()).sort()).toEqual(['a', 'b'])
    expect(bus.stats().a.partitions).toHaveLength(3)
  })

  onlyWhere('syncRefusals')('a full topic directory says to raise maxTopics', async () => {
    const bus = await newBus({ maxTopics: 2, topicDefaults: { codec: 'json' } })
    bus.topic('a')
    bus.publish('b', 1)
    for (const attempt of [() => bus.topic('c'), () => bus.publish('c', 1)]) {
      const e = thrown(attempt) as errors.InvalidArgumentError
      expect(e).toBeInstanceOf(errors.InvalidArgumentError)
      expect(e.message).toMatch(/topic directory is full.*raise maxTopics/)
      expect(e.argument).toBe('maxTopics')
    }
    expect(Object.keys(bus.stats()).sort()).toEqual(['a', 'b'])
  })
})

describe('a rejected publish to a topic that does not exist yet', () => {
  onlyWhere('syncRefusals')('creates no topic and emits no topic.created, whatever it was rejected for', async () => {
    const bus = await newBus({ ...SMALL, topicDefaults: { partitions: 2 } })
    const created: string[] = []
    bus.events.on('topic.created', (e) => created.push(e.topic))
    class Point { x = 1 }
    const attempts: Array<[() => unknown, new (...args: never[]) => errors.BusError]> = [
      [() => bus.publish('t', new Point()), errors.CodecError],
      [() => bus.publish('t', () => 1), errors.CodecError],
      [() => bus.publish('t', 1, { key: 42 as never }), errors.InvalidArgumentError],
      [() => bus.publish('t', 1, { headers: new Map() as never }), errors.InvalidArgumentError],
      [() => bus.publish('t', 1, { timestamp: Number.NaN }), errors.InvalidArgumentError],
      [() => bus.publish('t', 1, { partition: 2 }), errors.InvalidArgumentError],
      [() => bus.publish('t', 1, { messageId: '' }), errors.InvalidArgumentError],
      [() => bus.publish('t', 1, 'options' as never), errors.InvalidArgumentError],
      [() => bus.publish('t', 'x'.repeat(5000)), errors.RecordTooLargeError],
      [() => bus.publish('t', 1, { key: 'k'.repeat(300_000) }), errors.RecordTooLargeError],
      [() => bus.publishBatch('t', [{ value: 1 }, { value: new Point() }]), errors.CodecError],
      [() => bus.publishBatch('t', [{ value: 1 }, null as never]), errors.InvalidArgumentError],
      [() => bus.publishBatch('t', [{ value: 1, partition: 5 }]), errors.InvalidArgumentError],
      [() => bus.publishBatch('t', 'records' as never), errors.InvalidArgumentError],
    ]
    for (const [attempt, type] of attempts) expect(thrown(attempt), attempt.toString()).toBeInstanceOf(type)
    expect(bus.stats()).toEqual({})
    expect(created).toEqual([])
    expect(bus.publish('t', 1, { partition: 1 })).toMatchObject({ partition: 1, offset: 0 })
    expect(created).toEqual(['t'])
  })

  onlyWhere('syncRefusals')('a key too large for a segment is a RecordTooLargeError, not a complaint about the staging area', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const e = thrown(() => bus.publish('t', 1, { key: 'k'.repeat(300_000) })) as errors.RecordTooLargeError
    expect(e).toBeInstanceOf(errors.RecordTooLargeError)
    expect(e.size).toBeGreaterThan(300_000)
    expect(e.max).toBeLessThan(300_000)
  })

  onlyWhere('customCodecs')('a custom default codec encodes the first record once', async () => {
    let encodes = 0
    const codec = { name: 'counted', encode: (v: unknown) => { encodes++; return new TextEncoder().encode(JSON.stringify(v)) }, decode: (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) }
    const bus = await newBus({ shared: false, topicDefaults: { codec } })
    bus.publish('a', { n: 1 })
    bus.publishBatch('b', [{ value: 1 }, { value: 2 }])
    expect(encodes).toBe(3)
    expect((await replay(bus, 'b')).map((m) => m.value)).toEqual([1, 2])
  })
})

describe('CodecError', () => {
  onlyWhere('syncRefusals')('for values msgpack cannot encode; the log is unchanged and later publishes still work', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    bus.publish('t', 'first')
    await bus.idle()
    const before = snapshot(bus, 't')
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    const deep: Record<string, unknown> = { list: [1, { inner: circular }] }
    for (const bad of [circular, deep, Symbol('s'), { s: Symbol('s') }, [Symbol.iterator]]) {
      const e = thrown(() => bus.publish('t', bad))
      expect(e).toBeInstanceOf(errors.CodecError)
      expect((e as errors.CodecError).topic).toBe('t')
      expect((e as errors.CodecError).cause).toBeDefined()
      expect(snapshot(bus, 't')).toEqual(before)
    }
    expect(bus.publish('t', 'second').offset).toBe(1)
    await bus.idle()
    expect(got.map((m) => [m.offset, m.value])).toEqual([[0, 'first'], [1, 'second']])
    expect((await replay(bus, 't')).map((m) => m.value)).toEqual(['first', 'second'])
  })

  onlyWhere('syncRefusals')('for a non-Uint8Array on a raw topic', async () => {
    const bus = await newBus()
    bus.topic('r', { codec: 'raw' })
    const e = thrown(() => bus.publish('r', 'text'))
    expect(e).toBeInstanceOf(errors.CodecError)
    expect(e).toBeInstanceOf(errors.BusError)
    expect(bus.stats().r.partitions[0].endOffset).toBe(0)
    expect(bus.publish('r', new Uint8Array([1])).offset).toBe(0)
  })
})

describe('InvalidArgumentError', () => {
  it('for bad topic options, leaving no topic behind', async () => {
    const bus = await newBus()
    const bad: unknown[] = [
      { partitions: 0 }, { partitions: -1 }, { partitions: 1.5 }, { partitions: '2' }, { partitions: 1e9 }, { partitions: 257 }, { partitions: 300 },
      { onFull: 'x' }, { onFull: 'drop' },
      { retention: { maxBytes: -1 } }, { retention: { maxBytes: 'big' } }, { retention: { maxBytes: 10 } },
      { retention: { maxAgeMs: -5 } }, { retention: { maxAgeMs: Number.NaN } },
      { codec: 'yaml' }, { codec: 5 },
      { compact: true }, { dedupWindowMs: -1 }, { dedupWindowMs: Number.NaN }, { dedupWindowMs: Infinity }, { dedupWindowMs: '5' },
      'options',
    ]
    for (const options of bad) {
      expect(() => bus.topic('t', options as never), JSON.stringify(options)).toThrow(errors.InvalidArgumentError)
    }
    expect(bus.stats()).toEqual({})
  })

  it('for a dedup window that is not a finite number >= 0, naming dedupWindowMs; a good one is taken', async () => {
    const bus = await newBus()
    for (const dedupWindowMs of [-1, Number.NaN, Infinity, '5', null]) {
      const e = thrown(() => bus.topic('t', { dedupWindowMs } as never)) as errors.InvalidArgumentError
      expect(e, String(dedupWindowMs)).toBeInstanceOf(errors.InvalidArgumentError)
      expect(e.argument).toBe('dedupWindowMs')
    }
    expect(bus.stats()).toEqual({})
    expect(bus.topic('t', { dedupWindowMs: 60_000 })).toEqual({ name: 't', partitions: 1 })
    expect(bus.topic('t', { dedupWindowMs: 0 })).toEqual({ name: 't', partitions: 1 })
    await expect(createBus({ topicDefaults: { dedupWindowMs: -1 } })).rejects.toMatchObject({ argument: 'dedupWindowMs' })
  })

  it('for options of features that are not built yet, naming the option', async () => {
    const bus = await newBus()
    for (const [call, option] of [
      [() => bus.topic('t', { compact: true } as never), 'compact'],
    ] as const) {
      const e = thrown(call) as errors.InvalidArgumentError
      expect(e).toBeInstanceOf(errors.InvalidArgumentError)
      expect(e.argument).toBe(option)
      expect(e.message).toMatch(new RegExp(`${option}.*not built yet`))
    }
    expect(bus.stats()).toEqual({})
    await expect(createBus({ topicDefaults: { compact: true } as never })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    bus.topic('t', { compact: false } as never) // says what the topic is anyway
  })

  onlyWhere('liveStats')('for bad topic options on an existing topic, keeping its configuration', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    expect(() => bus.topic('t', { partitions: 0 })).toThrow(errors.InvalidArgumentError)
    expect(() => bus.topic('t', { partitions: 2, onFull: 'x' as never })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().t.partitions).toHaveLength(2)
  })

  onlyWhere('liveStats')('for bad subscribe options, leaving no reader behind', async () => {
    const bus = await newBus()
    bus.topic('t')
    const bad: unknown[] = [
      { from: 'middle' }, { from: { offset: -1 } }, { from: { offset: 1.5 } }, { from: { offset: 0, partition: -1 } },
      { from: { timestamp: 'now' } }, { from: {} }, { reset: 'x' }, { maxPollRecords: 0 },
      { signal: {} }, 'options',
      // group options without a group
      { concurrency: 2 }, { maxAttempts: 3 }, { backoff: { initialMs: 1 } }, { deadLetter: 'dlq' },
      { deadLetter: false }, { autoCommit: false }, { maxPollIntervalMs: 10 }, { assignor: 'range' },
    ]
    for (const options of bad) {
      const why = JSON.stringify(options)
      expect(() => bus.subscribe('t', () => {}, options as never), why).toThrow(errors.InvalidArgumentError)
      expect(() => bus.consume('t', options as never), why).toThrow(errors.InvalidArgumentError)
    }
    expect(() => bus.consume('t', { highWaterMark: 0 })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().t.readers).toBe(0)
  })

  it('for commit() on an independent reader: it has no committed offsets', async () => {
    const bus = await newBus()
    expect(() => bus.subscribe('t', () => {}).commit()).toThrow(errors.InvalidArgumentError)
  })

  onlyWhere('syncRefusals')('for bad publish options; nothing is appended', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const bad: unknown[] = [
      { partition: 2 }, { partition: -1 }, { partition: 0.5 }, { partition: '1' },
      { key: 42 }, { key: {} }, { key: true }, { key: null },
      { headers: { a: 1 } }, { headers: { a: null } }, { headers: { a: { b: 'c' } } }, { headers: { a: 'ok', b: true } },
      { headers: 'x' }, { headers: ['a'] }, { headers: new Map([['a', 'b']]) }, { headers: new (class H { a = 'b' })() },
      { headers: new Map() }, { headers: JSON.parse('{"__proto__": "x"}') }, { messageId: 7 },
      { key: 'lone \ud800' }, { headers: { h: 'lone \udc00' } }, { headers: { ['\ud800']: 'v' } },
      { timestamp: Number.NaN }, { timestamp: '5' },
      'options',
    ]
    for (const options of bad) {
      const why = JSON.stringify(options)
      expect(() => bus.publish('t', 'v', options as never), why).toThrow(errors.InvalidArgumentError)
      if (typeof options === 'object') expect(() => bus.publishBatch('t', [{ value: 'v', ...options }]), why).toThrow(errors.InvalidArgumentError)
    }
    expect(() => bus.publishBatch('t', [null as never])).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().t.partitions.map((p) => p.endOffset)).toEqual([0, 0])
    expect(bus.stats().t.published).toBe(0)
  })

  it('names the argument that was wrong', async () => {
    const bus = await newBus()
    const many = thrown(() => bus.topic('t', { partitions: 300 })) as errors.InvalidArgumentError
    expect(many.message).toMatch(/from 1 to 256/)
    expect(many.argument).toBe('partitions')
    expect(bus.topic('t', { partitions: 256 }).partitions).toBe(256)
    expect((thrown(() => bus.topic('t', { partitions: 0 })) as errors.InvalidArgumentError).argument).toBe('partitions')
    expect((thrown(() => bus.topic('t', { onFull: 'x' as never })) as errors.InvalidArgumentError).argument).toBe('onFull')
    expect((thrown(() => bus.publish('t', 1, { key: 1 as never })) as errors.InvalidArgumentError).argument).toBe('key')
    expect((thrown(() => bus.subscribe('t', () => {}, { from: 'middle' as never })) as errors.InvalidArgumentError).argument).toBe('from')
  })

  it('for bad createBus options', async () => {
    await expect(createBus({ maxBytes: 1000 })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus({ maxBytes: 'big' as never })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus({ shared: 'yes' as never })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus({ clock: {} as never })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus({ segmentBytes: 1000 })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus({ topicDefaults: { partitions: 0 } })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(createBus('x' as never)).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    for (const maxGroups of [0, 4097, 1.5]) await expect(createBus({ maxGroups })).rejects.toMatchObject({ argument: 'maxGroups' })
    for (const maxDedupEntries of [0, 15, 2 ** 20 + 1, 16.5]) await expect(createBus({ maxDedupEntries })).rejects.toMatchObject({ argument: 'maxDedupEntries' })
  })

  it('for a memory that cannot be laid out, naming what takes the room', async () => {
    const lanes = await createBus({ lanes: 1 << 20 }).catch((e) => e)
    expect(lanes).toBeInstanceOf(errors.InvalidArgumentError)
    expect(lanes.argument).toBe('lanes')
    expect(lanes.message).toMatch(/1048576 lanes x \d+ bytes per lane/)
    const segment = await createBus({ maxBytes: 65536, segmentBytes: 1 << 20 }).catch((e) => e)
    expect(segment).toBeInstanceOf(errors.InvalidArgumentError)
    expect(segment.argument).toBe('segmentBytes')
    expect(segment.message).toMatch(/segmentBytes 1048576 is more than maxBytes 65536/)
    const pool = await createBus({ maxBytes: 5 * 2 ** 30 }).catch((e) => e)
    expect(pool).toBeInstanceOf(errors.InvalidArgumentError)
    expect(pool.argument).toBe('maxBytes')
    const groups = await createBus({ maxPartitions: 1 << 17, maxGroups: 4096 }).catch((e) => e)
    expect(groups).toBeInstanceOf(errors.InvalidArgumentError)
    expect(groups.argument).toBe('maxGroups')
  })
})

describe('BusClosedError', () => {
  async function closedBus() {
    const bus = await newBus({ clock: manualClock() })
    bus.topic('t', { partitions: 2 })
    bus.publish('t', 1)
    await bus.close()
    return bus
  }

  it('on every publishing, declaring and reading method after close', async () => {
    const bus = await closedBus()
    const calls: Record<string, () => unknown> = {
      publish: () => bus.publish('t', 2),
      'publish (new topic)': () => bus.publish('new', 2),
      publishBatch: () => bus.publishBatch('t', [{ value: 2 }]),
      emit: () => bus.emit('t', 2),
      topic: () => bus.topic('t', { partitions: 2 }),
      subscribe: () => bus.subscribe('t', () => {}),
      'subscribe (pattern)': () => bus.subscribe('t.#', () => {}),
      consume: () => bus.consume('t'),
      on: () => bus.on('t', () => {}),
      once: () => bus.once('t', () => {}),
    }
    for (const [name, call] of Object.entries(calls)) {
      const e = thrown(call)
      expect(e, name).toBeInstanceOf(errors.BusClosedError)
      expect(e, name).toBeInstanceOf(errors.BusError)
    }
  })

  it('on stats() after close', async () => {
    const bus = await closedBus()
    expect(() => bus.stats()).toThrow(errors.BusClosedError)
  })

  it('on idle() after close', async () => {
    const bus = await closedBus()
    await expect(Promise.resolve().then(() => bus.idle())).rejects.toBeInstanceOf(errors.BusClosedError)
  })

  it('close() itself may be called again', async () => {
    const bus = await closedBus()
    await expect(bus.close()).resolves.toBeUndefined()
    await expect(bus[Symbol.asyncDispose]()).resolves.toBeUndefined()
  })

  it('close stops deliveries, closes subscriptions, ends consume loops and releases idle() waiters', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    const loop = (async () => {
      const seen: unknown[] = []
      for await (const m of bus.consume('t')) seen.push(m.value)
      return seen
    })()
    bus.publish('t', 1)
    await bus.idle()
    got.sub.pause()
    bus.publish('t', 2)
    const waiting = bus.idle()
    await bus.close()
    await expect(waiting).resolves.toBeUndefined()
    await expect(loop).resolves.toEqual([1])
    expect(got.sub.closed).toBe(true)
    expect(got.map((m) => m.value)).toEqual([1])
  })

  it('await using a bus closes it', async () => {
    let outer: Bus | undefined
    {
      await using bus = await createBus()
      outer = bus
      bus.publish('t', 1)
    }
    expect(() => outer!.publish('t', 2)).toThrow(errors.BusClosedError)
  })
})
