// attachBus with handles used wrongly: twice, forged, without their port, or served by nobody.
// Each fails with a typed error in bounded time, and a failed attach leaves no lane taken, so
// lanes stay owned by exactly one live bus each.
import { afterEach, describe, expect, it } from 'vitest'
import { attachBus, createBus, errors, type Bus, type SharedHandle, type WorkerBus } from '../../src/index.js'

const opened: Array<Bus | WorkerBus> = []
afterEach(async () => {
  for (const bus of opened.splice(0).reverse()) await bus.close()
})

async function shared(lanes: number): Promise<Bus> {
  const bus = await createBus({ shared: true, maxBytes: 1024 * 1024, lanes })
  opened.push(bus)
  return bus
}

/** Lanes of the bus's core that a thread holds now. */
function lanesTaken(bus: Bus): number {
  const { laneOwners, lanes } = bus.core.layout
  const owners = new Int32Array(bus.core.memory.buffer, laneOwners, lanes)
  return owners.filter((token) => token !== 0).length
}

async function attach(handle: Parameters<typeof attachBus>[0], options?: Parameters<typeof attachBus>[1]): Promise<WorkerBus> {
  const bus = await attachBus(handle, options)
  opened.push(bus)
  return bus
}

describe('a handle', () => {
  it('attaches once: a second attachBus with it throws, and the first keeps its lane', async () => {
    const bus = await shared(3)
    const h = bus.handle()
    const first = await attach(h)
    expect(lanesTaken(bus)).toBe(2)
    await expect(attachBus(h)).rejects.toThrow(errors.BusError)
    await expect(attachBus(h)).rejects.toThrow(/attached already/)
    expect(lanesTaken(bus)).toBe(2)
    // both buses would have shared one staging area: the first still writes alone
    first.publish('t', 'from the first')
    bus.publish('t', 'from the creator')
    const got: string[] = []
    bus.subscribe('t', (m) => { got.push(m.value as string) }, { from: 'earliest' })
    await bus.idle()
    expect(got).toEqual(['from the first', 'from the creator'])
  })

  it('holds one lane per token, also when forged in another thread: the copy fails and takes nothing', async () => {
    const bus = await shared(4)
    const h = bus.handle()
    await attach(h)
    const other = bus.handle() as SharedHandle
    const forged: SharedHandle = { ...other, laneToken: (h as SharedHandle).laneToken }
    await expect(attachBus(forged)).rejects.toThrow(/attached already in another thread/)
    expect(lanesTaken(bus)).toBe(2)
    // the lane it briefly took is free again for a real handle
    await attach(bus.handle())
    await attach(bus.handle())
    expect(lanesTaken(bus)).toBe(4)
  })

  it('without its port is refused with a typed error before it takes a lane', async () => {
    const bus = await shared(3)
    const h = bus.handle() as SharedHandle
    for (let i = 0; i < 2; i++) {
      await expect(attachBus({ ...h, port: undefined as unknown as MessagePort })).rejects.toThrow(errors.InvalidArgumentError)
      await expect(attachBus({ ...h, memory: {} as WebAssembly.Memory })).rejects.toThrow(errors.InvalidArgumentError)
    }
    expect(lanesTaken(bus)).toBe(1)
    await attach(bus.handle())
    await attach(bus.handle())
    expect(lanesTaken(bus)).toBe(3)
  })

  it('of the copying transport that nobody serves fails after timeoutMs instead of waiting for ever', async () => {
    const { port1, port2 } = new MessageChannel()
    const started = Date.now()
    const error = await attachBus({ kind: 'ringbus/copy', port: port2, transfer: [port2] }, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.RequestTimeoutError)
    expect((error as Error).message).toMatch(/did not answer attachBus within 200 ms/)
    expect(Date.now() - started).toBeLessThan(5000)
    port1.close()
    await expect(attachBus({ kind: 'ringbus/copy', port: port2, transfer: [port2] }, { timeoutMs: -1 })).rejects.toThrow(errors.InvalidArgumentError)
  })

  it('of the copying transport attaches once too', async () => {
    const bus = await createBus()
    opened.push(bus)
    const h = bus.handle()
    const worker = await attach(h)
    await expect(attachBus(h)).rejects.toThrow(/attached already/)
    worker.publish('t', 1)
    await worker.flush()
    expect(bus.stats().t.partitions[0].endOffset).toBe(1)
  })
})
