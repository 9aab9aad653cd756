// Exchanges and queues (RabbitMQ's model) on every transport: routing by each exchange type,
// exchange-to-exchange and alternate exchanges, competing consumers, acks and requeues,
// priorities, TTL, max length, delivery limits, dead-lettering with x-death, request/reply.
//
// What is routed where is checked by consuming the queues, which every transport can do; the
// transports that route synchronously are also held to send()'s `routed` and bind()'s answer,
// and the ones with get() to get(). On a copying worker sends and declarations reach the
// creating thread at the end of the turn: `await bus.flush()` before moving a manual clock.
import { describe, expect, it as vitestIt } from 'vitest'
import { errors, manualClock, type QueueDelivery, type SendResult } from '../../src/index.js'
import { errorOf, expectError } from '../expect-error.js'
import { until } from '../until.js'
import { onlyWhere, useBuses } from './helpers.js'
import { can, type Need } from './transports.js'

const newBus = useBuses()
type TestBus = Awaited<ReturnType<typeof newBus>>
const it = vitestIt
/** get(): a synchronous pull (not on a copying worker). */
const itPulls = onlyWhere('pull')

/** Every ready message of a queue, by get(), acked. */
function drain(bus: TestBus, queue: string): unknown[] {
  const out: unknown[] = []
  for (let d = bus.get(queue); d !== undefined; d = bus.get(queue)) {
    out.push(d.value)
    d.ack()
  }
  return out
}

/** Every message the queues hold, by a consumer of each (acked), on every transport. */
async function takeDeliveries(bus: TestBus, ...queues: string[]): Promise<Record<string, QueueDelivery[]>> {
  const out: Record<string, QueueDelivery[]> = {}
  const consumers = queues.map((queue) => {
    out[queue] = []
    return bus.consumeQueue(queue, (d) => {
      out[queue].push(d)
      d.ack()
    })
  })
  await bus.idle()
  for (const consumer of consumers) await consumer.cancel()
  return out
}

/** The values of every message the queues hold, taken by a consumer of each. */
async function take(bus: TestBus, ...queues: string[]): Promise<Record<string, unknown[]>> {
  const deliveries = await takeDeliveries(bus, ...queues)
  return Object.fromEntries(Object.entries(deliveries).map(([queue, ds]) => [queue, ds.map((d) => d.value)]))
}

/** Where the transport routes synchronously: send's result, queue and topic names sorted. */
function expectSent(result: SendResult, expected: { routed: string[]; refused?: string[] }, need: Need = 'syncRouting'): void {
  if (!can(need)) return
  expect({ routed: [...result.routed].sort(), refused: [...result.refused].sort() }).toEqual({ routed: [...expected.routed].sort(), refused: [...(expected.refused ?? [])].sort() })
}

/**
 * What only the bus that owns the queues can refuse: thrown at once where that is this thread;
 * on a copying worker the call returns and the refusal arrives on bus.events 'error' (flush()
 * waits for it).
 */
async function expectRefused(bus: TestBus, fn: () => unknown, type: abstract new (...args: any[]) => errors.BusError, context?: Record<string, unknown>): Promise<void> {
  if (can('syncRefusals')) return expectError(fn, type, context)
  const seen: unknown[] = []
  const listener = (e: { error: unknown }) => { seen.push(e.error) }
  bus.events.on('error', listener)
  try {
    fn()
    await bus.flush()
  } finally {
    bus.events.off('error', listener)
  }
  expect(seen).toHaveLength(1)
  expectError(() => { throw seen[0] }, type, context)
}

