// Consumer groups (Kafka's model): partitions shared among a group's members, committed offsets,
// cooperative rebalancing, retries with backoff, dead letters, poison records and lag.
import { describe, expect } from 'vitest'
import { DLQ_HEADERS, errors, manualClock, type RebalanceEvent, type SubscribeOptions } from '../../src/index.js'
import { deferred, lastTakesAll, onlyWhere, turns, useBuses, type AnyMessage } from './helpers.js'

const newBus = useBuses()
const it = onlyWhere('groups')
const values = (got: AnyMessage[]) => got.map((m) => m.value)

/** Publishes `count` numbered records round-robin over the topic's partitions. */
function fill(bus: { publish(topic: string, value: unknown): unknown }, topic: string, from: number, count: number): void {
  for (let i = from; i < from + count; i++) bus.publish(topic, i)
}

describe('membership and assignment', () => {
  it('shares the partitions: every record goes to exactly one member of the group', async () => {
    const bus = await newBus()
    bus.topic('jobs', { partitions: 4 })
    const a: AnyMessage[] = []
    const b: AnyMessage[] = []
    const subA = bus.subscribe('jobs', (m) => { a.push(m) }, { group: 'g' })
    const subB = bus.subscribe('jobs', (m) => { b.push(m) }, { group: 'g' })
    await bus.idle()
    fill(bus, 'jobs', 0, 40)
    await bus.idle()
    expect([...values(a), ...values(b)].sort((x, y) => (x as number) - (y as number))).toEqual(Array.from({ length: 40 }, (_, i) => i))
    const ownedA = subA.assignments()
    const ownedB = subB.assignments()
    expect(ownedA).toHaveLength(2)
    expect(ownedB).toHaveLength(2)
    expect(new Set([...ownedA, ...ownedB].map((tp) => tp.partition))).toEqual(new Set([0, 1, 2, 3]))
    for (const m of a) expect(ownedA.some((tp) => tp.partition === m.partition)).toBe(true)
  })

  it('every group gets every record; a member without a group too', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const g1: AnyMessage[] = []
    const g2: AnyMessage[] = []
    const solo: AnyMessage[] = []
    bus.subscribe('t', (m) => { g1.push(m) }, { group: 'one' })
    bus.subscribe('t', (m) => { g2.push(m) }, { group: 'two' })
    bus.subscribe('t', (m) => { solo.push(m) })
    fill(bus, 't', 0, 10)
    await bus.idle()
    expect(g1).toHaveLength(10)
    expect(g2).toHaveLength(10)
    expect(solo).toHaveLength(10)
  })

  it("starts at 'latest' by default, fixed when the group subscribes: a record published right after is the group's", async () => {
    const bus = await newBus()
    bus.publish('t', 'before')
    const got: AnyMessage[] = []
    bus.subscribe('t', (m) => { got.push(m) }, { group: 'g' })
    bus.publish('t', 'after')
    await bus.idle()
    expect(values(got)).toEqual(['after'])
  })

  it('emits group.rebalance with the generation and the owners, and keeps order within each partition', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const events: RebalanceEvent[] = []
    bus.events.on('group.rebalance', (e) => events.push(e))
    const got: AnyMessage[] = []
    bus.subscribe('t', (m) => { got.push(m) }, { group: 'g', from: 'earliest' })
    fill(bus, 't', 0, 30)
    await bus.idle()
    await turns()
    expect(events).toHaveLength(1)
    expect(events[0].group).toBe('g')
    expect(events[0].generation).toBe(1)
    expect(Object.values(events[0].assignments)[0]).toEqual([0, 1, 2].map((partition) => ({ topic: 't', partition })))
    for (let p = 0; p < 3; p++) {
      const offsets = got.filter((m) => m.partition === p).map((m) => m.offset)
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y))
    }
  })

  it('a member that leaves gives its partitions to the others, who continue from the committed offsets', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    const a: AnyMessage[] = []
    const b: AnyMessage[] = []
    const subA = bus.subscribe('t', (m) => { a.push(m) }, { group: 'g' })
    const subB = bus.subscribe('t', (m) => { b.push(m) }, { group: 'g' })
    await bus.idle()
    fill(bus, 't', 0, 20)
    await bus.idle()
    await subA.close()
    fill(bus, 't', 20, 20)
    await bus.idle()
    expect(subB.assignments()).toHaveLength(4)
    // nothing twice: A committed everything it handled before it left
    const all = [...values(a), ...values(b)]
    expect(all).toHaveLength(40)
    expect(new Set(all).size).toBe(40)
  })

  it('a member that joins takes partitions only from those with more than their share (sticky)', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    const subA = bus.subscribe('t', () => {}, { group: 'g' })
    await bus.idle()
    expect(subA.assignments()).toHaveLength(4)
    const before = subA.assignments()
    const subB = bus.subscribe('t', () => {}, { group: 'g' })
    await bus.idle()
    await turns()
    expect(subA.assignments()).toHaveLength(2)
    expect(subB.assignments()).toHaveLength(2)
    for (const tp of subA.assignments()) expect(before).toContainEqual(tp)
  })

  it('a wildcard group picks up a topic created later', async () => {
    const bus = await newBus()
    const got: AnyMessage[] = []
    const sub = bus.subscribe('order.*', (m) => { got.push(m) }, { group: 'g' })
    bus.publish('order.placed', 1)
    bus.topic('order.shipped', { partitions: 2 })
    bus.publish('order.shipped', 2)
    await bus.idle()
    await turns()
    await bus.idle()
    expect(values(got).sort()).toEqual([1, 2])
    expect(sub.assignments()).toEqual([
      { topic: 'order.placed', partition: 0 }, { topic: 'order.shipped', partition: 0 }, { topic: 'order.shipped', partition: 1 },
    ])
  })

  it('an aborted signal makes the member leave', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const ac = new AbortController()
    const subA = bus.subscribe('t', () => {}, { group: 'g', signal: ac.signal })
    const subB = bus.subscribe('t', () => {}, { group: 'g' })
    await bus.idle()
    await turns()
    expect(subB.assignments()).toHaveLength(1)
    ac.abort()
    await turns()
    await bus.idle()
    expect(subA.closed).toBe(true)
    expect(subB.assignments()).toHaveLength(2)
  })

  it('members of one group must agree on the assignor', async () => {
    const bus = await newBus()
    const reported: unknown[] = []
    bus.events.on('error', (e) => reported.push(e.error))
    /** The coordinator refuses at once in its own thread; a worker's member hears it over the port, and closes. */
    const refused = async (options: SubscribeOptions): Promise<unknown> => {
      let sub
      try {
        sub = bus.subscribe('t', () => {}, options)
      } catch (error) {
        return error
      }
      await bus.idle()
      expect(sub.closed).toBe(true)
      return reported.pop()
    }
    bus.subscribe('t', () => {}, { group: 'g', assignor: 'range' })
    await bus.idle()
    expect(await refused({ group: 'g', assignor: 'roundrobin' })).toMatchObject({ message: expect.stringMatching(/uses assignor range/) })
    expect(await refused({ group: 'h', assignor: 'nope' })).toMatchObject({ message: expect.stringMatching(/unknown assignor/) })
  })

  onlyWhere('coordinatorHere')('a refused member leaves nothing behind: no group slot, no start position', async () => {
    const bus = await newBus()
    bus.subscribe('t', () => {}, { group: 'g', assignor: 'range' })
    expect(() => bus.subscribe('t', () => {}, { group: 'h', assignor: 'nope' })).toThrow(/unknown assignor/)
    expect(() => bus.subscribe('t', () => {}, { group: 'g', assignor: 'roundrobin' })).toThrow(/uses assignor range/)
    bus.publish('t', 'first')
    expect(bus.lag('h')).toEqual({})
    const got: unknown[] = []
    bus.subscribe('t', (m) => { got.push(m.value) }, { group: 'h', from: 'earliest' })
    await bus.idle()
    expect(got).toEqual(['first'])
    expect(Object.keys(bus.stats().t.groups)).toEqual(['g', 'h'])
  })

  onlyWhere('assignorObjects')('uses a custom assignor given as an object', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const last = lastTakesAll
    const subA = bus.subscribe('t', () => {}, { group: 'g', assignor: last })
    const subB = bus.subscribe('t', () => {}, { group: 'g', assignor: last })
    await bus.idle()
    await turns()
    expect(subA.assignments()).toEqual([])
    expect(subB.assignments()).toHaveLength(3)
  })

  it('rejects bad group options with InvalidArgumentError', async () => {
    const bus = await newBus()
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ group: '' }, 'group'],
      [{ group: 'g', concurrency: 0 }, 'concurrency'],
      [{ group: 'g', maxAttempts: 1.5 }, 'maxAttempts'],
      [{ group: 'g', backoff: { initialMs: -1 } }, 'backoff.initialMs'],
      [{ group: 'g', backoff: { multiplier: 0.5 } }, 'backoff.multiplier'],
      [{ group: 'g', deadLetter: 'bad topic!' }, 'deadLetter'],
      [{ group: 'g', autoCommit: 'yes' }, 'autoCommit'],
      [{ maxAttempts: 2 }, 'maxAttempts'],
    ]
    for (const [options, argument] of bad) {
      let caught: unknown
      try {
        bus.subscribe('t', () => {}, options)
      } catch (error) {
        caught = error
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(errors.BusError)
      if (argument !== 'deadLetter') expect((caught as errors.InvalidArgumentError).argument).toBe(argument)
    }
  })
})

