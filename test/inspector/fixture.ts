// A bus with known contents for the inspector tests, in Node and (bundled) in a page: topics
// with records, a group behind on one topic, a group whose failures are dead-lettered, queues
// behind an exchange with one message unacked. Nothing here imports Node.
import type { BusApi, Subscription } from '../../src/index.js'

export const FAILURES = 4

/** Fills `bus`; resolves once every dead letter is in and the paused group's lag is set. */
export async function populate(bus: BusApi): Promise<{ subscriptions: Subscription[] }> {
  bus.topic('orders', { partitions: 3 })
  bus.topic('payments')
  bus.topic('jobs')
  const subscriptions: Subscription[] = []
  for (let i = 0; i < 30; i++) bus.publish('orders', { id: i, total: 10 + i }, { key: `user-${i % 7}` })
  // billing reads every order, then stops: the orders after that are its lag
  const billing = bus.subscribe('orders', () => {}, { group: 'billing', from: 'earliest' })
  subscriptions.push(billing)
  await until(bus, () => (bus.stats().orders?.groups.billing?.partitions ?? []).reduce((n, p) => n + p.committed, 0) === 30)
  billing.pause()
  for (let i = 30; i < 37; i++) bus.publish('orders', { id: i, total: 10 + i }, { key: `user-${i % 7}` })
  // every job fails once and is dead-lettered to jobs.dlq
  subscriptions.push(bus.subscribe('jobs', (m) => { throw new Error(`job ${String((m.value as { n: number }).n)} failed`) },
    { group: 'runner', from: 'earliest', maxAttempts: 1 }))
  bus.events.on('error', () => {}) // the failures are the point here
  for (let n = 0; n < FAILURES; n++) bus.publish('jobs', { n }, { key: `job-${n}` })
  await until(bus, () => bus.stats().jobs!.deadLetters === FAILURES)
  bus.exchange('shop', { type: 'topic' })
  bus.exchange('audit', { type: 'fanout' })
  bus.queue('shipping')
  bus.queue('invoices')
  bus.bind({ exchange: 'shop', queue: 'shipping', pattern: 'order.*' })
  bus.bind({ exchange: 'shop', queue: 'invoices', pattern: 'order.paid' })
  bus.bind({ exchange: 'shop', toExchange: 'audit', pattern: '#' })
  bus.bind({ exchange: 'audit', topic: 'payments' })
  for (let i = 0; i < 5; i++) bus.send('shop', i % 2 === 0 ? 'order.paid' : 'order.placed', { i })
  bus.get('shipping') // taken, not acked: unacked 1
  return { subscriptions }
}

/** Resolves once `condition` holds, looking after each delivery round; fails after 10 s. */
async function until(bus: BusApi, condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !condition();) {
    if (Date.now() > deadline) throw new Error('the inspector fixture timed out')
    await bus.idle()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
