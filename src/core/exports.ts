// The functions the host calls in the core, listed once: their types for the host and their
// parameter counts for the check at load, so that a renamed, dropped or reshaped export fails
// when the module is instantiated instead of as "x is not a function" deep inside a publish.
import { BusError, WasmLoadError } from '../errors.js'

export interface CoreExports {
  logInit(ctl: number, blocks: number, blockSize: number, blockCount: number, partitions: number, maxPartitions: number, interval: number, topics: number, maxTopics: number,
    groups: number, maxGroups: number, commits: number, dedup: number, maxDedup: number, route: number, routeBytes: number, queues: number, queueBytes: number): number
  topicCreate(ctl: number, name: number, length: number, partitions: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number, codec: number,
    dedupWindowMs: number): number
  topicFind(ctl: number, name: number, length: number): number
  topicConfigure(ctl: number, t: number, partitions: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number, dedupWindowMs: number): number
  groupCreate(ctl: number, name: number, length: number): number
  groupFind(ctl: number, name: number, length: number): number
  commitLoad(ctl: number, group: number, p: number): number
  commitGeneration(ctl: number, group: number, p: number): number
  commitStore(ctl: number, group: number, p: number, generation: number, offset: number): number
  commitFence(ctl: number, group: number, p: number, generation: number): number
  commitReset(ctl: number, group: number, p: number, generation: number, offset: number): number
  commitInit(ctl: number, group: number, p: number, offset: number): number
  dedupClaim(ctl: number, topic: number, id: number, length: number, now: number, expiresAt: number): number
  dedupPartition(ctl: number, slot: number): number
  dedupOffset(ctl: number, slot: number): number
  dedupTimestamp(ctl: number, slot: number): number
  dedupComplete(ctl: number, slot: number, partition: number, offset: number, timestamp: number): number
  dedupRelease(ctl: number, slot: number): number
  logAddPartition(ctl: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number): number
  logConfigure(ctl: number, p: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number): number
  logKeep(ctl: number, p: number): number
  logAppend(ctl: number, frames: number, count: number, now: number, out: number): number
  logPoll(ctl: number, cursor: number, out: number, max: number, maxBytes: number): number
  logPollValid(ctl: number, cursor: number): number
  logOffsetForTime(ctl: number, p: number, ts: number): number
  logRetain(ctl: number, now: number): number
  logStartOffset(ctl: number, p: number): number
  logEndOffset(ctl: number, p: number): number
  logBytes(ctl: number, p: number): number
  logSegments(ctl: number, p: number): number
  logEvicted(ctl: number, p: number): number
  logFreeSegments(ctl: number): number
  murmur2(ptr: number, length: number): number
  logRecover(ctl: number, token: number): number
  syncSetToken(token: number, block: number): void
  routeDeclare(ctl: number, name: number, length: number, type: number, alt: number, altLength: number): number
  routeFind(ctl: number, name: number, length: number): number
  routeInfo(ctl: number, id: number, out: number): number
  routeBind(ctl: number, source: number, dest: number, key: number, length: number, mode: number, args: number, argsLength: number): number
  routeUnbind(ctl: number, source: number, dest: number, key: number, length: number, mode: number, args: number, argsLength: number): number
  routeUnbindAll(ctl: number, dest: number): number
  routeRoute(ctl: number, id: number, key: number, length: number, headers: number, headersLength: number, out: number, max: number): number
  routeBindings(ctl: number, id: number, skip: number, out: number, outBytes: number): number
  routeCount(ctl: number, what: number): number
  logTrim(ctl: number, p: number, offset: number): number
  queueDeclare(ctl: number, name: number, length: number, maxPriority: number, flags: number, maxLength: number, deliveryLimit: number, ttl: number,
    expires: number, deadLetter: number, deadLetterLength: number, now: number): number
  queueFind(ctl: number, name: number, length: number): number
  queueCount(ctl: number): number
  queueInfo(ctl: number, q: number, out: number): number
  queueStats(ctl: number, q: number, out: number): number
  queueDelete(ctl: number, q: number): number
  queueExpireUnused(ctl: number, q: number, now: number): number
  queuePublish(ctl: number, q: number, frame: number, priority: number, expiresAt: number, readyAt: number, now: number): number
  queueTick(ctl: number, q: number, now: number): number
  queueConsume(ctl: number, q: number, prefetch: number, noAck: number, now: number): number
  queueWake(ctl: number, consumer: number): number
  queueReceive(ctl: number, consumer: number, out: number, max: number): number
  queueGet(ctl: number, q: number, noAck: number, now: number, out: number): number
  queueAck(ctl: number, consumer: number, offset: number): number
  queueAckMany(ctl: number, consumer: number, offsets: number, count: number): number
  queueNack(ctl: number, consumer: number, offset: number, requeue: number, now: number): number
  queueCancel(ctl: number, consumer: number, now: number): number
  queueTakeDead(ctl: number, q: number, max: number, out: number): number
  queueSettle(ctl: number, q: number, offset: number): number
  queueTakeWakes(): number
}

