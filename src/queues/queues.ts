// The queues of one thread's bus: declaring them, putting messages in, get(), consumers, the
// timers that expire messages and unused queues, and dead-lettering. The delivery state lives
// in the queue core (src/core/queues.ts), shared by every thread; this module decodes messages
// out of the queue's log and runs this thread's handlers.
import type { Clock } from '../clock.js'
import type { RangeCodec } from '../codec/codecs.js'
import type { LogCore } from '../core/log.js'
import type { DeadReason, Delivered, QueueConfig } from '../core/queues.js'
import { CodecError, InvalidArgumentError, UnknownQueueError } from '../errors.js'
import type { Tracing } from '../tracing/tracing.js'
import type { ConsumeQueueOptions, QueueDelivery, QueueOptions, QueueStats } from '../types.js'
import { cancelOnAbort, QueueConsumerImpl, type ConsumerHost } from './consumer.js'
import { recordDeath } from './dead-letter.js'
import { Delivery, type Settler } from './delivery.js'
import { encodeProperties, encodeValue, queueValueCodec, type Properties } from './envelope.js'
import { HandOver } from './hand-over.js'
import { checkConsumeOptions, checkQueueName, checkQueueOptions } from './queue-options.js'
import { QueueReader, type QueueMessage } from './queue-reader.js'
import { SentMessages } from './sent-messages.js'

/** A message on its way into a queue: its routing key, properties and encoded value. */
export interface Outgoing {
  routingKey: string
  properties: Properties
  /**
   * The encoded value: bytes [valueStart, valueEnd) of valueBytes. Undefined until a queue's log
   * needs them when the value certainly encodes (sureEncodedSize): a consumer it goes to straight
   * (hand-over.ts) takes the value as it is.
   */
  valueBytes: Uint8Array | undefined
  valueStart: number
  valueEnd: number
  /** valueEnd - valueStart, or (not encoded yet) at least that. */
  valueSize: number
  /** The value itself, where this thread sent it (a dead letter has only its bytes). */
  value?: unknown
  delayMs: number
  /** The properties encoded, once for all the queues a message goes to. */
  propertyBytes?: Uint8Array
  /** Where its frame was placed, at `placedAt` time and core placement `placement`: reused while intact. */
  frameAt?: number
  placedAt?: number
  placement?: number
}

/** A dead letter on its way to its queue's dead-letter exchange. */
export interface DeadLetter extends Outgoing {
  /** The queue it died in, for the cycle rule. */
  queue: string
  reason: DeadReason
}

export interface QueuesHost {
  readonly core: LogCore
  readonly clock: Clock
  /** Publishes a dead letter through `exchange`; returns nothing (an unroutable dead letter is dropped). */
  deadLetter(exchange: string, letter: DeadLetter): void
  /**
   * A message went into a queue or was settled, or a consumer was cancelled or its queue deleted:
   * a consumer of another thread may have something now (the host asks the core whether it does).
   */
  changed(): void
  /** Runs a consumer in this thread's delivery turns. */
  addConsumer(consumer: QueueConsumerImpl): void
  removeConsumer(consumer: QueueConsumerImpl): void
  /** Asks for a turn that runs `consumer`. */
  poke(consumer: QueueConsumerImpl): void
  handlerFailed(error: unknown, queue: string): void
  /** A handler settled: idle() may resolve. */
  settled(): void
  /** Where OpenTelemetry is on: handlers run in the context of the span that sent their message. */
  readonly tracing?: Tracing
}

export class Queues implements Settler {
  /** This thread's consumers, by queue id (arrays: settlements walk them for every message). */
  private readonly consumers: Array<QueueConsumerImpl[] | undefined> = []
  /** One timer per queue: when its next message falls due (expires or stops being delayed). */
  private readonly timers = new Map<number, { at: number; cancel: () => void }>()
  private readonly expiryTimers = new Map<number, () => void>()
  /** Consumers of get() by this thread, to give back what they hold when the bus closes. */
  private readonly getters = new Set<number>()
  private readonly reader: QueueReader
  private readonly sent: SentMessages
  /** Messages that go straight to a waiting noAck consumer (hand-over.ts). */
  private readonly handOver: HandOver
  private closed = false

