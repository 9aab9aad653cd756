// The copying transport's flow control when retention keeps overtaking a worker's reader: the
// creating thread's reader then has only 'skipped' reports to send, and those must wait for
// credit like records do. Found by the soak: a flood overtaking a reader whose worker was busy
// posted batches of reports without end, and memory grew until the process stalled.
import { afterEach, expect, it } from 'vitest'
import { attachBus, createBus, type Bus, type CopyHandle, type SkippedEvent, type WorkerBus } from '../../src/index.js'
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
