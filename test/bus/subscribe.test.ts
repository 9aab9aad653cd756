import { describe, expect, it } from 'vitest'
import { errors, manualClock, type HandlerErrorEvent } from '../../src/index.js'
import { collect, countAbortListeners, deferred, onlyWhere, replay, SMALL, turns, type AnyMessage, useBuses } from './helpers.js'

const newBus = useBuses()
const values = (got: AnyMessage[]) => got.map((m) => m.value)
const coords = (got: AnyMessage[]) => got.map((m) => [m.partition, m.offset])
/** Whether a promise has settled after a few turns of the event loop. */
const settledYet = async (promise: Promise<unknown>): Promise<boolean> => {
  let settled = false
  promise.then(() => { settled = true }, () => { settled = true })
  await turns()
  return settled
}

describe('start positions', () => {
  it("defaults to 'latest': only records published after subscribing", async () => {
    const bus = await newBus()
    bus.publish('t', 'old-1')
    bus.publish('t', 'old-2')
    const got = collect(bus, 't')
    bus.publish('t', 'new')
    await bus.idle()
    expect(values(got)).toEqual(['new'])
    expect(got[0].offset).toBe(2)
  })

  it("'latest' on a topic that does not exist yet gets everything once it is created", async () => {
    const bus = await newBus()
    const got = collect(bus, 'later')
    bus.publish('later', 1)
    bus.publish('later', 2)
    await bus.idle()
    expect(values(got)).toEqual([1, 2])
  })

  it("'earliest' replays the whole log, then keeps following it", async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    for (let i = 0; i < 6; i++) bus.publish('t', i)
    const got = collect(bus, 't', { from: 'earliest' })
    await bus.idle()
    bus.publish('t', 6)
    await bus.idle()
    expect(values(got).sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(got.filter((m) => m.partition === 0).map((m) => m.value)).toEqual([0, 2, 4, 6])
  })

  it('{ offset } starts every partition there; { offset, partition } only that one (others at latest)', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    for (let i = 0; i < 10; i++) bus.publish('t', i, { partition: i % 2 })
    const all = collect(bus, 't', { from: { offset: 3 } })
    const one = collect(bus, 't', { from: { offset: 2, partition: 1 } })
    await bus.idle()
    expect(coords(all).sort()).toEqual([[0, 3], [0, 4], [1, 3], [1, 4]])
    expect(coords(one)).toEqual([[1, 2], [1, 3], [1, 4]])
    bus.publish('t', 'p0', { partition: 0 })
    await bus.idle()
    expect(coords(one)).toEqual([[1, 2], [1, 3], [1, 4], [0, 5]])
  })

  it('an offset past the end waits at the end', async () => {
    const bus = await newBus()
    bus.publish('t', 0)
    const got = collect(bus, 't', { from: { offset: 100 } })
    bus.publish('t', 1)
    await bus.idle()
    expect(coords(got)).toEqual([[0, 1]])
  })

  onlyWhere('liveStats')('an offset below the log start reads from the log start', async () => {
    const bus = await newBus(SMALL)
    bus.topic('t', { retention: { maxBytes: 8192 } })
    for (let i = 0; i < 300; i++) bus.publish('t', i)
    const start = bus.stats().t.partitions[0].startOffset
    expect(start).toBeGreaterThan(0)
    const skipped: unknown[] = []
    bus.events.on('skipped', (e) => skipped.push(e))
    const got = collect(bus, 't', { from: { offset: 0 } })
    await bus.idle()
    expect(got[0].offset).toBe(start)
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: 300 - start }, (_, i) => start + i))
    expect(skipped).toEqual([])
  })

  it('{ timestamp } starts at the first record with timestamp >= it', async () => {
    const clock = manualClock(100)
    const bus = await newBus({ clock })
    bus.topic('t', { partitions: 2 })
    for (let i = 0; i < 6; i++) {
      bus.publish('t', i, { partition: i % 2 }) // timestamps 100..600
      clock.advance(100)
    }
    const at = collect(bus, 't', { from: { timestamp: 300 } })
    const between = collect(bus, 't', { from: { timestamp: 350 } })
    const before = collect(bus, 't', { from: { timestamp: 0 } })
    const after = collect(bus, 't', { from: { timestamp: 10_000 } })
    await bus.idle()
    expect(values(at).sort()).toEqual([2, 3, 4, 5])
    expect(values(between).sort()).toEqual([3, 4, 5])
    expect(values(before).sort()).toEqual([0, 1, 2, 3, 4, 5])
    expect(values(after)).toEqual([])
  })

  it('{ timestamp } uses explicit record timestamps', async () => {
    const bus = await newBus()
    for (const ts of [10, 20, 30, 40]) bus.publish('t', ts, { timestamp: ts })
    const got = collect(bus, 't', { from: { timestamp: 25 } })
    await bus.idle()
    expect(values(got)).toEqual([30, 40])
  })
})

