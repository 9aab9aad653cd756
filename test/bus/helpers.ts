// Shared helpers for the bus tests: every bus a test creates is closed after it, and a few
// small tools (collecting subscribers, Kafka's murmur2 as a reference, deferred promises).
import { afterEach } from 'vitest'
import { attachBus, createBus, type Bus, type BusOptions, type Message, type SubscribeOptions, type TopicMap } from '../../src/index.js'
import { SHARED, TRANSPORT } from './transports.js'

export { onlyWhere } from './transports.js'

/**
 * Registers an afterEach in the calling file that closes every bus made with the returned
 * factory. The factory gives the bus of the transport this run is for (see transports.ts): the
 * creating thread's own bus, or a bus attached to it the way a worker attaches.
 */
export function useBuses(): <T extends TopicMap = TopicMap>(options?: BusOptions) => Promise<Bus<T>> {
  const open: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    for (const bus of open.splice(0)) await bus.close()
  })
  return async <T extends TopicMap = TopicMap>(options?: BusOptions) => {
    const attached = TRANSPORT === 'worker-shared' || TRANSPORT === 'worker-copy'
    const owner = await createBus<T>({ shared: SHARED, ...options, ...(TRANSPORT === 'worker-shared' ? { shared: true } : {}) })
    open.unshift(owner)
    if (!attached) return forgetOnClose(open, owner, [owner])
    const handle = owner.handle({ transport: TRANSPORT === 'worker-copy' ? 'copy' : 'shared' })
    const bus = await attachBus<T>(handle, { clock: options?.clock, topicDefaults: options?.topicDefaults, codecs: options?.codecs, tracing: options?.tracing })
    open.unshift(bus)
    // the suite is written against the bus API both transports share
    return forgetOnClose(open, bus as Bus<T>, [bus, owner])
  }
}

/**
 * A bus the test closes itself also closes its creating bus (a worker transport's, which the
 * test cannot reach), and neither is kept for afterEach: a property test making a bus per run
 * would otherwise keep every log's memory until the test ends (Chromium refuses to allocate
 * more WebAssembly memories after about 120).
 */
function forgetOnClose<B extends { close(): Promise<void> }>(open: Array<{ close(): Promise<void> }>, bus: B, pair: Array<{ close(): Promise<void> }>): B {
  const close = bus.close.bind(bus)
  bus.close = async () => {
    await close()
    for (const each of pair) {
      if (each !== bus) await each.close()
      const at = open.indexOf(each)
      if (at >= 0) open.splice(at, 1)
    }
  }
  return bus
}

/** The small bus the retention tests use: 64 segments of 4 KiB. */
export const SMALL = { maxBytes: 256 * 1024, segmentBytes: 4096 } as const

export type AnyMessage = Message<TopicMap, string>

/** Subscribes and pushes every delivered message into the returned array. */
export function collect(bus: Bus<any>, target: string, options?: SubscribeOptions): AnyMessage[] & { sub: ReturnType<Bus['subscribe']> } {
  const got: AnyMessage[] = []
  const sub = bus.subscribe(target, (m: AnyMessage) => { got.push(m) }, options)
  return Object.assign(got, { sub })
}

/** Reads a whole topic (every partition) from the log start with a fresh reader. */
export async function replay(bus: Bus<any>, target: string): Promise<AnyMessage[]> {
  const got = collect(bus, target, { from: 'earliest' })
  await bus.idle()
  await got.sub.close()
  return [...got]
}

export interface Deferred<T = void> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Lets queued microtasks and one macrotask turn run (for asserting that something has NOT happened yet). */
export const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => macrotask(resolve))
}

/**
 * Node's setImmediate. A browser has none, and there the bus waits a turn with a zero timeout
 * (src/reader/turns.ts) while the copying transport's records come as port messages, two task
 * queues with no order between them: a turn here is a zero timeout, then a message to itself
 * over a fresh channel.
 */
function macrotask(fn: () => void): void {
  if (typeof setImmediate === 'function') {
    setImmediate(fn)
    return
  }
  setTimeout(() => {
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = () => {
      port1.close()
      fn()
    }
    port2.postMessage(undefined)
  }, 0)
}

/**
 * How many 'abort' listeners a signal has, counted as they are added and removed (Node's
 * events.getEventListeners does not exist in a browser). Wrap the signal before handing it out.
 */
export function countAbortListeners(signal: AbortSignal): () => number {
  const listeners = new Set<unknown>()
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  signal.addEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: AddEventListenerOptions | boolean) => {
    if (type === 'abort') listeners.add(listener)
    add(type, listener, options)
  }) as AbortSignal['addEventListener']
  signal.removeEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: EventListenerOptions | boolean) => {
    if (type === 'abort') listeners.delete(listener)
    remove(type, listener, options)
  }) as AbortSignal['removeEventListener']
  return () => listeners.size
}

/** The Kafka Java client's Utils.murmur2, written out as a reference. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const m = 0x5bd1e995
  let h = 0x9747b28c ^ length
  const whole = length >> 2
  for (let i = 0; i < whole; i++) {
    const j = i * 4
    let k = data[j] | (data[j + 1] << 8) | (data[j + 2] << 16) | (data[j + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length & ~3
  switch (length % 4) {
    case 3: h ^= data[tail + 2] << 16 // falls through
    case 2: h ^= data[tail + 1] << 8 // falls through
    case 1:
      h ^= data[tail]
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Kafka's default partitioner for a keyed record. */
export const kafkaPartition = (key: string | Uint8Array, partitions: number): number =>
  (murmur2(typeof key === 'string' ? utf8(key) : key) & 0x7fffffff) % partitions

/** A custom assignor for tests: every partition to the member whose id sorts last. */
export const lastTakesAll = {
  name: 'last',
  assign: (members: readonly { id: string }[], partitions: readonly { topic: string; partition: number }[]) => {
    const ids = members.map((m) => m.id).sort()
    return Object.fromEntries(ids.map((id, i) => [id, i === ids.length - 1 ? [...partitions] : []]))
  },
}