/** Every export the host needs and its parameter count; the compiler holds both to CoreExports. */
const CORE_EXPORTS: { readonly [K in keyof CoreExports]: Parameters<CoreExports[K]>['length'] } = {
  logInit: 18, topicCreate: 10, topicFind: 3, topicConfigure: 8, groupCreate: 3, groupFind: 3, commitLoad: 3,
  commitGeneration: 3, commitStore: 5, commitFence: 4, commitReset: 5, commitInit: 4,
  dedupClaim: 6, dedupPartition: 2, dedupOffset: 2, dedupTimestamp: 2, dedupComplete: 5, dedupRelease: 2, logAddPartition: 5, logConfigure: 6, logKeep: 2,
  logAppend: 5, logPoll: 5, logPollValid: 2, logOffsetForTime: 3, logRetain: 2, logStartOffset: 2, logEndOffset: 2,
  logBytes: 2, logSegments: 2, logEvicted: 2, logFreeSegments: 1, murmur2: 2, logRecover: 2, syncSetToken: 2,
  routeDeclare: 6, routeFind: 3, routeInfo: 3, routeBind: 8, routeUnbind: 8, routeUnbindAll: 2, routeRoute: 8, routeBindings: 5, routeCount: 2,
  logTrim: 3, queueDeclare: 12, queueFind: 3, queueCount: 1, queueInfo: 3, queueStats: 3, queueDelete: 2, queueExpireUnused: 3,
  queuePublish: 7, queueTick: 3, queueConsume: 5, queueWake: 2, queueReceive: 4, queueGet: 5, queueAck: 3, queueAckMany: 4, queueNack: 5,
  queueCancel: 3, queueTakeDead: 4, queueSettle: 3, queueTakeWakes: 0,
}

const REBUILD = 'it was built from other sources than this host; rebuild it (npm run build:wasm)'

/**
 * Instantiates the core over `memory` after checking that the module exports every function the
 * host calls, with the parameters it passes; throws a BusError naming the first one that is not.
 */
export function instantiateCore(module: WebAssembly.Module, memory: WebAssembly.Memory): CoreExports {
  const kinds = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]))
  for (const name of Object.keys(CORE_EXPORTS) as Array<keyof CoreExports>) {
    const kind = kinds.get(name)
    if (kind !== 'function') {
      throw new BusError(`the core module ${kind === undefined ? 'has no export' : `exports a ${kind}, not a function, as`} '${name}': ${REBUILD}`, { argument: 'wasm', export: name })
    }
  }
  let exports: WebAssembly.Exports
  try {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports
  } catch (error) {
    // the core imports nothing but its memory: a link error is a build for the other kind
    if (!(error instanceof WebAssembly.LinkError)) throw error
    const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer
    throw new WasmLoadError(`the core module given as the wasm option is not the build for this bus's ${shared ? 'shared' : 'plain'} memory: ` +
      `the shared build (ringbus/wasm) only runs over shared memory, the unshared one (ringbus/wasm/unshared) only over a plain one; ` +
      'pass { shared, unshared } to give the bus both', { reason: 'memory', argument: 'wasm', cause: error })
  }
  for (const [name, parameters] of Object.entries(CORE_EXPORTS)) {
    const length = (exports[name] as (...args: number[]) => unknown).length
    if (length !== parameters) {
      throw new BusError(`the core module's '${name}' takes ${length} parameters, the host passes ${parameters}: ${REBUILD}`, { argument: 'wasm', export: name })
    }
  }
  return exports as unknown as CoreExports
}
