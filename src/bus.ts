// The typed facade: createBus() and attachBus() wire the core, topics, publishing, delivery and
// workers together, and Bus delegates each call to the module that owns it. Publishing is
// synchronous (the record is in the log when publish returns); delivery runs in a microtask.
import { EventEmitter } from 'eventemitter3'
import type { BusApi, PublishArgs, TopicInfo, Transaction } from './api.js'
import { realClock, type Clock } from './clock.js'
import { asyncDispose } from './dispose.js'
import { releaseDecodeSource } from './codec/codecs.js'
import { LogCore } from './core/log.js'
import { DeliveryScheduler } from './delivery/scheduler.js'
import { Wakeups } from './delivery/wakeups.js'
import { BusClosedError, InvalidArgumentError } from './errors.js'
import { Groups, type GroupLag, type MemberHooks } from './groups/groups.js'
import type { GroupMember } from './groups/member.js'
import type { RedriveOptions } from './groups/redrive.js'
import type { Transaction as RawTransaction } from './groups/transaction.js'
import type { GroupPort } from './groups/port-link.js'
import { Publisher } from './publish/publisher.js'
import { Router } from './exchanges/router.js'
import { Queues } from './queues/queues.js'
import { RequestReply } from './rpc/request-reply.js'
import { Reader, type ReaderHost } from './reader/reader.js'
import { closeOnAbort, readerOptions, ReadingSurface, type ReaderLike } from './reader/surface.js'
import { compileSubscription } from './topic/names.js'
import { loadTracing, type Tracing } from './tracing/tracing.js'
import { TopicRegistry } from './topic/registry.js'
import { RetentionTimer } from './topic/retention-timer.js'
import { StatsRecorder } from './topic/stats-recorder.js'
import { resolveTopicOptions, type Delivered, type Topic } from './topic/topic.js'
import { attachCore, claimHandle, detachCore, keepAlive, listen, notAHandle, type BusHandle } from './worker/handle.js'
import { createWorkerHandle, type HandleOptions } from './worker/handles.js'
import { attachRemote } from './worker/remote-bus.js'
import type {
  BatchRecord, Binding, BusEvents, BusOptions, ConsumeQueueOptions, ExchangeOptions, ExchangeType, PublishOptions, QueueConsumer, QueueDelivery,
  QueueOptions, QueueStats, RecordMetadata, RequestOptions, SendOptions, SendResult, SubscribeOptions, TopicMap, TopicName, TopicOptions, TopicStats,
  ValueArgs,
} from './types.js'

export type { TopicInfo } from './api.js'

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024

/** Options of attachBus: the clock and any custom codecs this thread needs. */
export type AttachOptions = Pick<BusOptions, 'clock' | 'codecs' | 'topicDefaults' | 'tracing'> & {
  /**
   * How long to wait for the creating thread to answer a copying handle, in ms of real time
   * (default 5000); then attachBus rejects with a RequestTimeoutError. A shared handle needs no
   * answer.
   */
  timeoutMs?: number
}

/**
 * What attachBus returns: the bus API a worker uses, whichever transport carries it. The name
 * from before BusApi was declared; both are the same type.
 */
export type WorkerBus<T extends TopicMap = TopicMap> = BusApi<T>

/** What a thread that attached to another's bus hands its Bus (see attachBus). */
export interface AttachedThread {
  /** The port to the creating thread, where this worker's group members reach the coordinator. */
  readonly port: GroupPort
  /** Routes what the creating thread sends to `receive`. */
  listen(receive: (data: unknown) => void): void
  /** Tells the creating thread this worker closed its bus. */
  onClose(): void
  /** Keeps the worker thread alive while it has readers waiting for records. */
  keepAlive(on: boolean): void
}

