// An independent reader (a subscription without a group): a PartitionFetcher per partition of
// every topic it matches, taken round-robin one batch at a time, and a DeliveryLoop that hands
// the records to the handler in offset order, awaiting async handlers.
import type { LogCore } from '../core/log.js'
import type { StatsRecorder } from '../topic/stats-recorder.js'
import type { Delivered, Topic } from '../topic/topic.js'
import type { SeekTarget, SkippedEvent, StartPosition } from '../types.js'
import { DeliveryLoop, type Handler } from './delivery-loop.js'
import { PartitionFetcher } from './partition-fetcher.js'
import { checkSeekTarget, noPartition } from './seek-target.js'
import { retryLater } from './turns.js'

export type { Handler } from './delivery-loop.js'

export interface ReaderHost {
  readonly core: LogCore
  /** Counts what readers delivered and lost (the only writer of those counts is the recorder). */
  readonly recorder: Pick<StatsRecorder, 'delivered' | 'skipped'>
  skipped(event: SkippedEvent): void
  handlerFailed(error: unknown, message: { topic: string; partition: number; offset: number }): void
  readerSettled(reader: Reader): void
  readerClosed(reader: Reader): void
}

export interface ReaderOptions {
  from: StartPosition
  reset: 'earliest' | 'latest'
  maxPollRecords: number
}

export class Reader {
  private readonly fetchers: PartitionFetcher[] = []
  private readonly delivery: DeliveryLoop<PartitionFetcher>
  private turn = 0
  paused = false
  closed = false
  /** Run once when the reader closes: consume() ends a waiting loop, closeOnAbort drops its listener. */
  private readonly closeHooks: Array<() => void> = []
  private readonly fetchHost

  constructor(
    private readonly host: ReaderHost,
    readonly matches: (topic: string) => boolean,
    handler: Handler,
    private readonly options: ReaderOptions,
  ) {
    this.fetchHost = { core: host.core, recorder: host.recorder, skipped: host.skipped, failed: host.handlerFailed }
    this.delivery = new DeliveryLoop(this, handler, host.handlerFailed, () => host.readerSettled(this))
  }

  /** Starts reading a topic's partitions from index `first` on; `created` topics start at 0. */
  attach(topic: Topic, first: number, created: boolean): void {
    const core = this.host.core
    for (let partition = first; partition < topic.partitions; partition++) {
      const offset = created ? 0 : PartitionFetcher.start(core, topic.ids[partition], partition, this.options.from)
      this.fetchers.push(new PartitionFetcher(this.fetchHost, topic, partition, offset, this.options.reset))
    }
    topic.readers.add(this)
    this.wake()
  }

  private find(topic: string, partition: number): PartitionFetcher | undefined {
    return this.fetchers.find((f) => f.topic.name === topic && f.partition === partition)
  }

  assignments(): Array<{ topic: string; partition: number }> {
    return this.fetchers.map((f) => ({ topic: f.topic.name, partition: f.partition }))
  }

  /** Next offset this reader will deliver per partition (records fetched but not yet handled count as not delivered). */
  position(topic: string, partition: number): number | undefined {
    const f = this.find(topic, partition)
    return f === undefined ? undefined : this.delivery.pending(f) ?? f.next
  }

  seek(target: SeekTarget): void {
    const { byTime, value, partition } = checkSeekTarget(target)
    const core = this.host.core
    const chosen = this.fetchers.filter((f) => partition === undefined || f.partition === partition)
    if (chosen.length === 0) throw noPartition(partition)
    for (const f of chosen) this.moveTo(f, byTime ? core.offsetForTime(f.id, value) : PartitionFetcher.clamp(core, f.id, value))
    this.wake()
  }

  /**
   * Moves one partition of one topic back to `offset`, a position this reader held before (the
   * copying transport restores what its worker had not handled yet). Unlike seek() it is not
   * clamped to the log start: if retention removed the offset meanwhile, the next read resets
   * and reports what was lost, as it would have without the move.
   */
  rewind(topic: string, partition: number, offset: number): void {
    const f = this.find(topic, partition)
    if (f === undefined) return
    this.moveTo(f, Math.min(offset, this.host.core.endOffset(f.id)))
    this.wake()
  }

  /** The next fetch of `f` starts at `offset`; records of it fetched but not handed over are dropped. */
  private moveTo(f: PartitionFetcher, offset: number): void {
    f.next = offset
    this.delivery.drop(f)
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.wake()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const f of this.fetchers) {
      f.close()
      f.topic.readers.delete(this)
    }
    this.fetchers.length = 0
    this.delivery.drop()
    this.host.readerClosed(this)
    for (const fn of this.closeHooks.splice(0)) fn()
  }

  /** Runs `fn` once when the reader closes (at once if it has). */
  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.closeHooks.push(fn)
  }

  /** Nothing left to hand over now: paused, closed, or every partition read to its end. */
  idle(): boolean {
    if (this.delivery.active) return false
    if (this.closed || this.paused) return true
    return !this.delivery.holding && !this.fetchers.some((f) => f.behind())
  }

  /** Runs the reader in a microtask: nothing is delivered inside subscribe(), seek() or resume(). */
  wake(): void {
    this.delivery.wake()
  }

  /** Delivers what there is; returns at once, continuing after async handlers settle. */
  run(): void {
    this.delivery.run()
  }

  private readonly retry = (): void => this.wake()

  /**
   * The next partition's batch, round-robin (the delivery loop's source). Runs in a microtask,
   * so nothing may escape it: a partition that cannot be read is reported and passed over.
   */
  nextBatch(): { records: Delivered[]; from: PartitionFetcher } | undefined {
    const count = this.fetchers.length
    for (let tried = 0; tried < count; tried++) {
      const f = this.fetchers[this.turn]
      this.turn = this.turn + 1 === count ? 0 : this.turn + 1
      let records: Delivered[]
      try {
        records = f.fetch(this.options.maxPollRecords)
      } catch (error) {
        this.host.handlerFailed(error, { topic: f.topic.name, partition: f.partition, offset: f.next })
        continue
      }
      if (f.retryAfter > 0) retryLater(this.retry, f.retryAfter)
      if (records.length === 0) continue
      this.host.recorder.delivered(f.topic, records.length)
      return { records, from: f }
    }
    return undefined
  }
}