describe('subscription control', () => {
  it('seek moves one partition or all of them, by offset or timestamp', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    for (let i = 0; i < 6; i++) bus.publish('t', i, { partition: i % 2, timestamp: 1000 + i })
    const got = collect(bus, 't', { from: 'earliest' })
    await bus.idle()
    expect(got).toHaveLength(6)
    got.length = 0
    got.sub.seek({ partition: 1, offset: 1 })
    await bus.idle()
    expect(coords(got)).toEqual([[1, 1], [1, 2]])
    got.length = 0
    got.sub.seek({ offset: 2 })
    await bus.idle()
    expect(coords(got).sort()).toEqual([[0, 2], [1, 2]])
    got.length = 0
    got.sub.seek({ timestamp: 1003 })
    await bus.idle()
    expect(values(got).sort()).toEqual([3, 4, 5])
    expect(got.sub.position('t', 0)).toBe(3)
    expect(got.sub.position('t', 1)).toBe(3)
  })

  onlyWhere('syncRefusals')('seek to a partition the reader does not hold, or to a bad offset, is an InvalidArgumentError', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const sub = bus.subscribe('t', () => {})
    expect(() => sub.seek({ partition: 5, offset: 0 })).toThrow(errors.InvalidArgumentError)
    expect(() => sub.seek({ offset: -1 })).toThrow(errors.InvalidArgumentError)
    expect(() => sub.seek({ offset: 1.5 })).toThrow(errors.InvalidArgumentError)
    expect(() => sub.seek({ timestamp: Number.NaN })).toThrow(errors.InvalidArgumentError)
  })

  it('pause holds deliveries and resume delivers them in order', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    bus.publish('t', 1)
    await bus.idle()
    got.sub.pause()
    bus.publish('t', 2)
    bus.publish('t', 3)
    await bus.idle()
    expect(values(got)).toEqual([1])
    got.sub.resume()
    await bus.idle()
    expect(values(got)).toEqual([1, 2, 3])
  })

  it('pause from inside a handler stops before the next record', async () => {
    const bus = await newBus()
    const seen: unknown[] = []
    const sub = bus.subscribe('t', (m) => {
      seen.push(m.value)
      if (m.value === 2) sub.pause()
    }, { from: 'earliest' })
    for (let i = 1; i <= 5; i++) bus.publish('t', i)
    await bus.idle()
    expect(seen).toEqual([1, 2])
    sub.resume()
    await bus.idle()
    expect(seen).toEqual([1, 2, 3, 4, 5])
  })

  it('close stops deliveries and releases the reader', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    bus.publish('t', 1)
    await bus.idle()
    expect(got.sub.closed).toBe(false)
    expect(bus.stats().t.readers).toBe(1)
    await got.sub.close()
    expect(got.sub.closed).toBe(true)
    bus.publish('t', 2)
    await bus.idle()
    expect(values(got)).toEqual([1])
    expect(bus.stats().t.readers).toBe(0)
    await got.sub.close() // twice is fine
  })

  it('close from inside a handler stops before the next record', async () => {
    const bus = await newBus()
    const seen: unknown[] = []
    const sub = bus.subscribe('t', (m) => {
      seen.push(m.value)
      if (m.value === 3) void sub.close()
    })
    for (let i = 1; i <= 5; i++) bus.publish('t', i)
    await bus.idle()
    expect(seen).toEqual([1, 2, 3])
  })

  it('a replaying handler may use its own subscription: nothing is delivered before subscribe() returns', async () => {
    const bus = await newBus()
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    for (let i = 1; i <= 5; i++) bus.publish('t', i)
    let returned = false
    let early = 0
    const seen: unknown[] = []
    const sub = bus.subscribe('t', (m) => {
      if (!returned) early++
      seen.push(m.value)
      if (m.value === 3) void sub.close()
    }, { from: 'earliest' })
    returned = true
    await bus.idle()
    expect(early).toBe(0)
    expect(reported).toEqual([])
    expect(seen).toEqual([1, 2, 3])
  })

  it('seek() and resume() do not call the handler before they return', async () => {
    const bus = await newBus()
    for (let i = 0; i < 3; i++) bus.publish('t', i)
    let inside = false
    let early = 0
    const seen: unknown[] = []
    const sub = bus.subscribe('t', (m) => {
      if (inside) early++
      seen.push(m.value)
    }, { from: 'earliest' })
    await bus.idle()
    inside = true
    sub.seek({ offset: 0 })
    inside = false
    await bus.idle()
    sub.pause()
    sub.seek({ offset: 1 })
    inside = true
    sub.resume()
    inside = false
    await bus.idle()
    expect(early).toBe(0)
    expect(seen).toEqual([0, 1, 2, 0, 1, 2, 1, 2])
  })

  it('Symbol.asyncDispose closes the subscription (await using)', async () => {
    const bus = await newBus()
    const seen: unknown[] = []
    {
      await using sub = bus.subscribe('t', (m) => { seen.push(m.value) })
      expect(sub.closed).toBe(false)
      bus.publish('t', 1)
      await bus.idle()
    }
    bus.publish('t', 2)
    await bus.idle()
    expect(seen).toEqual([1])
    expect(bus.stats().t.readers).toBe(0)
    const sub2 = bus.subscribe('t', () => {})
    await sub2[Symbol.asyncDispose]()
    expect(sub2.closed).toBe(true)
  })

  it('aborting the signal closes the subscription; an aborted signal delivers nothing', async () => {
    const bus = await newBus()
    const ac = new AbortController()
    const got = collect(bus, 't', { signal: ac.signal })
    bus.publish('t', 1)
    await bus.idle()
    ac.abort()
    expect(got.sub.closed).toBe(true)
    bus.publish('t', 2)
    await bus.idle()
    expect(values(got)).toEqual([1])
    const dead = collect(bus, 't', { from: 'earliest', signal: AbortSignal.abort() })
    await bus.idle()
    expect(dead).toHaveLength(0)
    expect(dead.sub.closed).toBe(true)
  })

  it('one signal for many subscriptions keeps no abort listener (nor its reader) for those that closed', async () => {
    const bus = await newBus()
    const ac = new AbortController()
    const listeners = countAbortListeners(ac.signal)
    for (let i = 0; i < 10_000; i++) await bus.subscribe('t', () => {}, { signal: ac.signal }).close()
    for (let i = 0; i < 10; i++) await bus.consume('t', { signal: ac.signal }).return!()
    expect(listeners()).toBe(0)
    const live = collect(bus, 't', { signal: ac.signal })
    expect(listeners()).toBe(1)
    ac.abort()
    expect(live.sub.closed).toBe(true)
    expect(bus.stats().t?.readers ?? 0).toBe(0)
  })

  onlyWhere('assignments')('assignments() lists every partition held; commit() is for groups and throws', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const sub = bus.subscribe('t', () => {})
    expect(sub.assignments()).toEqual([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }])
    expect(() => sub.commit()).toThrow(errors.InvalidArgumentError)
  })

  it('independent readers each get every record', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const a = collect(bus, 't')
    const b = collect(bus, 't')
    for (let i = 0; i < 9; i++) bus.publish('t', i)
    await bus.idle()
    expect(values(a).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(values(b).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  })
})

