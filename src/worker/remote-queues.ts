// A copying worker's queue consumers and request/reply, as the worker sees them. Each consumer
// lives in the creating thread (see copy-queues.ts), where the queue core holds what it has not
// acked; here its handler gets each delivery as that thread hands it over, and ack, nack and
// reject go back by delivery number in the worker's outbox, in order with what it publishes and
// sends. Whether a delivery was settled is known here, so settling twice throws at once, as it
// does in the creating thread; so does settling one whose consumer was cancelled (it went back
// to the queue).
import { asyncDispose } from '../dispose.js'
import { BusError, InvalidArgumentError, RequestTimeoutError } from '../errors.js'
import { DEFAULT_TIMEOUT, ERROR_HEADER } from '../rpc/request-reply.js'
import type { Clock } from '../clock.js'
import type { ConsumeQueueOptions, HeaderValue, QueueConsumer, QueueDelivery, RequestOptions, SendOptions } from '../types.js'
import type { ToOwner, WireDelivery, WireSettle } from './copy-wire.js'

/** What a consumer needs of the worker's bus. */
export interface ConsumerBus {
  /** Sends a request after everything queued before it. */
  post(message: ToOwner): void
  /** Queues a settlement in the outbox (sent at the end of the turn, in order). */
  settle(entry: WireSettle): void
  /** A handler failed: 'queue.error' on the bus's events. */
  failed(error: unknown, queue: string): void
  /** A handler settled, or the consumer ended: idle() may resolve. */
  settled(): void
  /** The consumer is cancelled: the bus lets go of it; resolves once the creating thread has cancelled it too. */
  cancelled(consumer: RemoteConsumer, tell: boolean): Promise<void>
}

const NO_HEADERS: Readonly<Record<string, HeaderValue>> = Object.freeze({})

class RemoteDelivery<V = unknown> implements QueueDelivery<V> {
  readonly queue: string
  readonly exchange: string
  readonly routingKey: string
  readonly value: V
  readonly headers: Readonly<Record<string, HeaderValue>>
  readonly redelivered: boolean
  readonly deliveryCount: number
  readonly priority: number | undefined
  readonly correlationId: string | undefined
  readonly replyTo: string | undefined
  readonly messageId: string | undefined
  readonly timestamp: number
  settled: boolean

  constructor(private readonly consumer: RemoteConsumer, private readonly wire: WireDelivery, noAck: boolean) {
    this.queue = consumer.queue
    this.exchange = wire.exchange
    this.routingKey = wire.routingKey
    this.value = wire.value as V
    this.headers = wire.headers ?? NO_HEADERS
    this.redelivered = wire.redelivered
    this.deliveryCount = wire.deliveryCount
    this.priority = wire.priority
    this.correlationId = wire.correlationId
    this.replyTo = wire.replyTo
    this.messageId = wire.messageId
    this.timestamp = wire.timestamp
    this.settled = noAck
  }

  private settle(how: 'ack' | 'requeue' | 'reject', verb: string): void {
    const context = { queue: this.queue, offset: this.wire.offset, reason: 'unknown-delivery' }
    if (this.settled) throw new InvalidArgumentError(`this delivery of queue ${JSON.stringify(this.queue)} was settled already; it cannot be ${verb} again`, context)
    this.settled = true
    if (this.consumer.cancelled) {
      throw new InvalidArgumentError(`this delivery of queue ${JSON.stringify(this.queue)} cannot be ${verb}: its consumer was cancelled and it went back to the queue`, context)
    }
    this.consumer.settle(this.wire.seq, how)
  }

  ack(): void {
    this.settle('ack', 'acked')
  }

  nack(options?: { requeue?: boolean }): void {
    const requeue = options?.requeue ?? true
    if (typeof requeue !== 'boolean') throw new InvalidArgumentError('nack requeue must be a boolean', { queue: this.queue, argument: 'requeue' })
    this.settle(requeue ? 'requeue' : 'reject', requeue ? 'requeued' : 'rejected')
  }

  reject(): void {
    this.nack({ requeue: false })
  }
}

/** A queue consumer of this worker: it lives in the creating thread, its handler runs here. */
export class RemoteConsumer implements QueueConsumer {
  cancelled = false
  /** Handlers that have not settled yet. */
  private running = 0
  /** Called once when cancelled (the bus lets go of an AbortSignal). */
  onCancel: (() => void) | undefined

  constructor(readonly id: number, readonly queue: string, private readonly handler: (delivery: QueueDelivery) => unknown, private readonly noAck: boolean,
    private readonly bus: ConsumerBus) {}

  /** @internal */
  settle(seq: number, how: WireSettle['how']): void {
    this.bus.settle({ consumer: this.id, seq, how })
  }

  /** Deliveries the creating thread handed over, in its order; none once cancelled (it took them back). */
  receive(deliveries: WireDelivery[]): void {
    for (const wire of deliveries) {
      if (this.cancelled) return
      this.hand(new RemoteDelivery(this, wire, this.noAck), wire.seq)
    }
  }

