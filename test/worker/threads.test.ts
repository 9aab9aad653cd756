// Real worker_threads on one log: producers in several threads append to one partitioned topic,
// readers in other threads check every record exactly once, per-producer order and checksums.
// This is the conformance suite of the two transports: it runs with records crossing threads
// through shared memory, and again with them copied over each worker's port.
import { Worker } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nextMessage } from '../threads.js'
import { createBus, errors, type Bus, type SharedHandle } from '../../src/index.js'
import { PART_LOCK, PART_SIZE } from '../../src/core/abi.js'
import { checksum, record, shaped } from './fixtures/common.mjs'

const fixture = (name: string) => new URL(`./fixtures/${name}.mjs`, import.meta.url)
const workers: Worker[] = []
const buses: Bus[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

type Transport = 'shared' | 'copy'
let transport: Transport = 'shared'

function start(name: string, bus: Bus, data: Record<string, unknown>): Worker {
  const handle = bus.handle({ transport })
  const worker = new Worker(fixture(name), { workerData: { ...data, handle }, transferList: handle.transfer as never[] })
  workers.push(worker)
  return worker
}

const next = nextMessage

/** Waits for something another thread brings about (a port 'close', a wake-up), up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !condition();) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Runs `fn` again after a pause while it throws a retriable error, as an application would. */
async function retrying<R>(fn: () => R): Promise<R> {
  for (;;) {
    try {
      return fn()
    } catch (error) {
      if (!(error instanceof errors.BusError) || !error.retriable) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

async function sharedBus(): Promise<Bus> {
  const bus = await createBus({ shared: true, maxBytes: 32 * 1024 * 1024 })
  buses.push(bus)
  return bus
}

describe.each(['shared', 'copy'] as const)('one log across worker threads (%s)', (mode) => {
  beforeEach(() => { transport = mode })

  it('N producers in N threads, readers in other threads: every record exactly once, in order, intact', async () => {
    const bus = await sharedBus()
    bus.topic('events', { partitions: 4 })
    const producers = 3
    const count = 3000
    const expected = producers * count
    // readers first: they must be woken by records other threads commit
    const readers = [start('reader', bus, { topic: 'events', expected }), start('reader', bus, { topic: 'events', expected })]
    await Promise.all(readers.map((w) => next(w, 'ready')))
    const results = readers.map((w) => next(w, 'result'))
    const mine = new Map<string, number>()
    bus.subscribe('events', (msg) => {
      const v = msg.value as ReturnType<typeof record>
      mine.set(`${v.producer}:${v.seq}`, (mine.get(`${v.producer}:${v.seq}`) ?? 0) + 1)
      expect(checksum(v.payload)).toBe(v.sum)
    }, { from: 'earliest' })
    const done = Array.from({ length: producers }, (_, producer) => next(start('producer', bus, { topic: 'events', producer, count }), 'done'))
    await Promise.all(done)
    for (const result of await Promise.all(results)) {
      expect(result.problems).toEqual([])
      expect(result.count).toBe(expected)
      expect(result.distinct).toBe(expected)
    }
    await bus.idle()
    expect(mine.size).toBe(expected)
    expect([...mine.values()].every((n) => n === 1)).toBe(true)
    const stats = bus.stats().events
    expect(stats.partitions.reduce((n, p) => n + p.endOffset, 0)).toBe(expected)
    // a late reader in yet another thread replays all of it
    const late = start('reader', bus, { topic: 'events', expected })
    const replay = await next(late, 'result')
    expect(replay.problems).toEqual([])
    expect(replay.distinct).toBe(expected)
  })

  it('msgpack record structures learned in different threads at once are readable everywhere', async () => {
    const bus = await sharedBus()
    bus.topic('shapes', { partitions: 2 })
    const producers = 4
    const count = 300
    await Promise.all(Array.from({ length: producers }, (_, producer) => next(start('shapes', bus, { topic: 'shapes', producer, count }), 'done')))
    const got = new Map<string, unknown>()
    bus.subscribe('shapes', (msg) => {
      const v = msg.value as { producer: number; seq: number }
      got.set(`${v.producer}:${v.seq}`, v)
    }, { from: 'earliest' })
    await bus.idle()
    expect(got.size).toBe(producers * count)
    for (let producer = 0; producer < producers; producer++) {
      for (let seq = 0; seq < count; seq++) expect(got.get(`${producer}:${seq}`)).toEqual(shaped(producer, seq))
    }
    // the table of shapes is bookkeeping: it is not a user topic
    expect(Object.keys(bus.stats())).toEqual(['shapes'])
  })

  it('partitions a worker adds are picked up by readers in the main thread', async () => {
    const bus = await sharedBus()
    bus.topic('grow', { partitions: 1 })
    const got = new Map<number, number>()
    bus.subscribe('grow', (msg) => { got.set(msg.partition, (got.get(msg.partition) ?? 0) + 1) })
    await next(start('producer', bus, { topic: 'grow', producer: 1, count: 300, declare: { partitions: 3 } }), 'done')
    await bus.idle()
    expect(bus.stats().grow.partitions).toHaveLength(3)
    expect([...got.keys()].sort()).toEqual([0, 1, 2])
    expect([...got.values()].reduce((a, b) => a + b, 0)).toBe(300)
  })

  it('a topic a worker creates is the same topic in the main thread', async () => {
    const bus = await sharedBus()
    const got: number[] = []
    bus.subscribe('made.*', (msg) => { got.push((msg.value as { seq: number }).seq) })
    await next(start('producer', bus, { topic: 'made.in-worker', producer: 7, count: 100 }), 'done')
    await until(() => got.length >= 100)
    await bus.idle()
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(bus.stats()['made.in-worker'].partitions[0].endOffset).toBe(100)
  })

  it('a worker that closes its bus, or dies, is reported and gives its lane back; the log stays readable', async () => {
    const bus = await createBus({ shared: true, maxBytes: 8 * 1024 * 1024, lanes: 2 })
    buses.push(bus)
    const exits: Array<{ lane: number; clean: boolean; recovered: number }> = []
    bus.events.on('worker.exit', (e) => exits.push(e))
    await next(start('producer', bus, { topic: 't', producer: 1, count: 50 }), 'done')
    // this one throws after publishing: the thread dies without closing its bus
    const crashing = start('producer', bus, { topic: 't', producer: 2, count: 50, fail: true })
    const crash = new Promise((resolve) => crashing.once('error', resolve))
    await new Promise((resolve) => crashing.once('exit', resolve))
    expect(String(await crash)).toContain('crashed on purpose')
    await until(() => exits.length === 2)
    const lane = mode === 'shared' ? 1 : -1 // a copying worker takes no lane
    expect(exits).toEqual([{ lane, clean: true, recovered: 0 }, { lane, clean: false, recovered: 0 }])
    // both lanes free again: another worker can attach and publish
    await next(start('producer', bus, { topic: 't', producer: 3, count: 50 }), 'done')
    const values: Array<{ producer: number; seq: number }> = []
    bus.subscribe('t', (msg) => { values.push(msg.value as never) }, { from: 'earliest' })
    await bus.idle()
    expect(values).toHaveLength(150)
    for (const p of [1, 2, 3]) expect(values.filter((v) => v.producer === p).map((v) => v.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('workers terminated mid-stream leave the log readable and other threads unaffected', async () => {
    const bus = await createBus({ shared: true, maxBytes: 16 * 1024 * 1024, lanes: 4 })
    buses.push(bus)
    bus.topic('flood', { partitions: 3, retention: { maxBytes: 512 * 1024 } })
    const exits: Array<{ clean: boolean; recovered: number }> = []
    bus.events.on('worker.exit', (e) => exits.push(e))
    for (let round = 0; round < 6; round++) {
      const workers = [0, 1].map((i) => start('flood', bus, { topic: 'flood', producer: round * 2 + i }))
      await Promise.all(workers.map((w) => next(w, 'started')))
      await new Promise((resolve) => setTimeout(resolve, 20 + round * 7))
      await Promise.all(workers.map((w) => w.terminate()))
      // the main thread keeps publishing to the same partitions. A worker killed inside the core
      // holds its partition until its exit is noticed (by this thread's event loop): meanwhile a
      // publish gets a retriable BackPressureError, never a hang
      for (let seq = 0; seq < 50; seq++) await retrying(() => bus.publish('flood', record(1000 + round, seq), { key: `k${seq % 5}` }))
    }
    await until(() => exits.length === 12)
    expect(exits.every((e) => !e.clean)).toBe(true)
    // everything still in the log decodes, checks out, and each producer's records are in order
    const seen = new Map<number, number[]>()
    const problems: string[] = []
    bus.subscribe('flood', (msg) => {
      const v = msg.value as ReturnType<typeof record>
      if (checksum(v.payload) !== v.sum) problems.push(`checksum ${v.producer}:${v.seq}`)
      const list = seen.get(v.producer * 16 + msg.partition) ?? []
      if (list.length > 0 && list[list.length - 1] >= v.seq) problems.push(`order ${v.producer}`)
      list.push(v.seq)
      seen.set(v.producer * 16 + msg.partition, list)
    }, { from: 'earliest' })
    bus.events.on('error', (e) => problems.push(String(e.error)))
    await bus.idle()
    expect(problems).toEqual([])
    // the last records published (by the main thread, after the last kill) are all there
    const last = [...seen.entries()].filter(([k]) => Math.floor(k / 16) === 1005).flatMap(([, l]) => l)
    expect(last.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    const stats = bus.stats().flood
    for (const p of stats.partitions) expect(p.bytes).toBeLessThanOrEqual(512 * 1024)
  })

  it('a reader racing writers that evict under it gets intact records or a skipped report, never garbage', async () => {
    const bus = await createBus({ shared: true, maxBytes: 4 * 1024 * 1024, segmentBytes: 16 * 1024, lanes: 4 })
    buses.push(bus)
    bus.topic('race', { partitions: 1, retention: { maxBytes: 64 * 1024 } })
    const problems: string[] = []
    let delivered = 0
    let skipped = 0
    const last = new Map<number, number>()
    bus.events.on('skipped', (e) => { skipped += e.count })
    bus.events.on('error', (e) => problems.push(String(e.error)))
    // a slow reader: it yields between records, so the writers overtake it again and again
    bus.subscribe('race', async (msg) => {
      const v = msg.value as ReturnType<typeof record>
      if (checksum(v.payload) !== v.sum) problems.push(`checksum ${v.producer}:${v.seq}`)
      if ((last.get(v.producer) ?? -1) >= v.seq) problems.push(`order ${v.producer}: ${v.seq} after ${last.get(v.producer)}`)
      last.set(v.producer, v.seq)
      delivered++
      if (delivered % 64 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }, { from: 'earliest' })
    const writers = [0, 1].map((producer) => start('flood', bus, { topic: 'race', producer }))
    await Promise.all(writers.map((w) => next(w, 'started')))
    await new Promise((resolve) => setTimeout(resolve, 400))
    await Promise.all(writers.map((w) => w.terminate()))
    await bus.idle()
    expect(problems).toEqual([])
    expect(delivered).toBeGreaterThan(0)
    // on shared memory the writers run beside the reader and overtake it; copied records are
    // appended by this thread between the reader's batches, and may never get that far ahead
    if (mode === 'shared') expect(skipped).toBeGreaterThan(0) // it was overtaken, and was told so
  })
})

describe('a thread that died holding a lock', () => {
  it('makes others get a retriable BackPressureError (never hang) until its exit is noticed and its lock recovered', async () => {
    const bus = await sharedBus()
    bus.topic('held', { partitions: 1 })
    for (let seq = 0; seq < 5; seq++) bus.publish('held', record(0, seq))
    const handle = bus.handle()
    const worker = new Worker(fixture('reader'), { workerData: { topic: 'held', expected: 1e9, handle }, transferList: handle.transfer as never[] })
    workers.push(worker)
    await next(worker, 'ready')
    const exits: Array<{ clean: boolean; recovered: number }> = []
    bus.events.on('worker.exit', (e) => exits.push(e))
    // the worker "dies inside the core": its lane token is left in the partition's lock word
    const id = (bus as unknown as { topics: Map<string, { ids: number[] }> }).topics.get('held')!.ids[0]
    const i32 = new Int32Array(bus.core.memory.buffer)
    Atomics.store(i32, (bus.core.layout.partitions + id * PART_SIZE + PART_LOCK) >> 2, (handle as SharedHandle).laneToken)
    let error: unknown
    try {
      bus.publish('held', record(0, 5))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect(error).toMatchObject({ retriable: true, reason: 'busy', topic: 'held', partition: 0 })
    // a reader of the partition waits instead of failing
    const seqs: number[] = []
    bus.subscribe('held', (msg) => { seqs.push((msg.value as { seq: number }).seq) }, { from: 'earliest' })
    await worker.terminate()
    await until(() => exits.length === 1)
    expect(exits[0]).toMatchObject({ clean: false, recovered: 1 })
    // recovered: nothing accepted was lost, and the log goes on
    bus.publish('held', record(0, 5))
    await bus.idle()
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5])
  })
})

describe('handles', () => {
  it("a plain bus hands out copying handles; 'shared' needs shared memory; attachBus rejects what is not a handle", async () => {
    const plain = await createBus()
    buses.push(plain)
    const handle = plain.handle()
    expect(handle.kind).toBe('ringbus/copy')
    handle.port.close()
    expect(() => plain.handle({ transport: 'shared' })).toThrow(errors.InvalidArgumentError)
    expect(() => plain.handle({ transport: 'pigeon' as never })).toThrow(errors.InvalidArgumentError)
    const { attachBus } = await import('../../src/index.js')
    await expect(attachBus({} as never)).rejects.toThrow(errors.InvalidArgumentError)
    await expect(attachBus({ kind: 'ringbus/copy' } as never)).rejects.toThrow(errors.InvalidArgumentError)
  })
})
