// The copying transport under pressure, found by the soak: the creating thread's reader for a
// busy worker, overtaken by retention again and again, must not post reports past its credit;
// and a worker's records the log refuses as busy (a lock a killed thread holds) must wait for the
// lock's recovery instead of being refused one by one, each after a long spin that keeps the
// creating thread from noticing the death.
import { afterEach, expect, it } from 'vitest'
import { attachBus, createBus, type Bus, type CopyHandle, type SkippedEvent, type WorkerBus } from '../../src/index.js'
import { PART_LOCK, PART_SIZE } from '../../src/core/abi.js'
import { CREDIT } from '../../src/worker/copy-wire.js'

const opened: Array<Bus | WorkerBus> = []
afterEach(async () => {
  for (const bus of opened.splice(0).reverse()) await bus.close()
})

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 1))

it('a busy worker gets at most CREDIT batches, however often retention overtakes its reader; the reports add up', async () => {
  const owner = await createBus({ maxBytes: 256 * 1024, segmentBytes: 4096 })
  opened.push(owner)
  owner.topic('t', { codec: 'raw', retention: { maxBytes: 4096 } })
  const handle = owner.handle({ transport: 'copy' }) as CopyHandle
  const worker = await attachBus(handle)
  opened.unshift(worker)
  // count what reaches the worker's side of the port
  let batches = 0
  const port = handle.port
  const deliver = port.onmessage!
  port.onmessage = (event: MessageEvent) => {
    if ((event.data as { op?: string }).op === 'batch') batches++
    deliver.call(port, event)
  }
  const skipped: SkippedEvent[] = []
  worker.events.on('skipped', (e) => skipped.push(e))
  // the first record's handler does not settle until the end: the worker acknowledges nothing
  let stuck = 0
  let release!: () => void
  const delivered: number[] = []
  worker.subscribe('t', (m) => {
    delivered.push(m.offset)
    if (stuck++ === 0) return new Promise<void>((resolve) => { release = resolve })
    return undefined
  }, { from: 'earliest' })
  owner.publish('t', new Uint8Array(100))
  for (let i = 0; stuck === 0 && i < 1000; i++) await turn()
  expect(stuck).toBe(1)
  // from now on every poll of the creating thread's reader is overtaken before it can read
  const core = owner.core
  const poll = core.poll.bind(core)
  const id = core.topic(core.findTopic('t')).ids[0]
  core.poll = (slot, max, maxBytes) => {
    for (let i = 0; i < 40; i++) {
      core.stage(id, 0, 0, 0, undefined, undefined, new Uint8Array(100))
      core.commit(0)
    }
    return poll(slot, max, maxBytes)
  }
  for (let round = 0; round < 100; round++) {
    owner.publish('t', new Uint8Array(100))
    await turn()
  }
  expect(batches).toBeLessThanOrEqual(CREDIT)
  // the worker catches up: every offset was delivered or reported skipped, exactly once
  core.poll = poll
  release()
  await worker.idle()
  const end = owner.stats().t.partitions[0].endOffset
  const marks = new Array<number>(end).fill(0)
  for (const offset of delivered) marks[offset]++
  for (const e of skipped) {
    expect(e.count).toBe(e.to - e.from)
    for (let o = e.from; o < e.to; o++) marks[o]++
  }
  expect(marks.findIndex((n) => n !== 1)).toBe(-1)
  expect(skipped.length).toBeGreaterThan(0)
})

it("a worker's records the log refuses as busy (a lock a dead thread holds) wait and go in once it is recovered, in order", async () => {
  const owner = await createBus()
  opened.push(owner)
  owner.topic('t')
  const worker = await attachBus(owner.handle({ transport: 'copy' }))
  opened.unshift(worker)
  const errors: unknown[] = []
  worker.events.on('error', (e) => errors.push(e.error))
  // the partition's lock is held by a thread that died (its token is not this thread's)
  const core = owner.core
  const id = core.topic(core.findTopic('t')).ids[0]
  const lock = new Int32Array(core.memory.buffer)
  const word = (core.layout.partitions + id * PART_SIZE + PART_LOCK) >> 2
  Atomics.store(lock, word, 99)
  for (let n = 0; n < 20; n++) worker.publish('t', n)
  await new Promise((resolve) => setTimeout(resolve, 300))
  Atomics.store(lock, word, 0) // what recovery does once the death is noticed
  await worker.flush()
  expect(errors).toEqual([])
  const got: unknown[] = []
  owner.subscribe('t', (m) => { got.push(m.value) }, { from: 'earliest' })
  await owner.idle()
  expect(got).toEqual(Array.from({ length: 20 }, (_, n) => n))
})
