// Real Web Workers in Chromium, attached to a bus in the page: over shared memory in a
// cross-origin-isolated page (project browser-worker-shared), over the copying transport in a
// page without SharedArrayBuffer (browser-worker-copy). A browser's MessagePort has no 'close'
// event: a worker that is terminated is noticed by its liveness (src/worker/liveness.ts), and
// what it held comes back as in Node.
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createBus, type Bus, type BusOptions, type QueueDelivery, type WorkerExit } from '../../src/index.js'
import { heartbeat } from '../../src/worker/liveness.js'
import { turns } from '../bus/helpers.js'
import { until } from '../until.js'
import type { Setup } from './fixtures/worker.js'

const SHARED = inject('transport') === 'worker-shared'

interface Started {
  worker: Worker
  messages: Array<{ type: string; value?: unknown; partition?: number; name?: string; message?: string }>
  /** Resolves with the worker's first message of `type` (one already received included). */
  next(type: string): Promise<Started['messages'][number]>
}

const workers: Worker[] = []
const buses: Bus[] = []
afterEach(async () => {
  for (const worker of workers.splice(0)) worker.terminate()
  for (const bus of buses.splice(0)) await bus.close()
})

async function newBus(options: BusOptions = {}): Promise<Bus> {
  const bus = await createBus({ shared: SHARED, ...options })
  buses.push(bus)
  return bus
}

/** A worker attached with a fresh handle of `bus`, playing `role`. */
function start(bus: Bus, setup: Omit<Setup, 'handle'>): Started {
  const worker = new Worker(new URL('./fixtures/worker.ts', import.meta.url), { type: 'module' })
  workers.push(worker)
  const messages: Started['messages'] = []
  worker.onmessage = (event) => messages.push(event.data)
  const handle = bus.handle()
  worker.postMessage({ ...setup, handle }, handle.transfer)
  const next = async (type: string): Promise<Started['messages'][number]> => {
    // generous: a first worker waits for its modules to be transformed and loaded, on a busy machine
    await until(() => messages.some((m) => m.type === type || m.type === 'failed'), `a '${type}' message from a ${setup.role} worker`, 30_000)
    const found = messages.find((m) => m.type === type || m.type === 'failed')!
    if (found.type === 'failed' && type !== 'failed') throw new Error(`the ${setup.role} worker failed to attach: ${found.name}: ${found.message}`)
    return found
  }
  return { worker, messages, next }
}

const gotValues = (w: Started): unknown[] => w.messages.filter((m) => m.type === 'got').map((m) => m.value)

function exitsOf(bus: Bus): WorkerExit[] {
  const exits: WorkerExit[] = []
  bus.events.on('worker.exit', (e) => { exits.push(e) })
  return exits
}

