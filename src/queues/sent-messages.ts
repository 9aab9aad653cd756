// Messages this thread put into queues, kept until a consumer in this thread takes them: a
// same-thread consumer's first delivery is the sent message itself, not a decoded copy, as a
// topic's same-thread readers get the published object (treat sent values as immutable). A
// redelivery, a dead letter and any other thread read the log.
import type { QueueMessage } from './queue-reader.js'

const RING_MIN = 16
/** A queue with more untaken messages than this decodes the older ones from the log. */
const RING_MAX = 1024

class Ring {
  private mask = RING_MIN - 1
  private offsets = new Float64Array(RING_MIN).fill(-1)
  private messages: Array<QueueMessage | undefined> = new Array(RING_MIN)

  put(offset: number, message: QueueMessage): void {
    // a slot still holding an untaken message: grow, up to RING_MAX, rather than lose it
    if (this.messages[offset & this.mask] !== undefined && this.mask + 1 < RING_MAX) this.grow()
    const i = offset & this.mask
    this.offsets[i] = offset
    this.messages[i] = message
  }

  take(offset: number): QueueMessage | undefined {
    const i = offset & this.mask
    if (this.offsets[i] !== offset) return undefined
    const message = this.messages[i]
    this.messages[i] = undefined
    this.offsets[i] = -1
    return message
  }

  private grow(): void {
    const { offsets, messages } = this
    const size = (this.mask + 1) * 2
    this.mask = size - 1
    this.offsets = new Float64Array(size).fill(-1)
    this.messages = new Array(size)
    for (let i = 0; i < offsets.length; i++) {
      if (messages[i] === undefined) continue
      this.offsets[offsets[i] & this.mask] = offsets[i]
      this.messages[offsets[i] & this.mask] = messages[i]
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

  put(queue: number, offset: number, message: QueueMessage): void {
    this.revalidate()
    let ring = this.rings.get(queue)
    if (ring === undefined) this.rings.set(queue, (ring = new Ring()))
    ring.put(offset, message)
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