describe('handlers', () => {
  it('the next record of a partition waits until an async handler settles', async () => {
    const bus = await newBus()
    const log: string[] = []
    const gates = [deferred(), deferred(), deferred()]
    bus.subscribe('t', async (m) => {
      const i = m.value as number
      log.push(`start ${i}`)
      await gates[i].promise
      log.push(`end ${i}`)
    })
    for (let i = 0; i < 3; i++) bus.publish('t', i)
    await turns()
    expect(log).toEqual(['start 0'])
    gates[1].resolve()
    await turns()
    expect(log).toEqual(['start 0'])
    gates[0].resolve()
    await turns()
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2'])
    gates[2].resolve()
    await bus.idle()
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'])
  })

  it('bus.idle() waits for async handlers to settle', async () => {
    const bus = await newBus()
    const gate = deferred()
    let done = 0
    bus.subscribe('t', async () => { await gate.promise; done++ })
    bus.publish('t', 1)
    bus.publish('t', 2)
    let idle = false
    const waiting = bus.idle().then(() => { idle = true })
    await turns()
    expect(idle).toBe(false)
    gate.resolve()
    await waiting
    expect(done).toBe(2)
  })

  it("a throwing handler is reported on bus.events 'error' with context, and delivery continues", async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const seen: unknown[] = []
    const boom = new Error('boom')
    bus.subscribe('t', (m) => {
      seen.push(m.value)
      if (m.value === 'bad') throw boom
    })
    bus.publish('t', 'ok-1', { partition: 1 })
    bus.publish('t', 'bad', { partition: 1 })
    bus.publish('t', 'ok-2', { partition: 1 })
    await bus.idle()
    expect(seen).toEqual(['ok-1', 'bad', 'ok-2'])
    expect(reported).toEqual([{ error: boom, topic: 't', partition: 1, offset: 1 }])
  })

  it("a rejected async handler is reported the same way, and delivery continues", async () => {
    const bus = await newBus()
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const seen: unknown[] = []
    bus.subscribe('t', async (m) => {
      seen.push(m.value)
      await Promise.resolve()
      if (m.offset === 0) throw new TypeError('async boom')
    })
    bus.publish('t', 'a')
    bus.publish('t', 'b')
    await bus.idle()
    expect(seen).toEqual(['a', 'b'])
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ topic: 't', partition: 0, offset: 0 })
    expect(reported[0].error).toBeInstanceOf(TypeError)
  })

  it('a handler that publishes to the topic it reads sees its own records in order', async () => {
    const bus = await newBus(SMALL)
    const seen: number[] = []
    bus.subscribe('loop', (m) => {
      const n = m.value as number
      seen.push(n)
      if (n < 200) bus.publish('loop', n + 1)
    })
    bus.publish('loop', 0)
    await bus.idle()
    expect(seen).toEqual(Array.from({ length: 201 }, (_, i) => i))
  })
})