describe(`Web Workers on ${SHARED ? 'shared memory (isolated page)' : 'the copying transport (page without SharedArrayBuffer)'}`, { timeout: 90_000 }, () => {
  it('runs in the page it is meant for', () => {
    expect(crossOriginIsolated).toBe(SHARED)
    expect(typeof SharedArrayBuffer === 'function').toBe(SHARED)
  })

  it("terminated workers are each reported on 'worker.exit', and their lanes come back", async () => {
    const bus = await newBus({ lanes: 4 })
    const exits = exitsOf(bus)
    const first = [0, 1, 2].map(() => start(bus, { role: 'subscriber' }))
    for (const w of first) await w.next('ready')
    if (SHARED) {
      // the page's bus and three workers: every lane is taken
      const fourth = start(bus, { role: 'attached' })
      expect((await fourth.next('failed')).message).toMatch(/lane/)
    }
    for (const w of first) w.worker.terminate()
    await until(() => exits.length === 3, "three 'worker.exit' events")
    expect(exits.every((e) => !e.clean)).toBe(true)
    expect(exits.map((e) => e.lane).sort()).toEqual(SHARED ? [1, 2, 3] : [-1, -1, -1])
    // three more attach where the first three were
    const again = [0, 1, 2].map(() => start(bus, { role: 'subscriber' }))
    for (const w of again) await w.next('ready')
    bus.publish('t', 'hello')
    await until(() => again.every((w) => gotValues(w).length === 1), 'the new workers to read')
  })

  it("a worker that closes its bus is reported clean, and its lane comes back", async () => {
    const bus = await newBus({ lanes: 2 })
    const exits = exitsOf(bus)
    const w = start(bus, { role: 'attached' })
    await w.next('ready')
    w.worker.postMessage({ type: 'close' })
    await w.next('closed')
    await until(() => exits.length === 1, "a 'worker.exit' event")
    expect(exits[0]).toMatchObject({ clean: true, lane: SHARED ? 1 : -1 })
    await start(bus, { role: 'attached' }).next('ready') // the only other lane
  })

  it('a terminated reader holding a batch: bus.idle() resolves once it is noticed', async () => {
    const bus = await newBus()
    const exits = exitsOf(bus)
    const w = start(bus, { role: 'subscriber' })
    await w.next('ready')
    bus.publish('t', 0)
    await w.next('got') // its handler never returns
    // a batch per turn, more than a copying worker may have unacknowledged: the page's reader
    // for it waits for credit
    for (let i = 1; i <= 8; i++) {
      bus.publish('t', i)
      await turns(1)
    }
    let idle = false
    void bus.idle().then(() => { idle = true })
    await turns()
    if (!SHARED) expect(idle).toBe(false)
    w.worker.terminate()
    await until(() => exits.length === 1, "a 'worker.exit' event")
    await until(() => idle, 'bus.idle() to resolve')
  })

  it("a terminated group member's partitions go to the others, and what it was handling is delivered again", async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 4 })
    const exits = exitsOf(bus)
    const w = start(bus, { role: 'member', group: 'g' })
    await w.next('ready')
    const here: number[] = []
    const sub = bus.subscribe('t', (m) => { here.push(m.value as number) }, { group: 'g', from: 'earliest' })
    await until(() => sub.assignments().length === 2, 'the partitions shared between the two members')
    for (let p = 0; p < 4; p++) bus.publish('t', p, { partition: p })
    await until(() => gotValues(w).length > 0 && here.length === 2, 'each member to handle its records')
    const heldThere = gotValues(w) as number[]
    expect(heldThere.every((v) => !here.includes(v))).toBe(true)
    w.worker.terminate()
    await until(() => exits.length === 1, "a 'worker.exit' event")
    await until(() => sub.assignments().length === 4, 'the page member to own every partition')
    await until(() => here.length === 4, 'the records of the terminated member to be delivered here')
    expect([...here].sort()).toEqual([0, 1, 2, 3])
  })

  it(`after the page's bus closed, a worker's bus ${SHARED ? 'runs on over the shared log' : 'learns it without a port \'close\' event: its reading ends, publishing throws'}`, async () => {
    const bus = await createBus({ shared: SHARED })
    bus.publish('t', 1)
    const w = start(bus, { role: 'iterator' })
    await w.next('ready')
    await w.next('got')
    await bus.close()
    if (SHARED) {
      w.worker.postMessage({ type: 'publish', value: 2 })
      await w.next('published')
      await until(() => gotValues(w).length === 2, 'the worker to read what it published after the page\'s bus closed')
      expect(w.messages.some((m) => m.type === 'ended')).toBe(false)
    } else {
      await w.next('ended')
      w.worker.postMessage({ type: 'publish', value: 2 })
      expect(await w.next('publish-failed')).toMatchObject({ name: 'BusClosedError' })
    }
    expect(gotValues(w)).toEqual(SHARED ? [1, 2] : [1])
  })

  it("a terminated queue consumer's unacknowledged deliveries are delivered again", async () => {
    const bus = await newBus()
    bus.queue('jobs')
    const exits = exitsOf(bus)
    const w = start(bus, { role: 'consumer' })
    await w.next('ready')
    for (let i = 0; i < 3; i++) bus.send('', 'jobs', i)
    await until(() => gotValues(w).length === 3, 'the worker to hold three deliveries')
    const here: QueueDelivery[] = []
    bus.consumeQueue('jobs', (d) => { here.push(d); d.ack() })
    await turns()
    expect(here).toEqual([]) // the worker holds them all
    w.worker.terminate()
    await until(() => exits.length === 1, "a 'worker.exit' event")
    await until(() => here.length === 3, 'the deliveries to come back')
    expect(here.map((d) => d.value)).toEqual([0, 1, 2])
    expect(here.every((d) => d.redelivered)).toBe(true)
  })

  it('a worker blocked in a long synchronous handler is not taken for dead (it holds its lock)', async () => {
    const saved = { ...heartbeat }
    heartbeat.deadAfterMs = 200 // were it beating, it would be taken for dead
    try {
      const bus = await newBus()
      const exits = exitsOf(bus)
      const w = start(bus, { role: 'blocker', blockMs: 1500 })
      await w.next('ready')
      bus.publish('t', 1)
      await w.next('unblocked')
      await turns()
      expect(exits).toEqual([])
      w.worker.terminate()
      await until(() => exits.length === 1, "a 'worker.exit' event once it is terminated")
    } finally {
      Object.assign(heartbeat, saved)
    }
  })

  describe('without the Web Locks API (a page that is not a secure context): a heartbeat', () => {
    const saved = { ...heartbeat }
    afterEach(() => {
      Object.assign(heartbeat, saved)
      delete (navigator as { locks?: unknown }).locks // the prototype's again
    })

    it("a terminated worker is noticed once it has been silent for the bound, and what it held comes back", async () => {
      Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true })
      Object.assign(heartbeat, { beatMs: 50, deadAfterMs: 1000 })
      const bus = await newBus({ lanes: 2 })
      bus.queue('jobs')
      const exits = exitsOf(bus)
      const w = start(bus, { role: 'consumer', noLocks: true })
      await w.next('ready')
      bus.send('', 'jobs', 'x')
      await until(() => gotValues(w).length === 1, 'the worker to hold a delivery')
      // beating, it stays alive past the bound
      await new Promise((resolve) => setTimeout(resolve, 2 * heartbeat.deadAfterMs))
      expect(exits).toEqual([])
      w.worker.terminate()
      await until(() => exits.length === 1, "a 'worker.exit' event")
      expect(exits[0]).toMatchObject({ clean: false, lane: SHARED ? 1 : -1 })
      const here: QueueDelivery[] = []
      bus.consumeQueue('jobs', (d) => { here.push(d); d.ack() })
      await until(() => here.length === 1, 'the delivery to come back')
      expect(here[0]).toMatchObject({ value: 'x', redelivered: true })
      await start(bus, { role: 'attached', noLocks: true }).next('ready') // the lane is free again
    })
  })
})
