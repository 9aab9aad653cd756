// Exchanges and queues (RabbitMQ's model) on every transport: routing by each exchange type,
// exchange-to-exchange and alternate exchanges, competing consumers, acks and requeues,
// priorities, TTL, max length, delivery limits, dead-lettering with x-death, request/reply.
import { describe, expect } from 'vitest'
import { errors, manualClock, type QueueDelivery } from '../../src/index.js'
import { expectError } from '../expect-error.js'
import { onlyWhere, useBuses } from './helpers.js'

const newBus = useBuses()
const it = onlyWhere('queues')

/** Every ready message of a queue, by get(), acked. */
function drain(bus: Awaited<ReturnType<typeof newBus>>, queue: string): unknown[] {
  const out: unknown[] = []
  for (let d = bus.get(queue); d !== undefined; d = bus.get(queue)) {
    out.push(d.value)
    d.ack()
  }
  return out
}

describe('routing', () => {
  it('direct: exact key; the default exchange routes by queue name', async () => {
    const bus = await newBus()
    bus.exchange('x', { type: 'direct' })
    for (const q of ['a', 'b', 'c']) bus.queue(q)
    bus.bind({ exchange: 'x', queue: 'a', pattern: 'k' })
    bus.bind({ exchange: 'x', queue: 'b', pattern: 'k' })
    bus.bind({ exchange: 'x', queue: 'c', pattern: 'other' })
    expect(bus.send('x', 'k', 1).routed.sort()).toEqual(['a', 'b'])
    expect(bus.send('x', 'K', 2).routed).toEqual([])
    expect(bus.send('', 'c', 3).routed).toEqual(['c'])
    expect(drain(bus, 'a')).toEqual([1])
    expect(drain(bus, 'c')).toEqual([3])
  })

  it('fanout ignores the key; topic follows AMQP patterns', async () => {
    const bus = await newBus()
    bus.exchange('f', { type: 'fanout' })
    bus.exchange('t', { type: 'topic' })
    for (const q of ['q1', 'q2', 'star', 'hash', 'mid']) bus.queue(q)
    bus.bind({ exchange: 'f', queue: 'q1' })
    bus.bind({ exchange: 'f', queue: 'q2', pattern: 'ignored' })
    expect(bus.send('f', 'anything', 'x').routed.sort()).toEqual(['q1', 'q2'])
    bus.bind({ exchange: 't', queue: 'star', pattern: 'a.*' })
    bus.bind({ exchange: 't', queue: 'hash', pattern: 'a.#' })
    bus.bind({ exchange: 't', queue: 'mid', pattern: '#.b.#' })
    const routed = (key: string) => bus.send('t', key, key).routed.sort()
    expect(routed('a')).toEqual(['hash'])
    expect(routed('a.x')).toEqual(['hash', 'star'])
    expect(routed('a.b')).toEqual(['hash', 'mid', 'star'])
    expect(routed('a.x.y')).toEqual(['hash'])
    expect(routed('b')).toEqual(['mid'])
    expect(routed('')).toEqual([])
    expect(routed('a..b')).toEqual(['hash', 'mid'])
  })

  it('headers: x-match all and any, presence, x- keys ignored', async () => {
    const bus = await newBus()
    bus.exchange('h', { type: 'headers' })
    for (const q of ['all', 'any', 'present']) bus.queue(q)
    bus.bind({ exchange: 'h', queue: 'all', arguments: { 'x-match': 'all', format: 'pdf', type: 'report' } })
    bus.bind({ exchange: 'h', queue: 'any', arguments: { 'x-match': 'any', format: 'pdf', type: 'report' } })
    bus.bind({ exchange: 'h', queue: 'present', arguments: { flag: null } })
    const routed = (headers: Record<string, unknown>) => bus.send('h', '', 0, { headers }).routed.sort()
    expect(routed({ format: 'pdf', type: 'report' })).toEqual(['all', 'any'])
    expect(routed({ format: 'pdf' })).toEqual(['any'])
    expect(routed({ format: 'zip', flag: 1 })).toEqual(['present'])
    expect(routed({ format: 1 })).toEqual([])
    expectError(() => bus.bind({ exchange: 'h', queue: 'all', arguments: { 'x-match': 'some' } }), errors.InvalidArgumentError)
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
    expect(bus.send('a', 'k', 'once').routed).toEqual(['q'])
    expect(drain(bus, 'q')).toEqual(['once'])
  })

  it('alternate exchange takes what nothing matched; mandatory throws when nothing takes it', async () => {
    const bus = await newBus()
    bus.exchange('main', { type: 'direct', alternateExchange: 'ae' })
    bus.queue('matched')
    bus.queue('rest')
    bus.bind({ exchange: 'main', queue: 'matched', pattern: 'yes' })
    expect(bus.send('main', 'no', 1).routed).toEqual([]) // the alternate is not declared yet
    bus.exchange('ae', { type: 'fanout' })
    bus.bind({ exchange: 'ae', queue: 'rest' })
    expect(bus.send('main', 'yes', 2).routed).toEqual(['matched'])
    expect(bus.send('main', 'no', 3, { mandatory: true }).routed).toEqual(['rest'])
    bus.exchange('lonely', { type: 'direct' })
    expectError(() => bus.send('lonely', 'k', 4, { mandatory: true }), errors.UnroutableError, { exchange: 'lonely', routingKey: 'k' })
    expect(bus.send('lonely', 'k', 5).routed).toEqual([])
  })

  it('an exchange can feed a Kafka-style topic, keyed by the routing key', async () => {
    const bus = await newBus()
    bus.exchange('orders', { type: 'topic' })
    bus.queue('paid')
    bus.bind({ exchange: 'orders', queue: 'paid', pattern: 'order.paid' })
    bus.bind({ exchange: 'orders', topic: 'order.log', pattern: 'order.#' })
    const got: Array<{ key: unknown; value: unknown }> = []
    bus.subscribe('order.log', (m) => { got.push({ key: m.key, value: m.value }) }, { from: 'earliest' })
    expect(bus.send('orders', 'order.paid', { id: 1 }).routed.sort()).toEqual(['order.log', 'paid'])
    await bus.idle()
    expect(got).toEqual([{ key: 'order.paid', value: { id: 1 } }])
  })

  it('unknown names and bad input are typed errors', async () => {
    const bus = await newBus()
    bus.queue('q')
    expectError(() => bus.send('nope', 'k', 1), errors.UnknownExchangeError, { exchange: 'nope' })
    expectError(() => bus.bind({ exchange: 'nope', queue: 'q' }), errors.UnknownExchangeError)
    bus.exchange('x', { type: 'direct' })
    expectError(() => bus.bind({ exchange: 'x', queue: 'missing' }), errors.UnknownQueueError, { queue: 'missing' })
    expectError(() => bus.exchange('x', { type: 'topic' }), errors.InvalidArgumentError, { exchange: 'x' })
    expectError(() => bus.queue('q', { maxLength: 3 }), errors.InvalidArgumentError, { queue: 'q' })
    expectError(() => bus.send('x', 'k'.repeat(256), 1), errors.InvalidArgumentError, { argument: 'routingKey' })
    expectError(() => bus.get('missing'), errors.UnknownQueueError)
    expect(bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(true)
    expect(bus.bind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(false)
    expect(bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(true)
    expect(bus.unbind({ exchange: 'x', queue: 'q', pattern: 'k' })).toBe(false)
    expect(bus.send('x', 'k', 1).routed).toEqual([])
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
    held[0].ack()
    await bus.idle()
    expect(held.map((d) => d.value)).toEqual([0, 1, 2])
    expect(bus.queueStats().work).toMatchObject({ ready: 2, unacked: 2, consumers: 1 })
  })

  it('nack with requeue keeps the place and marks it redelivered; acking twice is an error', async () => {
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
    const d = bus.get('q')!
    expect([d.value, d.redelivered]).toEqual([1, true])
    expectError(() => held[0].ack(), errors.InvalidArgumentError, { reason: 'unknown-delivery' })
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

  it('priority: higher first, FIFO within a level, above max counts as max', async () => {
    const bus = await newBus()
    bus.queue('p', { maxPriority: 5 })
    const sends: Array<[string, number | undefined]> = [['low', undefined], ['high', 5], ['mid', 3], ['over', 9], ['mid2', 3], ['zero', 0]]
    for (const [v, priority] of sends) bus.send('', 'p', v, { priority })
    expect(drain(bus, 'p')).toEqual(['high', 'over', 'mid', 'mid2', 'low', 'zero'])
  })

  it('a handler that throws: the delivery is rejected and reported', async () => {
    const bus = await newBus()
    bus.queue('q')
    const errorsSeen: unknown[] = []
    bus.events.on('queue.error', (e) => errorsSeen.push(e.queue))
    bus.consumeQueue('q', () => { throw new Error('boom') })
    bus.send('', 'q', 1)
    await bus.idle()
    expect(errorsSeen).toEqual(['q'])
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
    clock.advance(50)
    bus.send('', 'q', 'young')
    clock.advance(60)
    await bus.idle()
    const d = bus.get('dead')!
    expect(d.value).toBe('old')
    expect(d.headers.trace).toBe('t1')
    expect(d.headers['x-death']).toEqual([{ count: 1, exchange: '', queue: 'q', reason: 'expired', 'routing-keys': ['q'], time: 1100 }])
    expect(d.headers['x-first-death-reason']).toBe('expired')
    expect(d.exchange).toBe('dlx')
    expect(drain(bus, 'q')).toEqual(['young'])
  })

  it('a short per-message TTL behind a long one waits for the head', async () => {
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

  it('max length: drop-head dead-letters the oldest, reject-publish refuses', async () => {
    const bus = await newBus()
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('drop', { maxLength: 2, deadLetterExchange: 'dlx' })
    for (let i = 0; i < 3; i++) bus.send('', 'drop', i)
    expect(drain(bus, 'drop')).toEqual([1, 2])
    const dead = bus.get('dead')!
    expect([dead.value, (dead.headers['x-death'] as Array<{ reason: string }>)[0].reason]).toEqual([0, 'maxlen'])
    bus.queue('strict', { maxLength: 1, overflow: 'reject-publish' })
    expect(bus.send('', 'strict', 'a')).toEqual({ routed: ['strict'], refused: [] })
    expect(bus.send('', 'strict', 'b')).toEqual({ routed: [], refused: ['strict'] })
    const held = bus.get('strict')!
    expect(bus.send('', 'strict', 'c').routed).toEqual(['strict']) // unacked messages do not count
    held.ack()
  })

  it('delivery limit: returned after more deliveries than the limit, dead-lettered', async () => {
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

  it('reject dead-letters with reason rejected; a rejection loop counts up one entry', async () => {
    const bus = await newBus()
    bus.exchange('retry', { type: 'fanout' })
    bus.queue('work', { deadLetterExchange: 'retry' })
    bus.bind({ exchange: 'retry', queue: 'work' })
    bus.send('', 'work', 'job')
    bus.get('work')!.reject()
    bus.get('work')!.reject()
    const d = bus.get('work')!
    expect(d.headers['x-death']).toMatchObject([{ queue: 'work', reason: 'rejected', count: 2 }])
  })

  it('an automatic dead-letter cycle is dropped', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.exchange('back', { type: 'fanout' })
    bus.queue('loop', { messageTtlMs: 10, deadLetterExchange: 'back' })
    bus.bind({ exchange: 'back', queue: 'loop' })
    bus.send('', 'loop', 'x')
    clock.advance(15)
    await bus.idle()
    expect(bus.queueStats().loop.messages).toBe(0)
  })

  it('delayMs holds a message back until it is due', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('q')
    bus.send('', 'q', 'later', { delayMs: 100 })
    expect(bus.get('q')).toBeUndefined()
    clock.advance(100)
    expect(drain(bus, 'q')).toEqual(['later'])
  })

  it('expiresMs deletes a queue nobody used', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('temp', { expiresMs: 1000 })
    clock.advance(1001)
    expectError(() => bus.get('temp'), errors.UnknownQueueError)
  })
})

describe('request/reply', () => {
  it('answers with the correlation id; times out by the bus clock', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.reply('double', (n: number) => n * 2)
    await expect(bus.request('double', 21)).resolves.toBe(42)
    bus.queue('silent')
    const late = bus.request('silent', 1, { timeoutMs: 50 })
    clock.advance(50)
    await expect(late).rejects.toBeInstanceOf(errors.RequestTimeoutError)
  })

  it('a failing replier rejects the request; no queue is unroutable', async () => {
    const bus = await newBus()
    bus.reply('fails', () => { throw new Error('nope') })
    await expect(bus.request('fails', 1)).rejects.toThrow(/nope/)
    await expect(bus.request('nobody', 1)).rejects.toBeInstanceOf(errors.UnroutableError)
  })
})
