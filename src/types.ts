// The typed surface: users write their topic map once and payloads, wildcard unions and
// value-less topics all infer from it.
import type { Clock } from './clock.js'
import type { CodecOption } from './codec/codecs.js'

/** A topic map: topic name -> payload type. `undefined` payloads take no value. */
export type TopicMap = { [topic: string]: unknown }
export type TopicName<T> = Extract<keyof T, string>
export type Key = string | Uint8Array
export type Headers = Record<string, string | Uint8Array>

type Split<S extends string> = S extends `${infer Head}.${infer Rest}` ? [Head, ...Split<Rest>] : [S]

/** AMQP topic matching at the type level: `*` one word, `#` zero or more. */
type MatchWords<P extends string[], W extends string[]> =
  P extends [infer Head extends string, ...infer Rest extends string[]]
    ? Head extends '#'
      ? MatchWords<Rest, W> extends true
        ? true
        : W extends [string, ...infer WRest extends string[]] ? MatchWords<P, WRest> : false
      : W extends [infer Word extends string, ...infer WRest extends string[]]
        ? Head extends '*' | Word ? MatchWords<Rest, WRest> : false
        : false
    : W extends [] ? true : false

/** The topics of T a subscription target (name or pattern) matches. */
export type Matching<T, P extends string> = Extract<
  string extends TopicName<T>
    ? P
    : string extends P
      ? TopicName<T>
      : { [K in TopicName<T>]: MatchWords<Split<P>, Split<K>> extends true ? K : never }[TopicName<T>],
  TopicName<T>
>

/** What subscribe/on/consume accept: a topic name of T, or a pattern with `*` or `#`. */
export type Subscribable<T> = TopicName<T> | `${string}*${string}` | `${string}#${string}`

/** A delivered record. For a wildcard subscription it is a union discriminated by `topic`. */
export type Message<T, K extends TopicName<T> = TopicName<T>> = K extends TopicName<T>
  ? {
      readonly topic: K
      readonly partition: number
      readonly offset: number
      readonly timestamp: number
      readonly key: Key | undefined
      readonly headers: Readonly<Headers>
      readonly value: T[K]
      readonly attempt: number
    }
  : never

/** The value argument of publish/emit: optional for topics whose payload may be undefined. */
export type ValueArgs<T, K extends TopicName<T>> = undefined extends T[K] ? [value?: T[K]] : [value: T[K]]

export interface TopicOptions {
  /** Partition count (default 1). Topics may grow, never shrink. */
  partitions?: number
  /** maxBytes is a hard cap per partition; maxAgeMs is measured against the bus clock. */
  retention?: { maxBytes?: number; maxAgeMs?: number }
  /** 'evict' (default) drops the oldest segment; 'reject' throws BackPressureError instead. */
  onFull?: 'evict' | 'reject'
  codec?: CodecOption
  /**
   * Idempotent publish: how long, in ms of the bus clock, a publish's messageId is to be
   * remembered so that a repeat on this topic is not appended again (default 0: not at all). Kept
   * in the bus's memory, so every thread sees the same window; a redeclaration may change it. The
   * window is measured by the publishing thread's clock.
   */
  dedupWindowMs?: number
}

