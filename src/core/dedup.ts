// The dedup table of idempotent publish as the host sees it (entries: src/core/abi/dedup.ts):
// claiming a topic's messageId for an append, or finding the record it was appended as within
// the topic's window, across threads; then completing or releasing the claim.
import { CTL_TOPIC_COUNT, DEDUP_MAX_ID, STATUS_BAD_ARGUMENT, STATUS_DEDUP_PENDING } from './abi.js'
import { CTL, type CoreMemory } from './memory.js'
import type { Staging } from './staging.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

/** Where a claimed messageId was appended: the topic's partition number, the offset and the record's timestamp. */
export interface DedupRecord {
  partition: number
  offset: number
  timestamp: number
}

const textEncoder = new TextEncoder()
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()

export class Dedup {
  constructor(private readonly mem: CoreMemory, private readonly staging: Staging, private readonly topicName: (t: number) => string) {}

  /**
   * slot and claimed: the caller claimed the messageId (append, then complete or release), or
   * it was appended within the window already (record(slot) says where).
   */
  claim(t: number, messageId: string, now: number, expiresAt: number): { slot: number; claimed: boolean } {
    if (!Number.isInteger(t) || t < 0 || t >= Atomics.load(this.mem.i32, (CTL + CTL_TOPIC_COUNT) >> 2)) {
      throw new InvalidArgumentError(`no topic has index ${t}`, { argument: 'topic' })
    }
    const topic = this.topicName(t)
    if (typeof messageId !== 'string') throw new InvalidArgumentError(`messageId must be a string, got ${typeof messageId}`, { topic, argument: 'messageId' })
    // a lone surrogate would be encoded as U+FFFD, the same bytes as other ids
    if (!wellFormed(messageId)) throw new InvalidArgumentError('messageId is not well-formed UTF-16 (a lone surrogate)', { topic, argument: 'messageId' })
    const bytes = textEncoder.encode(messageId)
    if (bytes.length < 1 || bytes.length > DEDUP_MAX_ID) {
      throw new InvalidArgumentError(`a messageId takes 1 to ${DEDUP_MAX_ID} UTF-8 bytes, got ${bytes.length}`, { topic, argument: 'messageId' })
    }
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new InvalidArgumentError(`now must be a finite number of ms, got ${String(now)}`, { topic, argument: 'now' })
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= now) {
      throw new InvalidArgumentError(`expiresAt must be a finite number of ms after now (${now}), got ${String(expiresAt)}`, { topic, argument: 'expiresAt' })
    }
    const result = this.mem.x.dedupClaim(CTL, t, this.staging.place(bytes), bytes.length, now, expiresAt)
    if (result === STATUS_DEDUP_PENDING) {
      throw new InvalidArgumentError(`messageId ${JSON.stringify(messageId)} is claimed by this thread already and neither completed nor released ` +
        `(topic ${topic}): a batch that repeats it appends it once`, { topic, argument: 'messageId', messageId })
    }
    if (result < 0) throw statusError(result, { topic, messageId })
    return { slot: result >> 1, claimed: (result & 1) === 1 }
  }

  /** The record the last claim of this thread found at `slot`. */
  record(slot: number): DedupRecord {
    this.check(slot)
    const partition = this.mem.x.dedupPartition(CTL, slot)
    if (partition < 0) {
      throw new InvalidArgumentError(`slot ${slot} is not where this thread's last dedup claim found a record`, { argument: 'slot', slot })
    }
    return { partition, offset: this.mem.x.dedupOffset(CTL, slot), timestamp: this.mem.x.dedupTimestamp(CTL, slot) }
  }

  complete(slot: number, partition: number, offset: number, timestamp: number): void {
    this.check(slot)
    if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
      throw new InvalidArgumentError(`partition must be a non-negative integer, got ${partition}`, { argument: 'partition' })
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset must be a non-negative integer, got ${offset}`, { argument: 'offset' })
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw new InvalidArgumentError(`timestamp must be a finite number of ms, got ${String(timestamp)}`, { argument: 'timestamp' })
    }
    this.settled(slot, this.mem.x.dedupComplete(CTL, slot, partition, offset, timestamp))
  }

  release(slot: number): void {
    this.check(slot)
    this.settled(slot, this.mem.x.dedupRelease(CTL, slot))
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.mem.layout.maxDedupEntries) {
      throw new InvalidArgumentError(`slot must be an integer from 0 to ${this.mem.layout.maxDedupEntries - 1} (maxDedupEntries), got ${slot}`, { argument: 'slot', slot })
    }
  }

  /** The core refuses to complete or release an entry the caller does not hold the claim of. */
  private settled(slot: number, status: number): void {
    if (status === STATUS_BAD_ARGUMENT) throw new InvalidArgumentError(`slot ${slot} is not claimed by this thread`, { argument: 'slot', slot })
    if (status < 0) throw statusError(status, { slot })
  }
}
