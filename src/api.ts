// The typed API every kind of bus offers, declared once: the bus over this thread's log (also a
// worker's on shared memory) and the copying transport's RemoteBus both implement BusApi, and a
// new transport is one more class that does.
import type { EventEmitter } from 'eventemitter3'
import type { Clock } from './clock.js'
import type { GroupLag } from './groups/groups.js'
import type { RedriveOptions } from './groups/redrive.js'
import type { ReadingApi } from './reader/surface.js'
import type {
  BatchRecord, Binding, BusEvents, ConsumeQueueOptions, ExchangeOptions, ExchangeType, PublishOptions, QueueConsumer, QueueDelivery, QueueOptions,
  QueueStats, RecordMetadata, RequestOptions, SendOptions, SendResult, TopicMap, TopicName, TopicOptions, TopicStats, ValueArgs,
} from './types.js'

/** publish's value and options: the value may be left out for topics whose payload may be undefined. */
export type PublishArgs<T, K extends TopicName<T>> = undefined extends T[K]
  ? [value?: T[K], options?: PublishOptions]
  : [value: T[K], options?: PublishOptions]

/** What a bus.transaction() function is given, typed by the topic map (see groups/transaction.ts). */
export interface Transaction<T extends TopicMap = TopicMap> {
  /**
   * Adds a record to the transaction. Returns nothing: the record has no offset until the
   * transaction commits; bus.transaction() resolves to the coordinates of every record, in order.
   */
  publish<K extends TopicName<T>>(topic: K, ...args: PublishArgs<T, K>): void
  /** Commits the position after `message`, which a group member of this thread is handling now. */
  commit(message: { topic: string; partition: number; offset: number }): void
}

/** What bus.topic() returns. */
export interface TopicInfo {
  name: string
  partitions: number
}

/**
 * RabbitMQ's model on the same bus: exchanges route messages to queues (and Kafka-style
 * topics); queues hand each message to one consumer and keep it until it is acked.
 */
