// Every error ringbus throws or reports. Each sets `name`, says whether retrying may help
// (`retriable`), keeps the underlying error as `cause` and carries the context it happened in.
import type { RecordMetadata } from './types.js'

export interface ErrorContext {
  topic?: string
  partition?: number
  offset?: number
  [key: string]: unknown
}

export class BusError extends Error {
  override name = 'BusError'
  readonly retriable: boolean = false
  // `declare`: filled in by the constructor, not re-initialised by class field semantics
  declare readonly topic?: string
  declare readonly partition?: number
  /**
   * Set by publishBatch when the log refused a record part way (a full onFull 'reject'
   * partition, a lock held too long): the records appended before it, in order. They are in the
   * log; the rest of the batch is not. Absent when the batch was rejected before anything was
   * appended (bad input, a value the codec refuses, a record too large): then nothing went in.
   */
  declare readonly accepted?: ReadonlyArray<RecordMetadata>
  constructor(message: string, context: ErrorContext & { cause?: unknown } = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    const { cause: _cause, ...rest } = context
    Object.assign(this, rest)
  }
}

/** An option or argument has the wrong type or value. */
export class InvalidArgumentError extends BusError {
  override name = 'InvalidArgumentError'
  declare readonly argument?: string
  /**
   * Set where the kind of refusal matters: 'precondition' (an exchange or queue exists with other
   * options, RabbitMQ's PRECONDITION_FAILED), 'unknown-delivery' (a delivery settled twice, or
   * after its consumer was cancelled), 'unknown-dead-letter'.
   */
  declare readonly reason?: 'precondition' | 'unknown-delivery' | 'unknown-dead-letter'
}

/** A topic name breaks Kafka's rule, or a pattern was used where a topic is needed. */
export class InvalidTopicError extends BusError {
  override name = 'InvalidTopicError'
}

/** A record does not fit in one segment of its partition. */
export class RecordTooLargeError extends BusError {
  override name = 'RecordTooLargeError'
  declare readonly size: number
  declare readonly max: number
  constructor(message: string, context: ErrorContext & { size: number; max: number; cause?: unknown }) {
    super(message, context)
  }
}

/** The topic's codec could not encode (or decode) a value. */
export class CodecError extends BusError {
  override name = 'CodecError'
}

/**
 * The partition is full and its policy is onFull 'reject', or no memory could be freed; or
 * (`reason: 'busy'`) another thread holds the partition far longer than any append takes: it
 * stalled, or died inside the core and is released once its exit is noticed; or
 * (`reason: 'dedup'`) the dedup table holds as many live messageIds as maxDedupEntries allows; or
 * (`reason: 'queues'`) the queue region (queueBytes) has no room for more delivery state; or
 * (`reason: 'routes'`) the routing region (routeBytes) has no room for more exchanges or bindings; or
 * (`reason: 'refused'`, on a copying worker's bus.events 'error') a queue refused a message the
 * worker sent, being full with overflow 'reject-publish' (in the creating thread send() lists
 * such queues in `refused` instead).
 */
export class BackPressureError extends BusError {
  override name = 'BackPressureError'
  override readonly retriable = true
  declare readonly reason?: 'busy' | 'dedup' | 'queues' | 'routes' | 'refused'
}

export class OffsetOutOfRangeError extends BusError {
  override name = 'OffsetOutOfRangeError'
}

export class UnknownQueueError extends BusError {
  override name = 'UnknownQueueError'
}

export class UnknownExchangeError extends BusError {
  override name = 'UnknownExchangeError'
}

export class UnroutableError extends BusError {
  override name = 'UnroutableError'
}

export class RequestTimeoutError extends BusError {
  override name = 'RequestTimeoutError'
  override readonly retriable = true
}

export class BusClosedError extends BusError {
  override name = 'BusClosedError'
}

export class DeliveryLimitExceededError extends BusError {
  override name = 'DeliveryLimitExceededError'
}

/**
 * The core's WebAssembly could not be loaded. `reason` says why: 'read' (a `wasm` URL could not
 * be read or answered an error `status`; the inline build could not be imported), 'not-wasm'
 * (the bytes are not a WebAssembly module), 'compile' (they are, but do not compile) or 'memory'
 * (a single build given for a memory of the other kind: the shared build over a plain memory, or
 * the reverse). `url`
 * names the URL it came from, if any.
 */
export class WasmLoadError extends BusError {
  override name = 'WasmLoadError'
  declare readonly reason: 'read' | 'not-wasm' | 'compile' | 'memory'
  declare readonly url?: string
  declare readonly status?: number
}
