// The creating thread's side of a copying worker's exchanges and queues. Declarations, bindings
// and sends are carried out here, in order with the worker's records; what is refused here is
// reported on the worker's bus.events 'error' (a send of a request on its request instead).
// Each queue consumer of the worker is a consumer of this thread's bus (Queues.consume): the
// queue core holds its unacked deliveries and counts its prefetch here, and its handler sends
// each delivery to the worker (batched per turn) and settles once the worker's handler did. The
// worker acks, nacks and rejects by delivery number; when the worker cancels, closes its bus or
// goes away, the consumer is cancelled here and what it held returns to the queue, redelivered.
import { BackPressureError, CodecError } from '../errors.js'
import type { Binding, ConsumeQueueOptions, ExchangeOptions, QueueConsumer, QueueDelivery, QueueOptions, QueueStats, SendOptions, SendResult } from '../types.js'
import { toWire, type ToOwner, type ToWorker, type WireDelivery, type WireSend, type WireSettle } from './copy-wire.js'

/** What a copying worker's exchanges and queues need of the bus that owns the log. */
export interface QueueOwner {
  exchange(name: string, options: ExchangeOptions | undefined): unknown
  queue(name: string, options: QueueOptions | undefined): unknown
  bind(binding: Binding): unknown
  unbind(binding: Binding): unknown
  send(exchange: string, routingKey: string, value: unknown, options: SendOptions | undefined): SendResult
  consumeQueue(queue: string, handler: (delivery: QueueDelivery) => unknown, options: ConsumeQueueOptions): QueueConsumer
  /** Declares the queue with no options unless it exists (reply() does so). */
  ensureQueue(name: string): void
  deleteQueue(name: string): void
  queueStats(): Record<string, QueueStats>
}

/** How the queue side reaches the worker. */
export interface QueueLine {
  /** Posts to the worker; false when it is gone. Throws when the message cannot be cloned. */
  post(message: ToWorker): boolean
  /** Reports a failure on the worker's bus.events 'error'. */
  fail(error: unknown): void
}

type QueueRequest = Extract<ToOwner, { op: 'exchange' | 'queue' | 'bind' | 'unbind' | 'queue.consume' | 'queue.cancel' }>

/** The offset of a delivery of this thread's queues (its identity in the queue core). */
const offsetOf = (d: QueueDelivery): number => (d as unknown as { offset: number }).offset

function toWireDelivery(d: QueueDelivery, seq: number): WireDelivery {
  return {
    seq, offset: offsetOf(d), exchange: d.exchange, routingKey: d.routingKey, value: d.value,
    headers: Object.keys(d.headers).length === 0 ? undefined : d.headers as Record<string, unknown>,
    redelivered: d.redelivered, deliveryCount: d.deliveryCount, priority: d.priority, correlationId: d.correlationId, replyTo: d.replyTo,
    messageId: d.messageId, timestamp: d.timestamp,
  }
}

/** One queue consumer of the worker, run here. */
class ConsumerOutlet {
  consumer: QueueConsumer | undefined
  private seq = 0
  /** Deliveries the worker holds and has not settled, by seq (none with noAck). */
  private readonly held = new Map<number, QueueDelivery>()
  /** The consumer's handler calls here that wait for the worker's handler, by seq. */
  private readonly running = new Map<number, () => void>()
  private pending: Array<{ wire: WireDelivery; delivery: QueueDelivery }> = []
  private scheduled = false
  private ended = false

  constructor(readonly id: number, readonly queue: string, private readonly autoDelete: boolean, private readonly line: QueueLine,
    private readonly owner: QueueOwner) {}