describe('commits', () => {
  it('a new member of the group continues after the last committed record', async () => {
    const bus = await newBus()
    const first: AnyMessage[] = []
    const sub = bus.subscribe('t', (m) => { first.push(m) }, { group: 'g', from: 'earliest' })
    fill(bus, 't', 0, 5)
    await bus.idle()
    await sub.close()
    fill(bus, 't', 5, 5)
    const second: AnyMessage[] = []
    bus.subscribe('t', (m) => { second.push(m) }, { group: 'g', from: 'earliest' })
    await bus.idle()
    expect(values(first)).toEqual([0, 1, 2, 3, 4])
    expect(values(second)).toEqual([5, 6, 7, 8, 9])
    expect(bus.lag('g')).toEqual({ t: { 0: 0 } })
  })

  it('a record whose handler settles while its partition is being given up is committed, not delivered again', async () => {
    const bus = await newBus()
    const gate = deferred()
    const a: AnyMessage[] = []
    const subA = bus.subscribe('t', async (m) => {
      a.push(m)
      if (m.value === 1) await gate.promise
    }, { group: 'g' })
    await bus.idle()
    fill(bus, 't', 0, 3)
    await turns()
    expect(values(a)).toEqual([0, 1])
    const closing = subA.close()
    const b: AnyMessage[] = []
    bus.subscribe('t', (m) => { b.push(m) }, { group: 'g' })
    gate.resolve() // the record succeeds while the partition is being given up: it is committed
    await closing
    await bus.idle()
    expect(values(b)).toEqual([2])
  })

  it('autoCommit: false commits only with sub.commit(), and commit(message) commits up to it', async () => {
    const bus = await newBus()
    const sub = bus.subscribe('t', () => {}, { group: 'g', autoCommit: false, from: 'earliest' })
    fill(bus, 't', 0, 4)
    await bus.idle()
    expect(bus.lag('g')).toEqual({ t: { 0: 4 } })
    await sub.commit({ topic: 't', partition: 0, offset: 1 })
    expect(bus.lag('g')).toEqual({ t: { 0: 2 } })
    await sub.commit()
    expect(bus.lag('g')).toEqual({ t: { 0: 0 } })
  })

  it('a member cannot commit a partition that a rebalance moved away', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const subA = bus.subscribe('t', () => {}, { group: 'g', autoCommit: false })
    await bus.idle()
    const held = subA.assignments()
    bus.subscribe('t', () => {}, { group: 'g' })
    await bus.idle()
    await turns()
    const lost = held.find((tp) => !subA.assignments().some((x) => x.partition === tp.partition))!
    await expect(subA.commit({ ...lost, offset: 0 })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
  })

  it('lag is end offset - committed offset per partition; an unknown group has none', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const gate = deferred()
    bus.subscribe('t', () => gate.promise, { group: 'g', from: 'earliest' })
    fill(bus, 't', 0, 6)
    await turns()
    expect(bus.lag('g')).toEqual({ t: { 0: 3, 1: 3 } })
    expect(bus.lag('nobody')).toEqual({})
    gate.resolve()
    await bus.idle()
    expect(bus.lag('g')).toEqual({ t: { 0: 0, 1: 0 } })
  })
})

