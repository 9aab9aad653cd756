// The typed facade: createBus() wires the core, topics and readers together and is the only
// module users see. Publishing is synchronous (the record is in the log when publish returns);
// delivery runs in a microtask, batched across everything published in the same turn.
import { EventEmitter } from 'eventemitter3'
import { realClock, type Clock } from './clock.js'
import { asyncDispose } from './dispose.js'
import { checkHeaders, encodeHeaders, encodeText, illFormed, releaseDecodeSource, wellFormed } from './codec/codecs.js'
import { FLAG_KEY, FLAG_KEY_BINARY, FLAG_NULL_VALUE, FLAG_REF_VALUE, MAX_HEADERS_LENGTH } from './core/abi.js'
import { LogCore, frameLength } from './core/log.js'
import { statusError } from './core/status.js'
import { BusClosedError, BusError, CodecError, InvalidArgumentError, RecordTooLargeError } from './errors.js'
import { Reader, type ReaderHost } from './reader/reader.js'
import { closeOnAbort, readerOptions, ReadingSurface } from './reader/surface.js'
import { compileSubscription } from './topic/names.js'
import { TopicRegistry } from './topic/registry.js'
import { attachCore, claimHandle, createHandle, detachCore, keepAlive, notAHandle, type BusHandle, type WorkerExit } from './worker/handle.js'
import { createCopyHandle } from './worker/copy-host.js'
import { attachRemote, type RemoteBus } from './worker/remote-bus.js'
import { notBuilt, resolveTopicOptions, type Delivered, type Topic } from './topic/topic.js'
import type {
  BatchRecord, BusEvents, BusOptions, Headers, Key, PublishOptions, RecordMetadata,
  SkippedEvent, SubscribeOptions, TopicMap, TopicName, TopicOptions, TopicStats,
  ValueArgs,
} from './types.js'

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
/** Records appended in one synchronous burst before other threads are woken anyway. */
const NOTIFY_EVERY = 256
const EMPTY: Uint8Array = new Uint8Array(0)

type PublishArgs<T, K extends TopicName<T>> = undefined extends T[K]
  ? [value?: T[K], options?: PublishOptions]
  : [value: T[K], options?: PublishOptions]

/** Options of attachBus: the clock and any custom codecs this thread needs. */
export type AttachOptions = Pick<BusOptions, 'clock' | 'codecs' | 'topicDefaults'> & {
  /**
   * How long to wait for the creating thread to answer a copying handle, in ms of real time
   * (default 5000); then attachBus rejects with a RequestTimeoutError. A shared handle needs no
   * answer.
   */
  timeoutMs?: number
}

/**
 * What attachBus returns: the bus API a worker uses, whichever transport carries it (a shared
 * Bus, or the copying RemoteBus).
 */
export type WorkerBus<T extends TopicMap = TopicMap> = Pick<Bus<T>, (keyof Bus<T> & keyof RemoteBus<T>)>

export interface TopicInfo {
  name: string
  partitions: number
}

/** Fields of a record ready to stage: encoded, partitioned and size-checked. */
interface Prepared {
  topic: Topic
  partition: number
  timestamp: number
  keyHash: number
  flags: number
  headerBytes: Uint8Array | undefined
  keyBytes: Uint8Array | undefined
  valueBytes: Uint8Array
  value: unknown
  key: Key | undefined
  headers: Headers | undefined
}

