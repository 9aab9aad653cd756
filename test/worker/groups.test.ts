// Consumer-group members in real worker threads, on a shared bus and on a copying handle: they
// share the partitions with members of the creating thread; a worker that is terminated
// mid-batch leaves its group, its partitions move, and only what it had not committed is
// delivered again.
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { createBus, type Bus, type RebalanceEvent } from '../../src/index.js'
import { until as within } from '../threads.js'

/** Members in other threads take their time to rebalance on a loaded machine: 20 s. */
const until = (condition: () => boolean, what: string): Promise<void> => within(condition, what, 20_000)

const fixture = new URL('./fixtures/group-member.mjs', import.meta.url)
const workers: Worker[] = []
const buses: Bus[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

interface Handled { name: string; partition: number; offset: number; value: number }

function member(bus: Bus, name: string, handled: Handled[], delayMs: number, transport?: 'shared' | 'copy'): Promise<Worker> {
  const handle = bus.handle({ transport })
  const worker = new Worker(fixture, { workerData: { handle, topic: 'jobs', group: 'g', name, delayMs }, transferList: handle.transfer as never[] })
  workers.push(worker)
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.type === 'handled') handled.push(m)
      if (m.type === 'ready') resolve(worker)
    })
    worker.once('error', reject)
  })
}


/**
 * How many records were handled twice; each must have been handled first by the terminated
 * member (it had not committed them when it died).
 */
function handledAgain(handled: Handled[]): number {
  const first = new Map<number, string>()
  let again = 0
  for (const h of handled) {
    if (!first.has(h.value)) first.set(h.value, h.name)
    else {
      again++
      expect(first.get(h.value)).toBe('doomed')
    }
  }
  return again
}

describe('group members in worker threads', () => {
  it('share the partitions with the creating thread; a terminated member loses only what it had not committed', async () => {
    const bus = await createBus({ shared: true, maxBytes: 8 * 1024 * 1024 })
    buses.push(bus)
    bus.topic('jobs', { partitions: 6 })
    const handled: Handled[] = []
    const rebalances: RebalanceEvent[] = []
    bus.events.on('group.rebalance', (e) => rebalances.push(e))
    bus.subscribe('jobs', (msg) => { handled.push({ name: 'main', partition: msg.partition, offset: msg.offset, value: msg.value as number }) }, { group: 'g', from: 'earliest' })
    const doomed = await member(bus, 'doomed', handled, 2)
    await member(bus, 'steady', handled, 0)
    const total = 1200
    for (let i = 0; i < total; i++) bus.publish('jobs', i)
    // three owners, two partitions each
    await until(() => rebalances.length > 0 && Object.values(rebalances.at(-1)!.assignments).every((owned) => owned.length === 2), 'the three members to share the partitions')
    await until(() => handled.some((h) => h.name === 'doomed'), 'the doomed member to handle something')
    const byDoomedBefore = handled.filter((h) => h.name === 'doomed').length
    await doomed.terminate()
    await until(() => new Set(handled.map((h) => h.value)).size === total, 'every record to be handled')
    await bus.idle()

    // nothing lost: every record handled; in order per partition and owner
    const values = new Set(handled.map((h) => h.value))
    expect(values.size).toBe(total)
    // at most one record in flight per partition it owned
    expect(handledAgain(handled)).toBeLessThanOrEqual(2)
    expect(byDoomedBefore).toBeGreaterThan(0)
    // its partitions moved to the survivors, and the committed offsets stand at the end
    const last = rebalances.at(-1)!
    expect(Object.values(last.assignments).flat()).toHaveLength(6)
    expect(Object.keys(last.assignments)).toHaveLength(2)
    expect(bus.lag('g')).toEqual({ jobs: { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 } })
  })

  for (const transport of ['shared', 'copy'] as const) {
    it(`on a ${transport} handle: a worker that closes its subscription and bus leaves cleanly, nothing handled twice`, async () => {
      const bus = await createBus({ shared: transport === 'shared', maxBytes: 8 * 1024 * 1024 })
      buses.push(bus)
      bus.topic('jobs', { partitions: 4 })
      const handled: Handled[] = []
      bus.subscribe('jobs', (msg) => { handled.push({ name: 'main', partition: msg.partition, offset: msg.offset, value: msg.value as number }) }, { group: 'g', from: 'earliest' })
      const leaving = await member(bus, 'leaving', handled, 1, transport)
      const total = 400
      for (let i = 0; i < total; i++) bus.publish('jobs', i)
      await until(() => handled.some((h) => h.name === 'leaving'), 'the worker to handle something')
      const closed = new Promise((resolve) => leaving.on('message', (m) => { if (m.type === 'closed') resolve(undefined) }))
      leaving.postMessage({ type: 'close' })
      await closed
      await until(() => new Set(handled.map((h) => h.value)).size === total, 'every record to be handled')
      await bus.idle()
      expect(handled).toHaveLength(total)
    })
  }

  it('on a copying handle: a terminated member loses nothing, and only the record it was handling is delivered again', async () => {
    const bus = await createBus({ maxBytes: 8 * 1024 * 1024 })
    buses.push(bus)
    bus.topic('jobs', { partitions: 4 })
    const handled: Handled[] = []
    const rebalances: RebalanceEvent[] = []
    bus.events.on('group.rebalance', (e) => rebalances.push(e))
    const exits: unknown[] = []
    bus.events.on('worker.exit', (e) => exits.push(e))
    bus.subscribe('jobs', (msg) => { handled.push({ name: 'main', partition: msg.partition, offset: msg.offset, value: msg.value as number }) }, { group: 'g', from: 'earliest' })
    const doomed = await member(bus, 'doomed', handled, 2, 'copy')
    const total = 800
    for (let i = 0; i < total; i++) bus.publish('jobs', i)
    await until(() => rebalances.length > 0 && Object.values(rebalances.at(-1)!.assignments).every((owned) => owned.length === 2), 'the two members to share the partitions')
    await until(() => handled.filter((h) => h.name === 'doomed').length >= 5, 'the doomed member to handle a few')
    await doomed.terminate()
    await until(() => new Set(handled.map((h) => h.value)).size === total, 'every record to be handled')
    await bus.idle()

    expect(new Set(handled.map((h) => h.value)).size).toBe(total)
    // concurrency 1: the worker had at most one record in hand, whatever it owned
    expect(handledAgain(handled)).toBeLessThanOrEqual(1)
    // in order per partition, for each owner
    for (const name of ['main', 'doomed']) {
      for (let p = 0; p < 4; p++) {
        const offsets = handled.filter((h) => h.name === name && h.partition === p).map((h) => h.offset)
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
      }
    }
    const last = rebalances.at(-1)!
    expect(Object.keys(last.assignments)).toHaveLength(1)
    expect(Object.values(last.assignments).flat()).toHaveLength(4)
    expect(exits).toEqual([expect.objectContaining({ clean: false })])
    expect(bus.lag('g')).toEqual({ jobs: { 0: 0, 1: 0, 2: 0, 3: 0 } })
  })

})
