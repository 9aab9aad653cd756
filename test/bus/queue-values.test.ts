// What a queue consumer receives as the message value, on every transport: a copy of what was
// sent, except that a consumer in the sending thread gets the sent object itself on its first
// delivery (as a topic's same-thread readers do); a redelivery is always a decoded copy.
import { describe, expect, it } from 'vitest'
import { manualClock, type QueueDelivery } from '../../src/index.js'
import { onlyWhere, useBuses } from './helpers.js'
import { can } from './transports.js'

const newBus = useBuses()
const itSameObjects = onlyWhere('sameObjects')

/** Consumes `queue`, acking, until `count` deliveries arrived. */
function consumeAll(bus: Awaited<ReturnType<typeof newBus>>, queue: string): QueueDelivery[] {
  const got: QueueDelivery[] = []
  bus.consumeQueue(queue, (d) => { got.push(d); d.ack() })
  return got
}

describe('queue values', () => {
  itSameObjects('a consumer in the sending thread gets the sent object on its first delivery, a decoded copy when redelivered', async () => {
    const bus = await newBus()
    bus.queue('q')
    const sent = { n: 1, nested: { tags: ['a'] } }
    const got: QueueDelivery[] = []
    bus.consumeQueue('q', (d) => {
      got.push(d)
      if (!d.redelivered) d.nack({ requeue: true })
      else d.ack()
    })
    bus.send('', 'q', sent)
    await bus.idle()
    expect(got.map((d) => d.redelivered)).toEqual([false, true])
    expect(got[0].value).toBe(sent)
    expect(got[1].value).not.toBe(sent)
    expect(got[1].value).toEqual(sent)
  })

  it('every consumer gets an equal value, whichever thread sent it; a copying worker always a copy', async () => {
    const bus = await newBus()
    bus.exchange('fan', { type: 'fanout' })
    for (const q of ['a', 'b']) {
      bus.queue(q)
      bus.bind({ exchange: 'fan', queue: q })
    }
    const a = consumeAll(bus, 'a')
    const b = consumeAll(bus, 'b')
    const sent = { id: 'x', list: [1, 2, 3] }
    bus.send('fan', '', sent)
    await bus.flush()
    await bus.idle()
    expect(a.map((d) => d.value)).toEqual([sent])
    expect(b.map((d) => d.value)).toEqual([sent])
    if (!can('sameObjects')) expect(a[0].value).not.toBe(sent)
  })

  it('x-delivery-count of a queue with a delivery limit stays on that queue\'s deliveries', async () => {
    const bus = await newBus()
    bus.exchange('fan', { type: 'fanout' })
    bus.queue('limited', { deliveryLimit: 5 })
    bus.queue('plain')
    bus.bind({ exchange: 'fan', queue: 'limited' })
    bus.bind({ exchange: 'fan', queue: 'plain' })
    const limited = consumeAll(bus, 'limited')
    const plain = consumeAll(bus, 'plain')
    bus.send('fan', '', 1, { headers: { h: 'v' } })
    await bus.flush()
    await bus.idle()
    expect(limited[0].headers).toEqual({ h: 'v', 'x-delivery-count': 0 })
    expect(plain[0].headers).toEqual({ h: 'v' })
  })

  it('more messages than a consumer takes at once arrive whole and in order', async () => {
    const bus = await newBus()
    bus.queue('backlog')
    const sent = Array.from({ length: 3000 }, (_, i) => ({ i, text: `m${i}` }))
    for (const value of sent) bus.send('', 'backlog', value)
    await bus.flush()
    const got = consumeAll(bus, 'backlog')
    await bus.idle()
    expect(got.map((d) => d.value)).toEqual(sent)
  })

  it('a queue deleted with messages in it leaves nothing to a queue declared after it', async () => {
    const clock = manualClock(0)
    const bus = await newBus({ clock })
    bus.queue('temp', { expiresMs: 1000 })
    bus.send('', 'temp', 'old message')
    await bus.flush()
    clock.advance(1001)
    await bus.flush()
    expect(Object.keys(bus.queueStats())).not.toContain('temp')
    bus.queue('next')
    bus.send('', 'next', 'new message')
    await bus.flush()
    const got = consumeAll(bus, 'next')
    await bus.idle()
    expect(got.map((d) => d.value)).toEqual(['new message'])
  })
})
