// Found by the torture test: on the copying transport, seeking one partition moves the reader's
// other partitions back to what the worker handled; when retention had removed those offsets the
// move landed on the log start, and the records between were lost without a skipped report. The
// same steps on a shared-memory reader are the control.
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { createBus, type Bus } from '../../src/index.js'

const workers: Worker[] = []
const buses: Bus[] = []
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

function next(worker: Worker, type: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => { if (m.type === type) { worker.off('message', onMessage); resolve(m) } }
    worker.on('message', onMessage)
    worker.once('error', reject)
  })
}

describe.each(['shared', 'copy'] as const)('a seek on one partition while another was overtaken by retention (%s)', (transport) => {
  it('leaves the other partition delivered or reported skipped, offset by offset', async () => {
    const bus = await createBus({ shared: true, maxBytes: 1024 * 1024, segmentBytes: 4096 })
    buses.push(bus)
    bus.topic('t', { partitions: 2, retention: { maxBytes: 4096 }, codec: 'raw' })
    const value = new Uint8Array(200)
    for (let i = 0; i < 10; i++) bus.publish('t', value, { partition: 1 })
    const handle = bus.handle({ transport })
    const worker = new Worker(new URL('./fixtures/seek-lag.mjs', import.meta.url), { workerData: { handle }, transferList: handle.transfer as never[] })
    workers.push(worker)
    const holding = next(worker, 'holding')
    await next(worker, 'ready')
    await holding // the worker is in its handler for offset 0 of partition 1
    for (let i = 0; i < 100; i++) bus.publish('t', value, { partition: 1 }) // retention overtakes it
    const end = bus.stats().t.partitions[1].endOffset
    expect(bus.stats().t.partitions[1].startOffset).toBeGreaterThan(10)
    worker.postMessage({ type: 'seek' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    worker.postMessage({ type: 'report' })
    const { delivered, skipped } = await next(worker, 'report') as { delivered: number[]; skipped: Array<[number, number]> }
    const covered: number[] = [...delivered]
    for (const [from, to] of skipped) for (let o = from; o < to; o++) covered.push(o)
    covered.sort((a, b) => a - b)
    expect(covered).toEqual(Array.from({ length: end }, (_, i) => i))
  })
})
