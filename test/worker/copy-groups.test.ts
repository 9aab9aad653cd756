// Consumer groups on the copying transport, for what is its own: the worker's bus answers lag()
// from the creating thread's figures as of its last answer; a worker's member lives in the
// creating thread and its handler runs in the worker, with attempts, failures, commits and
// leaving crossing the port. (The group behaviour itself is test/bus/groups.test.ts, which runs
// on this transport too.) The worker's side runs in this thread, as in test/bus.
import { afterEach, describe, expect, it } from 'vitest'
import { attachBus, createBus, type Bus, type BusApi } from '../../src/index.js'

const open: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close()
})

async function pair(): Promise<{ bus: Bus; remote: BusApi }> {
  const bus = await createBus({ maxBytes: 4 * 1024 * 1024 })
  const remote = await attachBus(bus.handle({ transport: 'copy' }))
  open.push(remote, bus)
  return { bus, remote }
}

describe('lag on a copying worker', () => {
  it("is the creating thread's as of its last answer: flush() brings it up to date", async () => {
    const { bus, remote } = await pair()
    bus.topic('t', { partitions: 2 })
    const sub = bus.subscribe('t', () => {}, { group: 'g', autoCommit: false, from: 'earliest' })
    expect(remote.lag('g')).toEqual({})
    for (let i = 0; i < 6; i++) bus.publish('t', i)
    await bus.idle()
    expect(remote.lag('g')).toEqual({}) // nothing asked since attachBus
    await remote.flush()
    expect(remote.lag('g')).toEqual({ t: { 0: 3, 1: 3 } })
    await sub.commit()
    expect(remote.lag('g')).toEqual({ t: { 0: 3, 1: 3 } })
    await remote.flush()
    expect(remote.lag('g')).toEqual({ t: { 0: 0, 1: 0 } })
    expect(remote.lag('nobody')).toEqual({})
    expect(() => remote.lag(1 as never)).toThrow(/group name/)
  })
})