export interface BusOptions {
  /** Total log memory (default 64 MiB). */
  maxBytes?: number
  /** Back the core with shared memory (for worker threads). */
  shared?: boolean
  clock?: Clock
  topicDefaults?: TopicOptions
  /** Segment block size; default scales with maxBytes between 64 KiB and 1 MiB. */
  segmentBytes?: number
  /** Most partitions across all topics (default 1024). */
  maxPartitions?: number
  /** Most open reader positions per thread (subscriptions x partitions, default 4096). */
  maxCursors?: number
  /** Threads that may use a shared bus at once (default 16 when shared). */
  lanes?: number
  /** Most topics (default 512; at most 256 partitions each). */
  maxTopics?: number
  /**
   * Most consumer groups (default 64, at most 4096). Each group's committed offsets live in the
   * bus's memory, 8 bytes for each of maxPartitions, so every thread reads them directly.
   */
  maxGroups?: number
  /**
   * Most messageIds idempotent publish remembers at once, across topics (default 4096, 16 to
   * 2^20): each is held for its topic's dedupWindowMs, in the bus's memory (176 bytes each) so
   * that a repeat is caught in any thread. When all are held, a new messageId is refused with
   * BackPressureError (reason 'dedup') until some expire.
   */
  maxDedupEntries?: number
  /**
   * Bytes of the routing region (default 8 MiB, 64 KiB to 1 GiB): exchanges, bindings and their
   * keys, in the bus's memory so that every thread binds and routes on the same tables.
   */
  routeBytes?: number
  /**
   * Bytes of the queue region (default 16 MiB, 64 KiB to 1 GiB; one queue holds at most about
   * queueBytes / 128 unsettled messages, its state growing by doubling): queues, consumers and the
   * delivery state of every queued message (its bytes are in the log), shared by every thread.
   */
  queueBytes?: number
  /**
   * OpenTelemetry (default: on where `@opentelemetry/api` can be imported; it is an optional peer
   * dependency). On, publish() and send() add the active span's W3C `traceparent` (and
   * `tracestate`) to the message headers, unless they carry one, and handlers run in a context
   * whose parent is that span. false: off. An app whose bundle cannot import the package by name
   * at run time passes the module itself (`import * as api from '@opentelemetry/api'`).
   */
  tracing?: import('./tracing/tracing.js').TracingOption
  /**
   * Where to load the core from, instead of the copy the package carries inline (which needs no
   * configuration in any bundler, Node or worker): a URL or URL string to fetch, the bytes, or a
   * compiled WebAssembly.Module; or `{ shared, unshared }`, one of those for each build, so that
   * the bus gets the build for its memory (`shared: true` falls back to a plain memory where
   * shared memory is unavailable). A single build is used whichever memory the bus gets: the
   * shared one (`ringbus/wasm`) only instantiates over shared memory, the other
   * (`ringbus/wasm/unshared`) only over a plain one. A URL that cannot be read, answers an error
   * status, or holds something else than the core rejects with a WasmLoadError.
   * @example
   * const bus = await createBus({
   *   shared: true,
   *   wasm: { shared: '/assets/ringbus.wasm', unshared: '/assets/ringbus.unshared.wasm' },
   * })
   */
  wasm?: import('./core/load.js').WasmSource
  /** Custom codecs of topics another thread declared, by topic name (a codec cannot cross threads). */
  codecs?: Record<string, import('./codec/codecs.js').Codec>
}

export interface PublishOptions {
  key?: Key
  partition?: number
  headers?: Headers
  /** Record timestamp in ms (default: the bus clock's now). */
  timestamp?: number
  /**
   * Idempotent publish, on a topic with a dedupWindowMs: a repeat of this id on the topic within
   * the window (any thread) is not appended, and returns the coordinates of the record it
   * repeats. Ignored on a topic without a window. At most 128 UTF-8 bytes.
   */
  messageId?: string
}

export interface BatchRecord<V> extends PublishOptions {
  value: V
}

export interface RecordMetadata<K extends string = string> {
  topic: K
  partition: number
  offset: number
  timestamp: number
}

export type StartPosition = 'earliest' | 'latest' | { offset: number; partition?: number } | { timestamp: number }