  private valueCodec: RangeCodec | undefined

  constructor(private readonly host: QueuesHost) {
    this.reader = new QueueReader(host.core, () => this.codec)
    this.sent = new SentMessages(() => host.core.queues.version)
    this.handOver = new HandOver(!host.core.shared, (id) => host.core.queues.holds(id), host.core.maxFrameBytes)
  }

  /** How queue values are encoded (msgpack; see queueValueCodec), made when first needed. */
  get codec(): RangeCodec {
    return (this.valueCodec ??= queueValueCodec(this.host.core))
  }

  private get core(): LogCore { return this.host.core }

  /** Declares a queue (again: the options must be equal); RabbitMQ's declare-ok figures. */
  declare(name: string, options: QueueOptions | undefined): { queue: string; messages: number; consumers: number } {
    checkQueueName(name)
    const config = checkQueueOptions(name, options)
    const now = this.host.clock.now()
    const { id } = this.core.queues.declare(name, config, now)
    this.armExpiry(id, config)
    const stats = this.core.queues.stats(id)
    return { queue: name, messages: stats.ready + stats.delayed, consumers: stats.consumers }
  }

  /** The queue's id, or UnknownQueueError. */
  id(name: string): number {
    const id = this.core.queues.find(checkQueueName(name))
    if (id < 0) throw new UnknownQueueError(`no queue is named ${JSON.stringify(name)}; declare it with bus.queue() first`, { queue: name })
    return id
  }

  /** The queue's id, or -1. */
  find(name: string): number {
    return this.core.queues.find(name)
  }

  name(id: number): string {
    return this.core.queues.name(id)
  }

  /** Queue `id` (-1: none) has a consumer a message may go to straight (hand-over.ts). */
  takesStraight(id: number): boolean {
    return this.handOver.takes(id)
  }

  /**
   * Puts a message into queue `id`, or hands it straight to the queue's waiting noAck consumer
   * (hand-over.ts); false when the queue refused it (maxLength with a reject-publish overflow).
   * With 'reject-publish-dlx' the refused message is dead-lettered.
   */
  enqueue(id: number, message: Outgoing, now: number): boolean {
    const taker = this.handOver.take(id, message, now)
    if (taker !== undefined) {
      if (!taker.receiving) this.host.poke(taker)
      return true
    }
    // what the queue's consumer was handed and has not run came first: into the queue before this
    this.putBack(id)
    return this.publish(id, message, now)
  }

  /** enqueue() into the queue's log. */
  private publish(id: number, message: Outgoing, now: number): boolean {
    const config = this.core.queues.config(id)
    const ttl = minTtl(config.messageTtlMs, message.properties.expirationMs)
    const readyAt = message.delayMs > 0 ? now + message.delayMs : now
    const expiresAt = ttl === undefined ? Infinity : readyAt + ttl
    const offset = this.core.queues.publish(id, this.frame(id, message, now), message.properties.priority ?? 0, expiresAt, readyAt, now)
    if (offset === undefined) {
      if (config.overflow === 'reject-publish-dlx') this.deadLetterRefused(id, config, message, now)
      return false
    }
    if ('value' in message) this.sent.put(id, offset, now, message.routingKey, message.properties, message.value)
    this.settledIn(id, config)
    if (ttl !== undefined || message.delayMs > 0) this.arm(id, Math.min(expiresAt, readyAt > now ? readyAt : Infinity))
    return true
  }

  /**
   * Puts what queue `id`'s consumer was handed straight and has not run into the queue, in send
   * order, encoded again (a sent value is the sender's object, as a same-thread delivery is). A
   * value that no longer encodes is reported and left out; a queue that refuses one (its log full)
   * throws, and what is left stays with the consumer.
   */
  private putBack(id: number): void {
    const held = this.handOver.heldFor(id)
    if (held === undefined) return
    let done = 0
    try {
      for (; done < held.length; done++) {
        const at = held.slot(done)
        try {
          this.publish(id, {
            routingKey: held.key(at), properties: held.propertiesOf(at), valueBytes: undefined, valueStart: 0, valueEnd: 0, valueSize: 0, delayMs: 0,
            value: held.value(at), propertyBytes: undefined, frameAt: undefined, placedAt: undefined, placement: undefined,
          }, held.time(at))
        } catch (error) {
          if (!(error instanceof CodecError)) throw error
          this.host.handlerFailed(error, held.consumer.queue)
        }
      }
    } finally {
      held.shift(done)
    }
  }

