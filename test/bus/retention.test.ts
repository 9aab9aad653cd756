import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errors, manualClock, type RecordMetadata, type SkippedEvent } from '../../src/index.js'
import { collect, onlyWhere, replay, SMALL, useBuses } from './helpers.js'

const newBus = useBuses()
const pad = (i: number) => ({ i, pad: 'x'.repeat(80) })
const ids = (values: unknown[]) => values.map((v) => (v as { i: number }).i)
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('byte retention (evict)', () => {
  onlyWhere('liveStats')('evicts the oldest records and never holds more than retention.maxBytes per partition', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 } })
    for (let i = 0; i < 500; i++) {
      bus.publish('t', pad(i))
      expect(bus.stats().t.partitions[0].bytes).toBeLessThanOrEqual(8192)
    }
    const p = bus.stats().t.partitions[0]
    expect(p.endOffset).toBe(500)
    expect(p.startOffset).toBeGreaterThan(0)
    expect(p.evicted).toBe(p.startOffset)
    expect(p.segments).toBeGreaterThanOrEqual(1)
    const got = await replay(bus, 't')
    expect(got.map((m) => m.offset)).toEqual(range(p.startOffset, 500))
    expect(ids(got.map((m) => m.value))).toEqual(range(p.startOffset, 500))
  })

  onlyWhere('syncAppend')('property: the log holds exactly the offsets [start, end) and each one is the record published there', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(4096, 8192, 10_000, 20_000),
        fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 120 }),
        async (maxBytes, sizes) => {
          const bus = await newBus(SMALL)
          bus.topic('t', { retention: { maxBytes } })
          sizes.forEach((size, i) => bus.publish('t', { i, s: 'y'.repeat(size) }))
          const p = bus.stats().t.partitions[0]
          expect(p.bytes).toBeLessThanOrEqual(maxBytes)
          expect(p.endOffset).toBe(sizes.length)
          expect(p.evicted).toBe(p.startOffset)
          const got = await replay(bus, 't')
          expect(got.map((m) => m.offset)).toEqual(range(p.startOffset, sizes.length))
          for (const m of got) expect(m.value).toEqual({ i: m.offset, s: 'y'.repeat(sizes[m.offset]) })
          await bus.close()
        },
      ),
      { numRuns: 40 },
    )
  })

  onlyWhere('liveStats')('a topic without a byte cap recycles its own oldest segments when the whole log is full', async () => {
    const bus = await newBus(SMALL)
    for (let i = 0; i < 4000; i++) bus.publish('big', pad(i)) // about 4x the log
    const p = bus.stats().big.partitions[0]
    expect(p.startOffset).toBeGreaterThan(0)
    expect(p.bytes).toBeLessThanOrEqual(SMALL.maxBytes)
    const got = await replay(bus, 'big')
    expect(got.map((m) => m.offset)).toEqual(range(p.startOffset, 4000))
    expect(bus.publish('other', 1).offset).toBe(0)
  })

  onlyWhere('syncAppend')('offsets are never reused after eviction', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 4096 } })
    const offsets = Array.from({ length: 300 }, (_, i) => bus.publish('t', pad(i)).offset)
    expect(offsets).toEqual(range(0, 300))
  })
})

