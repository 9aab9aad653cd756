// Messages this thread put into queues, kept until a consumer in this thread takes them: a
// same-thread consumer's first delivery is the sent message itself, not a decoded copy, as a
// topic's same-thread readers get the published object (treat sent values as immutable). A
// redelivery, a dead letter and any other thread read the log.
import type { Properties } from './envelope.js'
import type { QueueMessage } from './queue-reader.js'

const RING_MIN = 16
/** A queue with more untaken messages than this decodes the older ones from the log. */
const RING_MAX = 1024

/**
 * One queue's sent messages by offset, in parallel arrays: nothing allocated per message stays
 * alive here (the value and properties are the sender's), so holding them costs the garbage
 * collector little.
 */
class Ring {
  private mask = RING_MIN - 1
  private offsets = new Float64Array(RING_MIN).fill(-1)
  private timestamps = new Float64Array(RING_MIN)
  private values: unknown[] = new Array(RING_MIN)
  private keys: Array<string | undefined> = new Array(RING_MIN)
  private properties: Array<Properties | undefined> = new Array(RING_MIN)

  put(offset: number, timestamp: number, routingKey: string, properties: Properties, value: unknown): void {
    // a slot still holding an untaken message: grow, up to RING_MAX, rather than lose it
    if (this.properties[offset & this.mask] !== undefined && this.mask + 1 < RING_MAX) this.grow()
    this.set(offset & this.mask, offset, timestamp, routingKey, properties, value)
  }

  take(offset: number): QueueMessage | undefined {
    const i = offset & this.mask
    const properties = this.properties[i]
    if (this.offsets[i] !== offset || properties === undefined) return undefined
    const message: QueueMessage = { timestamp: this.timestamps[i], routingKey: this.keys[i]!, properties, value: this.values[i], valueBytes: undefined }
    this.set(i, -1, 0, undefined, undefined, undefined)
    return message
  }

  private set(i: number, offset: number, timestamp: number, routingKey: string | undefined, properties: Properties | undefined, value: unknown): void {
    this.offsets[i] = offset
    this.timestamps[i] = timestamp
    this.keys[i] = routingKey
    this.properties[i] = properties
    this.values[i] = value
  }

  private grow(): void {
    const { offsets, timestamps, keys, properties, values } = this
    const size = (this.mask + 1) * 2
    this.mask = size - 1
    this.offsets = new Float64Array(size).fill(-1)
    this.timestamps = new Float64Array(size)
    this.values = new Array(size)
    this.keys = new Array(size)
    this.properties = new Array(size)
    for (let i = 0; i < offsets.length; i++) {
      if (properties[i] !== undefined) this.set(offsets[i] & this.mask, offsets[i], timestamps[i], keys[i], properties[i], values[i])
    }
  }
}

export class SentMessages {
  private readonly rings = new Map<number, Ring>()
  private version = -1

  /**
   * `queuesVersion` changes whenever any thread creates or deletes a queue: everything held is
   * dropped then, so that a queue id given to a new queue never finds the old queue's messages
   * (today a reused id keeps its log partition and its offsets go on, so none would match anyway).
   */
  constructor(private readonly queuesVersion: () => number) {}

  put(queue: number, offset: number, timestamp: number, routingKey: string, properties: Properties, value: unknown): void {
    this.revalidate()
    let ring = this.rings.get(queue)
    if (ring === undefined) this.rings.set(queue, (ring = new Ring()))
    ring.put(offset, timestamp, routingKey, properties, value)
  }

  /** The message sent from this thread at `offset` of `queue`, once; undefined when not held. */
  take(queue: number, offset: number): QueueMessage | undefined {
    this.revalidate()
    return this.rings.get(queue)?.take(offset)
  }

  clear(): void {
    this.rings.clear()
  }

  private revalidate(): void {
    const version = this.queuesVersion()
    if (version === this.version) return
    this.rings.clear()
    this.version = version
  }
}
