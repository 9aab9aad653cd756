// The messages of the copying transport, used where threads cannot share memory (a browser page
// that is not cross-origin isolated, or a handle made with { transport: 'copy' }). The creating
// thread owns the log; a worker sends it what it publishes and receives what it reads, in
// batches, by structured clone. Both sides import this file, so the protocol is written once.
import * as errors from '../errors.js'
import { createDelivered, NO_HEADERS, type Delivered } from '../topic/topic.js'
import type { ReaderOptions } from '../reader/reader.js'
import type { GroupOptions } from '../groups/group-options.js'
import type { GroupLag } from '../groups/groups.js'
import type {
  Binding, ExchangeOptions, HeaderValue, Headers, Key, PublishOptions, QueueOptions, QueueStats, RebalanceEvent, SeekTarget, SendOptions, SkippedEvent,
  TopicOptions, TopicStats,
} from '../types.js'

/** Batches a subscription may have in flight to a worker before its reader waits for an ack. */
export const CREDIT = 4

/**
 * One entry of the worker's outbox, sent once per turn and handled in order: a record it
 * published (`batch` for a publishBatch call, all or nothing, as on the owner), a message it
 * sent through an exchange, or a queue delivery its consumer settled.
 */
export type WireRecord =
  | { topic: string; value: unknown; options: PublishOptions | undefined }
  | { topic: string; batch: Array<PublishOptions & { value: unknown }> }
  | WireSend
  | WireSettle

/**
 * A send() of the worker, checked there. With a `ticket` (a request's), what the creating thread
 * refuses comes back as 'send.refused' for that ticket instead of bus.events 'error'.
 */
export interface WireSend {
  exchange: string
  routingKey: string
  value: unknown
  options: SendOptions | undefined
  ticket?: number
}

/**
 * What became of delivery `seq` of the worker's queue consumer `consumer`: settled (ack, nack
 * with requeue, reject), or `handled`: the worker's handler for it returned (or its promise
 * settled), so the consumer's handler in the creating thread settles too.
 */
export interface WireSettle {
  consumer: number
  seq: number
  how: 'ack' | 'requeue' | 'reject' | 'handled'
}

export const isSend = (entry: WireRecord): entry is WireSend => 'exchange' in entry
export const isSettle = (entry: WireRecord): entry is WireSettle => 'consumer' in entry

/** Worker -> owner. `seq` numbers requests the owner answers with a 'done'. */
export type ToOwner =
  | { op: 'publish'; records: WireRecord[] }
  | { op: 'topic'; name: string; options: TopicOptions | undefined }
  | { op: 'subscribe'; id: number; target: string; options: ReaderOptions } // checked by the worker
  | { op: 'pause' | 'resume' | 'close'; id: number }
  | { op: 'seek'; id: number; epoch: number; target: SeekTarget; delivered: Assignment[] }
  | { op: 'delivered'; id: number }
  | { op: 'idle' | 'sync' | 'closed'; seq: number }
  /** A transaction the worker ran: its records, and the member deliveries (id, seq) it commits. */
  | { op: 'transaction'; seq: number; records: TransactionRecord[]; commits: Array<{ id: number; seq: number }> }
  | { op: 'redrive'; seq: number; topic: string; options: { limit?: number; to?: string } | undefined }
  // a consumer-group member of the worker: it lives in the creating thread, its handler here
  | { op: 'group.open'; id: number; target: string; options: MemberOptions }
  /** How the worker's handler ended for delivery `seq`: 'not-taken' is consume()'s loop ending before it took the record. */
  | { op: 'group.result'; id: number; seq: number; outcome: 'ok' | 'failed' | 'not-taken'; error?: WireError }
  /** `delivery`: the seq of the group.deliver that brought the message, when the worker knows it. */
  | { op: 'group.commit'; id: number; seq: number; message: { topic: string; partition: number; offset: number } | undefined; delivery: number | undefined }
  | { op: 'group.seek'; id: number; target: SeekTarget }
  | { op: 'group.pause' | 'group.resume' | 'group.close'; id: number }
  // exchanges and queues: declarations checked by the worker, carried out in order with its records
  | { op: 'exchange'; name: string; options: ExchangeOptions | undefined }
  | { op: 'queue'; name: string; options: QueueOptions | undefined }
  | { op: 'bind' | 'unbind'; binding: Binding }
  /**
   * A queue consumer of the worker: it lives in the creating thread (where the queue core holds
   * its unacked deliveries, prefetch counted), its handler here. `declare`: declare the queue
   * (with no options) unless it exists, as reply() does; `autoDelete`: delete the queue when the
   * consumer ends (a worker's reply queue).
   */
  | { op: 'queue.consume'; id: number; queue: string; options: { prefetch: number; noAck: boolean; declare: boolean; autoDelete: boolean } }
  | { op: 'queue.cancel'; id: number }