describe('readers that fall behind', () => {
  async function behind(options: Parameters<typeof collect>[2]) {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 } })
    const skipped: SkippedEvent[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const got = collect(bus, 't', options)
    bus.publish('t', pad(0))
    await bus.idle()
    expect(ids(got.map((m) => m.value))).toEqual([0])
    got.sub.pause()
    for (let i = 1; i < 400; i++) bus.publish('t', pad(i))
    const start = bus.stats().t.partitions[0].startOffset
    expect(start).toBeGreaterThan(1)
    got.sub.resume()
    await bus.idle()
    return { bus, got, skipped, start }
  }

  onlyWhere('syncAppend')("get a 'skipped' event and continue from the log start (default when from is not 'latest')", async () => {
    const { bus, got, skipped, start } = await behind({ from: 'earliest' })
    expect(skipped).toEqual([{ topic: 't', partition: 0, from: 1, to: start, count: start - 1 }])
    expect(got.map((m) => m.offset)).toEqual([0, ...range(start, 400)])
    expect(bus.stats().t.skipped).toBe(start - 1)
  })

  onlyWhere('syncAppend')("with reset: 'latest' jump to the end and report everything they missed", async () => {
    const { bus, got, skipped } = await behind({ from: 'earliest', reset: 'latest' })
    expect(skipped).toEqual([{ topic: 't', partition: 0, from: 1, to: 400, count: 399 }])
    expect(got.map((m) => m.offset)).toEqual([0])
    expect(bus.stats().t.skipped).toBe(399)
    bus.publish('t', pad(400))
    await bus.idle()
    expect(got.map((m) => m.offset)).toEqual([0, 400])
  })

  onlyWhere('syncAppend')("from 'latest' (the default) resets to latest by default", async () => {
    const { bus, got, skipped } = await behind(undefined)
    expect(skipped).toEqual([{ topic: 't', partition: 0, from: 1, to: 400, count: 399 }])
    expect(got.map((m) => m.offset)).toEqual([0])
    expect(bus.stats().t.skipped).toBe(399)
  })

  onlyWhere('syncAppend')("from 'latest' with reset: 'earliest' continues from the log start", async () => {
    const { got, skipped, start } = await behind({ from: 'latest', reset: 'earliest' })
    expect(skipped).toEqual([{ topic: 't', partition: 0, from: 1, to: start, count: start - 1 }])
    expect(got.map((m) => m.offset)).toEqual([0, ...range(start, 400)])
  })

  it('skipped counts add up across readers and partitions', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { partitions: 2, retention: { maxBytes: 4096 } })
    const skipped: SkippedEvent[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const a = collect(bus, 't', { from: 'earliest' })
    const b = collect(bus, 't', { from: 'earliest' })
    a.sub.pause()
    b.sub.pause()
    for (let i = 0; i < 400; i++) bus.publish('t', pad(i))
    a.sub.resume()
    b.sub.resume()
    await bus.idle()
    expect(skipped.map((e) => [e.partition, e.from]).sort()).toEqual([[0, 0], [0, 0], [1, 0], [1, 0]])
    const s = bus.stats().t
    expect(s.skipped).toBe(skipped.reduce((n, e) => n + e.count, 0))
    for (const e of skipped) expect(e.to).toBe(s.partitions[e.partition].startOffset)
    // nothing is lost silently: what a reader got plus what it was told it skipped is everything
    for (const got of [a, b]) expect(got.length + s.skipped / 2).toBe(400)
  })
})