describe('sharing the thread', () => {
  it('a long replay hands over records in slices: timers and I/O run between them, order is kept', async () => {
    const bus = await newBus({ maxBytes: 16 * 1024 * 1024 })
    const count = 20_000
    bus.publishBatch('long', Array.from({ length: count }, (_, seq) => ({ value: seq })))
    let delivered = 0
    let inOrder = true
    let atTimer = -1
    // about 5 us per record: some 100 ms in all, far more than one slice
    bus.subscribe('long', (msg) => {
      if (msg.value !== delivered) inOrder = false
      // armed once the replay is under way (a copying worker's records arrive a few turns later)
      if (delivered++ === 0) setTimeout(() => { atTimer = delivered }, 0)
      for (const until = performance.now() + 0.005; performance.now() < until;);
    }, { from: 'earliest' })
    await bus.idle() // waits for the whole replay, across the slices
    expect(delivered).toBe(count)
    expect(inOrder).toBe(true)
    expect(atTimer).toBeGreaterThan(0)
    expect(atTimer).toBeLessThan(count) // the timer ran while the replay was under way
  })
})

describe('bus.consume()', () => {
  onlyWhere('liveStats')('yields messages in order; break ends the loop and closes the reader', async () => {
    const bus = await newBus()
    for (let i = 0; i < 5; i++) bus.publish('t', i)
    const seen: unknown[] = []
    for await (const msg of bus.consume('t', { from: 'earliest' })) {
      seen.push(msg.value)
      if (msg.offset === 3) break
    }
    expect(seen).toEqual([0, 1, 2, 3])
    expect(bus.stats().t.readers).toBe(0)
  })

  onlyWhere('liveStats')('waits for new records, and aborting the signal ends the loop without throwing', async () => {
    const bus = await newBus()
    const ac = new AbortController()
    const seen: unknown[] = []
    const loop = (async () => {
      for await (const msg of bus.consume('t', { signal: ac.signal })) {
        seen.push(msg.value)
        if (seen.length === 2) ac.abort()
      }
      return 'ended'
    })()
    bus.publish('t', 'a')
    await turns()
    bus.publish('t', 'b')
    await expect(loop).resolves.toBe('ended')
    expect(seen).toEqual(['a', 'b'])
    expect(bus.stats().t.readers).toBe(0)
  })

  it('aborting while the loop waits for a record ends it', async () => {
    const bus = await newBus()
    const ac = new AbortController()
    const loop = (async () => {
      const seen: unknown[] = []
      for await (const msg of bus.consume('t', { signal: ac.signal })) seen.push(msg.value)
      return seen
    })()
    await turns()
    ac.abort()
    await expect(loop).resolves.toEqual([])
  })

  it('keeps order and loses nothing past its high-water mark', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    for (let i = 0; i < 500; i++) bus.publish('t', i, { key: `k${i % 17}` })
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const seen: AnyMessage[] = []
    for await (const msg of bus.consume('t', { from: 'earliest', highWaterMark: 4 })) {
      seen.push(msg)
      if (seen.length === 500) break
    }
    expect(seen.map((m) => m.value).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 500 }, (_, i) => i))
    for (let p = 0; p < 3; p++) {
      const offsets = seen.filter((m) => m.partition === p).map((m) => m.offset)
      expect(offsets).toEqual(offsets.map((_, i) => i))
    }
    expect(reported).toEqual([])
  })

  it('applies its high-water mark to records published while the loop is running', async () => {
    const bus = await newBus()
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const iterator = bus.consume('t', { highWaterMark: 4 })
    for (let i = 0; i < 100; i++) bus.publish('t', i)
    const seen: unknown[] = []
    for await (const msg of iterator) {
      seen.push(msg.value)
      if (seen.length === 100) break
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(reported).toEqual([])
  })

  it('next() calls made before the records arrive get them in order', async () => {
    const bus = await newBus()
    const iterator = bus.consume('t')
    const first = iterator.next()
    const second = iterator.next()
    const third = iterator.next()
    bus.publish('t', 'a')
    bus.publish('t', 'b')
    await bus.idle()
    expect(await Promise.all([settledYet(first), settledYet(second)])).toEqual([true, true])
    expect(await first).toMatchObject({ done: false, value: { value: 'a', offset: 0 } })
    expect(await second).toMatchObject({ done: false, value: { value: 'b', offset: 1 } })
    expect(await settledYet(third)).toBe(false)
    bus.publish('t', 'c')
    expect(await third).toMatchObject({ done: false, value: { value: 'c', offset: 2 } })
    await iterator.return!()
  })

  it('return() settles the next() calls still waiting with done', async () => {
    const bus = await newBus()
    const iterator = bus.consume('t')
    const waiting = [iterator.next(), iterator.next()]
    await turns()
    await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true })
    expect(await settledYet(Promise.all(waiting))).toBe(true)
    expect(await Promise.all(waiting)).toEqual([{ value: undefined, done: true }, { value: undefined, done: true }])
    await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true })
    expect(bus.stats().t?.readers ?? 0).toBe(0)
  })

  it('consume with an already aborted signal yields nothing', async () => {
    const bus = await newBus()
    bus.publish('t', 1)
    const seen: unknown[] = []
    for await (const msg of bus.consume('t', { from: 'earliest', signal: AbortSignal.abort() })) seen.push(msg)
    expect(seen).toEqual([])
  })
})

