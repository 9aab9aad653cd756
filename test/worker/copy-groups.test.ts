// Consumer groups on the copying transport, for what is its own: the worker's bus answers lag()
// from the creating thread's figures as of its last answer; a worker's member lives in the
// creating thread and its handler runs in the worker, with attempts, failures, commits and
// leaving crossing the port. (The group behaviour itself is test/bus/groups.test.ts, which runs
// on this transport too.) The worker's side runs in this thread, as in test/bus.
import { afterEach, describe, expect, it } from 'vitest'
import { lastTakesAll } from '../bus/helpers.js'
import {
  attachBus, createBus, DLQ_HEADERS, errors, manualClock, type Bus, type BusApi, type BusOptions, type HandlerErrorEvent, type Message,
  type RebalanceEvent, type TopicMap,
} from '../../src/index.js'

type AnyMessage = Message<TopicMap, string>

/** Lets queued microtasks and a few macrotask turns run. */
const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

const open: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close()
})

async function pair(options: BusOptions = {}): Promise<{ bus: Bus; remote: BusApi }> {
  const bus = await createBus({ maxBytes: 4 * 1024 * 1024, ...options })
  const remote = await attachBus(bus.handle({ transport: 'copy' }), { clock: options.clock })
  open.push(remote, bus)
  return { bus, remote }
}

describe('lag on a copying worker', () => {
  it("is the creating thread's as of its last answer: flush() brings it up to date", async () => {
    const { bus, remote } = await pair()
    bus.topic('t', { partitions: 2 })
    const sub = bus.subscribe('t', () => {}, { group: 'g', autoCommit: false, from: 'earliest' })
    expect(remote.lag('g')).toEqual({})
    for (let i = 0; i < 6; i++) bus.publish('t', i)
    await bus.idle()
    expect(remote.lag('g')).toEqual({}) // nothing asked since attachBus
    await remote.flush()
    expect(remote.lag('g')).toEqual({ t: { 0: 3, 1: 3 } })
    await sub.commit()
    expect(remote.lag('g')).toEqual({ t: { 0: 3, 1: 3 } })
    await remote.flush()
    expect(remote.lag('g')).toEqual({ t: { 0: 0, 1: 0 } })
    expect(remote.lag('nobody')).toEqual({})
    expect(() => remote.lag(1 as never)).toThrow(/group name/)
  })
})