export interface Assignment {
  topic: string
  partition: number
  /** The next offset the reader will deliver. */
  next: number | undefined
}

export interface TransactionRecord {
  topic: string
  value: unknown
  options: PublishOptions | undefined
}

/** Owner -> worker. */
export type ToWorker =
  | { op: 'batch'; id: number; epoch: number; batch: WireBatch }
  | { op: 'assigned'; id: number; epoch: number; assignments: Assignment[] }
  | { op: 'error'; error: WireError; topic: string; partition: number; offset: number }
  /** `lags`: every group's lag (bus.lag) at the time of the answer. */
  | { op: 'done'; seq: number; stats: Record<string, TopicStats>; lags: Record<string, GroupLag>; queues: Record<string, QueueStats> }
  /** The outcome of a transaction or redrive request. */
  | { op: 'answer'; seq: number; result: unknown; error: WireError | undefined }
  /**
   * One record for a member's handler, attempt `attempt`; the worker answers with a
   * 'group.result' of the same `seq`. `lag`: the group's lag on the record's topic now (one
   * number per partition, as in bus.lag()).
   */
  | { op: 'group.deliver'; id: number; seq: number; record: WireMessage; lag: Record<number, number> | undefined }
  /** What the member owns now, sent whenever that changes (and after a seek, for the positions). */
  | { op: 'group.assigned'; id: number; assignments: Assignment[] }
  /** The coordinator would not take the member (an assignor it does not know or the group does not use). */
  | { op: 'group.refused'; id: number; error: WireError }
  /** The member left its group (after close) and the rebalance that followed is over. */
  | { op: 'group.left'; id: number }
  | { op: 'group.committed'; id: number; seq: number; error: WireError | undefined; lag: GroupLag }
  | { op: 'group.rebalance'; event: RebalanceEvent }
  | { op: 'group.poison'; event: { topic: string; partition: number; offset: number; group: string; error: WireError } }
  | { op: 'group.skipped'; event: SkippedEvent }
  /** Deliveries for queue consumer `id`, handed over in this order; the worker answers each with WireSettle entries. */
  | { op: 'queue.deliver'; id: number; deliveries: WireDelivery[] }
  /** The creating thread could not start consumer `id` (an unknown queue, say): it is cancelled. */
  | { op: 'queue.refused'; id: number; error: WireError }
  /** What the creating thread refused of a ticketed send (a request's): the request rejects with it. */
  | { op: 'send.refused'; ticket: number; error: WireError }
  /** The creating thread's bus closed (a browser's port has no 'close' event to say so). */
  | { op: 'closed' }

/** One queue delivery as it crosses to the worker (QueueDelivery's fields; `seq` names it in settlements). */
export interface WireDelivery {
  seq: number
  /** Its offset in the queue's log (an error about it names it). */
  offset: number
  exchange: string
  routingKey: string
  value: unknown
  /** undefined when it has none */
  headers: Record<string, HeaderValue> | undefined
  redelivered: boolean
  deliveryCount: number
  priority: number | undefined
  correlationId: string | undefined
  replyTo: string | undefined
  messageId: string | undefined
  timestamp: number
}