describe('routing', () => {
  it('direct: exact key; the default exchange routes by queue name', async () => {
    const bus = await newBus()
    bus.exchange('x', { type: 'direct' })
    for (const q of ['a', 'b', 'c']) bus.queue(q)
    bus.bind({ exchange: 'x', queue: 'a', pattern: 'k' })
    bus.bind({ exchange: 'x', queue: 'b', pattern: 'k' })
    bus.bind({ exchange: 'x', queue: 'c', pattern: 'other' })
    expectSent(bus.send('x', 'k', 1), { routed: ['a', 'b'] })
    expectSent(bus.send('x', 'K', 2), { routed: [] })
    expectSent(bus.send('', 'c', 3), { routed: ['c'] })
    expect(await take(bus, 'a', 'b', 'c')).toEqual({ a: [1], b: [1], c: [3] })
  })

  it("send's result is frozen and stays what it was when later sends have other outcomes", async () => {
    const bus = await newBus()
    bus.queue('a')
    bus.queue('b')
    bus.queue('full', { maxLength: 1, overflow: 'reject-publish' })
    const first = bus.send('', 'a', 1)
    expect(Object.isFrozen(first) && Object.isFrozen(first.routed) && Object.isFrozen(first.refused)).toBe(true)
    expectSent(bus.send('', 'b', 2), { routed: ['b'] })
    bus.send('', 'full', 3)
    if (can('syncRouting')) expectSent(bus.send('', 'full', 4), { routed: [], refused: ['full'] })
    else await expectRefused(bus, () => bus.send('', 'full', 4), errors.BackPressureError, { queue: 'full', reason: 'refused' })
    expectSent(bus.send('', 'nobody', 5), { routed: [] })
    await expectRefused(bus, () => bus.send('', 'nobody', 7, { mandatory: true }), errors.UnroutableError, { exchange: '', routingKey: 'nobody' })
    expectSent(bus.send('', 'a', 6), { routed: ['a'] })
    expectSent(first, { routed: ['a'] })
    // through an exchange: a route every queue took answers with a result of its own, kept as it was
    bus.queue('one', { maxLength: 1, overflow: 'reject-publish' })
    bus.exchange('x', { type: 'fanout' })
    bus.bind({ exchange: 'x', queue: 'b' })
    bus.bind({ exchange: 'x', queue: 'one' })
    const both = bus.send('x', 'k', 8)
    expectSent(both, { routed: ['b', 'one'] })
    if (can('syncRouting')) {
      expect(Object.isFrozen(both) && Object.isFrozen(both.routed)).toBe(true)
      expectSent(bus.send('x', 'k', 9), { routed: ['b'], refused: ['one'] })
      expectSent(bus.send('x', 'k', 10), { routed: ['b'], refused: ['one'] })
      expectSent(both, { routed: ['b', 'one'] })
    }
    expect(await take(bus, 'a', 'b', 'full', 'one')).toEqual({ a: [1, 6], b: can('syncRouting') ? [2, 8, 9, 10] : [2, 8], full: [3], one: [8] })
  })

  it('fanout ignores the key; topic follows AMQP patterns', async () => {
    const bus = await newBus()
    bus.exchange('f', { type: 'fanout' })
    bus.exchange('t', { type: 'topic' })
    for (const q of ['q1', 'q2', 'star', 'hash', 'mid']) bus.queue(q)
    bus.bind({ exchange: 'f', queue: 'q1' })
    bus.bind({ exchange: 'f', queue: 'q2', pattern: 'ignored' })
    expectSent(bus.send('f', 'anything', 'x'), { routed: ['q1', 'q2'] })
    bus.bind({ exchange: 't', queue: 'star', pattern: 'a.*' })
    bus.bind({ exchange: 't', queue: 'hash', pattern: 'a.#' })
    bus.bind({ exchange: 't', queue: 'mid', pattern: '#.b.#' })
    const routed = (key: string, expected: string[]) => expectSent(bus.send('t', key, key), { routed: expected })
    routed('a', ['hash'])
    routed('a.x', ['hash', 'star'])
    routed('a.b', ['hash', 'mid', 'star'])
    routed('a.x.y', ['hash'])
    routed('b', ['mid'])
    routed('', [])
    routed('a..b', ['hash', 'mid'])
    expect(await take(bus, 'q1', 'q2', 'star', 'hash', 'mid')).toEqual({
      q1: ['x'], q2: ['x'], star: ['a.x', 'a.b'], hash: ['a', 'a.x', 'a.b', 'a.x.y', 'a..b'], mid: ['a.b', 'b', 'a..b'],
    })
  })

  it('headers: x-match all and any, presence, x- keys ignored', async () => {
    const bus = await newBus()
    bus.exchange('h', { type: 'headers' })
    for (const q of ['all', 'any', 'present']) bus.queue(q)
    bus.bind({ exchange: 'h', queue: 'all', arguments: { 'x-match': 'all', format: 'pdf', type: 'report' } })
    bus.bind({ exchange: 'h', queue: 'any', arguments: { 'x-match': 'any', format: 'pdf', type: 'report' } })
    bus.bind({ exchange: 'h', queue: 'present', arguments: { flag: null } })
    const routed = (value: number, headers: Record<string, unknown>, expected: string[]) => expectSent(bus.send('h', '', value, { headers }), { routed: expected })
    routed(1, { format: 'pdf', type: 'report' }, ['all', 'any'])
    routed(2, { format: 'pdf' }, ['any'])
    routed(3, { format: 'zip', flag: 1 }, ['present'])
    routed(4, { format: 1 }, [])
    routed(5, { format: 'pdf', type: 'report', 'x-other': 1 }, ['all', 'any'])
    expectError(() => bus.bind({ exchange: 'h', queue: 'all', arguments: { 'x-match': 'some' } }), errors.InvalidArgumentError)
    expect(await take(bus, 'all', 'any', 'present')).toEqual({ all: [1, 5], any: [1, 2, 5], present: [3] })
  })

  it('exchange-to-exchange: one copy per queue however many paths, cycles cut', async () => {
    const bus = await newBus()
    for (const x of ['a', 'b', 'c']) bus.exchange(x, { type: 'fanout' })
    bus.queue('q')
    bus.bind({ exchange: 'a', toExchange: 'b' })
    bus.bind({ exchange: 'a', toExchange: 'c' })
    bus.bind({ exchange: 'b', toExchange: 'a' })
    bus.bind({ exchange: 'b', queue: 'q' })
    bus.bind({ exchange: 'c', queue: 'q' })
    expectSent(bus.send('a', 'k', 'once'), { routed: ['q'] })
    expect(await take(bus, 'q')).toEqual({ q: ['once'] })
  })

  it('alternate exchange takes what nothing matched; mandatory throws when nothing takes it', async () => {
    const bus = await newBus()
    bus.exchange('main', { type: 'direct', alternateExchange: 'ae' })
    bus.queue('matched')
    bus.queue('rest')
    bus.bind({ exchange: 'main', queue: 'matched', pattern: 'yes' })
    expectSent(bus.send('main', 'no', 1), { routed: [] }) // the alternate is not declared yet
    bus.exchange('ae', { type: 'fanout' })
    bus.bind({ exchange: 'ae', queue: 'rest' })
    expectSent(bus.send('main', 'yes', 2), { routed: ['matched'] })
    expectSent(bus.send('main', 'no', 3, { mandatory: true }), { routed: ['rest'] })
    bus.exchange('lonely', { type: 'direct' })
    await expectRefused(bus, () => bus.send('lonely', 'k', 4, { mandatory: true }), errors.UnroutableError, { exchange: 'lonely', routingKey: 'k' })
    expectSent(bus.send('lonely', 'k', 5), { routed: [] })
    expect(await take(bus, 'matched', 'rest')).toEqual({ matched: [2], rest: [3] })
  })

  it('an exchange can feed a Kafka-style topic, keyed by the routing key', async () => {
    const bus = await newBus()
    bus.exchange('orders', { type: 'topic' })
    bus.queue('paid')
    bus.bind({ exchange: 'orders', queue: 'paid', pattern: 'order.paid' })
    bus.bind({ exchange: 'orders', topic: 'order.log', pattern: 'order.#' })
    const got: Array<{ key: unknown; value: unknown }> = []
    bus.subscribe('order.log', (m) => { got.push({ key: m.key, value: m.value }) }, { from: 'earliest' })
    expectSent(bus.send('orders', 'order.paid', { id: 1 }), { routed: ['order.log', 'paid'] })
    await bus.idle()
    expect(got).toEqual([{ key: 'order.paid', value: { id: 1 } }])
    expect(await take(bus, 'paid')).toEqual({ paid: [{ id: 1 }] })
  })

  it('unknown names and bad input are typed errors', async () => {
    const bus = await newBus()
    bus.queue('q')
    await expectRefused(bus, () => bus.send('nope', 'k', 1), errors.UnknownExchangeError, { exchange: 'nope' })
    await expectRefused(bus, () => bus.bind({ exchange: 'nope', queue: 'q' }), errors.UnknownExchangeError)
    bus.exchange('x', { type: 'direct' })
    await expectRefused(bus, () => bus.bind({ exchange: 'x', queue: 'missing' }), errors.UnknownQueueError, { queue: 'missing' })
    await expectRefused(bus, () => bus.exchange('x', { type: 'topic' }), errors.InvalidArgumentError, { exchange: 'x' })
    await expectRefused(bus, () => bus.queue('q', { maxLength: 3 }), errors.InvalidArgumentError, { queue: 'q' })
    let consumer: { cancelled: boolean } | undefined
    await expectRefused(bus, () => { consumer = bus.consumeQueue('missing', () => {}) }, errors.UnknownQueueError, { queue: 'missing' })
    if (consumer !== undefined) expect(consumer.cancelled).toBe(true) // a copying worker's, refused later
    // bad input throws at once everywhere
    expectError(() => bus.send('x', 'k'.repeat(256), 1), errors.InvalidArgumentError, { argument: 'routingKey' })
    expectError(() => bus.send('x', 'k', 1, { priority: 256 }), errors.InvalidArgumentError, { argument: 'priority' })
    expectError(() => bus.send(1 as never, 'k', 1), errors.InvalidArgumentError, { argument: 'exchange' })
    expectError(() => bus.exchange('x', { type: 'fan' as never }), errors.InvalidArgumentError, { argument: 'type' })
    expectError(() => bus.exchange('amq.mine'), errors.InvalidArgumentError, { argument: 'exchange' })
    expectError(() => bus.queue('q2', { maxLength: -1 }), errors.InvalidArgumentError, { queue: 'q2', argument: 'maxLength' })
    expectError(() => bus.queue('q2', { colour: 'red' } as never), errors.InvalidArgumentError, { argument: 'colour' })
    expectError(() => bus.bind({ exchange: 'x', queue: 'q', topic: 't' } as never), errors.InvalidArgumentError, { argument: 'binding' })
    expectError(() => bus.bind({ exchange: '', queue: 'q' }), errors.InvalidArgumentError, { exchange: '' })
    expectError(() => bus.consumeQueue('q', 'nope' as never), errors.InvalidArgumentError, { argument: 'handler' })
    expectError(() => bus.consumeQueue('q', () => {}, { prefetch: -1 }), errors.InvalidArgumentError, { argument: 'prefetch' })
    if (can('pull')) expectError(() => bus.get('missing'), errors.UnknownQueueError)
    else expectError(() => bus.get('q'), errors.BusError)
    if (can('syncRouting')) {
      expect(bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(true)
      expect(bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(false)
    } else {
      bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })
      bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })
    }
    expectSent(bus.send('x', 'k', 1), { routed: ['q'] })
    expect(await take(bus, 'q')).toEqual({ q: [1] }) // bound once
    if (can('syncRouting')) {
      expect(bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(true)
      expect(bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(false)
    } else {
      bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })
      bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })
    }
    expectSent(bus.send('x', 'k', 2), { routed: [] })
    expect(await take(bus, 'q')).toEqual({ q: [] })
  })
})

