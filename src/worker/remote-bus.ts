// The worker's side of the copying transport: the same typed API as a bus, for a thread that
// cannot share the log's memory. What it publishes is copied (structured clone, at publish time,
// so later changes to the value do not leak in) and sent to the creating thread once per turn;
// what it reads comes back in batches. Two things differ from a shared bus, because only the
// creating thread assigns offsets: publish returns offset -1 (and partition -1 unless one was
// given), like Kafka's producer with acks=0, and errors the log raises later (a full partition
// with onFull 'reject', say) are reported on bus.events 'error'. `await bus.flush()` waits until
// the creating thread has appended everything published so far.
//
// Exchanges and queues (RabbitMQ's model) live in the creating thread too. exchange(), queue(),
// bind(), unbind() and send() are checked here (bad input throws at once, with the errors the
// creating thread would throw) and carried out there in order with what this thread publishes;
// what only that thread can refuse (an unknown exchange or queue, a redeclaration with other
// options, a mandatory message nothing takes, a full queue refusing a message) is reported on
// bus.events 'error' (topic '', partition and offset -1; the error names the exchange or queue).
// So send() returns { routed: [], refused: [] }, bind() and unbind() return true, and queue()
// returns the figures of queueStats() (the creating thread's as of its last answer). A queue
// consumer lives in the creating thread, which holds its unacked deliveries; its handler runs
// here. get() cannot cross threads: a synchronous pull needs the queue in this thread's memory.
import { EventEmitter } from 'eventemitter3'
import type { BusApi, PublishArgs, Transaction } from '../api.js'
import { realClock, type Clock } from '../clock.js'
import { asyncDispose } from '../dispose.js'
import { BusClosedError, BusError, CodecError, InvalidArgumentError, RequestTimeoutError } from '../errors.js'
import { handOver } from '../reader/delivery-loop.js'
import { closeOnAbort, readerOptions, ReadingSurface, type ReaderLike } from '../reader/surface.js'
import { checkSeekTarget } from '../reader/seek-target.js'
import { compileSubscription, validateTopicName } from '../topic/names.js'
import { checkPublishOptions } from '../publish/publish-options.js'
import { resolveTopicOptions, type Delivered } from '../topic/topic.js'
import type { Tracing } from '../tracing/tracing.js'
import type {
  BatchRecord, Binding, BusEvents, ConsumeQueueOptions, ExchangeOptions, ExchangeType, HeaderValue, PublishOptions, QueueConsumer, QueueDelivery,
  QueueOptions, QueueStats, RecordMetadata, RequestOptions, SeekTarget, SendOptions, SendResult, SkippedEvent, SubscribeOptions, TopicMap, TopicName,
  TopicOptions, TopicStats, ValueArgs,
} from '../types.js'
import { checkBindingInput, checkExchange, checkSend, NOTHING_ROUTED } from '../exchanges/router.js'
import { checkConsumeOptions, checkQueueName, checkQueueOptions } from '../queues/queue-options.js'
import { RemoteConsumer, type ConsumerBus } from './remote-queues.js'
import { cancelOnAbort } from '../queues/consumer.js'
import { RequestReply } from '../rpc/request-reply.js'
import { groupOptions } from '../groups/group-options.js'
import type { GroupLag } from '../groups/groups.js'
import type { RedriveOptions } from '../groups/redrive.js'
import { fromColumns, fromWire, isSend, isSettle, type Assignment, type ToOwner, type ToWorker, type TransactionRecord, type WireBatch, type WireRecord, type WireSend } from './copy-wire.js'
import { keepAlive, unref, type CopyHandle } from './handle.js'
import { onPortClose, proveAlive, stopProving, type Liveness } from './liveness.js'
import { deliveries, RemoteMember, type MemberBus } from './remote-member.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** Records a long synchronous burst sends at a time (else they go at the end of the turn). */
const OUTBOX_MAX = 256

/** A subscription of this worker, read by the creating thread and delivered here. */
class RemoteReader implements ReaderLike {
  paused = false
  closed = false
  private readonly closeHooks: Array<() => void> = []
  private epoch = 0
  private readonly queue: WireBatch[] = []
  /** Next record of queue[0] to deliver, the first whose position is not recorded yet, and its next skip report. */
  private pos = 0
  private recorded = 0
  private skipPos = 0
  private running = false
  private readonly positions = new Map<string, Assignment>()
  /** What this thread handed to the handler since the last seek: next offset per topic/partition. */
  private readonly delivered = new Map<string, Assignment>()

  constructor(readonly id: number, readonly matches: (topic: string) => boolean, private readonly bus: RemoteBus,
    private readonly handler: (message: Delivered) => unknown) {}

  receive(message: Extract<ToWorker, { op: 'batch' | 'assigned' }>): void {
    if (message.op === 'assigned') {
      if (message.epoch !== this.epoch) return
      for (const a of message.assignments) this.positions.set(`${a.topic}/${a.partition}`, a)
      return
    }
    if (message.epoch !== this.epoch || this.closed) this.bus.acknowledge(this.id) // overtaken by a seek
    else {
      this.queue.push(message.batch)
      this.run()
    }
  }

