// The classic e-commerce flow on one ringbus: an order service publishes `order.placed` keyed
// by user, three services react, and an analytics service that starts late replays history.
// Run with `npm start` (after `npm install`, which builds the package).
import { createBus } from 'ringbus'

const bus = await createBus()
bus.topic('order.placed', { partitions: 3, retention: { maxAgeMs: 24 * 3600_000 } })
bus.topic('order.shipped', { partitions: 3 })

const log = (service, text) => console.log(`  ${service.padEnd(10)} ${text}`)

// Live services: each is an independent reader from 'latest'.
bus.on('order.placed', (order, msg) => log('email', `thanks ${order.userId}, order ${order.orderId} (partition ${msg.partition}, offset ${msg.offset})`))
bus.subscribe('order.placed', async (msg) => {
  await new Promise((resolve) => setTimeout(resolve, 1)) // an async handler: this partition waits for it
  log('inventory', `reserved ${msg.value.items.join(', ')} for ${msg.value.orderId}`)
  bus.publish('order.shipped', { orderId: msg.value.orderId }, { key: msg.value.userId })
})
bus.subscribe('order.*', (msg) => log('audit', `${msg.topic} ${JSON.stringify(msg.value)}`))

console.log('orders placed:')
const users = ['ada', 'grace', 'linus', 'ada', 'grace']
users.forEach((userId, i) => {
  const order = { orderId: `o-${i + 1}`, userId, total: 10 * (i + 1), items: i % 2 ? ['book'] : ['pen', 'ink'] }
  const { partition, offset } = bus.publish('order.placed', order, { key: userId })
  log('orders', `placed ${order.orderId} for ${userId} -> partition ${partition} offset ${offset}`)
})
await bus.idle()

// A late analytics service replays every order from the beginning of the log.
console.log('\nlate analytics replays from earliest:')
const totals = new Map()
const analytics = bus.subscribe('order.placed', (msg) => {
  totals.set(msg.value.userId, (totals.get(msg.value.userId) ?? 0) + msg.value.total)
}, { from: 'earliest' })
await bus.idle()
for (const [user, total] of totals) log('analytics', `${user} spent ${total}`)
await analytics.close()

console.log('\nstats:')
const rows = []
for (const [topic, s] of Object.entries(bus.stats())) {
  for (const p of s.partitions) {
    rows.push({ topic, partition: p.partition, start: p.startOffset, end: p.endOffset, bytes: p.bytes, readers: s.readers, published: s.published, delivered: s.delivered })
  }
}
console.table(rows)
await bus.close()