describe('retry topics (non-blocking retries)', () => {
  it('sends a failing record to a retry topic per attempt, so the records after it go on at once', async () => {
    const clock = manualClock()
    const bus = await newBus({ clock })
    bus.events.on('error', () => {})
    bus.topic('jobs', { partitions: 2 })
    const seen: Array<[unknown, number, number, string, number, number]> = []
    bus.subscribe('jobs', (m) => {
      seen.push([m.value, m.attempt, clock.now(), m.topic, m.partition, m.offset])
      if (m.value === 'flaky' && m.attempt < 3) throw new Error('later')
      if (m.value === 'broken') throw new Error('never')
    }, { group: 'workers', retryTopics: true, backoff: { initialMs: 100 } })
    bus.publish('jobs', 'flaky', { partition: 1, headers: { trace: 't' } })
    bus.publish('jobs', 'broken', { partition: 1 })
    bus.publish('jobs', 'fine', { partition: 1 })
    await bus.idle()
    // nothing waits in the source partition: every record had its first attempt
    expect(seen).toEqual([['flaky', 1, 0, 'jobs', 1, 0], ['broken', 1, 0, 'jobs', 1, 1], ['fine', 1, 0, 'jobs', 1, 2]])
    expect(bus.lag('workers').jobs).toEqual({ 0: 0, 1: 0 })
    clock.advance(100)
    await bus.idle()
    expect(seen.slice(3)).toEqual([['flaky', 2, 100, 'jobs', 1, 0], ['broken', 2, 100, 'jobs', 1, 1]])
    clock.advance(200)
    await bus.idle()
    expect(seen.slice(5)).toEqual([['flaky', 3, 300, 'jobs', 1, 0], ['broken', 3, 300, 'jobs', 1, 1]])
    const dead: AnyMessage[] = []
    bus.subscribe('jobs.dlq', (m) => { dead.push(m) }, { from: 'earliest' })
    await bus.idle()
    expect(dead.map((m) => [m.value, m.partition, m.headers[DLQ_HEADERS.topic], m.headers[DLQ_HEADERS.offset], m.headers[DLQ_HEADERS.attempts]])).toEqual([['broken', 1, 'jobs', '1', '3']])
    expect(Object.keys(bus.stats()).sort()).toEqual(['jobs', 'jobs.dlq', 'jobs.workers.retry-2', 'jobs.workers.retry-3'])
  })

  it('a retried message commits its retry topic\'s position, by hand or in a transaction; patterns of other groups do not read retry topics', async () => {
    const clock = manualClock()
    const bus = await newBus({ clock })
    bus.events.on('error', () => {})
    const kept: AnyMessage[] = []
    const sub = bus.subscribe('jobs', (m) => {
      if (m.attempt === 1) throw new Error('once')
      kept.push(m)
    }, { group: 'w', retryTopics: true, autoCommit: false, backoff: { initialMs: 10 }, from: 'earliest' })
    const audit: string[] = []
    bus.subscribe('jobs.#', (m) => { audit.push(m.topic) }, { group: 'audit', from: 'earliest' })
    bus.publish('jobs', 'x')
    await bus.idle()
    clock.advance(10)
    await bus.idle()
    expect(kept.map((m) => [m.value, m.topic, m.offset, m.attempt])).toEqual([['x', 'jobs', 0, 2]])
    await sub.commit(kept[0])
    expect(bus.lag('w')).toEqual({ jobs: { 0: 1 }, 'jobs.w.retry-2': { 0: 0 } })
    await sub.commit()
    expect(bus.lag('w')).toEqual({ jobs: { 0: 0 }, 'jobs.w.retry-2': { 0: 0 } })
    expect(audit).toEqual(['jobs'])
  })

  it('needs a group name that fits in a topic name', async () => {
    const bus = await newBus()
    expect(() => bus.subscribe('t', () => {}, { group: 'a.b', retryTopics: true })).toThrow(errors.InvalidArgumentError)
  })
})