  private run(): void {
    if (this.running || this.paused || this.closed) return
    this.running = true
    this.loop()
  }

  private readonly proceed = (): void => this.loop()
  private readonly report = (error: unknown, where: { topic: string; partition: number; offset: number }): void => this.bus.report(error, where)

  private loop(): void {
    while (this.queue.length > 0 && !this.paused && !this.closed) {
      const batch = this.queue[0]
      const length = batch.values.length
      for (;;) {
        if (this.paused || this.closed) return this.stop()
        while (batch.skips !== undefined && this.skipPos < batch.skips.length && batch.skips[this.skipPos].at <= this.pos) this.skipped(batch.skips[this.skipPos++].event)
        if (this.pos === length) break
        if (handOver(this.handler, fromColumns(batch, this.pos++), this.report, this.proceed)) return
      }
      this.record()
      this.queue.shift()
      this.pos = this.recorded = this.skipPos = 0
      this.bus.acknowledge(this.id)
    }
    this.stop()
  }

  private stop(): void {
    this.running = false
    this.bus.settled()
  }

  /** Nothing of this reader is waiting to be handed over here. */
  idle(): boolean {
    return this.closed || this.paused || (!this.running && this.queue.length === 0)
  }

  /** Reports records lost to retention; the position moves past them, as the creating thread's reader did. */
  private skipped(event: SkippedEvent): void {
    this.record()
    const next = { topic: event.topic, partition: event.partition, next: event.to }
    const key = `${event.topic}/${event.partition}`
    this.positions.set(key, next)
    this.delivered.set(key, next)
    this.bus.events.emit('skipped', event)
  }

  /** Records the positions of what was delivered from the current batch (once per batch, or when asked). */
  private record(): void {
    const batch = this.queue[0]
    for (let i = this.recorded; i < this.pos; i++) {
      const next = { topic: batch.topics[i], partition: batch.partitions[i], next: batch.offsets[i] + 1 }
      const key = `${next.topic}/${next.partition}`
      this.positions.set(key, next)
      this.delivered.set(key, next)
    }
    this.recorded = this.pos
  }