export class Bus<T extends TopicMap = TopicMap> extends ReadingSurface<T> implements AsyncDisposable {
  /** Lifecycle events (skipped, error, topic.created), apart from topics so names never clash. */
  readonly events = new EventEmitter<BusEvents>()
  readonly clock: Clock
  private readonly registry: TopicRegistry
  /** User topics by name (the registry's map). */
  private readonly topics: Map<string, Topic>
  private readonly readers = new Set<Reader>()
  private readonly dirty = new Set<Topic>()
  private deliveryScheduled = false
  private idleWaiters: Array<() => void> = []
  private closed = false
  private cancelRetention: (() => void) | undefined
  private readonly scratch: Prepared
  /** Reused per-record state of publishBatch (cleared after each call). */
  private readonly batchScratch: Prepared[] = []
  private batching = false
  /** The core is on shared memory: other threads may append and read. */
  private readonly shared: boolean
  /** Records were committed that other threads may be waiting for. */
  private notifyPending = false
  private unnotified = 0
  private wokeThisTurn = false
  private watching = false
  private readonly host
  /** Copying handles to end when this bus closes. */
  private readonly closers: Array<() => void> = []
  /** Set by attachBus: tells the creating thread this worker closed its bus. */
  onClose: (() => void) | undefined
  /** Set by attachBus: keeps a worker thread alive while it has readers waiting for records. */
  keepAlive: ((on: boolean) => void) | undefined

  /** @internal use createBus() */
  constructor(readonly core: LogCore, options: BusOptions) {
    super()
    this.clock = options.clock ?? realClock
    this.shared = core.shared
    this.registry = new TopicRegistry(core, this.clock, options, {
      grew: (topic, from) => { for (const reader of this.readers) if (reader.matches(topic.name)) reader.attach(topic, from, true) },
      created: (topic) => this.events.emit('topic.created', { topic: topic.name, partitions: topic.partitions }),
    })
    this.topics = this.registry.byName
    this.scratch = this.blank()
    this.host = {
      core,
      skipped: (event: SkippedEvent) => this.events.emit('skipped', event),
      handlerFailed: (error: unknown, where: { topic: string; partition: number; offset: number }) => this.report(error, where),
      readerSettled: () => this.checkIdle(),
      readerClosed: (reader: Reader) => { this.readers.delete(reader); this.checkIdle() },
    }
  }

  private blank(): Prepared {
    return { topic: undefined as unknown as Topic, partition: 0, timestamp: 0, keyHash: 0, flags: 0, headerBytes: undefined, keyBytes: undefined, valueBytes: EMPTY, value: undefined, key: undefined, headers: undefined }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('the bus is closed')
  }

  // ---- topics ---------------------------------------------------------------------------------

  /**
   * Declares a topic (Kafka model). Declaring again changes retention and policy and may add
   * partitions; fewer partitions or another codec is an error.
   * @example bus.topic('order.placed', { partitions: 4, retention: { maxAgeMs: 60_000 } })
   */
  topic<K extends TopicName<T>>(name: K, options?: TopicOptions): TopicInfo {
    this.assertOpen()
    const topic = this.registry.declare(name, options)
    this.armRetention()
    return { name, partitions: topic.partitions }
  }

  /**
   * A topic that does not exist yet, found in the directory or auto-created. `prepareAll` runs
   * first against a stand-in with the new topic's codec and limits, so that a publish that would
   * be rejected creates nothing; it runs again on the created topic unless the stand-in's codec
   * instance and limits are the topic's own (then the prepared records just move over).
   */
  private created(name: string, prepared: Prepared[], count: number, prepareAll: (topic: Topic) => void): Topic {
    let stand: Topic | undefined
    const topic = this.registry.writable(name, (s) => { prepareAll(stand = s) })
    this.armRetention()
    if (stand !== undefined && stand.codec === topic.codec && stand.partitions === topic.partitions && stand.maxFrame === topic.maxFrame) {
      for (let i = 0; i < count; i++) prepared[i].topic = topic
    } else {
      prepareAll(topic)
    }
    return topic
  }

  // ---- publishing -----------------------------------------------------------------------------