export interface BrokerApi {
  /**
   * Declares an exchange (again: same type, no-op). Types: direct, fanout, topic, headers.
   * @example bus.exchange('orders', { type: 'topic' })
   */
  exchange(name: string, options?: ExchangeOptions): { exchange: string; type: ExchangeType }
  /**
   * Declares a queue (again: the options must be equal). Every queue is bound to the default
   * exchange '' by its name.
   * @example bus.queue('payments', { maxLength: 10_000, deadLetterExchange: 'dlx' })
   */
  queue(name: string, options?: QueueOptions): { queue: string; messages: number; consumers: number }
  /**
   * Binds an exchange to a queue, another exchange or a topic; returns false when the binding existed.
   * @example bus.bind({ exchange: 'orders', queue: 'payments', pattern: 'order.paid' })
   */
  bind(binding: Binding): boolean
  /**
   * Removes a binding; returns false when there was none.
   * @example bus.unbind({ exchange: 'orders', queue: 'payments', pattern: 'order.paid' })
   */
  unbind(binding: Binding): boolean
  /**
   * Routes a message through an exchange ('' : the queue named by the routing key) into every
   * queue and topic it matches, once each. Synchronous: it is in those queues when send returns.
   * @example const { routed } = bus.send('orders', 'order.paid', order, { mandatory: true })
   */
  send(exchange: string, routingKey: string, value: unknown, options?: SendOptions): SendResult
  /**
   * Competing consumers: each message goes to one consumer, round-robin among those with
   * prefetch room. Ack, nack or reject each delivery; unacked ones return when the consumer is cancelled.
   * @example bus.consumeQueue('payments', async (d) => { await pay(d.value); d.ack() }, { prefetch: 10 })
   */
  consumeQueue<V = unknown>(queue: string, handler: (delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer
  /**
   * Pulls one message, or undefined when none is ready (RabbitMQ basic.get).
   * @example const d = bus.get('payments'); d?.ack()
   */
  get<V = unknown>(queue: string, options?: { noAck?: boolean }): QueueDelivery<V> | undefined
  /**
   * Sends `value` to a queue with a reply queue and correlation id; resolves to the reply.
   * @example const total = await bus.request('pricing', cart, { timeoutMs: 1000 })
   */
  request<R = unknown>(queue: string, value: unknown, options?: RequestOptions): Promise<R>
  /**
   * Answers the requests on `queue` (declared if missing) with what `handler` returns.
   * @example bus.reply('pricing', (cart) => price(cart))
   */
  reply<V = unknown>(queue: string, handler: (value: V, delivery: QueueDelivery<V>) => unknown, options?: ConsumeQueueOptions): QueueConsumer
  /**
   * Per queue: ready, delayed and unacked messages and consumers.
   * @example bus.queueStats().payments.ready
   */
  queueStats(): Record<string, QueueStats>
}

/**
 * The bus API, whichever transport carries it: what createBus returns offers it (and more:
 * handles for workers), and so does what attachBus returns in a worker.
 */
export interface BusApi<T extends TopicMap = TopicMap> extends ReadingApi<T>, BrokerApi, AsyncDisposable {
  /**
   * Lifecycle events (skipped, error, topic.created, worker.exit), apart from topics so that
   * names never clash.
   * @example bus.events.on('skipped', (e) => console.warn(`${e.count} records of ${e.topic} lost`))
   */
  readonly events: EventEmitter<BusEvents>
  /**
   * The clock record timestamps and age retention go by.
   * @example const now = bus.clock.now()
   */
  readonly clock: Clock
  /**
   * Declares a topic (Kafka model). Declaring again changes retention and policy and may add
   * partitions; fewer partitions or another codec is an error.
   * @example bus.topic('order.placed', { partitions: 4, retention: { maxAgeMs: 60_000 } })
   */
  topic<K extends TopicName<T>>(name: K, options?: TopicOptions): TopicInfo
  /**
   * Appends one record and returns where it went; subscribers get it in a microtask. On a
   * copying worker's bus, offset (and partition, unless given) is -1.
   * @example const { partition, offset } = bus.publish('order.placed', order, { key: order.userId })
   */
  publish<K extends TopicName<T>>(topic: K, ...args: PublishArgs<T, K>): RecordMetadata<K>
  /**
   * Appends many records, all or nothing as far as the input goes: every record is checked and
   * encoded before any is appended. If the log refuses part way (onFull 'reject'), the error's
   * `accepted` lists the records that went in.
   * @example bus.publishBatch('frames', [{ value: a }, { value: b, key: 'k' }])
   */
  publishBatch<K extends TopicName<T>>(topic: K, records: ReadonlyArray<BatchRecord<T[K]>>): RecordMetadata<K>[]
  /**
   * EventEmitter sugar: publish without options. Returns whether a reader of the topic exists in
   * this thread, like EventEmitter.emit.
   * @example bus.emit('tick')
   */
  emit<K extends TopicName<T>>(topic: K, ...args: ValueArgs<T, K>): boolean
  /**
   * Resolves when everything deliverable now was delivered and every handler settled.
   * @example bus.publish('order.placed', order); await bus.idle()
   */
  idle(): Promise<void>
  /**
   * Per-topic figures as a JSON-serialisable object (without prototype) keyed by topic name.
   * @example bus.stats()['order.placed'].partitions[0].endOffset
   */
  stats(): Record<string, TopicStats>
  /**
   * How far a consumer group is behind, per topic and partition: end offset - committed offset.
   * An unknown group has none. On a copying worker's bus, the creating thread's figures as of
   * its last answer (see RemoteBus.lag).
   * @example bus.lag('email-service')['order.placed'][0]
   */
  lag(group: string): GroupLag
  /**
   * Records derived from consumed ones and the consumed positions, visible together or not at
   * all: when `fn` returns, its records are appended and the messages it committed are
   * committed; when it throws, nothing is. Resolves to the records' coordinates, in order.
   * @example await bus.transaction((tx) => { tx.publish('invoice.created', invoice); tx.commit(msg) })
   */
  transaction(fn: (tx: Transaction<T>) => unknown): Promise<RecordMetadata[]>
  /**
   * Republishes dead letters to their source topic (or `to`), each once, going on where the last
   * redrive of this topic stopped. A `filter` cannot cross threads: a copying worker's redrive
   * takes `limit` and `to` only.
   * @example const count = await bus.redrive('jobs.dlq', { limit: 100 })
   */
  redrive(dlqTopic: string, options?: RedriveOptions): Promise<number>
  /**
   * Resolves once everything this thread published is in the log (at once, except on a copying
   * worker's bus).
   * @example await bus.flush()
   */
  flush(): Promise<void>
  /**
   * Stops deliveries and timers; later calls throw BusClosedError.
   * @example await bus.close()
   */
  close(): Promise<void>
}