  /** Drops what was received but not delivered, acknowledging it so the creating thread goes on. */
  private drop(): void {
    if (this.queue.length > 0) this.record()
    for (let i = this.queue.length; i > 0; i--) this.bus.acknowledge(this.id)
    this.queue.length = 0
    this.pos = this.recorded = this.skipPos = 0
  }

  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    this.bus.post({ op: 'pause', id: this.id })
  }

  resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.bus.post({ op: 'resume', id: this.id })
    queueMicrotask(() => this.run()) // as on a shared bus: nothing is delivered inside resume()
  }

  seek(target: SeekTarget): void {
    // checked before the reader drops anything: what is sent must be cloneable
    const { byTime, value, partition } = checkSeekTarget(target)
    this.epoch++
    this.drop()
    this.bus.post({ op: 'seek', id: this.id, epoch: this.epoch, target: byTime ? { timestamp: value } : { partition, offset: value }, delivered: [...this.delivered.values()] })
    this.delivered.clear()
    this.positions.clear()
  }

  assignments(): Array<{ topic: string; partition: number }> {
    if (this.queue.length > 0) this.record()
    return [...this.positions.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  position(topic: string, partition: number): number | undefined {
    if (this.queue.length > 0) this.record()
    return this.positions.get(`${topic}/${partition}`)?.next
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.drop()
    this.bus.post({ op: 'close', id: this.id })
    this.bus.readerClosed(this)
    for (const fn of this.closeHooks.splice(0)) fn()
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.closeHooks.push(fn)
  }
}

export class RemoteBus<T extends TopicMap = TopicMap> extends ReadingSurface<T> implements BusApi<T> {
  readonly events = new EventEmitter<BusEvents>()
  private outbox: WireRecord[] = []
  /** Requests answered with a result, by seq. */
  private readonly answers = new Map<number, (result: unknown, error: Error | undefined) => void>()
  private flushScheduled = false
  /** Records (or batches) published so far, so idle() can tell whether its handlers published more. */
  private queued = 0
  private seq = 0
  private readonly replies = new Map<number, () => void>()
  private readonly readers = new Map<number, RemoteReader>()
  /** Group members (they live in the creating thread; their handlers here), until they left. */
  private readonly members = new Map<number, RemoteMember>()
  /** Queue consumers (they live in the creating thread; their handlers here), until cancelled. */
  private readonly consumers = new Map<number, RemoteConsumer>()
  /** What the creating thread refuses of a ticketed send (a request's), by ticket. */
  private readonly tickets = new Map<number, (error: Error) => void>()
  private nextTicket = 1
  /** Queue figures as of the creating thread's last answer (without prototype). */
  private queueSnapshot: Record<string, QueueStats> = Object.create(null)
  private nextReader = 1
  /** Without prototype: topic names such as '__proto__' or 'toString' are plain keys. */
  private snapshot: Record<string, TopicStats> = Object.create(null)
  /** Every group's lag as of the creating thread's last answer, by group name (without prototype). */
  private lags: Record<string, GroupLag> = Object.create(null)
  private closed = false
  private idleWaiters: Array<() => void> = []

  /** @internal use attachBus() */
  constructor(private readonly port: MessagePort, readonly clock: Clock = realClock, private readonly liveness?: Liveness, private readonly tracing?: Tracing) {
    super()
    this.rpc = new RequestReply({
      clock,
      // declared there, consumed here, deleted there when this consumer ends or the worker goes away
      replyQueue: (name, handler) => {
        this.queue(name)
        const consumer = this.openConsumer(name, handler, { noAck: true }, { declare: false, autoDelete: true })
        return { end: () => void consumer.end(false) }
      },
      replier: (queue, handler, options) => this.openConsumer(queue, handler, options, { declare: true, autoDelete: false }),
      send: (exchange, routingKey, value, options, refused) => this.sendCopy(exchange, routingKey, value, options, refused),
    })
    port.onmessage = (event: MessageEvent) => this.receive(event.data as ToWorker)
    onPortClose(port, () => this.ended())
    unref(port)
  }

  /** The end was handled (the creating bus said it closed, and its port closed). */
  private over = false

  /** @internal Gives up on a creating thread that never answered: the port closes, nothing stays alive. */
  abandon(): void {
    this.port.close()
    this.ended()
  }

  /** The creating thread's bus closed (or this one did): nothing more will come; nobody waits forever. */
  private ended(): void {
    if (this.over) return
    this.over = true
    this.closed = true
    stopProving(this.liveness)
    for (const reader of [...this.readers.values()]) reader.close()
    for (const member of [...this.members.values()]) member.finish(true)
    for (const consumer of [...this.consumers.values()]) void consumer.end(false)
    this.tickets.clear()
    this.rpc.close()
    for (const resolve of this.replies.values()) resolve()
    this.replies.clear()
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('the bus is closed')
  }

  // ---- the port ---------------------------------------------------------------------------------

  /** @internal Sends a request after everything published before it, in order. */
  post(message: ToOwner): void {
    this.sendOutbox()
    this.port.postMessage(message) // a closed port drops it
  }

  private readonly sendOutbox = (): void => {
    this.flushScheduled = false
    if (this.outbox.length === 0) return
    const records = this.outbox
    this.outbox = []
    // idle() waiters held back only by this flush may go once it is sent
    if (this.idleWaiters.length > 0) queueMicrotask(() => this.settled())
    try {
      this.port.postMessage({ op: 'publish', records } satisfies ToOwner)
    } catch {
      // publish copied every record, so this is not expected; should one still fail to clone, it
      // must not take the other records of its turn with it, nor throw out of a microtask
      for (const record of records) {
        try {
          this.port.postMessage({ op: 'publish', records: [record] } satisfies ToOwner)
        } catch (error) {
          if (isSend(record)) {
            this.report(new CodecError(`a message sent to exchange ${JSON.stringify(record.exchange)} could not be sent to the creating thread: ${(error as Error)?.message ?? error}`,
              { exchange: record.exchange, routingKey: record.routingKey, cause: error }), { topic: '', partition: -1, offset: -1 })
            continue
          }
          if (isSettle(record)) continue // numbers: not expected to fail
          const partition = ('options' in record ? record.options?.partition : undefined) ?? -1
          this.report(new CodecError(`a record for topic ${record.topic} could not be sent to the creating thread: ${(error as Error)?.message ?? error}`,
            { topic: record.topic, partition, offset: -1, cause: error }), { topic: record.topic, partition, offset: -1 })
        }
      }
    }
  }

  /** Sends a request the creating thread answers with a result (or an error). */
  private ask(message: DistributiveOmit<Extract<ToOwner, { op: 'transaction' | 'redrive' }>, 'seq'>): Promise<unknown> {
    const seq = ++this.seq
    const answered = new Promise<unknown>((resolve, reject) => this.answers.set(seq, (result, error) => error === undefined ? resolve(result) : reject(error)))
    this.post({ ...message, seq } as ToOwner)
    this.keep()
    return answered
  }

  /**
   * Runs `fn` here and the transaction in the creating thread, where the log is: the records
   * and the commits of messages this worker's group members are handling go there together,
   * when `fn` returns; when it throws, nothing is sent.
   */
  async transaction(fn: (tx: Transaction<T>) => unknown): Promise<RecordMetadata[]> {
    this.assertOpen()
    if (typeof fn !== 'function') throw new InvalidArgumentError('transaction needs a function', { argument: 'fn' })
    const records: TransactionRecord[] = []
    const commits: Array<{ id: number; seq: number }> = []
    let open = true
    const live = (): void => {
      if (!open) throw new InvalidArgumentError('the transaction has ended: use tx only inside its function', { argument: 'tx' })
    }
    const tx = {
      publish: (topic: string, value?: unknown, options?: PublishOptions) => {
        live()
        validateTopicName(topic)
        checkPublishOptions(topic, options, 0)
        records.push({ topic, value, options })
      },
      commit: (message: { topic: string; partition: number; offset: number }) => {
        live()
        const delivery = typeof message === 'object' && message !== null ? deliveries.get(message) : undefined
        if (delivery === undefined) throw new InvalidArgumentError('tx.commit takes a message a consumer-group member of this thread is handling now', { argument: 'message' })
        commits.push(delivery)
      },
    }
    try {
      await fn(tx as Transaction<T>)
    } finally {
      open = false
    }
    try {
      return await this.ask({ op: 'transaction', records, commits }) as RecordMetadata[]
    } catch (error) {
      throw error instanceof Error && error.name === 'DataCloneError' ? new CodecError(`a transaction's record cannot be copied to the creating thread: ${error.message}`, { cause: error }) : error
    }
  }

  /**
   * Redrives in the creating thread (see Bus.redrive). A filter is a function and cannot cross
   * threads: on a copying worker redrive takes `limit` and `to` only.
   */
  async redrive(dlqTopic: string, options?: RedriveOptions): Promise<number> {
    this.assertOpen()
    if (options?.filter !== undefined) throw new InvalidArgumentError('a redrive filter cannot cross threads: redrive with a filter in the creating thread or a worker on shared memory', { argument: 'filter' })
    return await this.ask({ op: 'redrive', topic: dlqTopic, options: options === undefined ? undefined : { limit: options.limit, to: options.to } }) as number
  }

  /** A request the creating thread answers once it has handled everything sent before it. */
  private roundTrip(op: 'sync' | 'idle' | 'closed'): Promise<void> {
    const seq = ++this.seq
    const answered = new Promise<void>((resolve) => this.replies.set(seq, resolve))
    this.post({ op, seq })
    this.keep()
    return answered
  }

  /** The thread stays alive while it reads or waits for an answer, like one listening on a port. */
  private keep(): void {
    keepAlive(this.port, !this.closed && (this.readers.size > 0 || this.members.size > 0 || this.consumers.size > 0 || this.replies.size > 0))
  }

  private receive(message: ToWorker): void {
    switch (message.op) {
      case 'closed':
        this.ended()
        return
      case 'batch':
      case 'assigned': {
        const reader = this.readers.get(message.id)
        if (reader !== undefined) reader.receive(message)
        else if (message.op === 'batch') this.acknowledge(message.id)
        return
      }
      case 'error':
        this.report(fromWire(message.error), message)
        return
      case 'done': {
        this.snapshot = Object.assign(Object.create(null), message.stats)
        this.lags = Object.assign(Object.create(null), message.lags)
        this.queueSnapshot = Object.assign(Object.create(null), message.queues)
        const resolve = this.replies.get(message.seq)
        this.replies.delete(message.seq)
        this.keep()
        resolve?.()
        return
      }
      case 'group.rebalance':
        this.events.emit('group.rebalance', message.event)
        return
      case 'group.poison':
        this.events.emit('poison', { ...message.event, error: fromWire(message.event.error) })
        return
      case 'group.skipped':
        this.events.emit('skipped', message.event)
        return
      case 'answer': {
        const settle = this.answers.get(message.seq)
        this.answers.delete(message.seq)
        this.keep()
        settle?.(message.result, message.error === undefined ? undefined : fromWire(message.error))
        return
      }
      case 'queue.deliver':
        this.consumers.get(message.id)?.receive(message.deliveries)
        return
      case 'queue.refused': {
        const consumer = this.consumers.get(message.id)
        if (consumer === undefined) return
        void consumer.end(false)
        this.report(fromWire(message.error), { topic: '', partition: -1, offset: -1 })
        return
      }
      case 'send.refused': {
        const refused = this.tickets.get(message.ticket)
        this.tickets.delete(message.ticket)
        refused?.(fromWire(message.error))
        return
      }
      default:
        this.members.get(message.id)?.receive(message)
    }
  }

  /** What the members need of this bus. */
  private readonly memberBus: MemberBus = {
    send: (message) => this.post(message),
    report: (error, where) => this.report(error, where),
    lagged: (group, topic, lag) => {
      const known = (this.lags[group] ??= Object.create(null))
      if (lag === undefined) delete known[topic]
      else known[topic] = lag
    },
    lags: (group, lag) => { this.lags[group] = lag },
    settled: () => this.settled(),
    memberGone: (member) => {
      this.members.delete(member.id)
      this.keep()
      this.settled()
    },
  }

  /** @internal A batch of subscription `id` was handled (or dropped): the creating thread may send more. */
  acknowledge(id: number): void {
    if (!this.closed) this.port.postMessage({ op: 'delivered', id } satisfies ToOwner)
  }


  /** @internal */
  sync(): Promise<void> {
    return this.roundTrip('sync')
  }

  // ---- topics and publishing ----------------------------------------------------------------------

  /** Declares a topic in the creating thread; its partitions are as declared (or as known). */
  topic<K extends TopicName<T>>(name: K, options?: TopicOptions): { name: K; partitions: number } {
    this.assertOpen()
    validateTopicName(name)
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('topic options must be an object', { argument: 'options' })
    if (options?.codec !== undefined && typeof options.codec !== 'string') {
      throw new InvalidArgumentError('a custom codec cannot cross threads: declare the topic in the thread that created the bus', { topic: name, argument: 'codec' })
    }
    resolveTopicOptions(options, undefined) // bad options throw here, not later in the creating thread
    this.post({ op: 'topic', name, options: this.copyOption(name, 'options', options) })
    return { name, partitions: options?.partitions ?? this.snapshot[name]?.partitions.length ?? 1 }
  }

  /** Copies the value now (a later change to it does not reach the log). */
  private snapshotOf(topic: string, value: unknown): unknown {
    // the only primitives structured clone refuses; they would otherwise fail later, in the send
    if (typeof value === 'symbol' || typeof value === 'function') {
      throw new CodecError(`a ${typeof value} cannot be copied to another thread for topic ${topic}`, { topic })
    }
    if (value === null || typeof value !== 'object') return value
    try {
      return structuredClone(value)
    } catch (error) {
      throw new CodecError(`this value cannot be copied to another thread for topic ${topic}: ${(error as Error)?.message ?? error}`, { topic, cause: error })
    }
  }

  /** Copies a key, headers or topic options now, as the value: sending them later cannot fail. */
  private copyOption<V>(topic: string, argument: string, value: V): V {
    if (value === undefined || typeof value === 'string') return value
    try {
      return structuredClone(value)
    } catch (error) {
      throw new InvalidArgumentError(`${argument} cannot be copied to another thread for topic ${topic}: ${(error as Error)?.message ?? error}`, { topic, argument, cause: error })
    }
  }

  /** The checked options with key and headers copied. */
  private copied(topic: string, options: PublishOptions): PublishOptions {
    if (options.key === undefined && options.headers === undefined) return options
    return { ...options, key: this.copyOption(topic, 'key', options.key), headers: this.copyOption(topic, 'headers', options.headers) }
  }

  /** The options checked as on the creating thread, so that bad input throws here and now. */
  private checkOptions(topic: string, options: PublishOptions | undefined, now: number): PublishOptions {
    const { key, headers: given, partition, timestamp, messageId } = checkPublishOptions(topic, options, now)
    // the trace context is this thread's: added here, before the record crosses
    const headers = this.tracing?.inject(given) ?? given
    return options === undefined && headers === undefined ? { timestamp } : { key, headers, partition, timestamp, messageId }
  }

  private enqueue(record: WireRecord): void {
    this.queued++
    // sent once per turn, or every OUTBOX_MAX records of a long synchronous burst
    if (this.outbox.push(record) >= OUTBOX_MAX) this.sendOutbox()
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(this.sendOutbox)
    }
  }

  /**
   * Sends one record to the creating thread, which appends it. Returns offset -1: only that
   * thread assigns offsets (await flush() to know it was appended).
   */
  publish<K extends TopicName<T>>(topic: K, ...args: PublishArgs<T, K>): RecordMetadata<K>
  publish(topic: string, value?: unknown, options?: PublishOptions): RecordMetadata {
    this.assertOpen()
    validateTopicName(topic)
    const checked = this.copied(topic, this.checkOptions(topic, options, this.clock.now()))
    this.enqueue({ topic, value: this.snapshotOf(topic, value), options: checked })
    return { topic, partition: checked.partition ?? -1, offset: -1, timestamp: checked.timestamp! }
  }

  /** Sends records that the creating thread appends together (all or nothing, as there). */
  publishBatch<K extends TopicName<T>>(topic: K, records: ReadonlyArray<BatchRecord<T[K]>>): RecordMetadata<K>[] {
    this.assertOpen()
    validateTopicName(topic)
    if (!Array.isArray(records)) throw new InvalidArgumentError('publishBatch takes an array of { value, key?, headers? }', { topic, argument: 'records' })
    const now = this.clock.now()
    const batch = records.map((record, i) => {
      if (typeof record !== 'object' || record === null) throw new InvalidArgumentError(`record ${i} must be an object with a value`, { topic, argument: 'records' })
      return { ...this.copied(topic, this.checkOptions(topic, record, now)), value: this.snapshotOf(topic, record.value) }
    })
    this.enqueue({ topic, batch })
    return batch.map((r) => ({ topic, partition: r.partition ?? -1, offset: -1, timestamp: r.timestamp! }))
  }

  /** EventEmitter sugar: publish without options; true when a reader of this thread matches the topic. */
  emit<K extends TopicName<T>>(topic: K, ...args: ValueArgs<T, K>): boolean
  emit(topic: string, value?: unknown): boolean {
    ;(this as RemoteBus).publish(topic, value)
    for (const reader of this.readers.values()) if (reader.matches(topic)) return true
    for (const member of this.members.values()) if (!member.closed && member.matches(topic)) return true
    return false
  }

  /** Resolves when the creating thread has appended everything this thread published so far. */
  async flush(): Promise<void> {
    if (this.closed) return
    await this.roundTrip('sync')
  }

  // ---- reading ----------------------------------------------------------------------------------

  protected openReader(target: string, given: (message: Delivered) => unknown, options: SubscribeOptions | undefined): ReaderLike {
    const handler = this.tracing?.wrap(given) ?? given
    if (options?.group !== undefined) return this.openMember(target, handler, options)
    this.assertOpen()
    const matches = compileSubscription(target)
    const { from, reset, maxPollRecords } = readerOptions(options)
    const reader = new RemoteReader(this.nextReader++, matches, this as RemoteBus, handler)
    this.readers.set(reader.id, reader)
    this.keep()
    this.post({ op: 'subscribe', id: reader.id, target, options: { from, reset, maxPollRecords } })
    closeOnAbort(reader, options?.signal)
    return reader
  }

  /**
   * A consumer-group member: it lives in the creating thread (coordinator, commits, retries,
   * backoff on that bus's clock, dead letters), and its handler here gets each record as that
   * thread hands it over, `attempt` included. Options are checked here, so bad ones throw now;
   * an assignor is named (an object cannot cross threads).
   */
  private openMember(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions): RemoteMember {
    this.assertOpen()
    const matches = compileSubscription(target)
    const reader = readerOptions(options)
    const group = groupOptions(options)
    if (typeof options.assignor === 'object') {
      throw new InvalidArgumentError('an assignor object cannot cross threads: give it to a member in the creating thread and name it here', { argument: 'assignor' })
    }
    const member = new RemoteMember(this.nextReader++, target, group.group, matches, this.memberBus, handler)
    this.members.set(member.id, member)
    this.keep()
    this.post({ op: 'group.open', id: member.id, target, options: { ...reader, ...group } })
    closeOnAbort(member, options.signal)
    return member
  }

  /** @internal */
  readerClosed(reader: RemoteReader): void {
    this.readers.delete(reader.id)
    this.keep()
    this.settled()
  }

  // ---- exchanges and queues ----------------------------------------------------------------------

  /** Copies broker input now (a later change does not reach the creating thread), or throws what a bad one would there. */
  private copyInput<V>(value: V, what: string, where: { exchange?: string; queue?: string }, argument?: string): V {
    if (typeof value === 'symbol' || typeof value === 'function') throw new CodecError(`a ${typeof value} cannot be copied to another thread (${what})`, { ...where, argument })
    if (value === null || typeof value !== 'object') return value
    try {
      return structuredClone(value)
    } catch (error) {
      const message = `${what} cannot be copied to another thread: ${(error as Error)?.message ?? error}`
      throw argument === undefined ? new CodecError(message, { ...where, cause: error }) : new InvalidArgumentError(message, { ...where, argument, cause: error })
    }
  }

  /**
   * Declares an exchange in the creating thread, in order with what this thread publishes and
   * sends. Checked here; a redeclaration with another type is refused there and reported on
   * bus.events 'error'.
   */
  exchange(name: string, options?: ExchangeOptions): { exchange: string; type: ExchangeType } {
    this.assertOpen()
    const { type, alternate } = checkExchange(name, options)
    this.post({ op: 'exchange', name, options: { type, ...(alternate === undefined ? {} : { alternateExchange: alternate }) } })
    return { exchange: name, type }
  }

  /**
   * Declares a queue in the creating thread, in order. Checked here; a redeclaration with other
   * options is refused there and reported on bus.events 'error'. The figures are queueStats()'s:
   * the creating thread's as of its last answer (0 for a queue it had not told of).
   */
  queue(name: string, options?: QueueOptions): { queue: string; messages: number; consumers: number } {
    this.assertOpen()
    checkQueueName(name)
    checkQueueOptions(name, options)
    this.post({ op: 'queue', name, options: this.copyInput(options, 'queue options', { queue: name }, 'options') })
    const known = this.queueSnapshot[name]
    return { queue: name, messages: known === undefined ? 0 : known.ready + known.delayed, consumers: known?.consumers ?? 0 }
  }

  /**
   * Binds in the creating thread, in order. Returns true: whether the binding existed is known
   * there only. An unknown exchange, queue or topic is reported on bus.events 'error'.
   */
  bind(binding: Binding): boolean {
    this.assertOpen()
    checkBindingInput(binding)
    this.post({ op: 'bind', binding: this.copyBinding(binding) })
    return true
  }

  /** Unbinds in the creating thread, in order. Returns true: whether there was a binding is known there only. */
  unbind(binding: Binding): boolean {
    this.assertOpen()
    checkBindingInput(binding)
    this.post({ op: 'unbind', binding: this.copyBinding(binding) })
    return true
  }

  private copyBinding(binding: Binding): Binding {
    const { exchange, pattern, arguments: args } = binding as { exchange: string; pattern?: string; arguments?: Record<string, HeaderValue> }
    const destination = 'queue' in binding && binding.queue !== undefined ? { queue: binding.queue }
      : 'toExchange' in binding && binding.toExchange !== undefined ? { toExchange: binding.toExchange } : { topic: (binding as { topic: string }).topic }
    return { exchange, ...destination, pattern, arguments: this.copyInput(args, 'binding arguments', { exchange }, 'arguments') } as Binding
  }

  /**
   * Sends a message through an exchange. On a copying worker it is routed in the creating
   * thread, at the end of this turn, in order with what this thread publishes: send returns
   * { routed: [], refused: [] } (await flush() to know it was routed), and what that thread
   * refuses (an unknown exchange, mandatory and unroutable, a full queue with overflow
   * 'reject-publish') is reported on bus.events 'error'. The value and headers are copied now;
   * TTL and delay count from when the creating thread routes it.
   */
  send(exchange: string, routingKey: string, value: unknown, options?: SendOptions): SendResult {
    this.sendCopy(exchange, routingKey, value, options, undefined)
    return NOTHING_ROUTED
  }

  /** A send; with `refused`, what the creating thread refuses comes back there. Returns a function that forgets that. */
  private sendCopy(exchange: string, routingKey: string, value: unknown, options: SendOptions | undefined, refused: ((error: Error) => void) | undefined): (() => void) | undefined {
    this.assertOpen()
    const o = checkSend(exchange, routingKey, options)
    const headers = this.tracing?.inject(o.headers) ?? o.headers
    const copied: SendOptions = {}
    for (const key of ['priority', 'expirationMs', 'delayMs', 'correlationId', 'replyTo', 'mandatory', 'messageId'] as const) {
      if (o[key] !== undefined) (copied as Record<string, unknown>)[key] = o[key]
    }
    if (headers !== undefined) copied.headers = this.copyInput(headers, 'headers', { exchange }, 'headers')
    const entry: WireSend = { exchange, routingKey, value: this.copyInput(value, `a message for exchange ${JSON.stringify(exchange)}`, { exchange }), options: copied }
    let forget: (() => void) | undefined
    if (refused !== undefined) {
      const ticket = entry.ticket = this.nextTicket++
      this.tickets.set(ticket, refused)
      forget = () => this.tickets.delete(ticket)
    }
    this.enqueue(entry)
    return forget
  }

  /**
   * A consumer of the queue: it lives in the creating thread, where the queue core holds what it
   * has not acked (prefetch counts there); its handler runs here and settles each delivery,
   * which goes back in order with what this thread publishes. Cancelling it, closing this bus
   * or this thread going away returns what it holds to the queue, redelivered. An unknown queue
   * is reported on bus.events 'error', and the consumer is cancelled.
   */
  consumeQueue<V = unknown>(queue: string, handler: (delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    return this.openConsumer(queue, handler as (delivery: QueueDelivery) => unknown, options, { declare: false, autoDelete: false })
  }

  private openConsumer(queue: string, handler: (delivery: QueueDelivery) => unknown, options: ConsumeQueueOptions | undefined,
    extra: { declare: boolean; autoDelete: boolean }): RemoteConsumer {
    this.assertOpen()
    checkQueueName(queue)
    const { prefetch, noAck } = checkConsumeOptions(queue, handler, options)
    const consumer = new RemoteConsumer(this.nextReader++, queue, this.tracing?.wrap(handler) ?? handler, noAck, this.consumerBus)
    this.consumers.set(consumer.id, consumer)
    this.keep()
    this.post({ op: 'queue.consume', id: consumer.id, queue, options: { prefetch, noAck, ...extra } })
    cancelOnAbort(consumer, options?.signal)
    return consumer
  }

  /** What the queue consumers need of this bus. */
  private readonly consumerBus: ConsumerBus = {
    post: (message) => this.post(message),
    settle: (entry) => {
      if (this.closed) return
      if (entry.how !== 'handled') this.queued++ // what it settles may bring more deliveries: idle() asks again
      this.outbox.push(entry)
      if (this.outbox.length >= OUTBOX_MAX) this.sendOutbox()
      else if (!this.flushScheduled) {
        this.flushScheduled = true
        queueMicrotask(this.sendOutbox)
      }
    },
    failed: (error, queue) => {
      if (this.events.listenerCount('queue.error') > 0) this.events.emit('queue.error', { error, queue })
      else console.error(`ringbus: a consumer of queue ${queue} failed (listen on bus.events 'queue.error' to handle this)`, error)
    },
    settled: () => this.settled(),
    cancelled: async (consumer, tell) => {
      this.consumers.delete(consumer.id)
      this.keep()
      this.settled()
      if (!tell || this.closed) return
      this.post({ op: 'queue.cancel', id: consumer.id })
      await this.roundTrip('sync')
    },
  }

  /**
   * A synchronous pull cannot cross threads by copy: get() throws on a copying worker's bus. Use
   * consumeQueue() (with a prefetch), or a shared handle.
   */
  get(): never {
    this.assertOpen()
    throw new BusError('get() cannot be used on a copying worker\'s bus: a synchronous pull needs the queue in this thread\'s memory; use consumeQueue() (with a prefetch) here, or a shared handle (bus.handle() on a bus created with { shared: true })',
      { argument: 'transport' })
  }

  /** Request/reply of this worker (its reply queue is in the creating thread). */
  private readonly rpc: RequestReply

  /**
   * Sends `value` to a queue with this worker's reply queue and a correlation id; resolves to the
   * reply. The timeout is by this bus's clock; a request nothing takes rejects with the creating
   * thread's UnroutableError once that thread routed it.
   */
  request<R = unknown>(queue: string, value: unknown, options?: RequestOptions): Promise<R> {
    this.assertOpen()
    return this.rpc.request(queue, value, options) as Promise<R>
  }

  /** Answers the requests on `queue` (declared in the creating thread if missing) with what `handler` returns here. */
  reply<V = unknown>(queue: string, handler: (value: V, delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    this.assertOpen()
    return this.rpc.reply(queue, handler as (value: unknown, delivery: QueueDelivery) => unknown, options)
  }

  /** Per queue: the creating thread's figures as of its last answer (attachBus, flush, idle, a consumer's cancel), like stats(). */
  queueStats(): Record<string, QueueStats> {
    this.assertOpen()
    return Object.assign(Object.create(null), structuredClone(this.queueSnapshot))
  }

  // ---- idleness, stats, close ---------------------------------------------------------------------

  /** @internal Resolves idle() waiters once no reader here has anything left to hand over. */
  settled(): void {
    if (this.idleWaiters.length === 0 || this.flushScheduled) return
    for (const reader of this.readers.values()) if (!reader.idle()) return
    for (const member of this.members.values()) if (!member.idle()) return
    for (const consumer of this.consumers.values()) if (!consumer.idle()) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  /**
   * Resolves when the creating thread has appended what this thread published, and everything
   * deliverable to this thread's readers was delivered and settled.
   */
  async idle(): Promise<void> {
    this.assertOpen()
    // a handler here may publish while it runs, and what it published is deliverable too: ask
    // again until a round publishes nothing more
    for (let before = -1; before !== this.queued && !this.closed;) {
      before = this.queued
      await this.roundTrip('idle')
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve)
        this.settled()
      })
    }
  }

  /** The creating thread's figures as of its last answer (attachBus, flush, idle). */
  stats(): Record<string, TopicStats> {
    this.assertOpen()
    return Object.assign(Object.create(null), structuredClone(this.snapshot))
  }

  /**
   * How far a consumer group is behind, per topic and partition: end offset - committed offset,
   * as of the creating thread's last word on it, like stats(): every group as of the last answer
   * to attachBus, flush() or idle(); for a group with members in this worker also as of each
   * record handed to them (that record's topic) and each commit() answered. Records published
   * and commits made since are not counted until then: await bus.flush() first for figures of
   * now.
   * @example await bus.flush(); bus.lag('email-service')['order.placed'][0]
   */
  lag(group: string): GroupLag {
    this.assertOpen()
    if (typeof group !== 'string') throw new InvalidArgumentError('lag needs a group name', { argument: 'group' })
    const out: GroupLag = Object.create(null)
    const known = this.lags[group]
    if (known !== undefined) for (const topic of Object.keys(known)) out[topic] = Object.assign(Object.create(null), known[topic])
    return out
  }

  /** Sends what is pending, waits until the creating thread has it, and leaves. */
  async close(): Promise<void> {
    if (this.closed) return
    for (const reader of [...this.readers.values()]) reader.close()
    // members leave at once: what their handlers are still doing is redelivered to the next owner
    for (const member of this.members.values()) member.close()
    // consumers end with the bus there: what they hold goes back to their queues, redelivered
    for (const consumer of [...this.consumers.values()]) void consumer.end(false)
    this.rpc.close()
    const bye = this.roundTrip('closed')
    this.closed = true
    await bye
    this.port.close()
    this.ended()
  }

  [asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * The worker side of a copying handle: ready once the creating thread answered, which it must
 * do within `timeoutMs` (a port nobody serves would otherwise keep attachBus waiting for ever).
 */
export async function attachRemote<T extends TopicMap>(handle: CopyHandle, clock: Clock | undefined, timeoutMs: number, tracing: Tracing | undefined): Promise<RemoteBus<T>> {
  // in a browser the worker proves it is alive before it asks for anything the creating thread
  // must get back when it goes (liveness.ts)
  if (handle.liveness !== undefined) await proveAlive(handle.liveness)
  const bus = new RemoteBus<T>(handle.port, clock, handle.liveness, tracing)
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(`the creating thread did not answer attachBus within ${timeoutMs} ms: is its bus open, and was this handle made by it?`,
      { argument: 'timeoutMs' })), timeoutMs)
  })
  try {
    await Promise.race([bus.sync(), timedOut])
  } catch (error) {
    bus.abandon()
    throw error
  } finally {
    clearTimeout(timer)
  }
  return bus
}