export interface SubscribeOptions {
  /** Where an independent reader starts (default 'latest'). */
  from?: StartPosition
  /**
   * Where the reader goes when retention removed its position: 'earliest' (the new log start)
   * or 'latest'. Default: 'latest' when from is 'latest', else 'earliest'. Either way the bus
   * reports the skipped records.
   */
  reset?: 'earliest' | 'latest'
  signal?: AbortSignal
  /** Records fetched per poll of one partition (default 256). */
  maxPollRecords?: number
  /**
   * Join this consumer group: every group gets every record, and inside a group each partition
   * has one owner at a time. Omit for an independent reader that gets everything.
   */
  group?: string
  /** A group member's partitions handled at once, order kept within each (default 1). */
  concurrency?: number
  /** Attempts in all before a failing record is dead-lettered (default 3). */
  maxAttempts?: number
  /** Waits between attempts: initialMs (100), times multiplier (2) each retry, at most maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number; multiplier?: number; jitter?: boolean }
  /** Where records go after maxAttempts failures (default `<topic>.dlq`); false: stop the partition and emit 'poison'. */
  deadLetter?: string | false
  /** Commit each record once its handler settled (default true); false: commit with sub.commit(). */
  autoCommit?: boolean
  /** How long one attempt may run before it counts as failed, in ms of the bus clock (default 300 000). */
  maxPollIntervalMs?: number
  /**
   * Retry through retry topics (`<topic>.<group>.retry-<attempt>`) instead of in place: a failing
   * record no longer holds up its partition, at the price of order (records after it are handled
   * before its retries). Default false.
   */
  retryTopics?: boolean
  /** How the group shares partitions: 'cooperative-sticky' (default), 'range', 'roundrobin' or an Assignor. */
  assignor?: string | import('./groups/assignors.js').Assignor
}

export type SeekTarget = { partition?: number; offset: number } | { timestamp: number }

export interface SkippedEvent {
  topic: string
  partition: number
  group?: string
  from: number
  to: number
  count: number
}

export interface HandlerErrorEvent {
  error: unknown
  topic: string
  partition: number
  offset: number
}

export interface PoisonEvent {
  topic: string
  partition: number
  offset: number
  group: string
  error: unknown
}

export interface RebalanceEvent {
  group: string
  generation: number
  assignments: Record<string, Array<{ topic: string; partition: number }>>
}

export interface BusEvents {
  skipped: (event: SkippedEvent) => void
  error: (event: HandlerErrorEvent) => void
  'topic.created': (event: { topic: string; partitions: number }) => void
  /** A group member's partition stopped at a record that failed every attempt (deadLetter: false). */
  poison: (event: PoisonEvent) => void
  /** A group's owners changed: `assignments` maps each member id to what it owns now. */
  'group.rebalance': (event: RebalanceEvent) => void
  /** A queue consumer's handler threw or rejected; the delivery was rejected unless it had been settled. */
  'queue.error': (event: { error: unknown; queue: string }) => void
  /** A worker attached with a handle of this bus went away; `clean` if it closed its bus first. */
  'worker.exit': (event: import('./worker/handle.js').WorkerExit) => void
}

export interface PartitionStats {
  partition: number
  startOffset: number
  endOffset: number
  bytes: number
  segments: number
  /** Records removed by retention so far. */
  evicted: number
}

export interface TopicStats {
  codec: string
  partitions: PartitionStats[]
  readers: number
  published: number
  delivered: number
  skipped: number
  /** Records per second since the topic was created, by the bus clock. */
  publishRate: number
  deliverRate: number
  /** Consumer groups with committed offsets in this topic, by name. */
  groups: Record<string, GroupStats>
  /** Dead letters in `<topic>.dlq` that no redrive has republished or passed over yet. */
  deadLetters: number
}

export interface GroupStats {
  /** Per partition: the committed offset (the next to read), lag, and (in the creating thread) the owning member. */
  partitions: Array<{ partition: number; committed: number; lag: number; owner?: string }>
  /** The group's generation and member count (known in the creating thread, where the coordinator is). */
  generation?: number
  members?: number
}

// ---- exchanges and queues (RabbitMQ model) ------------------------------------------------------

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers'

export interface ExchangeOptions {
  /** How the exchange matches routing keys (default 'direct'). */
  type?: ExchangeType
  /** Where messages go that no binding of this exchange matched; may be declared later. */
  alternateExchange?: string
}