export class Bus<T extends TopicMap = TopicMap> extends ReadingSurface<T> implements BusApi<T> {
  readonly events = new EventEmitter<BusEvents>()
  readonly clock: Clock
  /** @internal the log this bus runs on (tests reach it; users never need it) */
  readonly core: LogCore
  private readonly registry: TopicRegistry
  /** User topics by name (the registry's map). */
  private readonly topics: ReadonlyMap<string, Topic>
  private readonly recorder: StatsRecorder
  private readonly publisher: Publisher
  private readonly delivery: DeliveryScheduler
  private readonly wakeups: Wakeups
  private readonly retention: RetentionTimer
  private readonly host: ReaderHost
  private readonly groups: Groups
  private readonly queues: Queues
  private readonly router: Router
  private readonly rpc: RequestReply
  private closed = false
  /** Copying handles to end when this bus closes. */
  private readonly closers: Array<() => void> = []

  /** Not for users: createBus() and attachBus() make buses. */
  constructor(core: LogCore, options: BusOptions, private readonly tracing: Tracing | undefined, private readonly thread?: AttachedThread) {
    super()
    this.core = core
    this.clock = options.clock ?? realClock
    const registry = this.registry = new TopicRegistry(core, this.clock, options, {
      grew: (topic, from) => this.delivery.grew(topic, from),
      created: (topic) => this.events.emit('topic.created', { topic: topic.name, partitions: topic.partitions }),
    })
    this.topics = registry.byName
    this.recorder = new StatsRecorder(core)
    this.retention = new RetentionTimer(this.clock, core, this.topics)
    this.wakeups = new Wakeups(core, {
      watching: () => !this.closed && this.delivery.readers.size > 0,
      othersCommitted: () => { registry.sync(); this.delivery.deliverAll() },
      keepAlive: thread && ((on) => thread.keepAlive(on)),
    })
    this.delivery = new DeliveryScheduler(this.topics, {
      turnEnded: () => this.wakeups.turnEnded(),
      beforeDelivery: () => { if (core.shared && registry.behind()) registry.sync() },
    })
    const shared = core.shared
    this.publisher = new Publisher({
      core, registry,
      appended: (topic, count) => {
        this.recorder.published(topic, count)
        // on a shared bus other threads are woken now or at the turn's end (which must come)
        if (shared) this.wakeups.committed(count)
        this.delivery.appended(topic, shared)
      },
      topicCreated: () => this.retention.arm(),
      tracing,
    })
    // the coordinator lives in the creating thread; a worker's members reach it over the port
    const groups = this.groups = new Groups({
      core,
      clock: this.clock,
      registry,
      publisher: this.publisher,
      recorder: this.recorder,
      skipped: (event) => this.events.emit('skipped', event),
      handlerFailed: (error, where) => this.report(error, where),
      poison: (event) => this.events.emit('poison', event),
      rebalanced: (event) => this.events.emit('group.rebalance', event),
      opened: (member) => {
        registry.sync()
        this.delivery.add(member)
      },
      settled: () => this.delivery.settled(),
      closed: (member) => this.delivery.removeReader(member),
    }, thread?.port)
    thread?.listen((data) => groups.receive(data))
    const queues = this.queues = new Queues({
      core,
      clock: this.clock,
      deadLetter: (exchange, letter) => this.router.deadLetter(exchange, letter),
      changed: () => {
        // only when the core woke a consumer another thread owns (its empty mailbox got a message,
        // or it was cancelled): that thread may be waiting for it; a busy one is not disturbed
        if (!core.shared || core.queues.takeWakes() === 0) return
        this.wakeups.committed(1)
        // what this turn changed wakes other threads when it ends: make sure one ends
        this.delivery.endTurnSoon()
      },
      addConsumer: (consumer) => {
        this.delivery.addOther(consumer)
        this.wakeups.watch()
      },
      removeConsumer: (consumer) => this.delivery.removeReader(consumer),
      poke: (consumer) => this.delivery.poke(consumer),
      handlerFailed: (error, queue) => {
        if (this.events.listenerCount('queue.error') > 0) this.events.emit('queue.error', { error, queue })
        else console.error(`ringbus: a consumer of queue ${queue} failed (listen on bus.events 'queue.error' to handle this)`, error)
      },
      settled: () => this.delivery.settled(),
      tracing,
    })
    const router = this.router = new Router({ core, clock: this.clock, queues, publisher: this.publisher, registry, tracing })
    queues.onDeleted = (id) => router.unbindQueue(id)
    this.rpc = new RequestReply({
      clock: this.clock,
      replyQueue: (name, handler) => {
        queues.declare(name, {})
        const consumer = queues.consume(name, handler, { noAck: true })
        return { end: () => { void consumer.cancel(); queues.delete(name) } }
      },
      replier: (queue, handler, options) => {
        if (queues.find(queue) < 0) queues.declare(queue, {})
        return queues.consume(queue, handler, options)
      },
      send: (exchange, routingKey, value, options) => {
        router.send(exchange, routingKey, value, options)
        return undefined
      },
    })
    this.host = {
      core,
      recorder: this.recorder,
      skipped: (event) => this.events.emit('skipped', event),
      handlerFailed: (error, where) => this.report(error, where),
      readerSettled: () => this.delivery.settled(),
      readerClosed: (reader) => this.delivery.removeReader(reader),
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('the bus is closed')
  }

  topic<K extends TopicName<T>>(name: K, options?: TopicOptions): TopicInfo {
    this.assertOpen()
    const topic = this.registry.declare(name, options)
    this.retention.arm()
    return { name, partitions: topic.partitions }
  }

  /** Synchronous: the record is in the log, and replayable, when this returns. */
  publish<K extends TopicName<T>>(topic: K, ...args: PublishArgs<T, K>): RecordMetadata<K>
  publish(topic: string, value?: unknown, options?: PublishOptions): RecordMetadata {
    this.assertOpen()
    return this.publisher.publish(topic, value, options, this.clock.now())
  }

  publishBatch<K extends TopicName<T>>(topic: K, records: ReadonlyArray<BatchRecord<T[K]>>): RecordMetadata<K>[] {
    this.assertOpen()
    return this.publisher.publishBatch(topic, records, this.clock.now()) as RecordMetadata<K>[]
  }

  emit<K extends TopicName<T>>(topic: K, ...args: ValueArgs<T, K>): boolean
  emit(topic: string, value?: unknown): boolean {
    ;(this as Bus).publish(topic, value)
    return this.topics.get(topic)!.readers.size > 0
  }

  protected openReader(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions | undefined): ReaderLike {
    const traced = this.tracing?.wrap(handler) ?? handler
    if (options?.group === undefined) return this.reader(target, traced, options)
    return this.member(target, traced, options)
  }

  /** A group member in this thread; `hooks` send its reports elsewhere (a copying worker's member). */
  private member(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions, hooks?: MemberHooks): GroupMember {
    this.assertOpen()
    const member = this.groups.open(target, handler, options, hooks)
    closeOnAbort(member, options.signal)
    this.wakeups.watch()
    return member
  }

  /**
   * Republishes dead letters to the topic each came from (or `to`), each once: a redrive goes on
   * where the last one of this dead-letter topic stopped. `filter` picks which are republished
   * (the rest are passed over for good); `limit` caps how many (the rest wait for the next one).
   * Resolves to how many were republished.
   * @example const count = await bus.redrive('jobs.dlq', { filter: (m) => m.headers['ringbus.dlq.attempts'] === '3' })
   */
  async redrive(dlqTopic: string, options?: RedriveOptions): Promise<number> {
    this.assertOpen()
    return this.groups.redrive(dlqTopic, options)
  }

  /**
   * Records derived from consumed ones and the consumed positions, visible together or not at
   * all: tx.publish collects records, tx.commit(msg) adds a group member's position; when `fn`
   * returns they are appended and committed, when it throws nothing is. Resolves to the
   * coordinates of the records, in the order they were added.
   * @example
   * bus.subscribe('order.placed', (msg) => bus.transaction((tx) => {
   *   tx.publish('invoice.created', { orderId: msg.value.orderId })
   *   tx.commit(msg)
   * }), { group: 'billing' })
   */
  transaction(fn: (tx: Transaction<T>) => unknown): Promise<RecordMetadata[]> {
    this.assertOpen()
    return this.groups.transaction(fn as (tx: RawTransaction) => unknown)
  }

  /**
   * How far a consumer group is behind, per topic and partition: end offset - committed offset
   * (from the log start where it committed nothing yet).
   * @example bus.lag('email-service')['order.placed'][0]
   */
  lag(group: string): GroupLag {
    this.assertOpen()
    if (typeof group !== 'string') throw new InvalidArgumentError('lag needs a group name', { argument: 'group' })
    return this.groups.lag(group)
  }

  exchange(name: string, options?: ExchangeOptions): { exchange: string; type: ExchangeType } {
    this.assertOpen()
    return this.router.exchange(name, options)
  }

  queue(name: string, options?: QueueOptions): { queue: string; messages: number; consumers: number } {
    this.assertOpen()
    return this.queues.declare(name, options)
  }

  bind(binding: Binding): boolean {
    this.assertOpen()
    return this.router.bind(binding)
  }

  unbind(binding: Binding): boolean {
    this.assertOpen()
    return this.router.unbind(binding)
  }

  send(exchange: string, routingKey: string, value: unknown, options?: SendOptions): SendResult {
    this.assertOpen()
    return this.router.send(exchange, routingKey, value, options)
  }

  consumeQueue<V = unknown>(queue: string, handler: (delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    this.assertOpen()
    return this.queues.consume(queue, handler as (delivery: QueueDelivery) => unknown, options)
  }

  get<V = unknown>(queue: string, options?: { noAck?: boolean }): QueueDelivery<V> | undefined {
    this.assertOpen()
    return this.queues.get(queue, options) as QueueDelivery<V> | undefined
  }

  request<R = unknown>(queue: string, value: unknown, options?: RequestOptions): Promise<R> {
    this.assertOpen()
    return this.rpc.request(queue, value, options) as Promise<R>
  }

  reply<V = unknown>(queue: string, handler: (value: V, delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    this.assertOpen()
    return this.rpc.reply(queue, handler as (value: unknown, delivery: QueueDelivery) => unknown, options)
  }

  queueStats(): Record<string, QueueStats> {
    this.assertOpen()
    return this.queues.stats()
  }

  /** A reader in this thread; `hooks` send its reports elsewhere (a copying worker's reader). */
  private reader(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions | undefined,
    hooks?: Pick<ReaderHost, 'skipped' | 'handlerFailed'>): Reader {
    this.assertOpen()
    const reader = new Reader(hooks === undefined ? this.host : { ...this.host, ...hooks }, compileSubscription(target), handler, readerOptions(options))
    this.registry.sync()
    this.delivery.add(reader)
    closeOnAbort(reader, options?.signal)
    reader.wake()
    this.wakeups.watch()
    return reader
  }

  idle(): Promise<void> {
    return this.delivery.idle()
  }

  stats(): Record<string, TopicStats> {
    this.assertOpen()
    const stats = this.recorder.snapshot(this.topics.values(), this.clock.now())
    this.groups.annotate(stats)
    return stats
  }

  /**
   * What a worker needs to join this bus: post it with its transfer list and call
   * attachBus(handle) in the worker. One handle per worker. On a bus in shared memory records
   * cross threads through it; otherwise (or with `{ transport: 'copy' }`) they are copied over
   * the handle's port, slower but with the same API.
   * @example
   * const h = bus.handle()
   * new Worker(url, { workerData: h, transferList: h.transfer })
   */
  handle(options?: HandleOptions): BusHandle {
    this.assertOpen()
    return createWorkerHandle(this.core, options, {
      publish: (topic, value, publishOptions) => (this as Bus).publish(topic, value, publishOptions),
      publishBatch: (topic, records) => (this as Bus).publishBatch(topic, records),
      topic: (name, topicOptions) => (this as Bus).topic(name, topicOptions),
      read: (target, handler, readOptions, hooks) => this.reader(target, handler, readOptions, hooks),
      idle: () => this.idle(),
      stats: () => this.stats(),
      lags: () => this.groups.lags(),
      transaction: (records, commits) => this.groups.transaction((tx) => {
        for (const { topic, value, options } of records) tx.publish(topic, value, options)
        for (const message of commits) tx.commit(message)
      }),
      redrive: (topic, redriveOptions) => this.redrive(topic, redriveOptions),
      lag: (group) => this.lag(group),
      topicLag: (group, topic) => this.groups.topicLag(group, topic),
      join: (target, handler, memberOptions, hooks) => this.member(target, handler, memberOptions, hooks),
      rebalances: (watcher) => this.groups.rebalances(watcher),
      exchange: (name, exchangeOptions) => this.exchange(name, exchangeOptions),
      queue: (name, queueOptions) => this.queue(name, queueOptions),
      bind: (binding) => this.bind(binding),
      unbind: (binding) => this.unbind(binding),
      send: (exchange, routingKey, value, sendOptions) => this.send(exchange, routingKey, value, sendOptions),
      consumeQueue: (queue, handler, consumeOptions) => this.consumeQueue(queue, handler, consumeOptions),
      ensureQueue: (name) => {
        this.assertOpen()
        if (this.queues.find(name) < 0) this.queues.declare(name, {})
      },
      deleteQueue: (name) => {
        this.assertOpen()
        this.queues.delete(name)
      },
      queueStats: () => this.queueStats(),
      exit: (event) => {
        // what the worker held went back to its queues (recovery): consumers here may take it now
        if (!this.closed) for (const { id } of this.core.queues.queues()) this.queues.settledIn(id)
        this.events.emit('worker.exit', event)
      },
      onClose: (fn) => this.closers.push(fn),
      serve: (port) => this.groups.serve(port),
    })
  }

  /** Records are in the log when publish returns; this resolves at once. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return
    this.wakeups.notify() // records committed in this turn still wake their readers elsewhere
    this.closed = true
    this.retention.stop()
    this.rpc.close()
    this.queues.close()
    this.groups.close()
    this.delivery.close()
    this.wakeups.stop()
    this.core.releaseLane()
    releaseDecodeSource() // msgpackr would keep a view of this log's memory until its next decode
    this.thread?.onClose()
    for (const end of this.closers.splice(0)) end()
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
    return attachRemote<T>(handle, options.clock, timeoutMs, await loadTracing(options.tracing))
  }
  if (handle.kind !== 'ringbus/shared') throw notAHandle()
  const tracing = await loadTracing(options.tracing)
  return new Bus<T>(await attachCore(handle), options, tracing, {
    port: handle.port,
    listen: (receive) => listen(handle, receive),
    onClose: () => detachCore(handle),
    // a worker that subscribed stays alive like one listening on a port, until its bus (or the
    // subscription) closes; a pending Atomics.waitAsync alone would let the thread end
    keepAlive: (on) => keepAlive(handle.port, on),
  })
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
  const tracing = await loadTracing(options.tracing)
  const core = await LogCore.create({
    maxBytes, shared: options.shared === true && sharedMemoryWorks(), segmentBytes: options.segmentBytes, maxPartitions: options.maxPartitions,
    maxCursors: options.maxCursors, lanes: options.lanes, maxTopics: options.maxTopics, maxGroups: options.maxGroups,
    maxDedupEntries: options.maxDedupEntries, routeBytes: options.routeBytes, queueBytes: options.queueBytes, wasm: options.wasm,
  })
  return new Bus<T>(core, options, tracing)
}
