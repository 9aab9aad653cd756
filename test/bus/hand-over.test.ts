// Straight hand-over (src/queues/hand-over.ts): on a bus that is not shared, a message sent to an
// empty queue whose one consumer is a noAck consumer of this thread goes to that consumer without
// the queue's log. What users see of it is the queue's figures between the send and the
// consumer's turn (nothing held, as RabbitMQ shows a message pushed to a waiting consumer), and
// what happens when a held message has to go into the queue after all and cannot.
import { describe, expect } from 'vitest'
import { errors, manualClock, type QueueDelivery } from '../../src/index.js'
import { expectError } from '../expect-error.js'
import { onlyWhere, SMALL, useBuses } from './helpers.js'

const newBus = useBuses()
const it = onlyWhere('plain')

/** Fills queue `name` of a bus with 1 KiB messages until its log refuses one. */
function fill(bus: Awaited<ReturnType<typeof newBus>>, name: string): number {
  bus.queue(name)
  for (let n = 0; ; n++) {
    try {
      bus.send('', name, { n, pad: 'x'.repeat(1024) })
    } catch (error) {
      expect(error).toBeInstanceOf(errors.BackPressureError)
      return n
    }
  }
}

/** The values a queue holds, in order, taken by a noAck consumer. */
async function drainValues(bus: Awaited<ReturnType<typeof newBus>>): Promise<number[]> {
  const out: number[] = []
  const c = bus.consumeQueue('q', (d) => { out.push(d.value as number) }, { noAck: true })
  await bus.idle()
  await c.cancel()
  return out
}