/** A group member's options as the worker checked them: plain data (an assignor goes by name). */
export type MemberOptions = ReaderOptions & GroupOptions

/** One record for a group member's handler, with the attempt it is. */
export interface WireMessage {
  topic: string
  partition: number
  offset: number
  timestamp: number
  key: Key | undefined
  headers: Headers | undefined
  value: unknown
  attempt: number
}

export function toMessage(m: Delivered): WireMessage {
  return { topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, headers: m.headers === NO_HEADERS ? undefined : m.headers, value: m.value, attempt: m.attempt }
}

export function fromMessage(w: WireMessage): Delivered {
  const message = createDelivered(w.topic, w.partition, w.offset, w.timestamp, w.key, w.headers, w.value)
  message.attempt = w.attempt
  return message
}

/**
 * Delivered records by column: fewer objects for structured clone to walk than one message
 * object per record (empty headers and absent keys travel as undefined).
 */
export interface WireBatch {
  topics: string[]
  partitions: number[]
  offsets: number[]
  timestamps: number[]
  keys: Array<Key | undefined>
  headers: Array<Headers | undefined>
  values: unknown[]
  /** Records the reader lost to retention, each reported before record `at` is handed over. */
  skips: Array<{ at: number; event: SkippedEvent }> | undefined
}

/**
 * A 'skipped' report travels in order with the records around it, so that a seek in the worker
 * that drops records it has not handled drops their reports too: the creating thread's reader
 * then moves back, finds the same loss again and reports it once (a report sent on its own
 * would be made twice).
 */
export interface SkipMark {
  skipped: SkippedEvent
}

export type Outgoing = Delivered | SkipMark

export const isSkip = (entry: Outgoing): entry is SkipMark => 'skipped' in entry

export function toColumns(entries: Outgoing[]): WireBatch {
  const batch: WireBatch = { topics: [], partitions: [], offsets: [], timestamps: [], keys: [], headers: [], values: [], skips: undefined }
  for (const m of entries) {
    if (isSkip(m)) {
      (batch.skips ??= []).push({ at: batch.values.length, event: m.skipped })
      continue
    }
    batch.topics.push(m.topic)
    batch.partitions.push(m.partition)
    batch.offsets.push(m.offset)
    batch.timestamps.push(m.timestamp)
    batch.keys.push(m.key)
    batch.headers.push(m.headers === NO_HEADERS ? undefined : m.headers)
    batch.values.push(m.value)
  }
  return batch
}

/** Record i of a batch as the message a handler gets. */
export function fromColumns(batch: WireBatch, i: number): Delivered {
  return createDelivered(batch.topics[i], batch.partitions[i], batch.offsets[i], batch.timestamps[i], batch.keys[i], batch.headers[i], batch.values[i])
}

/** An error as it crosses the port: its class name, message and context (a class cannot be cloned). */
export interface WireError {
  name: string
  message: string
  context: Record<string, unknown>
  /** A BusError whose class is not one of errors.js (AttemptTimeoutError): it arrives as a BusError with its name. */
  bus?: true
}

export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), context: {} }
  const context: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'name' && key !== 'retriable' && (value === null || typeof value !== 'object' || Array.isArray(value))) context[key] = value
  }
  const wire: WireError = { name: error.name, message: error.message, context }
  if (error instanceof errors.BusError) wire.bus = true
  return wire
}

/** The error again, as its ringbus class when it is one. */
export function fromWire(wire: WireError): Error {
  const Class = (errors as unknown as Record<string, typeof errors.BusError>)[wire.name]
  if (typeof Class === 'function' && (Class === errors.BusError || Class.prototype instanceof errors.BusError)) {
    return new Class(wire.message, wire.context as errors.ErrorContext & { size: number; max: number })
  }
  // still `instanceof BusError` on this side, with the name it had there
  if (wire.bus === true) return Object.assign(new errors.BusError(wire.message, wire.context), { name: wire.name })
  return Object.assign(new Error(wire.message), { name: wire.name }, wire.context)
}