  /** The message's frame in the staging area: placed once for all the queues it goes to, unless something overwrote it since. */
  private frame(id: number, message: Outgoing, now: number): number {
    const queues = this.core.queues
    if (message.frameAt !== undefined && message.placement === queues.placement && message.placedAt === now) return message.frameAt
    message.propertyBytes ??= encodeProperties(message.properties)
    if (message.valueBytes === undefined) {
      const encoded = encodeValue(this.codec, message.value, 'queue', this.name(id))
      message.valueBytes = encoded.bytes
      message.valueStart = encoded.start
      message.valueEnd = encoded.end
    }
    message.frameAt = queues.placeFrame(message.valueBytes, now, message.routingKey, message.propertyBytes, 0, 0, message.valueStart, message.valueEnd)
    message.placedAt = now
    message.placement = queues.placement
    return message.frameAt
  }

  /** Pulls one message (RabbitMQ basic.get), or undefined when none is ready. */
  get(name: string, options?: { noAck?: boolean }): QueueDelivery | undefined {
    const id = this.id(name)
    const noAck = options?.noAck === true
    // taken as unacked even with noAck, and acked once read: a message done at once could let the
    // head pass it and its segment be freed before it is read
    const got = this.core.queues.get(id, false, this.host.clock.now())
    this.armExpiry(id, this.core.queues.config(id))
    if (got === undefined) return undefined
    this.getters.add(got.consumer)
    const [delivery] = this.deliveries(id, name, got.consumer, [got], noAck)
    if (noAck) this.ack(delivery)
    return delivery
  }