describe('on / off / once', () => {
  it('on(fn) gets (value, message) from latest; the returned function removes it', async () => {
    const bus = await newBus()
    bus.publish('t', 'before')
    const seen: unknown[] = []
    const off = bus.on('t', (value, msg) => { seen.push([value, msg.offset, msg.topic]) })
    bus.publish('t', 'a')
    await bus.idle()
    off()
    bus.publish('t', 'b')
    await bus.idle()
    expect(seen).toEqual([['a', 1, 't']])
    expect(bus.stats().t.readers).toBe(0)
    off() // twice is harmless
  })

  it('the unsubscribe function is also a Disposable (using)', async () => {
    const bus = await newBus()
    const seen: unknown[] = []
    {
      using _off = bus.on('t', (v) => { seen.push(v) })
      bus.publish('t', 1)
      await bus.idle()
    }
    bus.publish('t', 2)
    await bus.idle()
    expect(seen).toEqual([1])
    expect(bus.stats().t.readers).toBe(0)
  })

  it('off(topic, fn) removes that listener only', async () => {
    const bus = await newBus()
    const a: unknown[] = []
    const b: unknown[] = []
    const fa = (v: unknown) => { a.push(v) }
    const fb = (v: unknown) => { b.push(v) }
    bus.on('t', fa)
    bus.on('t', fb)
    bus.on('u', fa)
    bus.publish('t', 1)
    await bus.idle()
    bus.off('t', fa)
    bus.publish('t', 2)
    bus.publish('u', 3)
    await bus.idle()
    expect(a).toEqual([1, 3])
    expect(b).toEqual([1, 2])
  })

  onlyWhere('liveStats')('once(fn) gets exactly one record', async () => {
    const bus = await newBus()
    const seen: unknown[] = []
    bus.once('t', (v) => { seen.push(v) })
    bus.publish('t', 1)
    bus.publish('t', 2)
    bus.publish('t', 3)
    await bus.idle()
    expect(seen).toEqual([1])
    expect(bus.stats().t.readers).toBe(0)
  })

  it('a listener that throws or rejects is reported and keeps listening', async () => {
    const bus = await newBus()
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const seen: unknown[] = []
    bus.on('t', (v) => {
      seen.push(v)
      if (v === 1) throw new Error('sync')
    })
    bus.on('t', async (v) => { if (v === 2) throw new Error('async') })
    bus.publish('t', 1)
    bus.publish('t', 2)
    bus.publish('t', 3)
    await bus.idle()
    await turns()
    expect(seen).toEqual([1, 2, 3])
    expect(reported.map((e) => [(e.error as Error).message, e.topic, e.partition, e.offset]).sort()).toEqual([['async', 't', 0, 1], ['sync', 't', 0, 0]])
  })

  it('rejects a non-function listener or handler', async () => {
    const bus = await newBus()
    expect(() => bus.on('t', 'nope' as never)).toThrow(errors.InvalidArgumentError)
    expect(() => bus.subscribe('t', undefined as never)).toThrow(errors.InvalidArgumentError)
  })
})

describe('replay', () => {
  it('a reader created after publishing sees the same records as a live one', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const live = collect(bus, 't')
    for (let i = 0; i < 20; i++) bus.publish('t', { i }, { key: `k${i % 3}`, headers: { n: String(i) } })
    await bus.idle()
    const later = await replay(bus, 't')
    const view = (m: AnyMessage) => [m.topic, m.partition, m.offset, m.timestamp, m.key, m.headers, m.value]
    const sort = (a: unknown[], b: unknown[]) => (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number)
    expect(later.map(view).sort(sort)).toEqual(live.map(view).sort(sort))
  })
})
