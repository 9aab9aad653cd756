// Straight hand-over. RabbitMQ pushes a message that reaches an empty queue to a waiting consumer
// at once; a noAck consumer then owns it, and the queue never holds it. On a bus that is not
// shared, no other thread can consume, get or count a queue's messages, so a message sent to an
// empty queue whose one consumer is a noAck consumer of this thread goes to that consumer the same
// way: it is held here until the consumer's turn instead of being written into the queue's log
// and read back out of it (most of what a send costs).
//
// What the queue's log would have done with it, the held messages do too: its consumer runs them
// before anything the queue gives it later, in send order. What must reach the queue after one of
// them (a message that cannot be handed over) puts the held ones into the queue first; so does the
// consumer's cancel (they were never handed to a handler, and stay in the queue as they would have).
import type { QueueConfig } from '../core/queues.js'
import { frameLength } from '../core/staging.js'
import { OffsetRing } from '../topic/offset-ring.js'
import type { QueueConsumerImpl } from './consumer.js'
import { encodeProperties, type Properties } from './envelope.js'
import type { Outgoing } from './queues.js'

/**
 * Messages held for one consumer, in send order: offsets [head, end) of an OffsetRing (nothing
 * allocated per message; a ring that grew past KEEP_SLOTS is let go of when emptied).
 */
export class Held {
  private ring = new OffsetRing<string, Properties>(RING_MIN)
  private head = 0
  private end = 0

  constructor(readonly consumer: QueueConsumerImpl) {}

  get length(): number {
    return this.end - this.head
  }

  push(value: unknown, key: string, properties: Properties, time: number): void {
    if (this.length === this.ring.size) this.ring.grow()
    this.ring.put(this.end++, time, value, key, properties)
  }

  /** Where the i-th message from the head is, for the accessors below. */
  slot(i: number): number {
    return this.ring.find(this.head + i)
  }

  value(slot: number): unknown { return this.ring.value(slot) }
  key(slot: number): string { return this.ring.key(slot)! }
  propertiesOf(slot: number): Properties { return this.ring.extra(slot)! }
  time(slot: number): number { return this.ring.timestamp(slot) }

  /** Drops the first `count` (put into the queue, or run), letting go of what they held. */
  shift(count: number): void {
    for (let i = 0; i < count; i++) this.ring.clear(this.slot(i))
    this.head += count
    if (this.head < this.end) return
    this.head = this.end = 0
    if (this.ring.size > KEEP_SLOTS) this.ring = new OffsetRing(RING_MIN)
  }
}

const RING_MIN = 16
/** Slots a Held keeps for its next messages once emptied. */
const KEEP_SLOTS = 4096

export class HandOver {
  /** By queue id: the consumer a message sent to the queue while it is empty goes to. */
  private readonly takers: Array<QueueConsumerImpl | undefined> = []
  /** By queue id: what its consumer was handed and has not run yet. */
  private readonly held: Array<Held | undefined> = []

  /** `holds(id)`: the messages queue `id` holds in its log, in any state; `maxFrame`: the largest frame a queue's log takes. */
  constructor(private readonly enabled: boolean, private readonly holds: (id: number) => number, private readonly maxFrame: number) {}

  /**
   * The consumers of queue `id` in this thread are now `local`: a single noAck one takes messages
   * straight, where the queue has no limits that count or age its messages (these apply to
   * messages the queue holds, and such a queue's messages wait in it, as before).
   */
  consumersChanged(id: number, config: Readonly<QueueConfig>, local: readonly QueueConsumerImpl[]): void {
    const only = local.length === 1 ? local[0] : undefined
    const straight = this.enabled && only !== undefined && only.noAck && config.maxLength === undefined && config.messageTtlMs === undefined &&
      config.deliveryLimit === undefined
    this.takers[id] = straight ? only : undefined
  }

  /** Queue `id` (-1: none) has a consumer a message may go to straight. */
  takes(id: number): boolean {
    return id >= 0 && this.takers[id] !== undefined
  }

  /**
   * Hands `message` to queue `id`'s consumer when it may go straight: sent by this thread (its
   * value at hand), neither delayed nor with a TTL of its own, one the queue's log would take (not
   * too large), to a queue that holds nothing. Returns the consumer (to run), or undefined: the
   * message goes into the queue (which refuses it if the log would).
   */
  take(id: number, message: Outgoing, now: number): QueueConsumerImpl | undefined {
    const taker = this.takers[id]
    if (taker === undefined || message.delayMs !== 0 || message.properties.expirationMs !== undefined || !('value' in message)) return undefined
    message.propertyBytes ??= encodeProperties(message.properties)
    // a routing key takes at most 3 UTF-8 bytes per UTF-16 unit
    if (frameLength(message.propertyBytes.length, message.routingKey.length * 3, message.valueSize) > this.maxFrame) return undefined
    if (this.holds(id) !== 0) return undefined
    let held = this.held[id]
    if (held !== undefined && held.consumer !== taker) {
      // another consumer's, which it has not run yet: this one goes after them, through the queue
      if (held.length > 0) return undefined
      held = undefined
    }
    if (held === undefined) this.held[id] = held = new Held(taker)
    held.push(message.value, message.routingKey, message.properties, now)
    return taker
  }

  /** What queue `id` holds for any consumer, in order, or undefined: the caller shifts out what it runs or puts into the queue. */
  heldFor(id: number): Held | undefined {
    const held = this.held[id]
    return held === undefined || held.length === 0 ? undefined : held
  }

  /** heldFor(id) when `consumer` holds it. */
  heldBy(id: number, consumer: QueueConsumerImpl): Held | undefined {
    const held = this.heldFor(id)
    return held?.consumer === consumer ? held : undefined
  }

  /** Drops what queue `id` holds for its consumer. */
  forgetHeld(id: number): void {
    this.held[id] = undefined
  }

  /** Queue `id` was deleted (or the bus closes): what it held goes with it. */
  forget(id: number): void {
    this.takers[id] = undefined
    this.held[id] = undefined
  }
}