describe('straight hand-over to a waiting noAck consumer', () => {
  it('the queue holds nothing between the send and the consumer\'s turn; the consumer gets the sent objects themselves, with everything a delivery carries', async () => {
    const clock = manualClock(1_000)
    const bus = await newBus({ clock })
    bus.queue('q', { maxPriority: 5 })
    const got: QueueDelivery[] = []
    bus.consumeQueue('q', (d) => { got.push(d) }, { noAck: true })
    const sent = [{ n: 0 }, { n: 1 }]
    for (const value of sent) bus.send('', 'q', value, { headers: { h: 1 }, correlationId: 'c', replyTo: 'r', messageId: `m${value.n}`, priority: 9 })
    expect(bus.queueStats().q).toMatchObject({ messages: 0, consumers: 1 })
    await bus.idle()
    expect(got.map((d) => d.value)).toEqual(sent)
    expect(got[0].value).toBe(sent[0])
    expect(got.map((d) => [d.queue, d.exchange, d.routingKey, d.headers, d.correlationId, d.replyTo, d.messageId, d.priority, d.redelivered, d.deliveryCount, d.timestamp]))
      .toEqual([0, 1].map((n) => ['q', '', 'q', { h: 1 }, 'c', 'r', `m${n}`, 9, false, 1, 1_000]))
    expectError(() => got[0].ack(), errors.InvalidArgumentError, { reason: 'unknown-delivery' })
  })

  it('what cannot go straight waits in the queue: an ack consumer, two consumers, queue limits, a TTL or delay of its own', async () => {
    const bus = await newBus()
    const cases: Array<{ queue: string; options?: object; consumers?: Array<{ noAck: boolean }>; send?: object }> = [
      { queue: 'acked', consumers: [{ noAck: false }] },
      { queue: 'two', consumers: [{ noAck: true }, { noAck: true }] },
      { queue: 'ttl', options: { messageTtlMs: 60_000 } },
      { queue: 'max', options: { maxLength: 10 } },
      { queue: 'limit', options: { deliveryLimit: 3 } },
      { queue: 'own-ttl', send: { expirationMs: 60_000 } },
      { queue: 'delayed', send: { delayMs: 60_000 } },
    ]
    for (const c of cases) {
      bus.queue(c.queue, c.options)
      for (const { noAck } of c.consumers ?? [{ noAck: true }]) bus.consumeQueue(c.queue, (d) => { if (!noAck) d.ack() }, { noAck })
      bus.send('', c.queue, 1, c.send)
      expect([c.queue, bus.queueStats()[c.queue].messages]).toEqual([c.queue, 1])
    }
    await bus.idle()
  })

  it('a message the queue\'s log could not take (too large) is refused as it would be there', async () => {
    const bus = await newBus({ maxBytes: 1 << 20, segmentBytes: 4096 })
    const refused: unknown[] = []
    for (const noAck of [false, true]) {
      const queue = noAck ? 'straight' : 'acked'
      bus.queue(queue)
      bus.consumeQueue(queue, (d) => { if (!noAck) d.ack() }, { noAck })
      try {
        bus.send('', queue, 'x'.repeat(5000))
      } catch (error) {
        refused.push([queue, (error as Error).name])
      }
      bus.send('', queue, 'x'.repeat(3000))
    }
    expect(refused).toEqual([['acked', 'InvalidArgumentError'], ['straight', 'InvalidArgumentError']])
    expect(bus.queueStats().straight).toMatchObject({ messages: 0 })
  })

  it('a value is still refused at send() when it cannot be encoded, though a consumer taking it straight would not need its bytes', async () => {
    const bus = await newBus()
    bus.queue('q')
    bus.exchange('x', { type: 'fanout' })
    bus.bind({ exchange: 'x', queue: 'q' })
    const got: unknown[] = []
    bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    for (const value of [{ f: () => 1 }, new (class Point { x = 1 })(), [1, { deep: Symbol('s') }]]) {
      expect(() => bus.send('', 'q', value)).toThrow(errors.CodecError)
      expect(() => bus.send('x', '', value)).toThrow(errors.CodecError)
    }
    await bus.idle()
    expect(got).toEqual([])
  })

  it('a message that goes straight to one queue and into another\'s log: that log holds its bytes, read back equal', async () => {
    const bus = await newBus()
    bus.exchange('x', { type: 'fanout' })
    for (const q of ['straight', 'logged']) {
      bus.queue(q)
      bus.bind({ exchange: 'x', queue: q })
    }
    const got: unknown[] = []
    bus.consumeQueue('straight', (d) => { got.push(d.value) }, { noAck: true })
    const value = { id: 7, key: 'a.b', tags: ['x', 'y'], at: { n: 1.5 } }
    expect([...bus.send('x', 'k', value).routed].sort()).toEqual(['logged', 'straight'])
    await bus.idle()
    expect(got).toEqual([value])
    // the first delivery in this thread is the sent object itself; a redelivery is read from the log
    bus.get('logged')!.nack()
    const again = bus.get('logged')!
    expect([again.value, again.redelivered]).toEqual([value, true])
    expect(again.value).not.toBe(value)
  })

  it('bursts past a batch: in order, and a handler cancelling its consumer mid-batch leaves what the log would have left', async () => {
    // the same on a shared bus, where every message goes through the queue's log
    const outcome = async (shared: boolean) => {
      const bus = await newBus({ shared })
      bus.queue('q')
      const got: number[] = []
      const c = bus.consumeQueue('q', (d) => {
        got.push(d.value as number)
        if (got.length === 700) void c.cancel()
      }, { noAck: true })
      for (let n = 0; n < 5000; n++) bus.send('', 'q', n)
      await bus.idle()
      const left = await drainValues(bus)
      await bus.close()
      return { got, left }
    }
    const plain = await outcome(false)
    expect(plain.got).toEqual(Array.from({ length: 700 }, (_, n) => n))
    expect(plain).toEqual(await outcome(true))
  })

  it('held messages go with the bus when it closes: neither delivered nor put into the queue, whose full log would refuse them', async () => {
    const bus = await newBus(SMALL)
    bus.queue('q')
    const got: unknown[] = []
    const failures: unknown[] = []
    bus.events.on('queue.error', (e) => failures.push(e))
    bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    bus.send('', 'q', 1)
    fill(bus, 'filler')
    await bus.close()
    expect([got, failures]).toEqual([[], []])
  })

  it('a held message whose value no longer encodes when it must go into the queue is reported and left out; the rest keep their order', async () => {
    const bus = await newBus()
    bus.queue('q')
    const failures: unknown[] = []
    bus.events.on('queue.error', (e) => failures.push(e))
    const c = bus.consumeQueue('q', () => {}, { noAck: true })
    const values: Array<Record<string, unknown>> = [{ n: 0 }, { n: 1 }, { n: 2 }]
    for (const value of values) bus.send('', 'q', value)
    values[1].f = () => 1 // the sender changed it after send(), as it should not
    await c.cancel()
    expect(failures).toEqual([expect.objectContaining({ queue: 'q', error: expect.objectContaining({ name: 'CodecError' }) })])
    const left: unknown[] = []
    bus.consumeQueue('q', (d) => { left.push(d.value) }, { noAck: true })
    await bus.idle()
    expect(left).toEqual([{ n: 0 }, { n: 2 }])
  })

  it('held messages that a full log cannot take: a send after them is refused and they stay with their consumer; at its cancel they are reported', async () => {
    const bus = await newBus(SMALL)
    bus.queue('q')
    const got: unknown[] = []
    const c = bus.consumeQueue('q', (d) => { got.push(d.value) }, { noAck: true })
    bus.send('', 'q', 'held')
    fill(bus, 'filler')
    // it must wait in the queue (a TTL of its own), after the one held, which the log cannot take
    expect(() => bus.send('', 'q', 'waits', { expirationMs: 60_000 })).toThrow(errors.BackPressureError)
    await bus.idle()
    expect(got).toEqual(['held'])

    const failures: unknown[] = []
    bus.events.on('queue.error', (e) => failures.push(e))
    bus.send('', 'q', 'held again')
    await c.cancel()
    expect(failures).toEqual([expect.objectContaining({ queue: 'q', error: expect.objectContaining({ name: 'BackPressureError' }) })])
    expect(got).toEqual(['held'])
    expect(bus.queueStats().q).toMatchObject({ messages: 0, consumers: 0 })
  })
})
