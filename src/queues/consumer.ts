// A queue consumer of this thread: it takes what the queue core put in its mailbox (first what it
// was handed straight, without the queue: hand-over.ts), decodes each message and calls the
// handler without waiting for the one before (RabbitMQ pushes up to the prefetch count; the
// handler acks when it likes). Runs in the bus's delivery turns.
import type { Delivered } from '../core/queues.js'
import { asyncDispose } from '../dispose.js'
import type { ScheduledReader } from '../delivery/scheduler.js'
import type { QueueConsumer, QueueDelivery } from '../types.js'
import type { Delivery } from './delivery.js'

/** Deliveries taken from the mailbox per core call. */
const BATCH = 256

export interface ConsumerHost {
  receive(consumer: QueueConsumerImpl, max: number): Delivered[]
  /** The batch read and decoded before any handler runs. */
  deliveries(queueId: number, queue: string, consumer: number, batch: ReadonlyArray<Delivered>, noAck: boolean): Delivery[]
  /** What the consumer was handed straight, without the queue (noAck; queues/hand-over.ts): it runs before what the queue gives it. */
  handed(consumer: QueueConsumerImpl, max: number): Delivery[] | undefined
  /** Handlers run over a batch from here to endBatch: the acks they make are settled together then. */
  beginBatch(consumer: QueueConsumerImpl): void
  endBatch(): void
  cancel(consumer: QueueConsumerImpl): void
  /**
   * The handler of `delivery` threw or rejected: report it; an unsettled delivery is rejected.
   * Without a delivery: taking a batch failed (the core refused it), reported the same way.
   */
  failed(error: unknown, consumer: QueueConsumerImpl, delivery?: Delivery): void
  /** A handler settled: idle() may resolve. */
  settled(): void
}

export class QueueConsumerImpl implements QueueConsumer, ScheduledReader {
  cancelled = false
  /** Handlers that have not settled yet. */
  private running = 0

  constructor(
    private readonly host: ConsumerHost,
    readonly queueId: number,
    readonly queue: string,
    private readonly handler: (delivery: QueueDelivery) => unknown,
    readonly consumerId: number,
    readonly noAck: boolean,
  ) {}

  matches(): boolean { return false }
  attach(): void {}

  /** In run(): whatever the queue gives it meanwhile, it takes before run() returns (no poke needed). */
  receiving = false
  pokePending = false

  run(): void {
    this.receiving = true
    try {
      while (!this.cancelled) {
        let deliveries = this.host.handed(this, BATCH)
        if (deliveries === undefined) {
          const batch = this.host.receive(this, BATCH)
          if (batch.length === 0) return
          deliveries = this.host.deliveries(this.queueId, this.queue, this.consumerId, batch, this.noAck)
        }
        if (this.noAck) this.handAll(deliveries)
        else {
          this.host.beginBatch(this)
          try {
            this.handAll(deliveries)
          } finally {
            this.host.endBatch()
          }
        }
      }
    } catch (error) {
      // not thrown into the delivery turn (the other readers of the turn still run): the next
      // turn that runs this consumer tries again
      this.host.failed(error, this)
    } finally {
      this.receiving = false
    }
  }

  private handAll(deliveries: Delivery[]): void {
    for (const delivery of deliveries) {
      // a handler may cancel this consumer: the rest of the batch went back to the queue
      if (this.cancelled) return
      this.hand(delivery)
    }
  }

  private hand(delivery: Delivery): void {
    let result: unknown
    try {
      result = this.handler(delivery)
    } catch (error) {
      this.host.failed(error, this, delivery)
      return
    }
    if (result instanceof Promise) {
      this.running++
      result.then(
        () => {
          this.running--
          this.host.settled()
        },
        (error: unknown) => {
          this.running--
          if (!this.cancelled) this.host.failed(error, this, delivery)
          this.host.settled()
        },
      )
    }
  }

  idle(): boolean {
    return this.running === 0
  }

  close(): void {
    void this.cancel()
  }

  /** Called once when cancelled (the bus lets go of an AbortSignal). */
  onCancel: (() => void) | undefined

  async cancel(): Promise<void> {
    if (this.cancelled) return
    this.cancelled = true
    this.onCancel?.()
    this.host.cancel(this)
  }

  [asyncDispose](): Promise<void> {
    return this.cancel()
  }
}

/** Cancels `consumer` when `signal` aborts (at once if it has); lets go of the signal once cancelled. */
export function cancelOnAbort(consumer: { cancel(): Promise<void>; onCancel: (() => void) | undefined }, signal: AbortSignal | undefined): void {
  if (signal === undefined) return
  const abort = (): void => void consumer.cancel()
  if (signal.aborted) return abort()
  signal.addEventListener('abort', abort, { once: true })
  consumer.onCancel = () => signal.removeEventListener('abort', abort)
}
