// One delivery from a queue as its consumer sees it: the decoded message and its settlement.
// Settling goes to the queue core under the consumer that holds the message, once: a second
// ack, nack or reject is an error (RabbitMQ closes the channel for an unknown delivery tag).
import { InvalidArgumentError } from '../errors.js'
import type { HeaderValue, QueueDelivery } from '../types.js'
import type { Properties } from './envelope.js'

/** Where a delivery's settlement goes. */
export interface Settler {
  ack(delivery: Delivery): void
  nack(delivery: Delivery, requeue: boolean): void
}

const NO_HEADERS: Readonly<Record<string, HeaderValue>> = Object.freeze({})

export class Delivery<V = unknown> implements QueueDelivery<V> {
  readonly exchange: string
  readonly headers: Readonly<Record<string, HeaderValue>>
  readonly priority: number | undefined
  readonly correlationId: string | undefined
  readonly replyTo: string | undefined
  readonly messageId: string | undefined
  /** Settled by ack, nack or reject (or acked on delivery: noAck). */
  settled: boolean

  constructor(
    private readonly settler: Settler,
    /** The queue's id in the queue core. */
    readonly queueId: number,
    readonly queue: string,
    /** The consumer in the queue core holding it. */
    readonly consumer: number,
    /** Its offset in the queue's log, its identity in the queue core. */
    readonly offset: number,
    readonly routingKey: string,
    readonly value: V,
    properties: Properties,
    readonly redelivered: boolean,
    readonly deliveryCount: number,
    readonly timestamp: number,
    noAck: boolean,
  ) {
    this.exchange = properties.exchange
    this.headers = properties.headers ?? NO_HEADERS
    this.priority = properties.priority
    this.correlationId = properties.correlationId
    this.replyTo = properties.replyTo
    this.messageId = properties.messageId
    this.settled = noAck
  }

  private settle(how: string): void {
    if (this.settled) {
      throw new InvalidArgumentError(`this delivery of queue ${JSON.stringify(this.queue)} was settled already; it cannot be ${how} again`, {
        queue: this.queue, offset: this.offset, reason: 'unknown-delivery',
      })
    }
    this.settled = true
  }

  ack(): void {
    this.settle('acked')
    this.settler.ack(this)
  }

  nack(options?: { requeue?: boolean }): void {
    const requeue = options?.requeue ?? true
    if (typeof requeue !== 'boolean') throw new InvalidArgumentError('nack requeue must be a boolean', { queue: this.queue, argument: 'requeue' })
    this.settle(requeue ? 'requeued' : 'rejected')
    this.settler.nack(this, requeue)
  }

  reject(): void {
    this.nack({ requeue: false })
  }
}