export interface QueueOptions {
  /** Most ready messages (unacked ones do not count); what happens beyond it is `overflow`. */
  maxLength?: number
  /** 'drop-head' (default) dead-letters the oldest; 'reject-publish' refuses the new one; 'reject-publish-dlx' refuses and dead-letters it. */
  overflow?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx'
  /** How long a message may wait in the queue, in ms of the bus clock; expired messages are dead-lettered when they reach the head. */
  messageTtlMs?: number
  /** Deletes the queue once it has had no consumer and no get() for this long (ms of the bus clock). */
  expiresMs?: number
  /** A priority queue with levels 0..maxPriority (1 to 255): higher first, FIFO within a level. */
  maxPriority?: number
  /** Deliveries a message may have; returned after that many, it is dead-lettered (reason 'delivery_limit'). */
  deliveryLimit?: number
  /** Exchange dead letters are published to; may be declared later. */
  deadLetterExchange?: string
  /** Routing key of dead letters (default: the message's own). */
  deadLetterRoutingKey?: string
}

/** A header value a queue message may carry: anything msgpack encodes; headers exchanges compare by type and value. */
export type HeaderValue = unknown

/** bind()/unbind(): from an exchange to exactly one of a queue, another exchange or a Kafka-style topic. */
export type Binding =
  | { exchange: string; queue: string; pattern?: string; arguments?: Record<string, HeaderValue> }
  | { exchange: string; toExchange: string; pattern?: string; arguments?: Record<string, HeaderValue> }
  | { exchange: string; topic: string; pattern?: string; arguments?: Record<string, HeaderValue> }

export interface SendOptions {
  headers?: Record<string, HeaderValue>
  /** Priority in a priority queue (0 to 255; above the queue's maxPriority counts as it). */
  priority?: number
  /** Per-message TTL in ms; the queue's messageTtlMs applies too (the smaller wins). */
  expirationMs?: number
  /** Not delivered before this many ms of the bus clock have passed. */
  delayMs?: number
  correlationId?: string
  replyTo?: string
  /** Throw UnroutableError when no queue or topic takes the message. */
  mandatory?: boolean
  messageId?: string
}

/** Read-only: sends with the same outcome may share one. */
export interface SendResult {
  /** Names of the queues and topics that took the message. */
  readonly routed: readonly string[]
  /** Queues that refused it (maxLength with overflow 'reject-publish' or 'reject-publish-dlx'). */
  readonly refused: readonly string[]
}

/** One message delivered from a queue; settle it once with ack, nack or reject. */
export interface QueueDelivery<V = unknown> {
  readonly queue: string
  /** The exchange it was sent to ('' for the default exchange). */
  readonly exchange: string
  readonly routingKey: string
  readonly value: V
  readonly headers: Readonly<Record<string, HeaderValue>>
  /** It was delivered before and returned (nack with requeue, or its consumer went away). */
  readonly redelivered: boolean
  /** Deliveries so far, this one included. */
  readonly deliveryCount: number
  /** The priority it was sent with (undefined: none, which a priority queue treats as 0). */
  readonly priority: number | undefined
  readonly correlationId: string | undefined
  readonly replyTo: string | undefined
  readonly messageId: string | undefined
  /** When it was sent, by the sender's bus clock. */
  readonly timestamp: number
  /** Done with it. Settling twice throws InvalidArgumentError. */
  ack(): void
  /** Give it back (requeue, default true: at its old place, redelivered) or dead-letter it (requeue: false). */
  nack(options?: { requeue?: boolean }): void
  /** nack({ requeue: false }): dead-letter it (reason 'rejected'), or drop it without a dead-letter exchange. */
  reject(): void
}

export interface ConsumeQueueOptions {
  /** Most unacked deliveries this consumer holds (default 0: no limit). */
  prefetch?: number
  /** Deliveries count as acked when handed over (at-most-once). */
  noAck?: boolean
  signal?: AbortSignal
}

export interface QueueConsumer extends AsyncDisposable {
  /** Stops deliveries; unacked ones return to the queue (redelivered). */
  cancel(): Promise<void>
  readonly cancelled: boolean
}

export interface RequestOptions {
  /** Rejects with RequestTimeoutError after this many ms of the bus clock (default 30 000). */
  timeoutMs?: number
  headers?: Record<string, HeaderValue>
  /** Exchange to send the request to (default '': the queue named by the first argument). */
  exchange?: string
}

export interface QueueStats {
  ready: number
  delayed: number
  unacked: number
  consumers: number
  /** Messages in the queue in any state. */
  messages: number
}
