// A copying worker's queue consumers, as the worker sees them (its request/reply is
// src/rpc/request-reply.ts over them). Each consumer
// lives in the creating thread (see copy-queues.ts), where the queue core holds what it has not
// acked; here its handler gets each delivery as that thread hands it over, and ack, nack and
// reject go back by delivery number in the worker's outbox, in order with what it publishes and
// sends. Whether a delivery was settled is known here, so settling twice throws at once, as it
// does in the creating thread; so does settling one whose consumer was cancelled (it went back
// to the queue).
import { asyncDispose } from '../dispose.js'
import { InvalidArgumentError } from '../errors.js'
import { Delivery, type Settler } from '../queues/delivery.js'
import type { QueueConsumer, QueueDelivery } from '../types.js'
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

/** A queue consumer of this worker: it lives in the creating thread, its handler runs here. */
export class RemoteConsumer implements QueueConsumer, Settler {
  cancelled = false
  /** Handlers that have not settled yet. */
  private running = 0
  /** Called once when cancelled (the bus lets go of an AbortSignal). */
  onCancel: (() => void) | undefined

  constructor(readonly id: number, readonly queue: string, private readonly handler: (delivery: QueueDelivery) => unknown, private readonly noAck: boolean,
    private readonly bus: ConsumerBus) {}

  /** Delivery numbers (the creating thread's names for them) of what this consumer handed over. */
  private readonly seqs = new WeakMap<Delivery, number>()

  private settle(seq: number, how: WireSettle['how']): void {
    this.bus.settle({ consumer: this.id, seq, how })
  }

  /** A delivery settled by the handler: refused here at once once this consumer was cancelled (it went back to the queue). */
  private settleDelivery(delivery: Delivery, how: 'ack' | 'requeue' | 'reject'): void {
    if (this.cancelled) {
      throw new InvalidArgumentError(`this delivery of queue ${JSON.stringify(this.queue)} went back to the queue when its consumer was cancelled; it cannot be settled any more`,
        { queue: this.queue, offset: delivery.offset, reason: 'unknown-delivery' })
    }
    this.settle(this.seqs.get(delivery)!, how)
  }

  ack(delivery: Delivery): void {
    this.settleDelivery(delivery, 'ack')
  }

  nack(delivery: Delivery, requeue: boolean): void {
    this.settleDelivery(delivery, requeue ? 'requeue' : 'reject')
  }

  /** Deliveries the creating thread handed over, in its order; none once cancelled (it took them back). */
  receive(deliveries: WireDelivery[]): void {
    for (const wire of deliveries) {
      if (this.cancelled) return
      // no queue core in this thread: -1 for its queue id, this consumer's own id for the core's
      const delivery = new Delivery(this, -1, this.queue, this.id, wire.offset, wire.routingKey, wire.value, wire, wire.redelivered, wire.deliveryCount,
        wire.timestamp, this.noAck)
      this.seqs.set(delivery, wire.seq)
      this.hand(delivery, wire.seq)
    }
  }

  private hand(delivery: Delivery, seq: number): void {
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
  private failed(error: unknown, delivery: Delivery): void {
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
