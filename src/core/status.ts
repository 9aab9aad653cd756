// The one place where the core's status codes become typed errors with context.
import {
  STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_DEDUP_FULL, STATUS_FULL, STATUS_GROUP_LIMIT, STATUS_LIMIT, STATUS_OUT_OF_RANGE,
  STATUS_ROUTE_ALTERNATE_MISMATCH, STATUS_ROUTE_BAD_TABLE, STATUS_ROUTE_FULL, STATUS_ROUTE_TOO_MANY, STATUS_ROUTE_TYPE_MISMATCH,
  STATUS_ROUTE_UNKNOWN_EXCHANGE, STATUS_TOO_LARGE, STATUS_TOPIC_LIMIT, STATUS_UNKNOWN_PARTITION, STATUS_QUEUE_UNKNOWN, STATUS_QUEUE_PRECONDITION, STATUS_QUEUE_REFUSED,
  STATUS_QUEUE_NO_ROOM, STATUS_NOT_UNACKED, STATUS_CONSUMER_UNKNOWN, STATUS_NOT_DEAD,
} from './abi.js'
import {
  BackPressureError, BusError, type ErrorContext, InvalidArgumentError, OffsetOutOfRangeError, RecordTooLargeError, UnknownExchangeError,
  UnknownQueueError,
} from '../errors.js'

export interface StatusContext extends ErrorContext {
  size?: number
  max?: number
}

export function statusError(status: number, context: StatusContext = {}): BusError {
  const where = context.topic === undefined ? '' : context.partition === undefined ? ` (topic ${context.topic})` : ` (topic ${context.topic}, partition ${context.partition})`
  const q = context.queue === undefined ? '' : ` ${JSON.stringify(context.queue)}`
  switch (status) {
    case STATUS_FULL:
      return new BackPressureError(`log is full${where}: no segment can be freed under the topic's policy`, context)
    case STATUS_TOO_LARGE:
      return new RecordTooLargeError(`record of ${context.size} bytes exceeds the segment limit of ${context.max} bytes${where}`,
        { ...context, size: context.size ?? 0, max: context.max ?? 0 })
    case STATUS_OUT_OF_RANGE:
      return new OffsetOutOfRangeError(`offset ${context.offset} is no longer in the log${where}`, context)
    case STATUS_UNKNOWN_PARTITION:
      return new InvalidArgumentError(`unknown partition${where}`, context)
    case STATUS_LIMIT:
      return new InvalidArgumentError(`the partition table is full${where}: all maxPartitions partitions (across topics) are taken; raise maxPartitions`, { argument: 'maxPartitions', ...context })
    case STATUS_TOPIC_LIMIT:
      return new InvalidArgumentError(`the topic directory is full${where}: all maxTopics topics are declared; raise maxTopics`, { argument: 'maxTopics', ...context })
    case STATUS_GROUP_LIMIT:
      return new InvalidArgumentError(`the group table is full${where}: all maxGroups consumer groups are created; raise maxGroups`, { argument: 'maxGroups', ...context })
    case STATUS_DEDUP_FULL:
      return new BackPressureError(`the dedup table is full${where}: all maxDedupEntries messageIds are within their topics' dedup windows or being appended; ` +
        'retry once some expire, or raise maxDedupEntries', { ...context, reason: 'dedup' })
    case STATUS_BUSY:
      return new BackPressureError(`the log is locked by another thread that has not let go for a while${where}: ` +
        'it is stalled, or it died inside the core and is released once its exit is noticed; try again', { ...context, reason: 'busy' })
    case STATUS_ROUTE_FULL:
      return new BackPressureError(`the routing region is full${where}: no room for more exchanges or bindings; raise routeBytes ` +
        '(or unbind what is no longer needed)', { ...context, reason: 'routes' })
    case STATUS_ROUTE_TYPE_MISMATCH:
      return new InvalidArgumentError(`exchange ${String(context.exchange)} exists with another type (PRECONDITION_FAILED: inequivalent arg 'type')`,
        { argument: 'type', ...context, reason: 'precondition' })
    case STATUS_ROUTE_ALTERNATE_MISMATCH:
      return new InvalidArgumentError(`exchange ${String(context.exchange)} exists with another alternate exchange ` +
        "(PRECONDITION_FAILED: inequivalent arg 'alternate-exchange')", { argument: 'alternate', ...context, reason: 'precondition' })
    case STATUS_ROUTE_UNKNOWN_EXCHANGE:
      return new UnknownExchangeError(`no exchange ${context.exchange === undefined ? '' : `${String(context.exchange)} `}is declared`, context)
    case STATUS_ROUTE_TOO_MANY:
      return new InvalidArgumentError(`the message reaches more destinations than one route can return (${context.max})`, context)
    case STATUS_ROUTE_BAD_TABLE:
      return new InvalidArgumentError('a header table is not in the canonical encoding (encodeHeaderTable)', { argument: 'headers', ...context })
    case STATUS_QUEUE_UNKNOWN:
      return new UnknownQueueError(`no such queue${q}: never declared, or deleted`, context)
    case STATUS_QUEUE_PRECONDITION:
      return new InvalidArgumentError(`queue${q} exists with another configuration (inequivalent arg)`, { ...context, reason: 'precondition' })
    case STATUS_QUEUE_REFUSED:
      return new BusError(`queue${q} is at its max length and refuses publishes (overflow reject-publish)`, context)
    case STATUS_QUEUE_NO_ROOM:
      return new BackPressureError(`the queue region is full${q}: no room for more queues, consumers or delivery state ` +
        '(every message not yet acked takes 32 bytes, a consumer about 2 KiB); settle messages, or raise queueBytes', { argument: 'queueBytes', ...context, reason: 'queues' })
    case STATUS_NOT_UNACKED:
      return new InvalidArgumentError(`offset ${context.offset} is not held unacked by consumer ${context.consumer}${q}: acked or nacked already, ` +
        'never delivered to it, or delivered to another consumer', { ...context, reason: 'unknown-delivery' })
    case STATUS_CONSUMER_UNKNOWN:
      return new InvalidArgumentError(`no consumer ${context.consumer} of this thread${q}: cancelled, its queue deleted, or another thread's`, { argument: 'consumer', ...context })
    case STATUS_NOT_DEAD:
      return new InvalidArgumentError(`offset ${context.offset} is not a dead letter this thread took${q}`, { argument: 'offset', ...context, reason: 'unknown-dead-letter' })
    case STATUS_BAD_ARGUMENT:
      return new InvalidArgumentError(`the core rejected an argument${where}`, context)
    default:
      return new BusError(`unexpected core status ${status}${where}`, context)
  }
}