describe('consume with a group', () => {
  it('commits a record once the loop asked for the next one; what the loop never took goes to the next member', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    fill(bus, 't', 0, 10)
    const first: unknown[] = []
    for await (const msg of bus.consume('t', { group: 'g', from: 'earliest', concurrency: 2 })) {
      first.push(msg.value)
      if (first.length === 3) break
    }
    await turns()
    const rest: unknown[] = []
    bus.subscribe('t', (m) => { rest.push(m.value) }, { group: 'g' })
    await bus.idle()
    await turns()
    await bus.idle()
    expect([...first, ...rest].sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 10 }, (_, i) => i))
  })
})

describe('failures', () => {
  it('retries a failing record with backoff on the bus clock, counting attempts', async () => {
    const clock = manualClock()
    const bus = await newBus({ clock })
    const seen: Array<[unknown, number, number]> = []
    bus.events.on('error', () => {})
    bus.subscribe('t', (m) => {
      seen.push([m.value, m.attempt, clock.now()])
      if (m.attempt < 3) throw new Error('not yet')
    }, { group: 'g', backoff: { initialMs: 100, multiplier: 3 } })
    bus.publish('t', 'x')
    bus.publish('t', 'y')
    await bus.idle()
    expect(seen).toEqual([['x', 1, 0]])
    clock.advance(99)
    await bus.idle()
    expect(seen).toHaveLength(1)
    clock.advance(1)
    await bus.idle()
    expect(seen).toEqual([['x', 1, 0], ['x', 2, 100]])
    clock.advance(300)
    await bus.idle()
    // the third attempt succeeds; 'y' follows at once, never before 'x' (order within the partition)
    expect(seen.slice(2)).toEqual([['x', 3, 400], ['y', 1, 400]])
  })

  it('dead-letters a record after maxAttempts, with the DLQ headers, and goes on', async () => {
    const clock = manualClock(5_000)
    const bus = await newBus({ clock })
    bus.topic('jobs', { partitions: 2 })
    const errorsSeen: unknown[] = []
    bus.events.on('error', (e) => errorsSeen.push(e.error))
    const handled: unknown[] = []
    bus.subscribe('jobs', (m) => {
      if (m.value === 'bad') throw new Error('cannot do bad')
      handled.push(m.value)
    }, { group: 'workers', maxAttempts: 2, backoff: { initialMs: 10 } })
    bus.publish('jobs', 'bad', { partition: 1, key: 'k', headers: { trace: 'abc' } })
    bus.publish('jobs', 'good', { partition: 1 })
    await bus.idle()
    clock.advance(10)
    await bus.idle()
    expect(handled).toEqual(['good'])
    expect(errorsSeen).toHaveLength(2)
    const dead: AnyMessage[] = []
    bus.subscribe('jobs.dlq', (m) => { dead.push(m) }, { from: 'earliest' })
    await bus.idle()
    expect(dead).toHaveLength(1)
    expect(dead[0].value).toBe('bad')
    expect(dead[0].key).toBe('k')
    expect(dead[0].partition).toBe(1)
    expect(dead[0].headers).toEqual({
      trace: 'abc',
      [DLQ_HEADERS.topic]: 'jobs',
      [DLQ_HEADERS.partition]: '1',
      [DLQ_HEADERS.offset]: '0',
      [DLQ_HEADERS.timestamp]: '5000',
      [DLQ_HEADERS.group]: 'workers',
      [DLQ_HEADERS.attempts]: '2',
      [DLQ_HEADERS.error]: 'cannot do bad',
      [DLQ_HEADERS.time]: '5010',
    })
    expect(bus.stats()['jobs.dlq'].partitions).toHaveLength(2)
    expect(bus.lag('workers')).toEqual({ jobs: { 0: 0, 1: 0 } })
  })

  it('deadLetter names the topic to use', async () => {
    const bus = await newBus()
    bus.events.on('error', () => {})
    bus.subscribe('t', () => { throw new Error('no') }, { group: 'g', maxAttempts: 1, deadLetter: 'graveyard' })
    bus.publish('t', 1)
    await bus.idle()
    expect(bus.stats().graveyard.partitions[0].endOffset).toBe(1)
  })

  it("deadLetter: false stops the partition at the record and emits 'poison'; a seek past it goes on", async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    bus.events.on('error', () => {})
    const poison: unknown[] = []
    bus.events.on('poison', (e) => poison.push(e))
    const handled: unknown[] = []
    const sub = bus.subscribe('t', (m) => {
      if (m.value === 'bad') throw new Error('poisoned')
      handled.push(m.value)
    }, { group: 'g', maxAttempts: 1, deadLetter: false })
    bus.publish('t', 'bad', { partition: 0 })
    bus.publish('t', 'stuck', { partition: 0 })
    bus.publish('t', 'other', { partition: 1 })
    await bus.idle()
    expect(handled).toEqual(['other'])
    expect(poison).toEqual([expect.objectContaining({ topic: 't', partition: 0, offset: 0, group: 'g' })])
    expect(bus.lag('g')).toEqual({ t: { 0: 2, 1: 0 } })
    sub.seek({ partition: 0, offset: 1 })
    await bus.idle()
    expect(handled).toEqual(['other', 'stuck'])
  })

  it('an attempt that does not settle within maxPollIntervalMs counts as failed', async () => {
    const clock = manualClock()
    const bus = await newBus({ clock })
    const failures: unknown[] = []
    bus.events.on('error', (e) => failures.push(e.error))
    const attempts: number[] = []
    bus.subscribe('t', (m) => {
      attempts.push(m.attempt)
      return m.attempt === 1 ? new Promise(() => {}) : undefined
    }, { group: 'g', maxPollIntervalMs: 1000, backoff: { initialMs: 0 } })
    bus.publish('t', 1)
    await turns()
    expect(attempts).toEqual([1])
    clock.advance(1000)
    await bus.idle()
    expect(attempts).toEqual([1, 2])
    expect(failures[0]).toBeInstanceOf(errors.BusError)
    expect(bus.lag('g')).toEqual({ t: { 0: 0 } })
  })
})

