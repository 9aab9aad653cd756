// The copying transport from the user's side: a worker on a handle without shared memory gets
// the same API, with the differences that only the creating thread assigning offsets brings
// (publish returns offset -1; errors the log raises later arrive on bus.events 'error').
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { attachBus, createBus, errors, type Bus, type CopyHandle, type HandlerErrorEvent } from '../../src/index.js'

const workers: Worker[] = []
const buses: Bus[] = []

afterEach(async () => {
  vi.unstubAllGlobals()
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
  for (const bus of buses.splice(0)) await bus.close()
})

async function plainBus(): Promise<Bus> {
  const bus = await createBus({ maxBytes: 4 * 1024 * 1024 })
  buses.push(bus)
  return bus
}

function scenario(bus: Bus, name: string, args: Record<string, unknown> = {}): { worker: Worker; next: (type: string) => Promise<any> } {
  const handle = bus.handle()
  const worker = new Worker(new URL('./fixtures/scenario.mjs', import.meta.url), { workerData: { handle, name, args }, transferList: handle.transfer as never[] })
  workers.push(worker)
  const next = (type: string) => new Promise<any>((resolve, reject) => {
    const on = (m: { type: string }) => { if (m.type === type) { worker.off('message', on); resolve(m) } }
    worker.on('message', on)
    worker.once('error', reject)
  })
  return { worker, next }
}

async function result(run: { next: (type: string) => Promise<any> }): Promise<any> {
  const { value, error } = await run.next('result')
  if (error !== undefined) throw new Error(`the worker failed: ${error}`)
  return value
}

describe('bad publish options on a copying worker', () => {
  it('throw at once, with the same errors as on the creating thread (one check for both)', async () => {
    const bus = await plainBus()
    const remote = await attachBus(bus.handle({ transport: 'copy' }))
    const caught = (fn: () => unknown): unknown => { try { fn() } catch (error) { return error } }
    const bad = ['x', { key: 1 }, { key: '\ud800' }, { headers: new Map() }, { headers: { a: 1 } }, { partition: -1 }, { partition: 1.5 },
      { timestamp: Number.NaN }, { messageId: '' }, { messageId: 7 }]
    for (const options of bad) {
      const here = caught(() => bus.publish('t', 1, options as never)) as Error
      const there = caught(() => remote.publish('t', 1, options as never)) as Error
      expect(here).toBeInstanceOf(errors.InvalidArgumentError)
      expect([there.constructor, there.message]).toEqual([here.constructor, here.message])
    }
    await remote.close()
  })
})