describe("onFull: 'reject'", () => {
  function fill(bus: Awaited<ReturnType<typeof newBus>>, topic: string) {
    const accepted: Array<RecordMetadata & { i: number }> = []
    let error: unknown
    for (let i = 0; i < 100_000; i++) {
      try {
        accepted.push({ ...bus.publish(topic, pad(i)), i })
      } catch (e) {
        error = e
        break
      }
    }
    return { accepted, error }
  }

  onlyWhere('syncRefusals')('throws a retriable BackPressureError with topic and partition, and keeps every accepted record', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 }, onFull: 'reject' })
    const { accepted, error } = fill(bus, 't')
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect(error).toBeInstanceOf(errors.BusError)
    const e = error as errors.BackPressureError
    expect(e.name).toBe('BackPressureError')
    expect(e.retriable).toBe(true)
    expect(e.topic).toBe('t')
    expect(e.partition).toBe(0)
    expect(accepted.length).toBeGreaterThan(10)
    expect(() => bus.publish('t', pad(-1))).toThrow(errors.BackPressureError)
    const p = bus.stats().t.partitions[0]
    expect(p).toMatchObject({ startOffset: 0, endOffset: accepted.length, evicted: 0 })
    expect(p.bytes).toBeLessThanOrEqual(8192)
    const got = await replay(bus, 't')
    expect(got.map((m) => m.offset)).toEqual(accepted.map((r) => r.offset))
    expect(ids(got.map((m) => m.value))).toEqual(accepted.map((r) => r.i))
  })

  onlyWhere('syncRefusals')('reports the partition that is full', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { partitions: 3, retention: { maxBytes: 4096 }, onFull: 'reject' })
    let error: unknown
    try {
      for (let i = 0; i < 10_000; i++) bus.publish('t', pad(i), { partition: 2 })
    } catch (e) { error = e }
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect((error as errors.BackPressureError).partition).toBe(2)
    expect(bus.publish('t', 'fine', { partition: 0 }).offset).toBe(0)
  })

  onlyWhere('syncRefusals')('publishBatch keeps the records that went in and says which', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 }, onFull: 'reject' })
    let error: unknown
    try {
      bus.publishBatch('t', range(0, 1000).map((i) => ({ value: pad(i) })))
    } catch (e) { error = e }
    expect(error).toBeInstanceOf(errors.BackPressureError)
    const accepted = (error as errors.BackPressureError).accepted!
    expect(accepted.length).toBeGreaterThan(0)
    expect(accepted.length).toBeLessThan(1000)
    expect(accepted.map((r) => r.offset)).toEqual(range(0, accepted.length))
    const got = await replay(bus, 't')
    expect(ids(got.map((m) => m.value))).toEqual(range(0, accepted.length))
  })

  onlyWhere('syncRefusals')('without a byte cap it throws once the whole log is full, keeping what it accepted', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { onFull: 'reject' })
    const { accepted, error } = fill(bus, 't')
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect(accepted.length).toBeGreaterThan(1000)
    const got = await replay(bus, 't')
    expect(ids(got.map((m) => m.value))).toEqual(accepted.map((r) => r.i))
  })

  onlyWhere('syncRefusals')('a reader never loses records of a rejecting topic', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 }, onFull: 'reject' })
    const skipped: SkippedEvent[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const got = collect(bus, 't', { from: 'earliest' })
    got.sub.pause()
    const { accepted } = fill(bus, 't')
    got.sub.resume()
    await bus.idle()
    expect(skipped).toEqual([])
    expect(got.map((m) => m.offset)).toEqual(accepted.map((r) => r.offset))
  })

  onlyWhere('syncRefusals')('accepts records again once age retention freed space', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ ...SMALL, clock })
    bus.topic('t', { retention: { maxBytes: 8192, maxAgeMs: 1000 }, onFull: 'reject' })
    const { accepted, error } = fill(bus, 't')
    expect(error).toBeInstanceOf(errors.BackPressureError)
    clock.advance(5000)
    expect(bus.publish('t', pad(-1)).offset).toBe(accepted.length)
  })
})

describe('pool pressure', () => {
  onlyWhere('liveStats')("'reject' topics are never evicted to make room for other topics", async () => {
    const bus = await newBus(SMALL)
    bus.topic('keep', { onFull: 'reject' })
    for (let i = 0; i < 200; i++) bus.publish('keep', pad(i))
    for (let i = 0; i < 4000; i++) bus.publish('flood', pad(i))
    expect(bus.stats().keep.partitions[0]).toMatchObject({ startOffset: 0, endOffset: 200, evicted: 0 })
    expect(ids((await replay(bus, 'keep')).map((m) => m.value))).toEqual(range(0, 200))
  })

  onlyWhere('liveStats')("'reject' topics keep their records when many evictable topics compete for the pool", async () => {
    const bus = await newBus(SMALL)
    bus.topic('keep', { onFull: 'reject' })
    bus.publish('keep', 'precious')
    for (let i = 0; i < 100; i++) bus.publish(`t${i}`, pad(i))
    for (let i = 0; i < 2000; i++) bus.publish('flood', pad(i))
    expect(bus.stats().keep.partitions[0]).toMatchObject({ startOffset: 0, endOffset: 1, evicted: 0 })
    expect((await replay(bus, 'keep')).map((m) => m.value)).toEqual(['precious'])
  })

  onlyWhere('liveStats')("a 'reject' topic below its own cap gets room from evictable topics when the pool is full", async () => {
    const bus = await newBus(SMALL)
    bus.topic('r', { onFull: 'reject', retention: { maxBytes: 16 * 1024 } })
    for (let i = 0; i < 4000; i++) bus.publish('flood', pad(i)) // fills the whole pool
    expect(bus.stats().flood.partitions[0].startOffset).toBeGreaterThan(0)
    const accepted = range(0, 20).map((i) => bus.publish('r', pad(i)).offset)
    expect(accepted).toEqual(range(0, 20))
    expect(ids((await replay(bus, 'r')).map((m) => m.value))).toEqual(range(0, 20))
  })
})