describe('redrive', () => {
  /** A bus whose group dead-letters every record published as { fail: true } on its first attempt. */
  async function withDeadLetters() {
    const bus = await newBus()
    bus.topic('jobs', { partitions: 2 })
    bus.events.on('error', () => {})
    const handled: unknown[] = []
    let failing = true
    bus.subscribe('jobs', (m) => {
      if (failing && (m.value as { fail?: boolean }).fail) throw new Error('broken')
      handled.push(m.value)
    }, { group: 'workers', maxAttempts: 1 })
    return { bus, handled, heal: () => { failing = false } }
  }

  onlyWhere('syncAppend')('republishes dead letters to their source partition, once each, without the DLQ headers', async () => {
    const { bus, handled, heal } = await withDeadLetters()
    bus.publish('jobs', { n: 1, fail: true }, { partition: 1, key: 'k1', headers: { trace: 't1' } })
    bus.publish('jobs', { n: 2, fail: true }, { partition: 0 })
    bus.publish('jobs', { n: 3 }, { partition: 0 })
    await bus.idle()
    expect(handled).toEqual([{ n: 3 }])
    expect(bus.stats().jobs.deadLetters).toBe(2)
    heal()
    expect(await bus.redrive('jobs.dlq')).toBe(2)
    await bus.idle()
    expect(handled).toHaveLength(3)
    const again = await bus.stats()
    expect(again.jobs.deadLetters).toBe(0)
    expect(await bus.redrive('jobs.dlq')).toBe(0)
    const replayed: AnyMessage[] = []
    bus.subscribe('jobs', (m) => { replayed.push(m) }, { from: 'earliest' })
    await bus.idle()
    const redriven = replayed.filter((m) => m.offset >= 2 || m.partition === 1 && m.offset >= 1)
    expect(redriven.map((m) => [m.partition, (m.value as { n: number }).n, m.key, m.headers])).toEqual([
      [0, 2, undefined, {}],
      [1, 1, 'k1', { trace: 't1' }],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)))
  })

  it('redrives from any thread, the copying worker\'s too', async () => {
    const { bus, handled, heal } = await withDeadLetters()
    bus.publish('jobs', { n: 1, fail: true })
    await bus.idle()
    heal()
    expect(await bus.redrive('jobs.dlq', { limit: 5 })).toBe(1)
    await bus.idle()
    expect(handled).toEqual([{ n: 1, fail: true }])
  })

  onlyWhere('syncAppend')('filter passes records over for good; limit leaves the rest for the next redrive; to sends them elsewhere', async () => {
    const { bus } = await withDeadLetters()
    for (let n = 0; n < 6; n++) bus.publish('jobs', { n, fail: true }, { partition: 0 })
    await bus.idle()
    expect(await bus.redrive('jobs.dlq', { filter: (m) => (m.value as { n: number }).n !== 0, limit: 2, to: 'retry' })).toBe(2)
    expect(await bus.redrive('jobs.dlq', { to: 'retry' })).toBe(3)
    const got: unknown[] = []
    bus.subscribe('retry', (m) => { got.push((m.value as { n: number }).n) }, { from: 'earliest' })
    await bus.idle()
    expect(got).toEqual([1, 2, 3, 4, 5])
    await expect(bus.redrive('nope.dlq')).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await expect(bus.redrive('jobs.dlq', { limit: -1 })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
  })
})

