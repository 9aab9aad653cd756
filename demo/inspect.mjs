// A shop that keeps running, with the inspector watching it: orders on a topic read by a
// consumer group that falls behind and catches up, jobs whose failures are dead-lettered, and an
// exchange routing to queues with competing consumers. Run with `npm run inspect`; Ctrl-C stops it.
// PORT picks the inspector's port (default 4000, or any free one when 4000 is taken).
import { createBus } from 'ringbus'
import { serveInspector } from 'ringbus/inspector'

const bus = await createBus()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const pick = (list) => list[Math.floor(Math.random() * list.length)]
const users = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'dennis']

// Kafka model: orders keyed by user over 3 partitions, bounded by size so old segments go
bus.topic('order.placed', { partitions: 3, retention: { maxBytes: 256 * 1024 } })
bus.topic('order.shipped', { partitions: 3, retention: { maxBytes: 256 * 1024 } })
bus.topic('jobs', { retention: { maxBytes: 128 * 1024 } })
bus.topic('jobs.dlq', { retention: { maxBytes: 128 * 1024 } })

// a group of two that ships slower at times than orders come in: its lag rises and falls
for (let i = 0; i < 2; i++) {
  bus.subscribe('order.placed', async (msg) => {
    await sleep(slowShipping ? 150 : 2)
    bus.publish('order.shipped', { orderId: msg.value.orderId }, { key: msg.value.userId })
  }, { group: 'shipping', concurrency: 3 })
}
let slowShipping = false
const slowness = setInterval(() => { slowShipping = !slowShipping }, 8000)
bus.subscribe('order.*', () => {}) // an audit log reading everything: an independent reader

// jobs fail now and then, twice in a row: then they go to jobs.dlq with the failure headers
bus.events.on('error', () => {}) // failed attempts are expected here; the dead letters show them
bus.subscribe('jobs', (msg) => {
  if (msg.value.size > 90) throw new Error(`job ${msg.value.id} is too large (${msg.value.size} MB)`)
}, { group: 'workers', maxAttempts: 2, backoff: { initialMs: 50 } })

// RabbitMQ model: a topic exchange into two queues; a refused payment is dead-lettered to 'failed'
bus.exchange('shop', { type: 'topic' })
bus.exchange('dlx', { type: 'fanout' })
bus.queue('invoices', { deadLetterExchange: 'dlx' })
bus.queue('emails', { maxLength: 500 })
bus.queue('failed', { maxLength: 1000 })
bus.bind({ exchange: 'shop', queue: 'invoices', pattern: 'order.paid' })
bus.bind({ exchange: 'shop', queue: 'emails', pattern: 'order.*' })
bus.bind({ exchange: 'dlx', queue: 'failed' })
bus.consumeQueue('invoices', async (d) => {
  await sleep(5)
  if (d.value.total > 480) d.reject()
  else d.ack()
}, { prefetch: 5 })
bus.consumeQueue('emails', async (d) => {
  await sleep(20) // slower than the orders: messages wait, some unacked
  d.ack()
}, { prefetch: 3 })

let next = 1
const traffic = setInterval(() => {
  for (let i = 0; i < 4; i++) {
    const order = { orderId: `o-${next}`, userId: pick(users), total: Math.round(Math.random() * 500) }
    bus.publish('order.placed', order, { key: order.userId })
    bus.send('shop', Math.random() < 0.7 ? 'order.paid' : 'order.placed', order)
    next++
  }
  bus.publish('jobs', { id: next, size: Math.round(Math.random() * 100) }, { key: `job-${next % 5}` })
}, 100)

let inspector
try {
  inspector = await serveInspector(bus, { port: Number(process.env.PORT ?? 4000) })
} catch (error) {
  if (error.code !== 'EADDRINUSE' || process.env.PORT !== undefined) throw error
  inspector = await serveInspector(bus) // 4000 is taken: any free port
}
console.log(`ringbus inspector: ${inspector.url}  (Ctrl-C stops the demo)`)

process.once('SIGINT', async () => {
  clearInterval(traffic)
  clearInterval(slowness)
  await inspector.close()
  await bus.close()
  console.log('\nstopped')
})
