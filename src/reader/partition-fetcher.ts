// Fetching one partition: where a reader stands in it (the next offset and a core cursor), the
// records this thread still remembers, polling and decoding the rest from the log (copied and
// validated on shared memory by the core), and the reset when retention overtakes the position.
// An independent reader holds one per partition it reads; a group member will hold one per
// partition it is assigned.
import { STATUS_BUSY, STATUS_OUT_OF_RANGE } from '../core/abi.js'
import type { LogCore } from '../core/log.js'
import { statusError } from '../core/status.js'
import { CodecError } from '../errors.js'
import type { StatsRecorder } from '../topic/stats-recorder.js'
import type { Delivered, Topic } from '../topic/topic.js'
import type { SkippedEvent, StartPosition } from '../types.js'
import { BusyBackoff } from './turns.js'

export interface FetchHost {
  readonly core: LogCore
  readonly recorder: Pick<StatsRecorder, 'skipped'>
  skipped(event: SkippedEvent): void
  /** A record that cannot be decoded (reported, then passed over). */
  failed(error: unknown, where: { topic: string; partition: number; offset: number }): void
}

/** Resets in a row within one fetch before the fetcher lets the event loop run. */
const OVERTAKEN_MAX = 64

export class PartitionFetcher {
  readonly id: number
  /** The core cursor, opened on the first read from the log (-1 until then). */
  private slot = -1
  /**
   * After a fetch that returned nothing although records are there: how long to wait before
   * trying again (ms of real time). 0 otherwise.
   */
  retryAfter = 0
  private readonly busy = new BusyBackoff()

  /** `next`: the offset to fetch first. `reset`: where to go when retention removed it. */
  constructor(private readonly host: FetchHost, readonly topic: Topic, readonly partition: number, public next: number,
    private readonly reset: 'earliest' | 'latest') {
    this.id = topic.ids[partition]
  }

  /** The offset a reader starting at `from` reads first in this partition. */
  static start(core: LogCore, id: number, partition: number, from: StartPosition): number {
    if (from === 'earliest') return core.startOffset(id)
    if (from === 'latest') return core.endOffset(id)
    if ('timestamp' in from) return core.offsetForTime(id, from.timestamp)
    if (from.partition !== undefined && from.partition !== partition) return core.endOffset(id)
    return PartitionFetcher.clamp(core, id, from.offset)
  }

  /** Kafka reads an offset below the log start from the log start, and one past the end at the end. */
  static clamp(core: LogCore, id: number, offset: number): number {
    return Math.min(Math.max(offset, core.startOffset(id)), core.endOffset(id))
  }

  /** Records at or after `next` are in the log. */
  behind(): boolean {
    return this.next < this.host.core.endOffset(this.id)
  }

  /**
   * Up to `max` records: the ones this thread published and still remembers come as the published
   * objects; the rest are polled and decoded from the log. Retention may overtake the position any
   * number of times (a fast writer in another thread): each time the fetcher resets and reports
   * exactly what was lost, then reads on. Throws only what the core cannot explain.
   */
  fetch(max: number): Delivered[] {
    const core = this.host.core
    this.retryAfter = 0
    for (let overtaken = 0; ; overtaken++) {
      if (this.next < core.startOffset(this.id)) this.resetPosition()
      const end = core.endOffset(this.id)
      if (this.next >= end) return []
      const recent = this.topic.recentBatch(this.partition, this.next, Math.min(end, this.next + max))
      if (recent.length > 0) {
        this.next += recent.length
        return recent
      }
      if (this.slot < 0) this.slot = core.openCursor(this.id, this.next)
      else if (core.cursorOffset(this.slot) !== this.next) core.seekCursor(this.slot, this.next)
      const n = core.poll(this.slot, max)
      if (n === STATUS_OUT_OF_RANGE) {
        // retention removed the position before or while it was read: reset and go on, unless
        // a writer keeps overtaking this reader within one turn; then let it breathe
        if (overtaken < OVERTAKEN_MAX) continue
        this.retryAfter = 1
        return []
      }
      if (n === STATUS_BUSY) {
        // another thread holds the partition: its death may be for this thread to notice
        this.retryAfter = this.busy.next()
        return []
      }
      this.busy.reset()
      if (n < 0) throw statusError(n, { topic: this.topic.name, partition: this.partition, offset: this.next })
      return this.decode(n)
    }
  }

  /** Messages for the n records the last poll returned, from wherever the core says they are. */
  private decode(n: number): Delivered[] {
    const core = this.host.core
    const source = core.polledSource
    const batch: Delivered[] = new Array(n)
    let kept = 0
    for (let i = 0; i < n; i++) {
      const offset = core.polledOffset(i)
      try {
        batch[kept++] = this.topic.read(this.partition, core.polledFrame(i), offset, source)
      } catch (error) {
        kept--
        // a record this codec cannot read is reported, not silently dropped
        this.host.failed(error instanceof CodecError ? error : new CodecError(String(error), { cause: error }),
          { topic: this.topic.name, partition: this.partition, offset })
      }
    }
    batch.length = kept
    this.next = core.cursorOffset(this.slot)
    return batch
  }

  /** Retention removed the position: move per the reset policy and say how much was lost. */
  private resetPosition(): void {
    const core = this.host.core
    const from = this.next
    const to = this.reset === 'latest' ? core.endOffset(this.id) : core.startOffset(this.id)
    this.next = to
    this.host.recorder.skipped(this.topic, to - from)
    this.host.skipped({ topic: this.topic.name, partition: this.partition, from, to, count: to - from })
  }

  close(): void {
    if (this.slot >= 0) this.host.core.closeCursor(this.slot)
    this.slot = -1
  }
}