describe('queues', () => {
  it('competing consumers: round-robin, each message once', async () => {
    const bus = await newBus()
    bus.queue('work')
    const got: string[][] = [[], [], []]
    for (let c = 0; c < 3; c++) bus.consumeQueue('work', (d) => { got[c].push(d.value as string); d.ack() })
    for (let i = 0; i < 9; i++) bus.send('', 'work', `m${i}`)
    await bus.idle()
    expect(got).toEqual([['m0', 'm3', 'm6'], ['m1', 'm4', 'm7'], ['m2', 'm5', 'm8']])
  })

  it('prefetch bounds what a consumer holds unacked', async () => {
    const bus = await newBus()
    bus.queue('work')
    const held: QueueDelivery[] = []
    bus.consumeQueue('work', (d) => { held.push(d) }, { prefetch: 2 })
    for (let i = 0; i < 5; i++) bus.send('', 'work', i)
    await bus.idle()
    expect(held.map((d) => d.value)).toEqual([0, 1])
    expect(bus.queueStats().work).toMatchObject({ ready: 3, unacked: 2, consumers: 1 })
    held[0].ack()
    await bus.idle()
    expect(held.map((d) => d.value)).toEqual([0, 1, 2])
    expect(bus.queueStats().work).toMatchObject({ ready: 2, unacked: 2, consumers: 1 })
  })

  itPulls('get: nack with requeue keeps the place and marks it redelivered; acking twice is an error', async () => {
    const bus = await newBus()
    bus.queue('q')
    for (const v of ['a', 'b', 'c']) bus.send('', 'q', v)
    const a = bus.get('q')!
    const b = bus.get('q')!
    expect(b.redelivered).toBe(false)
    b.nack({ requeue: true })
    a.ack()
    expectError(() => a.ack(), errors.InvalidArgumentError, { queue: 'q' })
    const again = bus.get('q')!
    expect([again.value, again.redelivered, again.deliveryCount]).toEqual(['b', true, 2])
    again.ack()
    expect(drain(bus, 'q')).toEqual(['c'])
    expect(bus.get('q')).toBeUndefined()
  })

  it('nack with requeue keeps the place and marks it redelivered; settling twice is an error', async () => {
    const bus = await newBus()
    bus.queue('q')
    for (const v of ['a', 'b', 'c']) bus.send('', 'q', v)
    const held: QueueDelivery[] = []
    bus.consumeQueue('q', (d) => { held.push(d) }, { prefetch: 2 })
    await bus.idle()
    expect(held.map((d) => [d.value, d.redelivered, d.deliveryCount])).toEqual([['a', false, 1], ['b', false, 1]])
    held[1].nack({ requeue: true })
    held[0].ack()
    expectError(() => held[0].ack(), errors.InvalidArgumentError, { queue: 'q' })
    expectError(() => held[1].reject(), errors.InvalidArgumentError, { queue: 'q' })
    await bus.idle()
    expect(held.slice(2).map((d) => [d.value, d.redelivered, d.deliveryCount])).toEqual([['b', true, 2], ['c', false, 1]])
    for (const d of held.slice(2)) d.ack()
    await bus.idle()
    expect(bus.queueStats().q).toMatchObject({ messages: 0, unacked: 0 })
  })

  it('a consumer runs again in every turn that gives it something, with nobody calling idle()', async () => {
    const bus = await newBus()
    bus.queue('q')
    const got: unknown[] = []
    bus.consumeQueue('q', (d) => {
      got.push(d.value)
      d.ack()
    })
    for (let round = 0; round < 3; round++) {
      bus.send('', 'q', `${round}a`)
      bus.send('', 'q', `${round}b`)
      await until(() => got.length === 2 * (round + 1), `round ${round} delivered`)
    }
    expect(got).toEqual(['0a', '0b', '1a', '1b', '2a', '2b'])
  })

  it('cancelling a consumer returns its unacked deliveries, redelivered', async () => {
    const bus = await newBus()
    bus.queue('q')
    const held: QueueDelivery[] = []
    const c = bus.consumeQueue('q', (d) => { held.push(d) })
    bus.send('', 'q', 1)
    bus.send('', 'q', 2)
    await bus.idle()
    expect(held).toHaveLength(2)
    await c.cancel()
    expect(c.cancelled).toBe(true)
    expect(bus.queueStats().q).toMatchObject({ ready: 2, unacked: 0, consumers: 0 })
    if (can('pull')) {
      const d = bus.get('q')!
      expect([d.value, d.redelivered]).toEqual([1, true])
      d.nack()
    }
    expect((await takeDeliveries(bus, 'q')).q.map((d) => [d.value, d.redelivered])).toEqual([[1, true], [2, true]])
    expectError(() => held[0].ack(), errors.InvalidArgumentError, { reason: 'unknown-delivery' })
  })

  it('an aborted signal cancels a consumer', async () => {
    const bus = await newBus()
    bus.queue('q')
    const controller = new AbortController()
    const got: unknown[] = []
    const c = bus.consumeQueue('q', (d) => { got.push(d.value) }, { signal: controller.signal })
    bus.send('', 'q', 1)
    await bus.idle()
    controller.abort()
    expect(c.cancelled).toBe(true)
    bus.send('', 'q', 2)
    await bus.idle()
    expect(got).toEqual([1])
    expect(bus.queueStats().q).toMatchObject({ ready: 2, consumers: 0 })
  })

  it('noAck consumers hold nothing', async () => {
    const bus = await newBus()
    bus.queue('q')
    const got: unknown[] = []
    bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true, prefetch: 1 })
    for (let i = 0; i < 3; i++) bus.send('', 'q', i)
    await bus.idle()
    expect(got).toEqual([0, 1, 2])
    expect(bus.queueStats().q).toMatchObject({ ready: 0, unacked: 0 })
  })

  it('a noAck consumer reads every message while the log frees segments behind the head', async () => {
    const bus = await newBus({ maxBytes: 256 * 1024, segmentBytes: 4096 })
    bus.queue('q')
    const got: number[] = []
    bus.consumeQueue('q', (d) => { got.push((d.value as { n: number }).n) }, { noAck: true })
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 300; i++) bus.send('', 'q', { n: round * 300 + i, pad: 'x'.repeat(64) })
      await bus.idle()
    }
    expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => i))
    expect(bus.queueStats().q).toMatchObject({ ready: 0, unacked: 0, messages: 0 })
  })

  it('a noAck consumer gets its queue\'s messages in send order, those that wait in the queue (a TTL of their own, a delay) among the rest', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('q')
    const got: unknown[] = []
    bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    bus.send('', 'q', 1)
    bus.send('', 'q', 2, { expirationMs: 60_000 })
    bus.send('', 'q', 3)
    bus.send('', 'q', 4, { delayMs: 100 })
    bus.send('', 'q', 5)
    await bus.idle()
    expect(got).toEqual([1, 2, 3, 5])
    clock.advance(100)
    await bus.idle()
    bus.send('', 'q', 6)
    await bus.idle()
    expect(got).toEqual([1, 2, 3, 5, 4, 6])
    expect(bus.queueStats().q).toMatchObject({ messages: 0, consumers: 1 })
  })

  onlyWhere('consumerHere')('a noAck consumer cancelled before its turn leaves what was sent to it in the queue, in order, never delivered', async () => {
    const bus = await newBus()
    bus.queue('q')
    const got: unknown[] = []
    const first = bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    const left = async (): Promise<unknown[]> => (await takeDeliveries(bus, 'q')).q.map((d) => [(d.value as { n: number }).n, d.redelivered])
    for (let n = 0; n < 3; n++) bus.send('', 'q', { n })
    await first.cancel()
    expect(bus.queueStats().q).toMatchObject({ ready: 3, consumers: 0 })
    expect(await left()).toEqual([0, 1, 2].map((n) => [n, false]))
    // again, with a message that waits in the queue (a TTL of its own) after one and before another
    const second = bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    bus.send('', 'q', { n: 3 })
    bus.send('', 'q', { n: 4 }, { expirationMs: 60_000 })
    bus.send('', 'q', { n: 5 })
    await second.cancel()
    await bus.idle()
    expect(bus.queueStats().q).toMatchObject({ ready: 3, consumers: 0 })
    expect(await left()).toEqual([3, 4, 5].map((n) => [n, false]))
    expect(got).toEqual([])
  })

  it('a second consumer joining a noAck consumer\'s queue in the same turn: every message once, each consumer\'s in send order', async () => {
    const bus = await newBus()
    bus.queue('q')
    const got: number[][] = [[], []]
    bus.consumeQueue('q', (d) => { got[0].push(d.value as number) }, { noAck: true })
    for (let i = 0; i < 4; i++) bus.send('', 'q', i)
    bus.consumeQueue('q', (d) => { got[1].push(d.value as number) }, { noAck: true })
    for (let i = 4; i < 10; i++) bus.send('', 'q', i)
    await bus.idle()
    expect([...got[0], ...got[1]].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i))
    for (const each of got) expect(each).toEqual([...each].sort((a, b) => a - b))
    expect(got[1].length).toBeGreaterThan(0) // round robin for what came after it joined
  })

  it('the value, headers and properties travel together, into every queue the message reaches', async () => {
    const bus = await newBus()
    bus.exchange('x', { type: 'fanout' })
    for (const q of ['a', 'b']) {
      bus.queue(q)
      bus.bind({ exchange: 'x', queue: q })
    }
    bus.topic('log')
    bus.bind({ exchange: 'x', topic: 'log' })
    const value = { order: { id: 'o-1', lines: [1, 2, 3] }, total: 12.5, tags: new Map([['k', 'v']]) }
    const headers = { trace: { id: 'abc', hops: [1, 2] }, n: 7 }
    bus.send('x', 'k', value, { headers, correlationId: 'c-1', replyTo: 'r', messageId: 'm-1', priority: 3 })
    const got = await takeDeliveries(bus, 'a', 'b')
    for (const q of ['a', 'b']) {
      const [d] = got[q]
      expect([d.value, d.headers, d.correlationId, d.replyTo, d.messageId, d.priority, d.exchange, d.routingKey]).toEqual([value, headers, 'c-1', 'r', 'm-1', 3, 'x', 'k'])
    }
  })

  it('a handler that cancels its consumer is handed no more of what was delivered to it; that goes back, redelivered', async () => {
    const bus = await newBus()
    bus.queue('q')
    for (let i = 0; i < 5; i++) bus.send('', 'q', i)
    const got: unknown[] = []
    const c = bus.consumeQueue('q', (d) => {
      got.push(d.value)
      d.ack()
      if (got.length === 2) void c.cancel()
    })
    await bus.idle()
    expect(got).toEqual([0, 1])
    const rest = await takeDeliveries(bus, 'q')
    expect(rest.q.map((d) => [d.value, d.redelivered])).toEqual([[2, true], [3, true], [4, true]])
  })

  it('acks made in a batch of deliveries count at once: for stats, for a nack after them, and for a cancel', async () => {
    const bus = await newBus()
    bus.queue('q')
    for (let i = 0; i < 6; i++) bus.send('', 'q', i)
    const seen: Array<[unknown, boolean]> = []
    const left: number[] = []
    let lateAck: unknown
    const c = bus.consumeQueue('q', (d) => {
      seen.push([d.value, d.redelivered])
      if (d.redelivered) return d.ack()
      if (d.value === 4) {
        // cancelled: the acks before stand, an ack after fails (where it is settled in this thread)
        void c.cancel()
        if (can('pull')) lateAck = errorOf(() => d.ack())
        return
      }
      // odd values go back once; the acks before a nack stand
      if ((d.value as number) % 2 === 1) d.nack({ requeue: true })
      else d.ack()
      if (can('pull')) left.push(bus.queueStats().q.messages)
    })
    await bus.idle()
    expect(seen).toEqual([[0, false], [1, false], [2, false], [3, false], [4, false]])
    // each ack shows in stats at once (a requeued message is still there)
    if (can('pull')) {
      expect(left).toEqual([5, 5, 4, 4])
      expect(lateAck).toMatchObject({ name: 'InvalidArgumentError', reason: 'unknown-delivery' })
    }
    // 1 and 3 were requeued, 4 was not settled and 5 never handed to a handler: back, none of the acked ones
    const rest = await takeDeliveries(bus, 'q')
    expect(rest.q.map((d) => [d.value, d.redelivered])).toEqual([[1, true], [3, true], [4, true], [5, true]])
    expect(bus.queueStats().q).toMatchObject({ messages: 0, unacked: 0 })
  })

  it('priority: higher first, FIFO within a level, above max counts as max', async () => {
    const bus = await newBus()
    bus.queue('p', { maxPriority: 5 })
    const sends: Array<[string, number | undefined]> = [['low', undefined], ['high', 5], ['mid', 3], ['over', 9], ['mid2', 3], ['zero', 0]]
    for (const [v, priority] of sends) bus.send('', 'p', v, { priority })
    const order = ['high', 'over', 'mid', 'mid2', 'low', 'zero']
    if (can('pull')) expect(drain(bus, 'p')).toEqual(order)
    else expect(await take(bus, 'p')).toEqual({ p: order })
  })

  it('a handler that throws: the delivery is rejected and reported', async () => {
    const bus = await newBus()
    bus.queue('q')
    const errorsSeen: unknown[] = []
    bus.events.on('queue.error', (e) => errorsSeen.push([e.queue, (e.error as Error).message]))
    bus.consumeQueue('q', () => { throw new Error('boom') })
    bus.consumeQueue('q', async (d) => {
      if (d.value === 3) d.ack() // settled before it failed: not rejected again
      throw new Error(`async ${String(d.value)}`)
    })
    for (let i = 1; i <= 3; i++) bus.send('', 'q', i)
    await bus.idle()
    expect(errorsSeen.sort()).toEqual([['q', 'async 2'], ['q', 'boom'], ['q', 'boom']])
    expect(bus.queueStats().q).toMatchObject({ ready: 0, unacked: 0 })
  })
})