  /**
   * A consumer's batch of deliveries (the queue core holds them for `consumer`): a first delivery
   * of a message this thread sent is that message; the rest are read and decoded together.
   */
  deliveries(id: number, queue: string, consumer: number, batch: ReadonlyArray<Delivered>, noAck: boolean): Delivery[] {
    const out = new Array<Delivery>(batch.length)
    const held = this.held
    const counted = this.core.queues.config(id).deliveryLimit !== undefined
    let unsent: number[] | undefined
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i]
      if (!d.redelivered && this.sent.take(id, d.offset, held)) out[i] = this.toDelivery(id, queue, consumer, d, noAck, held, counted)
      else (unsent ??= []).push(i)
    }
    held.value = undefined // not kept past its delivery
    if (unsent !== undefined) {
      const read = this.reader.readAll(this.core.queues.partition(id), unsent.map((i) => batch[i]))
      unsent.forEach((i, k) => { out[i] = this.toDelivery(id, queue, consumer, batch[i], noAck, read[k], counted) })
    }
    return out
  }

  /** A sent message on its way to its delivery (reused). */
  private readonly held: QueueMessage = { timestamp: 0, routingKey: '', properties: { exchange: '', headers: undefined }, value: undefined, valueBytes: undefined }

  /** `counted`: the queue has a delivery limit. */
  private toDelivery(id: number, queue: string, consumer: number, d: Delivered, noAck: boolean, message: QueueMessage | undefined, counted: boolean): Delivery {
    if (message === undefined) throw new InvalidArgumentError(`message ${d.offset} of queue ${JSON.stringify(queue)} is not in its log`, { queue, offset: d.offset })
    let properties = message.properties
    // a queue with a delivery limit counts earlier deliveries in x-delivery-count, as quorum queues
    // do (on a copy: a sent message's properties may be another queue's delivery too)
    if (counted) properties = { ...properties, headers: { ...properties.headers, 'x-delivery-count': d.deliveryCount - 1 } }
    return new Delivery(this, id, queue, consumer, d.offset, message.routingKey, message.value, properties,
      d.redelivered, d.deliveryCount, message.timestamp, noAck)
  }

  ack(delivery: Delivery): void {
    this.settle(delivery, false, false)
  }

  nack(delivery: Delivery, requeue: boolean): void {
    this.settle(delivery, true, requeue)
  }

  private settle(delivery: Delivery, nack: boolean, requeue: boolean): void {
    if (delivery.consumer === this.batchConsumer) {
      // in its consumer's receive loop: acked with the rest of the batch; a nack after those acks
      if (!nack) {
        this.batchAcks.push(delivery.offset)
        return
      }
      this.settleBatch()
    }
    const queues = this.core.queues
    try {
      if (nack) queues.nack(delivery.consumer, delivery.offset, requeue, this.host.clock.now())
      else queues.ack(delivery.consumer, delivery.offset)
    } catch (error) {
      // its consumer was cancelled (or its thread went away): the delivery went back to the queue
      if (error instanceof InvalidArgumentError && error.argument === 'consumer') {
        throw new InvalidArgumentError(`this delivery of queue ${JSON.stringify(delivery.queue)} went back to the queue when its consumer was cancelled; it cannot be settled any more`,
          { queue: delivery.queue, offset: delivery.offset, reason: 'unknown-delivery', cause: error })
      }
      throw error
    }
    this.settledIn(delivery.queueId)
  }

  /** The consumer whose batch is being handled (-1: none): its handlers' acks wait in batchAcks. */
  private batchConsumer = -1
  private batchQueue = -1
  private readonly batchAcks: number[] = []

  /** A consumer's handlers run over a batch: their acks are settled together, by settleBatch. */
  private beginBatch(consumer: QueueConsumerImpl): void {
    this.batchConsumer = consumer.consumerId
    this.batchQueue = consumer.queueId
  }

  /**
   * Settles the acks of the batch being handled with one core call. Cancelled from elsewhere (its
   * queue deleted), the consumer's deliveries went back to the queue and come again redelivered,
   * as after acks lost with a closed channel. Any other failure (the queue lock held by a thread
   * that died) is thrown, as a single ack's would be: the deliveries stay with the consumer, and
   * are redelivered when it goes.
   */
  private settleBatch(): void {
    const count = this.batchAcks.length
    if (count === 0) return
    try {
      this.core.queues.ackMany(this.batchConsumer, this.batchAcks, count)
    } catch (error) {
      if (!(error instanceof InvalidArgumentError && error.argument === 'consumer')) throw error
    } finally {
      this.batchAcks.length = 0
    }
    this.settledIn(this.batchQueue)
  }

  private endBatch(): void {
    try {
      this.settleBatch()
    } finally {
      this.batchConsumer = -1
    }
  }

  /** Something in queue `id` changed hands: wake consumers here and elsewhere, dead-letter what died. */
  settledIn(id: number, config = this.core.queues.config(id)): void {
    if (config.deadLetterExchange !== undefined) this.drainDead(id, config, config.deadLetterExchange)
    const local = this.consumers[id]
    if (local !== undefined) {
      for (let i = 0; i < local.length; i++) if (!local[i].receiving) this.host.poke(local[i])
    }
    this.host.changed()
  }

  consume(name: string, handler: (delivery: QueueDelivery) => unknown, options: ConsumeQueueOptions | undefined): QueueConsumerImpl {
    const id = this.id(name)
    const { prefetch, noAck } = checkConsumeOptions(name, handler, options)
    const traced = this.host.tracing?.wrap(handler) ?? handler
    const consumer = new QueueConsumerImpl(this.consumerHost, id, name, traced, this.core.queues.consume(id, prefetch, noAck, this.host.clock.now()), noAck)
    let local = this.consumers[id]
    if (local === undefined) this.consumers[id] = local = []
    local.push(consumer)
    this.handOver.consumersChanged(id, this.core.queues.config(id), local)
    this.host.addConsumer(consumer)
    this.host.poke(consumer)
    cancelOnAbort(consumer, options?.signal)
    return consumer
  }

  private readonly consumerHost: ConsumerHost = {
    receive: (consumer, max) => {
      const batch = this.core.queues.receive(consumer.consumerId, max)
      // a noAck consumer's receive makes room, which may go to another thread's consumer
      if (consumer.noAck) this.host.changed()
      return batch
    },
    deliveries: (id, queue, consumer, batch, noAck) => this.deliveries(id, queue, consumer, batch, noAck),
    handed: (consumer, max) => this.handed(consumer, max),
    beginBatch: (consumer) => this.beginBatch(consumer),
    endBatch: () => this.endBatch(),
    cancel: (consumer) => {
      if (consumer.consumerId === this.batchConsumer) {
        // acks before the cancel stand; one after it fails, as for any delivery that went back
        this.settleBatch()
        this.batchConsumer = -1
      }
      this.putBackCancelled(consumer)
      this.core.queues.cancel(consumer.consumerId)
      const local = this.consumers[consumer.queueId] ?? []
      if (local.includes(consumer)) local.splice(local.indexOf(consumer), 1)
      this.handOver.consumersChanged(consumer.queueId, this.core.queues.config(consumer.queueId), local)
      this.host.removeConsumer(consumer)
      this.armExpiry(consumer.queueId, this.core.queues.config(consumer.queueId))
      this.settledIn(consumer.queueId)
    },
    settled: () => this.host.settled(),
    failed: (error, consumer, delivery) => {
      this.host.handlerFailed(error, consumer.queue)
      if (delivery !== undefined && !delivery.settled) delivery.reject()
    },
  }

  /** Deliveries of the first `max` messages `consumer` was handed straight and has not run (hand-over.ts), or undefined. */
  private handed(consumer: QueueConsumerImpl, max: number): Delivery[] | undefined {
    const held = this.handOver.heldBy(consumer.queueId, consumer)
    if (held === undefined) return undefined
    const out = new Array<Delivery>(Math.min(max, held.length))
    const message = this.held
    for (let i = 0; i < out.length; i++) {
      const at = held.slot(i)
      message.timestamp = held.time(at)
      message.routingKey = held.key(at)
      message.properties = held.propertiesOf(at)
      message.value = held.value(at)
      out[i] = this.toDelivery(consumer.queueId, consumer.queue, consumer.consumerId, HANDED, true, message, false)
    }
    message.value = undefined // not kept past its delivery
    held.shift(out.length)
    return out
  }

  /**
   * A consumer is cancelled: what it was handed and has not run stays in the queue, as it would
   * have in its mailbox. Should the queue refuse it (its log full), the failure is reported, and
   * those messages are lost, as a noAck consumer's deliveries may be (at most once).
   */
  private putBackCancelled(consumer: QueueConsumerImpl): void {
    if (this.handOver.heldBy(consumer.queueId, consumer) === undefined) return
    try {
      this.putBack(consumer.queueId)
    } catch (error) {
      this.host.handlerFailed(error, consumer.queue)
      this.handOver.forgetHeld(consumer.queueId)
    }
  }

  /** Dead-letters what queue `id` holds as dead (expired, dropped, rejected, over its delivery limit) through `exchange`. */
  private drainDead(id: number, config: Readonly<QueueConfig>, exchange: string): void {
    for (;;) {
      const dead = this.core.queues.takeDead(id, 64)
      if (dead.length === 0) return
      const queue = this.name(id)
      const partition = this.core.queues.partition(id)
      const now = this.host.clock.now()
      for (const { offset, reason } of dead) {
        try {
          const message = this.reader.readBytes(partition, offset)
          if (message !== undefined) {
            this.host.deadLetter(exchange, this.letter(queue, config, reason, message.routingKey, message.properties, message.valueBytes!, now))
          }
        } finally {
          this.core.queues.settleDead(id, offset)
        }
      }
    }
  }

  private deadLetterRefused(id: number, config: QueueConfig, message: Outgoing, now: number): void {
    if (config.deadLetterExchange === undefined) return
    this.host.deadLetter(config.deadLetterExchange, this.letter(this.name(id), config, 'maxlen', message.routingKey, message.properties, valueOf(message), now))
  }

  /** The dead letter of a message: x-death recorded, routed by the dead-letter routing key or its own, without its TTL. */
  private letter(queue: string, config: QueueConfig, reason: DeadReason, routingKey: string, p: Properties, valueBytes: Uint8Array, now: number): DeadLetter {
    const headers = recordDeath(p.headers, { queue, reason, exchange: p.exchange, routingKey, time: now, expirationMs: reason === 'expired' ? p.expirationMs : undefined })
    const properties: Properties = { ...p, exchange: config.deadLetterExchange!, headers, expirationMs: undefined }
    return { queue, reason, routingKey: config.deadLetterRoutingKey ?? routingKey, properties, valueBytes, valueStart: 0, valueEnd: valueBytes.length, valueSize: valueBytes.length, delayMs: 0 }
  }

  // ---- time -------------------------------------------------------------------------------------

  /** Makes sure queue `id` is ticked by `at` (its next expiry or delayed message). */
  private arm(id: number, at: number): void {
    if (this.closed || at === Infinity) return
    const current = this.timers.get(id)
    if (current !== undefined && current.at <= at) return
    current?.cancel()
    const cancel = this.host.clock.setTimer(() => {
      this.timers.delete(id)
      this.tick(id)
    }, Math.max(0, at - this.host.clock.now()))
    this.timers.set(id, { at, cancel })
  }

  private tick(id: number): void {
    if (this.closed || this.core.queues.find(this.core.queues.name(id)) !== id) return
    const next = this.core.queues.tick(id, this.host.clock.now())
    this.settledIn(id)
    this.arm(id, next)
  }

  /** A queue with expiresMs is deleted once unused that long: look again then. */
  private armExpiry(id: number, config: QueueConfig): void {
    if (config.expiresMs === undefined || this.closed) return
    this.expiryTimers.get(id)?.()
    this.expiryTimers.set(id, this.host.clock.setTimer(() => {
      this.expiryTimers.delete(id)
      const partition = this.core.queues.partition(id)
      if (this.core.queues.expireUnused(id, this.host.clock.now())) this.deleted(id, partition)
      else this.armExpiry(id, config)
    }, config.expiresMs))
  }

  /** Deletes a queue: its messages go, its consumers are cancelled, its bindings removed. */
  delete(name: string): void {
    const id = this.id(name)
    this.deleted(id, this.core.queues.partition(id))
    this.core.queues.delete(id)
    this.host.changed() // its consumers in other threads learn it is gone
  }

  private deleted(id: number, partition: number): void {
    this.handOver.forget(id) // what it held goes with the queue
    this.reader.forget(partition)
    this.sent.clear()
    this.timers.get(id)?.cancel()
    this.timers.delete(id)
    for (const consumer of [...this.consumers[id] ?? []]) void consumer.cancel()
    this.consumers[id] = undefined
    this.onDeleted?.(id)
  }

  /** Set by the bus: unbinds a deleted queue. */
  onDeleted?: (id: number) => void

  stats(): Record<string, QueueStats> {
    this.settleBatch()
    const out: Record<string, QueueStats> = Object.create(null)
    for (const { id, name } of this.core.queues.queues()) {
      const s = this.core.queues.stats(id)
      out[name] = { ready: s.ready, delayed: s.delayed, unacked: s.unacked, consumers: s.consumers, messages: s.messages }
    }
    return out
  }

  close(): void {
    this.closed = true
    for (const { cancel } of this.timers.values()) cancel()
    for (const cancel of this.expiryTimers.values()) cancel()
    this.timers.clear()
    this.expiryTimers.clear()
    // the queues of a bus that is not shared go with it: nothing held is put back
    this.consumers.forEach((_, id) => this.handOver.forget(id))
    for (const local of [...this.consumers]) for (const consumer of [...local ?? []]) void consumer.cancel()
    for (const getter of this.getters) this.core.queues.cancel(getter)
    this.getters.clear()
    this.reader.close()
  }
}

/** A first delivery that went straight to its consumer (hand-over.ts): it has no offset in the log. */
const HANDED: Delivered = Object.freeze({ offset: -1, deliveryCount: 1, redelivered: false, priority: 0 })

/** The message's encoded value on its own (encoded already: a dead letter, or placed in a queue's log). */
export const valueOf = (message: Outgoing): Uint8Array => message.valueBytes!.subarray(message.valueStart, message.valueEnd)

const minTtl = (queue: number | undefined, message: number | undefined): number | undefined =>
  queue === undefined ? message : message === undefined ? queue : Math.min(queue, message)