describe("a copying worker's group member", () => {
  it("gets each attempt's number; its handler's failures are retried and dead-lettered in the creating thread, reported in the worker", async () => {
    const clock = manualClock(1_000)
    const { bus, remote } = await pair({ clock })
    class Refused extends Error {
      override name = 'Refused'
      code = 42
    }
    const inWorker: HandlerErrorEvent[] = []
    const inOwner: HandlerErrorEvent[] = []
    remote.events.on('error', (e) => inWorker.push(e))
    bus.events.on('error', (e) => inOwner.push(e))
    const attempts: Array<[unknown, number]> = []
    remote.subscribe('t', (m) => {
      attempts.push([m.value, m.attempt])
      if (m.value !== 'bad') return undefined
      if (m.attempt === 1) throw new Refused('not now') // a synchronous throw counts as a failed attempt too
      return Promise.reject(new Refused('still no'))
    }, { group: 'g', maxAttempts: 3, backoff: { initialMs: 10 } })
    remote.publish('t', 'bad')
    remote.publish('t', 'good')
    await remote.idle()
    expect(attempts).toEqual([['bad', 1]])
    clock.advance(10)
    await remote.idle()
    clock.advance(20)
    await remote.idle()
    expect(attempts).toEqual([['bad', 1], ['bad', 2], ['bad', 3], ['good', 1]])
    // reported once, where the member's handler is, with the worker's error as it was there
    expect(inOwner).toEqual([])
    expect(inWorker.map((e) => [e.topic, e.partition, e.offset])).toEqual([['t', 0, 0], ['t', 0, 0], ['t', 0, 0]])
    for (const { error } of inWorker) expect(error).toMatchObject({ name: 'Refused', code: 42 })
    expect(inWorker.map((e) => (e.error as Error).message)).toEqual(['not now', 'still no', 'still no'])
    const dead: AnyMessage[] = []
    bus.subscribe('t.dlq', (m) => { dead.push(m) }, { from: 'earliest' })
    await bus.idle()
    expect(dead.map((m) => [m.value, m.headers[DLQ_HEADERS.attempts], m.headers[DLQ_HEADERS.error], m.headers[DLQ_HEADERS.time]])).toEqual([['bad', '3', 'still no', '1030']])
    expect(remote.lag('g')).toEqual({ t: { 0: 0 } })
  })

  it("reports poison in the worker with the worker's error", async () => {
    const { remote } = await pair()
    remote.events.on('error', () => {})
    const poison: unknown[] = []
    remote.events.on('poison', (e) => poison.push(e))
    remote.subscribe('t', () => { throw new errors.CodecError('unreadable', { topic: 't' }) }, { group: 'g', maxAttempts: 1, deadLetter: false })
    remote.publish('t', 1)
    await remote.idle()
    expect(poison).toEqual([{ topic: 't', partition: 0, offset: 0, group: 'g', error: expect.any(errors.CodecError) }])
  })

  it('knows what it owns and where it is; group.rebalance reaches the worker for its own groups only', async () => {
    const { bus, remote } = await pair()
    bus.topic('t', { partitions: 2 })
    const events: RebalanceEvent[] = []
    remote.events.on('group.rebalance', (e) => events.push(e))
    const sub = remote.subscribe('t', () => {}, { group: 'g' })
    bus.subscribe('t', () => {}, { group: 'other' })
    await remote.idle()
    expect(sub.assignments()).toEqual([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }])
    expect(events.map((e) => [e.group, e.generation])).toEqual([['g', 1]])
    bus.subscribe('t', () => {}, { group: 'g' })
    await remote.idle()
    await turns()
    expect(sub.assignments()).toHaveLength(1)
    expect(events.map((e) => [e.group, e.generation])).toEqual([['g', 1], ['g', 2]])
    // the worker's assignments are already the new ones when its bus emits the event
    const [{ partition }] = sub.assignments()
    expect(Object.values(events[1].assignments).filter((owned) => owned.length === 1 && owned[0].partition === partition)).toHaveLength(1)
    for (let i = 0; i < 3; i++) bus.publish('t', i, { partition })
    await remote.idle()
    expect(sub.position('t', partition)).toBe(3)
    sub.seek({ partition, offset: 1 })
    expect(sub.position('t', partition)).toBe(1)
    expect(() => sub.seek({ partition: 1 - partition, offset: 0 })).toThrow(errors.InvalidArgumentError)
  })

  it('names an assignor the creating thread was given; an assignor object is refused at once', async () => {
    const { bus, remote } = await pair()
    bus.topic('t', { partitions: 3 })
    const last = lastTakesAll
    expect(() => remote.subscribe('t', () => {}, { group: 'g', assignor: last })).toThrow(/cannot cross threads/)
    const mine = bus.subscribe('t', () => {}, { group: 'g', assignor: last })
    const theirs = remote.subscribe('t', () => {}, { group: 'g', assignor: 'last' })
    await remote.idle()
    await turns()
    // member ids are of the creating thread: the worker's member came second, so its id is greater
    expect(mine.assignments()).toEqual([])
    expect(theirs.assignments()).toHaveLength(3)
  })

  it('a worker that closes its bus leaves at once: the record its handler was still on goes to the next owner', async () => {
    const { bus, remote } = await pair()
    const inWorker: unknown[] = []
    remote.subscribe('t', (m) => {
      inWorker.push(m.value)
      return new Promise(() => {}) // never settles
    }, { group: 'g', from: 'earliest' })
    for (let i = 0; i < 3; i++) bus.publish('t', i)
    for (let i = 0; i < 50 && inWorker.length === 0; i++) await turns(1)
    expect(inWorker).toEqual([0])
    const local: unknown[] = []
    bus.subscribe('t', (m) => { local.push(m.value) }, { group: 'g' })
    await remote.close()
    await turns()
    await bus.idle()
    expect(local).toEqual([0, 1, 2])
    expect(bus.lag('g')).toEqual({ t: { 0: 0 } })
  })

  it('after it left, commit() has nothing to commit: with a message it rejects; so it does once the creating bus closed', async () => {
    const { bus, remote } = await pair()
    const sub = remote.subscribe('t', () => {}, { group: 'g', autoCommit: false, from: 'earliest' })
    remote.publish('t', 1)
    await remote.idle()
    const committing = sub.commit()
    await sub.close()
    await committing
    expect(sub.closed).toBe(true)
    await sub.commit()
    await expect(sub.commit({ topic: 't', partition: 0, offset: 0 })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
    expect(bus.lag('g')).toEqual({ t: { 0: 0 } })

    const other = remote.subscribe('t', () => {}, { group: 'h', autoCommit: false })
    await remote.idle()
    await bus.close()
    await turns()
    await other.close() // resolves: the member is gone with the creating bus
    await expect(other.commit({ topic: 't', partition: 0, offset: 0 })).rejects.toBeInstanceOf(errors.BusError)
  })

  it("a record that cannot be copied to the worker fails there as a CodecError, and is dead-lettered", async () => {
    const { bus, remote } = await pair()
    bus.topic('r', { codec: 'ref' })
    const inWorker: unknown[] = []
    remote.events.on('error', (e) => inWorker.push(e.error))
    const got: unknown[] = []
    remote.subscribe('r', (m) => { got.push(m.value) }, { group: 'g', maxAttempts: 1 })
    await remote.idle()
    bus.publish('r', { run: () => 1 })
    bus.publish('r', { plain: true })
    await remote.idle()
    expect(got).toEqual([{ plain: true }])
    expect(inWorker).toEqual([expect.any(errors.CodecError)])
    expect(bus.stats()['r.dlq'].partitions[0].endOffset).toBe(1)
  })
})