describe('transactions', () => {
  it('appends the derived records and commits the consumed position together', async () => {
    const bus = await newBus()
    bus.topic('orders', { partitions: 2 })
    const results: unknown[] = []
    bus.subscribe('orders', async (msg) => {
      results.push(await bus.transaction((tx) => {
        tx.publish('invoices', { order: msg.value })
        tx.publish('audit', `invoiced ${msg.value}`)
        tx.commit(msg)
      }))
    }, { group: 'billing', autoCommit: false, from: 'earliest' })
    bus.publish('orders', 'o1', { partition: 0 })
    bus.publish('orders', 'o2', { partition: 1 })
    await bus.idle()
    expect(bus.lag('billing')).toEqual({ orders: { 0: 0, 1: 0 } })
    expect(results).toHaveLength(2)
    expect(results[0]).toEqual([
      { topic: 'invoices', partition: 0, offset: 0, timestamp: expect.any(Number) },
      { topic: 'audit', partition: 0, offset: 0, timestamp: expect.any(Number) },
    ])
    const invoices: unknown[] = []
    bus.subscribe('invoices', (m) => { invoices.push(m.value) }, { from: 'earliest' })
    await bus.idle()
    expect(invoices).toEqual([{ order: 'o1' }, { order: 'o2' }])
  })

  it('appends nothing and commits nothing when the function throws; the retry commits', async () => {
    const clock = manualClock()
    const bus = await newBus({ clock })
    bus.events.on('error', () => {})
    const outside: unknown[] = []
    bus.subscribe('out', (m) => { outside.push(m.value) })
    bus.subscribe('in', (msg) => bus.transaction((tx) => {
      tx.publish('out', `derived from ${msg.value} (attempt ${msg.attempt})`)
      tx.commit(msg)
      if (msg.attempt === 1) throw new Error('abort')
    }), { group: 'g', autoCommit: false, backoff: { initialMs: 10 } })
    bus.publish('in', 'x')
    await bus.idle()
    expect(outside).toEqual([])
    expect(bus.lag('g')).toEqual({ in: { 0: 1 } })
    clock.advance(10)
    await bus.idle()
    expect(outside).toEqual(['derived from x (attempt 2)'])
    expect(bus.lag('g')).toEqual({ in: { 0: 0 } })
  })

  it('checks every record before any is appended, and tx cannot be used after its function', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 1 })
    let kept: { publish(topic: string, value?: unknown): void } | undefined
    await expect(bus.transaction((tx) => {
      kept = tx
      tx.publish('t', 'fine')
      tx.publish('t', 'bad', { partition: 5 })
    })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    await bus.flush() // a copying worker's stats() is the creating thread's as of its last answer
    expect(bus.stats().t.partitions[0].endOffset).toBe(0)
    expect(() => kept!.publish('t', 'late')).toThrow(/transaction has ended/)
    await expect(bus.transaction((tx) => { tx.commit({ topic: 't', partition: 0, offset: 0 }) })).rejects.toThrow(/consumer-group member/)
    await expect(bus.transaction(async (tx) => { tx.publish('made.by.tx', 1) })).resolves.toHaveLength(1)
    await expect(bus.transaction(async () => { throw new Error('no') })).rejects.toThrow('no')
  })
})