describe('age retention (manualClock)', () => {
  onlyWhere('liveStats')('removes records older than retention.maxAgeMs as time passes', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ ...SMALL, clock })
    bus.topic('t', { retention: { maxAgeMs: 1000 } })
    for (let i = 0; i < 3; i++) bus.publish('t', i)
    clock.advance(500)
    expect(bus.stats().t.partitions[0].startOffset).toBe(0)
    clock.advance(1000) // t = 1500: the first records are older than the limit, but still in the segment being written
    bus.publish('t', 3) // rolls the old segment
    clock.advance(300) // t = 1800: retention runs
    const p = bus.stats().t.partitions[0]
    expect(p).toMatchObject({ startOffset: 3, endOffset: 4, evicted: 3 })
    expect((await replay(bus, 't')).map((m) => m.value)).toEqual([3])
    clock.advance(2000)
    bus.publish('t', 4)
    clock.advance(300)
    expect((await replay(bus, 't')).map((m) => m.value)).toEqual([4])
  })

  onlyWhere('syncAppend')('keeps every record younger than the limit', async () => {
    const clock = manualClock(10_000)
    const bus = await newBus({ ...SMALL, clock })
    bus.topic('t', { retention: { maxAgeMs: 60_000 } })
    for (let i = 0; i < 100; i++) {
      bus.publish('t', pad(i))
      clock.advance(1000)
    }
    // t = 110 s: the first 40 records (10 s .. 49 s) are older than the limit
    const got = await replay(bus, 't')
    const young = range(0, 100).filter((i) => 10_000 + i * 1000 >= clock.now() - 60_000)
    expect(got.map((m) => m.offset)).toEqual(expect.arrayContaining(young))
    expect(got.map((m) => m.offset)).toEqual(range(got[0].offset, 100))
    expect(bus.stats().t.partitions[0].startOffset).toBeGreaterThan(0)
    for (const m of got) expect(m.value).toEqual(pad(m.offset))
  })

  onlyWhere('syncAppend')('a reader behind age retention is told what it skipped', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ ...SMALL, clock })
    bus.topic('t', { retention: { maxAgeMs: 1000 } })
    const skipped: SkippedEvent[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const got = collect(bus, 't', { from: 'earliest' })
    got.sub.pause()
    for (let i = 0; i < 5; i++) bus.publish('t', i)
    clock.advance(2000)
    bus.publish('t', 5)
    clock.advance(300)
    got.sub.resume()
    await bus.idle()
    expect(skipped).toEqual([{ topic: 't', partition: 0, from: 0, to: 5, count: 5 }])
    expect(got.map((m) => m.value)).toEqual([5])
  })

  it('stops running retention timers when the bus closes', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ ...SMALL, clock })
    bus.topic('t', { retention: { maxAgeMs: 1000 } })
    bus.publish('t', 1)
    await bus.close()
    expect(() => clock.advance(10_000)).not.toThrow()
  })
})

describe('capacity', () => {
  onlyWhere('liveStats')('every topic the bus accepts can hold a record (100 small topics on a default bus)', async () => {
    const bus = await newBus()
    for (let i = 0; i < 100; i++) bus.publish(`topic-${i}`, { i })
    for (let i = 0; i < 100; i++) expect(bus.stats()[`topic-${i}`].partitions[0].endOffset).toBe(1)
  })

  it('when the pool makes room by evicting other topics, readers are told: data loss is never silent', async () => {
    const bus = await newBus(SMALL) // 64 blocks
    const skipped: SkippedEvent[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const got = collect(bus, 'many.#', { from: 'earliest' })
    got.sub.pause()
    for (let i = 0; i < 100; i++) bus.publish(`many.t${i}`, { i })
    got.sub.resume()
    await bus.idle()
    const s = bus.stats()
    let evicted = 0
    for (let i = 0; i < 100; i++) evicted += s[`many.t${i}`].partitions[0].evicted
    const lost = skipped.reduce((n, e) => n + e.count, 0)
    expect(lost).toBe(evicted)
    expect(got.length + lost).toBe(100)
    for (const m of got) expect(m.value).toEqual({ i: Number(m.topic.slice('many.t'.length)) })
  })

  it('100 small topics on the small bus, each with a byte cap', async () => {
    const bus = await newBus(SMALL)
    for (let i = 0; i < 100; i++) {
      bus.topic(`topic-${i}`, { retention: { maxBytes: 1024 } })
      bus.publish(`topic-${i}`, { i })
    }
    const got = await replay(bus, 'topic-99')
    expect(got.map((m) => m.value)).toEqual([{ i: 99 }])
  })
})