  private hand(delivery: RemoteDelivery, seq: number): void {
    let result: unknown
    try {
      result = this.handler(delivery)
    } catch (error) {
      this.failed(error, delivery)
      return this.settle(seq, 'handled')
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return this.settle(seq, 'handled')
    this.running++
    ;(result as PromiseLike<unknown>).then(
      () => this.done(seq),
      (error: unknown) => {
        if (!this.cancelled) this.failed(error, delivery)
        this.done(seq)
      },
    )
  }

  private done(seq: number): void {
    this.running--
    if (!this.cancelled) this.settle(seq, 'handled')
    this.bus.settled()
  }

  /** As in the creating thread: reported, and the delivery rejected unless it was settled. */
  private failed(error: unknown, delivery: RemoteDelivery): void {
    this.bus.failed(error, this.queue)
    if (!delivery.settled && !this.cancelled) delivery.reject()
  }

  idle(): boolean {
    return this.cancelled || this.running === 0
  }

  /**
   * Stops deliveries: what this consumer holds unacked goes back to the queue, redelivered, and
   * settling it here throws from now on. Resolves once the creating thread has cancelled it.
   */
  cancel(): Promise<void> {
    return this.end(true)
  }

  /** Cancelled here; `tell`: the creating thread is to hear it (not when it refused the consumer, or the bus ended). */
  end(tell: boolean): Promise<void> {
    if (this.cancelled) return Promise.resolve()
    this.cancelled = true
    this.onCancel?.()
    return this.bus.cancelled(this, tell)
  }

  [asyncDispose](): Promise<void> {
    return this.cancel()
  }
}

/** What request/reply needs of the worker's bus. */
export interface RpcBus {
  readonly clock: Clock
  /** Declares the queue in the creating thread. */
  declare(name: string): void
  /** A consumer of this worker; `declare`: the queue is declared there unless it exists; `autoDelete`: deleted when the consumer ends. */
  consume(queue: string, handler: (delivery: QueueDelivery) => unknown, options: ConsumeQueueOptions, extra: { declare: boolean; autoDelete: boolean }): RemoteConsumer
  /** A send; with `refused`, what the creating thread refuses of it comes back there (not on bus.events). */
  send(exchange: string, routingKey: string, value: unknown, options: SendOptions, refused?: (error: Error) => void): (() => void) | undefined
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  /** Stops the timer and forgets the send's ticket. */
  done(): void
}

let workerSequence = 0

/**
 * Request/reply from a copying worker, as src/rpc/request-reply.ts does it in the creating thread:
 * this worker's reply queue (declared there, consumed here, deleted when the worker's bus closes
 * or the worker goes away), correlation ids, and timeouts by this worker's clock. A request sent
 * to no queue rejects with the creating thread's UnroutableError once that thread routed it.
 */
export class RemoteRpc {
  private replyQueue: string | undefined
  private consumer: RemoteConsumer | undefined
  private readonly pending = new Map<string, Pending>()
  private next = 0
  private readonly prefix = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}.w${workerSequence++}`

  constructor(private readonly bus: RpcBus) {}

  private replies(): string {
    if (this.replyQueue !== undefined) return this.replyQueue
    const name = `ringbus.reply.${this.prefix}`
    this.bus.declare(name)
    this.consumer = this.bus.consume(name, (d) => this.answered(d), { noAck: true }, { declare: false, autoDelete: true })
    return (this.replyQueue = name)
  }

  private answered(d: QueueDelivery): void {
    const pending = d.correlationId === undefined ? undefined : this.pending.get(d.correlationId)
    if (pending === undefined) return // late (timed out) or not ours
    this.pending.delete(d.correlationId!)
    pending.done()
    const error = d.headers[ERROR_HEADER]
    if (typeof error === 'string') pending.reject(new BusError(`the replier failed: ${error}`, { queue: d.queue, correlationId: d.correlationId }))
    else pending.resolve(d.value)
  }

  request(queue: string, value: unknown, options: RequestOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`, { queue, argument: 'timeoutMs' })
    const replyTo = this.replies()
    const correlationId = `${this.prefix}.${this.next++}`
    return new Promise((resolve, reject) => {
      let forget: (() => void) | undefined
      const fail = (error: Error): void => {
        const pending = this.pending.get(correlationId)
        if (pending === undefined) return
        this.pending.delete(correlationId)
        pending.done()
        reject(error)
      }
      const cancelTimer = this.bus.clock.setTimer(() => {
        fail(new RequestTimeoutError(`no reply to the request to ${JSON.stringify(queue)} within ${timeoutMs} ms`, { queue, correlationId, timeoutMs }))
      }, timeoutMs)
      this.pending.set(correlationId, { resolve, reject, done: () => { cancelTimer(); forget?.() } })
      try {
        forget = this.bus.send(options?.exchange ?? '', queue, value, { correlationId, replyTo, headers: options?.headers, mandatory: true }, fail)
      } catch (error) {
        fail(error as Error)
      }
    })
  }

  /** Answers every request on `queue` (declared in the creating thread if missing) with what `handler` returns. */
  reply(queue: string, handler: (value: unknown, delivery: QueueDelivery) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    if (typeof handler !== 'function') throw new InvalidArgumentError('reply needs a handler function', { queue, argument: 'handler' })
    return this.bus.consume(queue, async (d) => {
      let result: unknown
      let failure: string | undefined
      try {
        result = await handler(d.value, d)
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error)
      }
      if (d.replyTo !== undefined) {
        this.bus.send('', d.replyTo, failure === undefined ? result : undefined, {
          correlationId: d.correlationId, headers: failure === undefined ? undefined : { [ERROR_HEADER]: failure },
        })
      }
      d.ack()
    }, options ?? {}, { declare: true, autoDelete: false })
  }

  /** The bus closed (or the creating thread's did): every request waiting rejects. */
  close(): void {
    for (const [id, pending] of this.pending) {
      pending.done()
      pending.reject(new BusError('the bus closed before the reply came', { correlationId: id }))
    }
    this.pending.clear()
    void this.consumer?.end(false)
  }
}
