// Exchanges and queues across real worker threads on shared memory: consumers in several threads
// claim messages from the one queue core, a thread that dies gives back what it held, a worker
// dead-letters through the queue's dead-letter exchange declared elsewhere, and a sender wakes a
// waiting consumer for every message, not only the first of its turn. (Queue behaviour itself:
// test/bus/broker.test.ts; the copying transport: copy-queues.test.ts.)
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { createBus, type Bus, type QueueDelivery } from '../../src/index.js'
import { nextMessage, until } from '../threads.js'

const fixture = new URL('./fixtures/queue-worker.mjs', import.meta.url)
const workers: Worker[] = []
const buses: Bus[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

async function shared(): Promise<Bus> {
  const bus = await createBus({ shared: true, maxBytes: 4 * 1024 * 1024, segmentBytes: 4096 })
  buses.push(bus)
  return bus
}

async function start(bus: Bus, role: string, data: Record<string, unknown> = {}): Promise<Worker> {
  const handle = bus.handle()
  const worker = new Worker(fixture, { workerData: { handle, role, ...data }, transferList: handle.transfer as never[] })
  workers.push(worker)
  await nextMessage(worker, 'ready')
  return worker
}


describe('queue consumers in worker threads on shared memory', () => {
  it('competing consumers in two threads: every message acked once, none left', async () => {
    const bus = await shared()
    bus.queue('jobs')
    const counter = new Int32Array(new SharedArrayBuffer(4))
    await start(bus, 'counter', { counter: counter.buffer })
    await start(bus, 'counter', { counter: counter.buffer })
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) bus.send('', 'jobs', round * 500 + i)
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    await until(() => Atomics.load(counter, 0) >= 10_000, 'every message acked')
    expect(Atomics.load(counter, 0)).toBe(10_000)
    await until(() => bus.queueStats().jobs.messages === 0, 'an empty queue')
  })

  it('objects of many shapes reach a fresh worker in one batch (it loads record structures while it decodes)', async () => {
    const bus = await shared()
    bus.queue('jobs')
    const counter = new Int32Array(new SharedArrayBuffer(4))
    const worker = await start(bus, 'counter', { counter: counter.buffer })
    const failed = new Promise((resolve) => worker.once('error', resolve))
    for (let i = 0; i < 600; i++) bus.send('', 'jobs', { [`field${i % 60}`]: i, nested: { at: i, [`k${i % 7}`]: 'v' } })
    await Promise.race([until(() => Atomics.load(counter, 0) === 600, 'every object counted'), failed.then((error) => { throw error })])
  })

  it('a sender wakes the consumer for each message, also after the first of its turn', async () => {
    const bus = await shared()
    bus.queue('jobs')
    const counter = new Int32Array(new SharedArrayBuffer(4))
    await start(bus, 'counter', { counter: counter.buffer })
    bus.send('', 'jobs', 1)
    // in the same turn: wait until the worker took the first, then send the second
    expect(Atomics.wait(counter, 0, 0, 5000)).not.toBe('timed-out')
    bus.send('', 'jobs', 2)
    await until(() => Atomics.load(counter, 0) === 2, 'the second message')
  })

  // a consumer of the creating thread's that was waiting already is woken by the worker's exit
  it.each(['after', 'before'])('a worker terminated while holding deliveries gives them back, redelivered (to a consumer made %s)', async (when) => {
    const bus = await shared()
    bus.queue('jobs')
    const worker = await start(bus, 'consumer')
    const got: unknown[] = []
    worker.on('message', (m) => { if (m.type === 'got') got.push(m.value) })
    for (let i = 0; i < 6; i++) bus.send('', 'jobs', i)
    await until(() => got.length === 6, 'six deliveries in the worker')
    expect(bus.queueStats().jobs).toMatchObject({ unacked: 3 }) // it acks the even ones
    const back: QueueDelivery[] = []
    const consume = (): unknown => bus.consumeQueue('jobs', (d) => { back.push(d); d.ack() })
    if (when === 'before') consume()
    const exited = new Promise((resolve) => bus.events.once('worker.exit', resolve))
    await worker.terminate()
    await exited
    if (when === 'after') consume()
    await until(() => back.length === 3, 'the held messages back')
    expect(back.map((d) => [d.value, d.redelivered])).toEqual([[1, true], [3, true], [5, true]])
  })

  it('a worker rejects into the dead-letter exchange the creating thread declared', async () => {
    const bus = await shared()
    bus.exchange('dlx', { type: 'fanout' })
    bus.queue('dead')
    bus.bind({ exchange: 'dlx', queue: 'dead' })
    bus.queue('jobs', { deadLetterExchange: 'dlx', deadLetterRoutingKey: 'failed' })
    await start(bus, 'rejecter')
    bus.send('', 'jobs', 'x', { headers: { trace: 't' } })
    await until(() => bus.queueStats().dead.ready === 1, 'the dead letter')
    const d = bus.get('dead')!
    expect([d.value, d.routingKey, d.headers.trace, d.headers['x-first-death-reason']]).toEqual(['x', 'failed', 't', 'rejected'])
  })
})
