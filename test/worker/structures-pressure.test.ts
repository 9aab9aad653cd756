// The msgpack record structures of a shared bus live in the log (an internal topic per topic).
// When the memory pool runs out, a partition takes a block from another one; the structures'
// table must never be that victim, or every thread that has not seen the table yet could no
// longer decode any record of the topic.
import { afterEach, expect, it } from 'vitest'
import { attachBus, createBus, manualClock, type Bus, type WorkerBus } from '../../src/index.js'

const opened: Array<Bus | WorkerBus> = []
afterEach(async () => {
  for (const bus of opened.splice(0).reverse()) await bus.close()
})

it('a full memory pool steals from user topics, never the record structures every thread decodes with', async () => {
  const clock = manualClock(1_000)
  // 64 blocks of 4 KiB
  const bus = await createBus({ shared: true, maxBytes: 256 * 1024, segmentBytes: 4096, clock })
  opened.push(bus)
  bus.topic('fill', { partitions: 64 })
  // 61 partitions hold one block each; the structures of 'fill' take one too
  for (let p = 0; p < 61; p++) bus.publish('fill', { n: p }, { partition: p })
  clock.advance(1_000)
  bus.topic('orders')
  for (let i = 0; i < 5; i++) bus.publish('orders', { id: i, total: i * 10, note: `n${i}` })
  expect(bus.core.freeSegments()).toBe(0)
  // the pool is empty and no partition has a closed segment: the next block is taken from the
  // partition whose newest record is oldest
  clock.advance(1_000)
  bus.publish('fill', { n: 61 }, { partition: 61 })
  bus.publish('fill', { n: 62 }, { partition: 62 })

  // a thread that never saw the shapes reads the topic from the log
  const other = await attachBus(bus.handle())
  opened.push(other)
  const errors: unknown[] = []
  other.events.on('error', (e) => errors.push(e.error))
  const got: unknown[] = []
  other.subscribe('orders', (m) => { got.push(m.value) }, { from: 'earliest' })
  const fill: unknown[] = []
  other.subscribe('fill', (m) => { fill.push(m.value) }, { from: 'earliest' })
  await other.idle()
  expect(errors).toEqual([])
  expect(got).toEqual(Array.from({ length: 5 }, (_, i) => ({ id: i, total: i * 10, note: `n${i}` })))
  // what the steals took came from 'fill', the oldest data
  expect(fill.length).toBe(61)
})
