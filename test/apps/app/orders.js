// The app's work, the same in a page and in Node: a few orders published to a topic of two
// partitions and read back from the start.
import { createBus } from 'ringbus'

export async function orders() {
  // shared memory where the page is cross-origin isolated (and in Node), a plain one elsewhere
  const bus = await createBus({ shared: true })
  bus.topic('orders', { partitions: 2 })
  for (const [i, item] of ['tea', 'cake', 'jam', 'scones'].entries()) bus.publish('orders', { id: i + 1, item }, { key: item })
  const seen = []
  const history = bus.subscribe('orders', (msg) => { seen.push(`${msg.value.id} ${msg.value.item} @${msg.partition}/${msg.offset}`) }, { from: 'earliest' })
  await bus.idle()
  const memory = bus.handle().kind === 'ringbus/shared' ? 'shared' : 'plain'
  await history.close()
  await bus.close()
  return { memory, seen: seen.sort() }
}