  /** The consumer's handler: the delivery goes to the worker; settles when the worker's handler did. */
  readonly handler = (delivery: QueueDelivery): Promise<void> | undefined => {
    if (this.ended) return undefined
    const seq = ++this.seq
    if (!(delivery as unknown as { settled: boolean }).settled) this.held.set(seq, delivery)
    this.pending.push({ wire: toWireDelivery(delivery, seq), delivery })
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.post)
    }
    return new Promise((resolve) => this.running.set(seq, resolve))
  }

  private readonly post = (): void => {
    this.scheduled = false
    const pending = this.pending
    this.pending = []
    if (pending.length === 0 || this.ended) return
    try {
      if (this.line.post({ op: 'queue.deliver', id: this.id, deliveries: pending.map((p) => p.wire) })) return
    } catch {
      // a delivery that cannot be cloned (it came through a topic codec as something odd): the
      // others still go, and it is rejected as a handler failure would have it
      const sendable = pending.filter(({ wire, delivery }) => {
        try {
          structuredClone(wire)
          return true
        } catch (error) {
          this.line.fail(new CodecError(`a delivery of queue ${JSON.stringify(this.queue)} cannot be copied to the worker: ${(error as Error)?.message ?? error}`,
            { queue: this.queue, offset: wire.offset, cause: error }))
          this.settle({ consumer: this.id, seq: wire.seq, how: 'reject' })
          this.settle({ consumer: this.id, seq: wire.seq, how: 'handled' })
          return false
        }
      })
      if (sendable.length > 0 && this.line.post({ op: 'queue.deliver', id: this.id, deliveries: sendable.map((p) => p.wire) })) return
    }
    // the worker is gone: its end() cancels the consumer, and what it held goes back to the queue
  }

  /** What the worker did with delivery `seq`. */
  settle({ seq, how }: WireSettle): void {
    if (how === 'handled') {
      const resolve = this.running.get(seq)
      this.running.delete(seq)
      resolve?.()
      return
    }
    const delivery = this.held.get(seq)
    this.held.delete(seq)
    if (delivery === undefined || this.consumer?.cancelled !== false) return // cancelled meanwhile: it went back to the queue
    try {
      if (how === 'ack') delivery.ack()
      else delivery.nack({ requeue: how === 'requeue' })
    } catch (error) {
      this.line.fail(error)
    }
  }

  /** The worker cancelled it, closed its bus or is gone: what it held returns to the queue. */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.pending = []
    this.held.clear()
    if (this.consumer !== undefined && !this.consumer.cancelled) this.consumer.cancel().catch((error: unknown) => this.line.fail(error))
    for (const resolve of this.running.values()) resolve()
    this.running.clear()
    if (this.autoDelete) {
      try {
        this.owner.deleteQueue(this.queue)
      } catch {
        // deleted already, or the bus closed
      }
    }
  }
}

/** A copying worker's exchanges, queues and queue consumers, served by the creating thread. */
export class QueueOutlets {
  private readonly consumers = new Map<number, ConsumerOutlet>()

  constructor(private readonly line: QueueLine, private readonly owner: QueueOwner) {}

  /** A send of the worker (an entry of its outbox): routed here now. */
  send(entry: WireSend): void {
    try {
      const { refused } = this.owner.send(entry.exchange, entry.routingKey, entry.value, entry.options)
      // a request waits for its reply (or its timeout), as in the creating thread; a plain send
      // cannot see its result, so each refusal is reported
      if (entry.ticket !== undefined) return
      for (const queue of refused) {
        this.line.fail(new BackPressureError(`queue ${JSON.stringify(queue)} refused a message sent to ${entry.exchange === '' ? 'the default exchange' : `exchange ${JSON.stringify(entry.exchange)}`} with routing key ${JSON.stringify(entry.routingKey)}: it is full (maxLength, overflow 'reject-publish')`,
          { queue, exchange: entry.exchange, routingKey: entry.routingKey, reason: 'refused' }))
      }
    } catch (error) {
      if (entry.ticket === undefined) this.line.fail(error)
      else this.line.post({ op: 'send.refused', ticket: entry.ticket, error: toWire(error) })
    }
  }

  /** A settlement (or handler end) of one of the worker's consumers. */
  settle(entry: WireSettle): void {
    this.consumers.get(entry.consumer)?.settle(entry)
  }

  receive(message: QueueRequest): void {
    try {
      switch (message.op) {
        case 'exchange':
          this.owner.exchange(message.name, message.options)
          return
        case 'queue':
          this.owner.queue(message.name, message.options)
          return
        case 'bind':
          this.owner.bind(message.binding)
          return
        case 'unbind':
          this.owner.unbind(message.binding)
          return
        case 'queue.consume':
          return this.consume(message)
        case 'queue.cancel': {
          const outlet = this.consumers.get(message.id)
          this.consumers.delete(message.id)
          outlet?.end()
        }
      }
    } catch (error) {
      this.line.fail(error)
    }
  }

  private consume({ id, queue, options }: Extract<QueueRequest, { op: 'queue.consume' }>): void {
    const outlet = new ConsumerOutlet(id, queue, options.autoDelete, this.line, this.owner)
    try {
      if (options.declare) this.owner.ensureQueue(queue)
      outlet.consumer = this.owner.consumeQueue(queue, outlet.handler, { prefetch: options.prefetch, noAck: options.noAck })
    } catch (error) {
      this.line.post({ op: 'queue.refused', id, error: toWire(error) })
      return
    }
    this.consumers.set(id, outlet)
  }

  /** The worker is gone (or closed its bus): every consumer is cancelled, its unacked deliveries redelivered. */
  end(): void {
    for (const outlet of this.consumers.values()) outlet.end()
    this.consumers.clear()
  }
}
