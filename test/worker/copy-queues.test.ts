// Exchanges and queues across real worker threads on the copying transport: a worker's queue
// consumer lives in the creating thread, so a worker terminated while it holds unacked
// deliveries gives them back to the queue, redelivered; request/reply works both ways, each
// side's reply queue in the creating thread. (The queue behaviour itself is
// test/bus/broker.test.ts, which runs on this transport too, its worker side in the test's thread.)
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { createBus, errors, type Bus, type QueueDelivery } from '../../src/index.js'
import { nextMessage, until } from '../threads.js'

const fixture = new URL('./fixtures/queue-worker.mjs', import.meta.url)
const workers: Worker[] = []
const buses: Bus[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

async function start(bus: Bus, role: string): Promise<Worker> {
  const handle = bus.handle({ transport: 'copy' })
  const worker = new Worker(fixture, { workerData: { handle, role }, transferList: handle.transfer as never[] })
  workers.push(worker)
  await nextMessage(worker, 'ready')
  return worker
}


describe("a copying worker's queue consumer", () => {
  it('holds what it has not acked; terminated, it gives that back to the queue, redelivered to a consumer of the creating thread', async () => {
    const bus = await createBus({ maxBytes: 4 * 1024 * 1024 })
    buses.push(bus)
    bus.queue('jobs')
    const exits: unknown[] = []
    bus.events.on('worker.exit', (e) => exits.push(e))
    const worker = await start(bus, 'consumer')
    expect(bus.queueStats().jobs).toMatchObject({ consumers: 1 })
    const got: Array<{ value: number; redelivered: boolean }> = []
    worker.on('message', (m) => { if (m.type === 'got') got.push(m) })
    for (let i = 0; i < 30; i++) bus.send('', 'jobs', i)
    // prefetch 10: it acks the even values and holds the odd ones, so it stops with ten held
    await until(() => bus.queueStats().jobs.unacked === 10 && got.length === 20, 'the worker to hold ten')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(got.map((m) => m.value)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(got.every((m) => !m.redelivered)).toBe(true)
    expect(bus.queueStats().jobs).toMatchObject({ ready: 10, unacked: 10, consumers: 1 })

    await worker.terminate()
    await until(() => exits.length === 1, 'the creating thread to notice the exit')
    expect(exits).toEqual([expect.objectContaining({ clean: false })])
    expect(bus.queueStats().jobs).toMatchObject({ ready: 20, unacked: 0, consumers: 0 })

    const local: QueueDelivery[] = []
    bus.consumeQueue('jobs', (d) => { local.push(d); d.ack() })
    await bus.idle()
    const odd = Array.from({ length: 10 }, (_, i) => 2 * i + 1)
    // what it held comes back at its old place, redelivered; what it never got, not
    expect(local.map((d) => [d.value, d.redelivered])).toEqual([...odd.map((v) => [v, true]), ...Array.from({ length: 10 }, (_, i) => [20 + i, false])])
    expect(local.filter((d) => d.redelivered).every((d) => d.deliveryCount === 2)).toBe(true)
    expect(bus.queueStats().jobs).toMatchObject({ messages: 0, unacked: 0 })
  })

  it('a worker that closes its bus gives back what it held, too', async () => {
    const bus = await createBus({ maxBytes: 4 * 1024 * 1024 })
    buses.push(bus)
    bus.queue('jobs')
    const worker = await start(bus, 'consumer')
    for (let i = 0; i < 4; i++) bus.send('', 'jobs', i)
    await until(() => bus.queueStats().jobs.unacked === 2 && bus.queueStats().jobs.ready === 0, 'the worker to hold two')
    worker.postMessage({ type: 'close' })
    await nextMessage(worker, 'closed')
    expect(bus.queueStats().jobs).toMatchObject({ ready: 2, unacked: 0, consumers: 0 })
    const local: QueueDelivery[] = []
    bus.consumeQueue('jobs', (d) => { local.push(d); d.ack() })
    await bus.idle()
    expect(local.map((d) => [d.value, d.redelivered])).toEqual([[1, true], [3, true]])
  })
})

describe('request/reply across the copying transport', () => {
  it('the creating thread asks a worker, the worker asks the creating thread; refusals and timeouts reach the worker', async () => {
    const bus = await createBus({ maxBytes: 4 * 1024 * 1024 })
    buses.push(bus)
    bus.reply('triple', (n: number) => n * 3)
    bus.queue('silent')
    const worker = await start(bus, 'rpc')

    // the worker replies
    await expect(bus.request('double', 21, { timeoutMs: 5000 })).resolves.toBe(42)
    await expect(Promise.all([1, 2, 3].map((n) => bus.request('double', n, { timeoutMs: 5000 })))).resolves.toEqual([2, 4, 6])

    // the worker asks
    let id = 0
    const ask = async (queue: string, value: unknown, timeoutMs = 5000) => {
      const mine = ++id
      const answer = new Promise<any>((resolve) => {
        const on = (m: { type: string; id: number }) => { if (m.type === 'answer' && m.id === mine) { worker.off('message', on); resolve(m) } }
        worker.on('message', on)
      })
      worker.postMessage({ type: 'request', id: mine, queue, value, timeoutMs })
      return answer
    }
    expect(await ask('triple', 5)).toMatchObject({ result: 15 })
    expect(await ask('nobody', 1)).toMatchObject({ error: 'UnroutableError' })
    const started = Date.now()
    expect(await ask('silent', 1, 100)).toMatchObject({ error: 'RequestTimeoutError' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    expect(bus.queueStats().silent).toMatchObject({ ready: 1 })

    // the worker's reply queue lives in the creating thread, for as long as the worker
    const replyQueues = () => Object.keys(bus.queueStats()).filter((name) => name.startsWith('ringbus.reply.'))
    expect(replyQueues()).toHaveLength(2) // the creating thread's and the worker's
    const exited = new Promise((resolve) => bus.events.once('worker.exit', resolve))
    await worker.terminate()
    await exited
    expect(replyQueues()).toHaveLength(1)
    expect(bus.queueStats().double).toMatchObject({ consumers: 0 })
    await expect(bus.request('double', 1, { timeoutMs: 50 })).rejects.toBeInstanceOf(errors.RequestTimeoutError)
  })
})