describe('time, limits and dead letters', () => {
  it('TTL: expired at the head and dead-lettered with x-death', async () => {
    const clock = manualClock(1000)
    const bus = await newBus({ clock })
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('q', { messageTtlMs: 100, deadLetterExchange: 'dlx' })
    bus.send('', 'q', 'old', { headers: { trace: 't1' } })
    await bus.flush()
    clock.advance(50)
    bus.send('', 'q', 'young')
    await bus.flush()
    clock.advance(60)
    await bus.idle()
    const { dead: [d], q } = await takeDeliveries(bus, 'dead', 'q')
    expect(d.value).toBe('old')
    expect(d.headers.trace).toBe('t1')
    expect(d.headers['x-death']).toEqual([{ count: 1, exchange: '', queue: 'q', reason: 'expired', 'routing-keys': ['q'], time: 1100 }])
    expect(d.headers['x-first-death-reason']).toBe('expired')
    expect(d.exchange).toBe('dlx')
    expect(q.map((m) => m.value)).toEqual(['young'])
  })

  itPulls('get: a short per-message TTL behind a long one waits for the head', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('q')
    bus.send('', 'q', 'long', { expirationMs: 1000 })
    bus.send('', 'q', 'short', { expirationMs: 10 })
    clock.advance(20)
    const first = bus.get('q')!
    expect(first.value).toBe('long')
    first.ack()
    expect(bus.get('q')).toBeUndefined() // 'short' reached the head expired
  })

  it('a short per-message TTL behind a long one waits for the head', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('q', { deadLetterExchange: 'dlx' })
    bus.send('', 'q', 'long', { expirationMs: 1000 })
    bus.send('', 'q', 'short', { expirationMs: 10 })
    await bus.flush()
    clock.advance(20)
    await bus.idle()
    expect(bus.queueStats().dead.messages).toBe(0) // 'short' is expired, but not at the head
    const { q, dead } = await takeDeliveries(bus, 'q', 'dead')
    expect(q.map((d) => d.value)).toEqual(['long'])
    expect(dead.map((d) => [d.value, (d.headers['x-death'] as Array<{ reason: string }>)[0].reason])).toEqual([['short', 'expired']])
  })

  it('max length: drop-head dead-letters the oldest, reject-publish refuses', async () => {
    const bus = await newBus()
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('drop', { maxLength: 2, deadLetterExchange: 'dlx' })
    for (let i = 0; i < 3; i++) bus.send('', 'drop', i)
    const { drop, dead } = await takeDeliveries(bus, 'drop', 'dead')
    expect(drop.map((d) => d.value)).toEqual([1, 2])
    expect(dead.map((d) => [d.value, (d.headers['x-death'] as Array<{ reason: string }>)[0].reason])).toEqual([[0, 'maxlen']])
    bus.queue('strict', { maxLength: 1, overflow: 'reject-publish' })
    expectSent(bus.send('', 'strict', 'a'), { routed: ['strict'], refused: [] })
    if (can('syncRouting')) expectSent(bus.send('', 'strict', 'b'), { routed: [], refused: ['strict'] })
    else await expectRefused(bus, () => bus.send('', 'strict', 'b'), errors.BackPressureError, { queue: 'strict', reason: 'refused' })
    const held: QueueDelivery[] = []
    bus.consumeQueue('strict', (d) => { held.push(d) }, { prefetch: 1 })
    await bus.idle()
    expectSent(bus.send('', 'strict', 'c'), { routed: ['strict'] }) // unacked messages do not count
    held[0].ack()
    await bus.idle()
    expect(held.map((d) => d.value)).toEqual(['a', 'c'])
  })

  itPulls('get: delivery limit: returned after more deliveries than the limit, dead-lettered', async () => {
    const bus = await newBus()
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('q', { deliveryLimit: 2, deadLetterExchange: 'dlx' })
    bus.send('', 'q', 'x')
    bus.get('q')!.nack()
    bus.get('q')!.nack()
    bus.get('q')!.nack() // a third return after two deliveries over the limit (quorum queues count it so)
    expect(bus.get('q')).toBeUndefined()
    const dead = bus.get('dead')!
    expect((dead.headers['x-death'] as Array<{ reason: string }>)[0].reason).toBe('delivery_limit')
  })

  it('delivery limit: returned after more deliveries than the limit, dead-lettered', async () => {
    const bus = await newBus()
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('q', { deliveryLimit: 2, deadLetterExchange: 'dlx' })
    const counts: number[] = []
    bus.consumeQueue('q', (d) => {
      counts.push(d.deliveryCount)
      d.nack()
    })
    bus.send('', 'q', 'x')
    await bus.idle()
    expect(counts).toEqual([1, 2, 3]) // a third return after two deliveries over the limit (quorum queues count it so)
    const { dead } = await takeDeliveries(bus, 'dead')
    expect(dead.map((d) => [d.value, (d.headers['x-death'] as Array<{ reason: string }>)[0].reason])).toEqual([['x', 'delivery_limit']])
    expect(bus.queueStats().q.messages).toBe(0)
  })

  it('reject dead-letters with reason rejected; a rejection loop counts up one entry', async () => {
    const bus = await newBus()
    bus.exchange('retry', { type: 'fanout' })
    bus.queue('work', { deadLetterExchange: 'retry' })
    bus.bind({ exchange: 'retry', queue: 'work' })
    const held: QueueDelivery[] = []
    bus.consumeQueue('work', (d) => {
      if (held.length < 2) d.reject()
      held.push(d)
    })
    bus.send('', 'work', 'job')
    await bus.idle()
    expect(held).toHaveLength(3)
    expect(held[2].headers['x-death']).toMatchObject([{ queue: 'work', reason: 'rejected', count: 2 }])
  })

  it('an automatic dead-letter cycle is dropped', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.exchange('back', { type: 'fanout' })
    bus.queue('loop', { messageTtlMs: 10, deadLetterExchange: 'back' })
    bus.bind({ exchange: 'back', queue: 'loop' })
    bus.send('', 'loop', 'x')
    await bus.flush()
    clock.advance(15)
    await bus.idle()
    expect(bus.queueStats().loop.messages).toBe(0)
  })

  it('delayMs holds a message back until it is due', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('q')
    const got: unknown[] = []
    bus.consumeQueue('q', (d) => { got.push(d.value); d.ack() })
    bus.send('', 'q', 'later', { delayMs: 100 })
    await bus.idle()
    expect(got).toEqual([])
    expect(bus.queueStats().q).toMatchObject({ delayed: 1, ready: 0 })
    if (can('pull')) expect(bus.get('q')).toBeUndefined()
    clock.advance(100)
    await bus.idle()
    expect(got).toEqual(['later'])
  })

  it('expiresMs deletes a queue nobody used', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('temp', { expiresMs: 1000 })
    await bus.flush()
    expect(Object.keys(bus.queueStats())).toContain('temp')
    clock.advance(1001)
    await bus.flush()
    expect(Object.keys(bus.queueStats())).not.toContain('temp')
    if (can('pull')) expectError(() => bus.get('temp'), errors.UnknownQueueError)
    await expectRefused(bus, () => bus.bind({ exchange: 'amq.direct', queue: 'temp' }), errors.UnknownQueueError, { queue: 'temp' })
  })
})

describe('request/reply', () => {
  it('answers with the correlation id; times out by the bus clock', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.reply('double', (n: number) => n * 2)
    await expect(bus.request('double', 21)).resolves.toBe(42)
    await expect(Promise.all([1, 2, 3].map((n) => bus.request('double', n)))).resolves.toEqual([2, 4, 6])
    bus.queue('silent')
    const late = bus.request('silent', 1, { timeoutMs: 50 })
    clock.advance(49)
    await bus.idle()
    clock.advance(1)
    await expect(late).rejects.toBeInstanceOf(errors.RequestTimeoutError)
  })

  it('a failing replier rejects the request; no queue is unroutable', async () => {
    const bus = await newBus()
    bus.reply('fails', () => { throw new Error('nope') })
    await expect(bus.request('fails', 1)).rejects.toThrow(/nope/)
    await expect(bus.request('nobody', 1)).rejects.toBeInstanceOf(errors.UnroutableError)
  })
})