describe('a worker on a copying handle', () => {
  it('publishes with offset -1 (the creating thread assigns it), copies the value at publish, keeps key and headers', async () => {
    const bus = await plainBus()
    bus.topic('meta', { partitions: 2 })
    const out = await result(scenario(bus, 'metadata'))
    expect(out.one).toMatchObject({ topic: 'meta', partition: 1, offset: -1 })
    expect(typeof out.one.timestamp).toBe('number')
    expect(out.keyed).toMatchObject({ partition: -1, offset: -1 })
    expect(out.batch.map((r: { offset: number }) => r.offset)).toEqual([-1, -1])
    // flush() waited until all four were appended, and the stats it brought back say so
    expect(out.stats.reduce((a: number, b: number) => a + b, 0)).toBe(4)
    const got: Array<{ partition: number; offset: number; timestamp: number; key: unknown; headers: unknown; value: any }> = []
    bus.subscribe('meta', (m) => { got.push(m) }, { from: 'earliest' })
    await bus.idle()
    const first = got.find((m) => m.value.seq === 1)!
    expect(first).toMatchObject({ partition: 1, offset: 0, key: 'k', headers: { h: 'v' }, timestamp: out.one.timestamp })
    expect(first.value.tags).toEqual(['a'])
    // the creating thread chose the keyed record's partition, as it does for its own records
    expect(got.find((m) => m.value.seq === 2)!.partition).toBe(bus.publish('meta', { seq: 5 }, { key: 'k' }).partition)
  })

  it('handles topics named __proto__, constructor and toString like any other (stats too)', async () => {
    const bus = await plainBus()
    const out = await result(scenario(bus, 'protoNames'))
    expect(out).toEqual({ declared: [1, 1, 1], keys: ['__proto__', 'constructor', 'toString'], ends: [1, 1, 1] })
    expect(Object.keys(bus.stats()).sort()).toEqual(['__proto__', 'constructor', 'toString'])
  })

  it('throws on bad input at once, and reports what the log refuses later on bus.events', async () => {
    const bus = await plainBus()
    bus.topic('full', { retention: { maxBytes: 1024 }, onFull: 'reject' })
    bus.topic('errs')
    const out = await result(scenario(bus, 'errors'))
    expect(out.sync).toEqual(['CodecError', 'InvalidTopicError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError',
      'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError'])
    const full = out.async.filter((e: { name: string }) => e.name === 'BackPressureError')
    expect(full.length).toBeGreaterThan(0)
    expect(full[0]).toMatchObject({ topic: 'full', retriable: true, offset: -1 })
    expect(out.async.filter((e: { name: string }) => e.name === 'InvalidArgumentError')).toEqual([
      { name: 'InvalidArgumentError', topic: 'errs', partition: -1, offset: -1, retriable: false },
    ])
    // what was accepted is in the log, intact; the refused records are not
    const stats = bus.stats()
    expect(stats.full.partitions[0].endOffset).toBe(40 - full.length)
    expect(stats.errs.partitions[0].endOffset).toBe(0)
  })

  it('a value, key or headers that cannot be copied throw at publish; the rest of the turn still reaches the log', async () => {
    const bus = await plainBus()
    const out = await result(scenario(bus, 'unclonable'))
    // symbol, function, a batch holding a symbol; a Proxy as headers, a key over a detached buffer,
    // a seek to a symbol partition, topic options holding a function
    expect(out.sync).toEqual(['CodecError', 'CodecError', 'CodecError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError', 'InvalidArgumentError'])
    expect(out.async).toEqual([])
    const got: Array<{ value: unknown; headers: unknown }> = []
    bus.subscribe('good', (m) => { got.push(m) }, { from: 'earliest' })
    await bus.idle()
    expect(got.map((m) => m.value)).toEqual([0, 1, 2, 3])
    expect(got[1].headers).toEqual({ h: 'v' }) // copied at publish: the later change did not reach the log
  })

  it('should a turn of records still fail to go, its other records go and the failure is reported on bus.events', async () => {
    const bus = await plainBus()
    const handle = bus.handle({ transport: 'copy' }) as CopyHandle
    // publish copies every record, so nothing real fails here any more: a port that refuses one does
    const post = handle.port.postMessage.bind(handle.port)
    handle.port.postMessage = (message: any) => {
      if (message?.op === 'publish' && message.records.some((r: { value?: unknown }) => r.value === 'poison')) throw new DOMException('poison could not be cloned.', 'DataCloneError')
      post(message)
    }
    const worker = await attachBus(handle) // in this thread: the port is what matters
    const reported: HandlerErrorEvent[] = []
    worker.events.on('error', (e) => reported.push(e))
    worker.publish('t', 'a')
    worker.publish('t', 'poison', { partition: 0 })
    worker.publish('t', 'b')
    await worker.flush()
    const got: unknown[] = []
    bus.subscribe('t', (m) => { got.push(m.value) }, { from: 'earliest' })
    await bus.idle()
    expect(got).toEqual(['a', 'b'])
    expect(reported).toMatchObject([{ topic: 't', partition: 0, offset: -1, error: { name: 'CodecError', topic: 't' } }])
    await worker.close()
  })

  it('a record of the creating thread that cannot be copied to the worker is reported there; the others of its batch arrive', async () => {
    const bus = await plainBus()
    const run = scenario(bus, 'ownerUnclonable')
    await run.next('ready')
    bus.publish('o', 0, { headers: new Proxy({ h: 'v' }, {}) })
    const headers: Record<string, unknown> = { h: 'v' }
    bus.publish('o', 1, { headers: headers as Record<string, string> })
    headers.late = () => {} // same-thread readers (the worker's, here) get the object itself
    // a value the log could not replay is refused at publish, so it never reaches the worker
    expect(() => bus.publish('o', { n: 2, fn() {} })).toThrow(errors.CodecError)
    bus.publish('o', 3, { headers: { h: 'v' } })
    run.worker.postMessage({ type: 'published' })
    const out = await result(run)
    expect(out.got).toEqual([[2, 3, { h: 'v' }]])
    expect(out.errors).toEqual([0, 1].map((offset) => ({ name: 'CodecError', topic: 'o', partition: 0, offset })))
  })

  it('one signal for thousands of subscriptions keeps no abort listener for those that closed', async () => {
    const bus = await plainBus()
    const out = await result(scenario(bus, 'abortListeners', { cycles: 2000 }))
    expect(out).toEqual({ afterClose: 0, whileOpen: 1, closedByAbort: true, afterAbort: 0 })
  })

  it('reads from any position: seek, pause and resume, position, assignments, consume and once', async () => {
    const bus = await plainBus()
    for (let seq = 0; seq < 100; seq++) bus.publish('r', { seq }, { key: `k${seq}`, headers: { n: String(seq) } })
    const out = await result(scenario(bus, 'reader'))
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)
    expect(out.first).toEqual(range(50, 100))
    expect(out.position).toBe(100)
    expect(out.assignments).toEqual([{ topic: 'r', partition: 0 }])
    expect(out.afterSeek).toEqual(range(95, 100))
    expect(out.whilePaused).toBe(0)
    expect(out.resumed).toEqual([100])
    expect(out.consumed).toEqual(range(0, 5))
    expect(out.once).toEqual([101])
    expect(out.message).toMatchObject({ topic: 'r', partition: 0, offset: 50, key: 'k50', headers: { n: '50' }, value: { seq: 50 }, attempt: 1 })
  })

  it('a slow worker holds its reader back instead of piling up messages; nothing is lost or reordered', async () => {
    const bus = await plainBus()
    const expected = 5000
    const run = scenario(bus, 'slow', { expected })
    await run.next('ready')
    for (let seq = 0; seq < expected; seq++) bus.publish('slow', { seq })
    run.worker.postMessage({ type: 'published' })
    expect(await result(run)).toEqual({ count: expected, ordered: true })
  })

  it('a reader overtaken by retention while paused is told what it lost, in its own thread', async () => {
    const bus = await createBus({ maxBytes: 1024 * 1024, segmentBytes: 4096 })
    buses.push(bus)
    bus.topic('tiny', { retention: { maxBytes: 8192 } })
    const mainSkips: unknown[] = []
    bus.events.on('skipped', (e) => mainSkips.push(e))
    bus.publish('tiny', { seq: 0 })
    const run = scenario(bus, 'skipped')
    await run.next('ready')
    for (let seq = 1; seq < 2000; seq++) bus.publish('tiny', { seq, pad: 'y'.repeat(40) })
    run.worker.postMessage({ type: 'published' })
    const out = await result(run)
    expect(out.events).toHaveLength(1)
    const start = bus.stats().tiny.partitions[0].startOffset
    expect(out.events[0]).toMatchObject({ topic: 'tiny', partition: 0, from: 1, to: start, count: start - 1 })
    expect(out.first).toBe(0)
    expect(out.count).toBe(1 + 2000 - start)
    expect(mainSkips).toEqual([]) // the worker's reader, not one of this thread's
  })

  it('a worker waiting for records when the creating thread closes its bus stops waiting; later calls throw BusClosedError', async () => {
    const bus = await createBus()
    bus.publish('gone', 1)
    const run = scenario(bus, 'ownerGone')
    await run.next('ready')
    await bus.close()
    expect(await result(run)).toEqual({ got: [1], after: 'BusClosedError' })
  })

  it('createBus({ shared: true }) without shared memory (a page that is not cross-origin isolated) falls back to copying', async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined)
    const bus = await createBus({ shared: true })
    vi.unstubAllGlobals()
    buses.push(bus)
    expect(bus.core.shared).toBe(false)
    bus.topic('meta', { partitions: 2 })
    const out = await result(scenario(bus, 'metadata'))
    expect(out.stats.reduce((a: number, b: number) => a + b, 0)).toBe(4)
  })
})