describe('stats', () => {
  onlyWhere('liveStats')('shows each group per topic: committed offsets and lag, and the owner where the coordinator is', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    const gate = deferred()
    bus.subscribe('t', () => gate.promise, { group: 'g', from: 'earliest' })
    fill(bus, 't', 0, 4)
    await turns()
    const stats = bus.stats().t.groups.g
    expect(stats.partitions.map(({ partition, committed, lag }) => ({ partition, committed, lag }))).toEqual([
      { partition: 0, committed: 0, lag: 2 }, { partition: 1, committed: 0, lag: 2 },
    ])
    gate.resolve()
    await bus.idle()
    expect(bus.stats().t.groups.g.partitions.map((p) => p.lag)).toEqual([0, 0])
    expect(bus.stats().t.delivered).toBe(4) // what the group's members fetched counts like a reader's
    const snapshot = bus.stats()
    expect(JSON.parse(JSON.stringify(snapshot))).toStrictEqual(structuredClone(snapshot))
  })
})

describe('concurrency', () => {
  it('runs up to `concurrency` partitions at once, one record at a time in each', async () => {
    for (const concurrency of [1, 2]) {
      const bus = await newBus()
      bus.topic('t', { partitions: 3 })
      let running = 0
      let most = 0
      const gates: Array<() => void> = []
      bus.subscribe('t', () => {
        running++
        most = Math.max(most, running)
        return new Promise<void>((resolve) => gates.push(() => { running--; resolve() }))
      }, { group: `g${concurrency}`, concurrency })
      fill(bus, 't', 0, 6)
      for (let i = 0; i < 20; i++) {
        await turns(1)
        gates.shift()?.()
      }
      await bus.idle()
      expect(most).toBe(concurrency)
    }
  })

  it('a freed slot goes to the next waiting partition that has work, past one that no longer has', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 3 })
    const gate = deferred()
    const got: number[] = []
    const sub = bus.subscribe('t', async (m) => {
      if (m.partition === 0) await gate.promise
      got.push(m.partition)
    }, { group: 'g', concurrency: 1, from: 'earliest' })
    await bus.idle()
    for (const partition of [0, 1, 2]) bus.publish('t', partition, { partition })
    await turns()
    sub.seek({ partition: 1, offset: 1 }) // partition 1 waits for the slot, then has nothing left
    gate.resolve()
    await bus.idle()
    expect(got).toEqual([0, 2])
  })
})
