// Messages this thread put into queues, kept until a consumer in this thread takes them: a
// same-thread consumer's first delivery is the sent message itself, not a decoded copy, as a
// topic's same-thread readers get the published object (treat sent values as immutable). A
// redelivery, a dead letter and any other thread read the log.
import { OffsetRing } from '../topic/offset-ring.js'
import type { Properties } from './envelope.js'
import type { QueueMessage } from './queue-reader.js'

const RING_MIN = 16
/** A queue with more untaken messages than this decodes the older ones from the log. */
const RING_MAX = 1024

export class SentMessages {
  /** By queue id: the sender's value, routing key and properties, by offset. */
  private readonly rings: Array<OffsetRing<string, Properties> | undefined> = []
  private version = -1

  /**
   * `queuesVersion` changes whenever any thread creates or deletes a queue: everything held is
   * dropped then, so that a queue id given to a new queue never finds the old queue's messages
   * (today a reused id keeps its log partition and its offsets go on, so none would match anyway).
   */
  constructor(private readonly queuesVersion: () => number) {}

  put(queue: number, offset: number, timestamp: number, routingKey: string, properties: Properties, value: unknown): void {
    const ring = this.ring(queue, true)!
    // a slot still holding an untaken message: grow, up to RING_MAX, rather than lose it
    if (ring.heldAt(offset) >= 0 && ring.size < RING_MAX) ring.grow()
    ring.put(offset, timestamp, value, routingKey, properties)
  }

  /** Moves the message sent from this thread at `offset` of `queue` into `into`, once; false when not held. */
  take(queue: number, offset: number, into: QueueMessage): boolean {
    const ring = this.ring(queue, false)
    const i = ring === undefined ? -1 : ring.find(offset)
    if (i < 0) return false
    into.timestamp = ring!.timestamp(i)
    into.routingKey = ring!.key(i)!
    into.properties = ring!.extra(i)!
    into.value = ring!.value(i)
    into.valueBytes = undefined
    ring!.clear(i)
    return true
  }

  clear(): void {
    this.rings.length = 0
    this.lastRing = undefined
  }

  /**
   * The ring of `queue` (made when `create`) once what queues coming or going made stale is gone;
   * the last one asked for is kept at hand (sends and deliveries come in runs).
   */
  private ring(queue: number, create: boolean): OffsetRing<string, Properties> | undefined {
    this.revalidate()
    if (queue === this.lastQueue && this.lastRing !== undefined) return this.lastRing
    let ring = this.rings[queue]
    if (ring === undefined && create) this.rings[queue] = ring = new OffsetRing(RING_MIN)
    this.lastQueue = queue
    this.lastRing = ring
    return ring
  }

  private lastQueue = -1
  private lastRing: OffsetRing<string, Properties> | undefined

  private revalidate(): void {
    const version = this.queuesVersion()
    if (version === this.version) return
    this.clear()
    this.version = version
  }
}