  /**
   * Validates, encodes and partitions one record. `staged`: the record is staged before anything
   * else is encoded, so the codec may reuse its buffer (encodeTransient).
   */
  private prepare(topic: Topic, value: unknown, options: PublishOptions | undefined, into: Prepared, now: number, staged = false): Prepared {
    let key: Key | undefined
    let headers: Headers | undefined
    let partition: number | undefined
    let timestamp: number | undefined
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('publish options must be an object', { topic: topic.name, argument: 'options' })
      key = options.key
      headers = options.headers
      partition = options.partition
      timestamp = options.timestamp
      if ((options as { messageId?: unknown }).messageId !== undefined) throw notBuilt('messageId', topic.name)
    }
    let flags = 0
    let keyBytes: Uint8Array | undefined
    if (key !== undefined) {
      if (typeof key === 'string') {
        if (!wellFormed(key)) throw illFormed(topic.name, 'key')
        keyBytes = encodeText(key)
      }
      else if (key instanceof Uint8Array) { keyBytes = key; flags |= FLAG_KEY_BINARY }
      else throw new InvalidArgumentError(`key must be a string or Uint8Array, got ${typeof key}`, { topic: topic.name, argument: 'key' })
      flags |= FLAG_KEY
    }
    let headerBytes: Uint8Array | undefined
    if (headers !== undefined) {
      headerBytes = this.encodeHeaders(topic, headers)
    }
    if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp))) {
      throw new InvalidArgumentError(`timestamp must be a finite number of ms, got ${String(timestamp)}`, { topic: topic.name, argument: 'timestamp' })
    }
    let valueBytes: Uint8Array = EMPTY
    if (value === null) {
      flags |= FLAG_NULL_VALUE
    } else if (topic.byReference) {
      flags |= FLAG_REF_VALUE
    } else {
      try {
        const codec = topic.codec
        valueBytes = staged && codec.encodeTransient !== undefined ? codec.encodeTransient(value) : codec.encode(value)
      } catch (error) {
        throw new CodecError(`codec ${topic.codecName} cannot encode this value for topic ${topic.name}: ${(error as Error)?.message ?? error}`, { topic: topic.name, cause: error })
      }
      if (!(valueBytes instanceof Uint8Array)) throw new CodecError(`codec ${topic.codecName} returned no bytes`, { topic: topic.name })
    }
    // the size first: hashing the key for the partition places its bytes in the staging area
    const size = frameLength(headerBytes?.length ?? 0, keyBytes?.length ?? 0, valueBytes.length)
    if (size > topic.maxFrame) {
      throw new RecordTooLargeError(`record of ${size} bytes (header, key and value) exceeds the segment limit of ${topic.maxFrame} bytes for topic ${topic.name}`,
        { topic: topic.name, partition, size, max: topic.maxFrame })
    }
    const index = topic.choosePartition(partition, keyBytes)
    into.topic = topic
    into.partition = index
    into.timestamp = timestamp ?? now
    into.keyHash = keyBytes === undefined ? 0 : this.core.murmur2(keyBytes)
    into.flags = flags
    into.headerBytes = headerBytes
    into.keyBytes = keyBytes
    into.valueBytes = valueBytes
    into.value = value
    into.key = key
    into.headers = headers
    return into
  }

  private encodeHeaders(topic: Topic, headers: Headers): Uint8Array | undefined {
    const any = checkHeaders(topic.name, headers)
    if (!any) return undefined
    const bytes = encodeHeaders(headers)
    if (bytes.length > MAX_HEADERS_LENGTH) {
      throw new RecordTooLargeError(`headers take ${bytes.length} bytes, more than ${MAX_HEADERS_LENGTH}`, { topic: topic.name, size: bytes.length, max: MAX_HEADERS_LENGTH })
    }
    return bytes
  }

  private stage(r: Prepared): boolean {
    return this.core.stage(r.topic.ids[r.partition], r.timestamp, r.keyHash, r.flags, r.headerBytes, r.keyBytes, r.valueBytes)
  }

  /** Keeps an appended record's value for same-thread readers (and the value itself for 'ref'). */
  private remember(r: Prepared, offset: number): void {
    const topic = r.topic
    if (topic.readers.size > 0 || topic.byReference) topic.remember(r.partition, offset, r.timestamp, r.value, r.key, r.headers)
  }

  /** Bookkeeping once per call, however many records it appended to `topic`. */
  private afterAppend(topic: Topic, count: number): void {
    topic.published += count
    if (topic.readers.size > 0) this.dirty.add(topic)
    if (this.shared) {
      // wake readers in other threads: at once if one is waiting and none was woken this turn
      // (latency), else once at the end of the turn or every NOTIFY_EVERY records of a long
      // synchronous burst (so that they read while this thread is still writing)
      this.notifyPending = true
      if ((this.unnotified += count) >= NOTIFY_EVERY || (!this.wokeThisTurn && this.core.hasWaiters())) {
        this.wokeThisTurn = true
        this.notifyOthers()
      }
    }
    if (topic.readers.size > 0 || this.shared) this.scheduleFlush()
  }

  private failure(r: Prepared, status: number): BusError {
    const size = frameLength(r.headerBytes?.length ?? 0, r.keyBytes?.length ?? 0, r.valueBytes.length)
    return statusError(status, { topic: r.topic.name, partition: r.partition, size, max: r.topic.maxFrame })
  }

  /**
   * Appends one record and returns where it went. Synchronous: the record is in the log (and
   * replayable) when this returns; subscribers get it in a microtask.
   * @example const { partition, offset } = bus.publish('order.placed', order, { key: order.userId })
   */
  publish<K extends TopicName<T>>(topic: K, ...args: PublishArgs<T, K>): RecordMetadata<K>
  publish(topic: string, value?: unknown, options?: PublishOptions): RecordMetadata {
    const now = this.clock.now()
    this.assertOpen()
    const known = this.topics.get(topic)
    const r = known !== undefined ? this.prepare(known, value, options, this.scratch, now, true) : this.scratch
    if (known === undefined) this.created(topic, [r], 1, (t) => { this.prepare(t, value, options, r, now) })
    this.stage(r)
    if (this.core.commit(now) !== 1) throw this.failure(r, this.core.statusAt(0))
    const offset = this.core.offsetAt(0)
    this.remember(r, offset)
    this.afterAppend(r.topic, 1)
    const result = { topic, partition: r.partition, offset, timestamp: r.timestamp }
    r.value = r.key = r.headers = undefined // do not pin the last value
    r.valueBytes = EMPTY
    return result
  }

  /**
   * Appends many records with one call into the core. Every record is validated and encoded
   * before anything is appended, so a bad record rejects the whole batch. If the log refuses
   * part way (onFull 'reject'), the error's `accepted` lists the records that went in.
   */
  publishBatch<K extends TopicName<T>>(topic: K, records: ReadonlyArray<BatchRecord<T[K]>>): RecordMetadata<K>[] {
    this.assertOpen()
    const t = this.topics.get(topic)
    if (!Array.isArray(records)) throw new InvalidArgumentError('publishBatch takes an array of { value, key?, headers? }', { topic, argument: 'records' })
    const now = this.clock.now()
    // a codec that publishes from inside encode() must not share the scratch
    const prepared = this.batching ? [] : this.batchScratch
    while (prepared.length < records.length) prepared.push(this.blank())
    const outer = !this.batching
    this.batching = true
    try {
      const prepareAll = (into: Topic): void => {
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (typeof record !== 'object' || record === null) throw new InvalidArgumentError(`record ${i} must be an object with a value`, { topic, argument: 'records' })
          this.prepare(into, record.value, record, prepared[i], now)
        }
      }
      const into = t ?? this.created(topic, prepared, records.length, prepareAll)
      if (into === t) prepareAll(into)
      const results: RecordMetadata<K>[] = new Array(records.length)
      let done = 0
      const commit = (): void => {
        const staged = this.core.stagedCount
        const n = this.core.commit(now)
        for (let i = 0; i < n; i++) {
          const r = prepared[done + i]
          const offset = this.core.offsetAt(i)
          this.remember(r, offset)
          results[done + i] = { topic, partition: r.partition, offset, timestamp: r.timestamp }
        }
        if (n > 0) this.afterAppend(into, n)
        done += n
        if (n < staged) {
          const error = this.failure(prepared[done], this.core.statusAt(n))
          Object.assign(error, { accepted: results.slice(0, done) })
          throw error
        }
      }
      for (let i = 0; i < records.length; i++) {
        if (!this.stage(prepared[i])) {
          commit()
          this.stage(prepared[i])
        }
      }
      commit()
      return results
    } finally {
      if (outer) this.batching = false
      this.core.discardStaged()
      for (let i = 0; i < records.length; i++) {
        const r = prepared[i]
        r.value = r.key = r.headers = r.headerBytes = r.keyBytes = undefined // do not pin published values
        r.valueBytes = EMPTY
      }
    }
  }

  /**
   * EventEmitter sugar: publish without options. Returns whether any same-thread reader of the
   * topic exists, like EventEmitter.emit.
   * @example bus.emit('tick')
   */
  emit<K extends TopicName<T>>(topic: K, ...args: ValueArgs<T, K>): boolean
  emit(topic: string, value?: unknown): boolean {
    ;(this as Bus).publish(topic, value)
    return this.topics.get(topic)!.readers.size > 0
  }

  // ---- reading --------------------------------------------------------------------------------

  protected openReader(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions | undefined): Reader {
    return this.reader(target, handler, options)
  }

  /** A reader in this thread; `hooks` send its reports elsewhere (a copying worker's reader). */
  private reader(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions | undefined,
    hooks?: Pick<ReaderHost, 'skipped' | 'handlerFailed'>): Reader {
    this.assertOpen()
    const matches = compileSubscription(target)
    const opts = readerOptions(options)
    const reader = new Reader(hooks === undefined ? this.host : { ...this.host, ...hooks }, matches, handler, opts)
    this.registry.sync()
    this.readers.add(reader)
    for (const topic of this.topics.values()) if (matches(topic.name)) reader.attach(topic, 0, false)
    closeOnAbort(reader, options?.signal)
    reader.wake()
    if (this.shared) this.watch()
    return reader
  }

  /**
   * While this thread has readers, waits (without blocking: Atomics.waitAsync) for records that
   * other threads commit, then delivers them. An idle bus costs no CPU.
   */
  private watch(): void {
    if (this.watching) return
    this.watching = true
    this.keepAlive?.(true)
    const loop = async (): Promise<void> => {
      while (!this.closed && this.readers.size > 0) {
        // read the sequence first: a commit after this point changes it, so the wait returns
        const seen = this.core.wakeSequence()
        this.registry.sync()
        for (const topic of this.topics.values()) if (topic.readers.size > 0) this.dirty.add(topic)
        this.scheduleFlush()
        await this.core.waitForRecords(seen)
      }
      this.watching = false
      this.keepAlive?.(false)
    }
    void loop()
  }

  // ---- delivery and idleness ------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.deliveryScheduled) return
    this.deliveryScheduled = true
    queueMicrotask(this.deliver)
  }

  /** One wake-up per turn for other threads, however many records this turn committed. */
  private notifyOthers(): void {
    if (!this.notifyPending) return
    this.notifyPending = false
    this.unnotified = 0
    this.core.notifyRecords()
  }

  private readonly deliver = (): void => {
    this.deliveryScheduled = false
    this.notifyOthers()
    this.wokeThisTurn = false
    if (this.closed) return
    if (this.shared && this.registry.behind()) this.registry.sync()
    const topics = [...this.dirty]
    this.dirty.clear()
    for (const topic of topics) for (const reader of topic.readers) reader.run()
    this.checkIdle()
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || this.deliveryScheduled) return
    for (const reader of this.readers) if (!reader.idle()) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  /** Resolves when everything deliverable now was delivered and every handler settled. */
  idle(): Promise<void> {
    if (this.closed) return Promise.reject(new BusClosedError('the bus is closed'))
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve)
      // also wakes readers of records that other threads appended
      for (const topic of this.topics.values()) this.dirty.add(topic)
      this.scheduleFlush()
    })
  }

  protected report(error: unknown, where: { topic: string; partition: number; offset: number }): void {
    const event = { error, topic: where.topic, partition: where.partition, offset: where.offset }
    if (this.events.listenerCount('error') > 0) this.events.emit('error', event)
    else console.error(`ringbus: handler failed on ${where.topic}/${where.partition}@${where.offset} (listen on bus.events 'error' to handle this)`, error)
  }

  // ---- retention --------------------------------------------------------------------------------

  /** Keeps one timer that applies age retention often enough that data never outlives maxAgeMs for long. */
  private armRetention(): void {
    this.cancelRetention?.()
    this.cancelRetention = undefined
    let shortest = Infinity
    for (const topic of this.topics.values()) if (topic.options.maxAgeMs > 0) shortest = Math.min(shortest, topic.options.maxAgeMs)
    if (shortest === Infinity || this.closed) return
    const period = Math.min(Math.max(shortest / 4, 1), 1000)
    this.cancelRetention = this.clock.setTimer(() => {
      this.cancelRetention = undefined
      this.core.retain(this.clock.now())
      this.armRetention()
    }, period)
  }

  // ---- observability ------------------------------------------------------------------------------

  /** Per-topic figures as a JSON-serialisable object (without prototype) keyed by topic name. */
  stats(): Record<string, TopicStats> {
    this.assertOpen()
    // topic names are user-chosen: '__proto__' or 'constructor' must be plain keys
    const out: Record<string, TopicStats> = Object.create(null)
    const now = this.clock.now()
    for (const topic of this.topics.values()) {
      const seconds = (now - topic.createdAt) / 1000
      out[topic.name] = {
        codec: topic.codecName,
        partitions: topic.ids.map((id, partition) => ({
          partition,
          startOffset: this.core.startOffset(id),
          endOffset: this.core.endOffset(id),
          bytes: this.core.bytes(id),
          segments: this.core.segments(id),
          evicted: this.core.evicted(id),
        })),
        readers: topic.readers.size,
        published: topic.published,
        delivered: topic.delivered,
        skipped: topic.skipped,
        publishRate: seconds > 0 ? topic.published / seconds : 0,
        deliverRate: seconds > 0 ? topic.delivered / seconds : 0,
      }
    }
    return out
  }

  // ---- worker threads ------------------------------------------------------------------------------

  /**
   * What a worker needs to join this bus: post it with its transfer list and call
   * attachBus(handle) in the worker. One handle per worker. On a bus in shared memory records
   * cross threads through it; otherwise (or with `{ transport: 'copy' }`) they are copied over
   * the handle's port, slower but with the same API.
   * @example
   * const h = bus.handle()
   * new Worker(url, { workerData: h, transferList: h.transfer })
   */
  handle(options?: { transport?: 'shared' | 'copy' }): BusHandle {
    this.assertOpen()
    const transport = options?.transport ?? (this.shared ? 'shared' : 'copy')
    if (transport !== 'shared' && transport !== 'copy') throw new InvalidArgumentError(`transport must be 'shared' or 'copy', got ${String(transport)}`, { argument: 'transport' })
    if (transport === 'shared' && !this.shared) throw new InvalidArgumentError("transport 'shared' needs a bus created with { shared: true } where shared memory is available", { argument: 'transport' })
    const exit = (event: WorkerExit) => this.events.emit('worker.exit', event)
    if (transport === 'shared') return createHandle(this.core, exit)
    return createCopyHandle({
      publish: (topic, value, publishOptions) => (this as Bus).publish(topic, value, publishOptions),
      publishBatch: (topic, records) => (this as Bus).publishBatch(topic, records),
      topic: (name, topicOptions) => (this as Bus).topic(name, topicOptions),
      read: (target, handler, readOptions, hooks) => this.reader(target, handler, readOptions, hooks),
      idle: () => this.idle(),
      stats: () => this.stats(),
      exit,
      onClose: (fn) => this.closers.push(fn),
    })
  }

  /** Records are in the log when publish returns; this resolves at once (a copying worker's bus waits here). */
  async flush(): Promise<void> {}

  /** Stops deliveries and timers; later calls throw BusClosedError. */
  async close(): Promise<void> {
    if (this.closed) return
    this.notifyOthers() // records committed in this turn still wake their readers elsewhere
    this.closed = true
    this.cancelRetention?.()
    for (const reader of [...this.readers]) reader.close()
    if (this.watching) this.core.wakeAll() // ends this thread's wait
    this.core.releaseLane()
    releaseDecodeSource() // msgpackr would keep a view of this log's memory until its next decode
    this.onClose?.()
    for (const end of this.closers.splice(0)) end()
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  [asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * Joins, from a worker thread, a bus another thread created. The bus has the same typed API; on
 * a shared handle records cross threads through the shared memory, on a copying one over the
 * port (there publish returns offset -1: see RemoteBus).
 * @example
 * const bus = await attachBus<Topics>(workerData)
 */
export async function attachBus<T extends TopicMap = TopicMap>(handle: BusHandle, options: AttachOptions = {}): Promise<WorkerBus<T>> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('attachBus options must be an object', { argument: 'options' })
  const timeoutMs = options.timeoutMs ?? 5000
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`, { argument: 'timeoutMs' })
  if (typeof handle !== 'object' || handle === null) throw notAHandle()
  if (handle.kind === 'ringbus/copy') {
    claimHandle(handle)
    return attachRemote<T>(handle, options.clock, timeoutMs)
  }
  if (handle.kind !== 'ringbus/shared') throw notAHandle()
  const bus = new Bus<T>(attachCore(handle), options)
  bus.onClose = () => detachCore(handle)
  // a worker that subscribed stays alive like one listening on a port, until its bus (or the
  // subscription) closes; a pending Atomics.waitAsync alone would let the thread end
  bus.keepAlive = (on) => keepAlive(handle.port, on)
  return bus
}

/** Shared memory is there to use (a browser page must be cross-origin isolated for it). */
function sharedMemoryWorks(): boolean {
  try {
    return typeof SharedArrayBuffer === 'function' && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor).buffer instanceof SharedArrayBuffer
  } catch {
    return false
  }
}

/**
 * Creates a bus. One type parameter, the topic map, types everything else. With
 * `{ shared: true }` where shared memory is unavailable, the bus is created without it and its
 * handles copy records instead.
 * @example
 * type Topics = { 'order.placed': { orderId: string; total: number }; tick: undefined }
 * const bus = await createBus<Topics>()
 */
export async function createBus<T extends TopicMap = TopicMap>(options: BusOptions = {}): Promise<Bus<T>> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('createBus options must be an object', { argument: 'options' })
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 64 * 1024) {
    throw new InvalidArgumentError(`maxBytes must be an integer of at least 64 KiB, got ${String(maxBytes)}`, { argument: 'maxBytes' })
  }
  if (options.shared !== undefined && typeof options.shared !== 'boolean') throw new InvalidArgumentError('shared must be a boolean', { argument: 'shared' })
  if (options.clock !== undefined && (typeof options.clock?.now !== 'function' || typeof options.clock?.setTimer !== 'function')) {
    throw new InvalidArgumentError('clock must have now() and setTimer(fn, ms)', { argument: 'clock' })
  }
  for (const name of ['maxPartitions', 'maxCursors', 'lanes', 'maxTopics'] as const) {
    const v = options[name]
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 1 << 20)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}`, { argument: name })
  }
  if (options.topicDefaults !== undefined) resolveTopicOptions(options.topicDefaults, undefined)
  const core = await LogCore.create({
    maxBytes, shared: options.shared === true && sharedMemoryWorks(), segmentBytes: options.segmentBytes, maxPartitions: options.maxPartitions,
    maxCursors: options.maxCursors, lanes: options.lanes, maxTopics: options.maxTopics, wasm: options.wasm,
  })
  return new Bus<T>(core, options)
}
