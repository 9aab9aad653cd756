// An independent reader (a subscription without a group): one cursor per partition of every
// topic it matches, fetching a batch from one partition at a time and handing records to the
// handler in offset order. Async handlers are awaited, so a partition never runs ahead.
import { STATUS_BUSY, STATUS_OUT_OF_RANGE } from '../core/abi.js'
import type { LogCore } from '../core/log.js'
import { statusError } from '../core/status.js'
import { handOver } from './surface.js'
import { checkSeekTarget, noPartition } from './seek-target.js'
import { nextTurn, retryLater, SLICE_MS } from './turns.js'
import { CodecError } from '../errors.js'
import type { StatsRecorder } from '../topic/stats-recorder.js'
import type { Topic, Delivered } from '../topic/topic.js'
import type { SeekTarget, SkippedEvent, StartPosition } from '../types.js'

export interface ReaderHost {
  readonly core: LogCore
  /** Counts what readers delivered and lost (the only writer of those counts is the recorder). */
  readonly recorder: Pick<StatsRecorder, 'delivered' | 'skipped'>
  skipped(event: SkippedEvent): void
  handlerFailed(error: unknown, message: { topic: string; partition: number; offset: number }): void
  readerSettled(reader: Reader): void
  readerClosed(reader: Reader): void
}

interface Attachment {
  topic: Topic
  partition: number
  id: number
  /** The core cursor, opened on the first read from the log (-1 until then). */
  slot: number
  /** Next offset to fetch; the cursor is moved here before it is polled. */
  next: number
}

export type Handler = (message: Delivered) => unknown

const BUSY_PAUSE_MIN = 10
const BUSY_PAUSE_MAX = 1000
/** Resets in a row within one fetch before the reader yields to the event loop. */
const OVERTAKEN_MAX = 64

export interface ReaderOptions {
  from: StartPosition
  reset: 'earliest' | 'latest'
  maxPollRecords: number
}

export class Reader {
  private readonly attachments: Attachment[] = []
  private batch: Delivered[] = []
  private batchPos = 0
  private batchFrom: Attachment | undefined
  private turn = 0
  private running = false
  paused = false
  closed = false
  /** Run once when the reader closes: consume() ends a waiting loop, closeOnAbort drops its listener. */
  private readonly closeHooks: Array<() => void> = []

  constructor(
    private readonly host: ReaderHost,
    readonly matches: (topic: string) => boolean,
    private readonly handler: Handler,
    private readonly options: ReaderOptions,
  ) {}

  /** Starts reading a topic's partitions from index `first` on; `created` topics start at 0. */
  attach(topic: Topic, first: number, created: boolean): void {
    for (let partition = first; partition < topic.partitions; partition++) {
      const id = topic.ids[partition]
      const offset = created ? 0 : this.startOffset(id, partition)
      this.attachments.push({ topic, partition, id, slot: -1, next: offset })
    }
    topic.readers.add(this)
    this.wake()
  }

  private startOffset(id: number, partition: number): number {
    const core = this.host.core
    const from = this.options.from
    if (from === 'earliest') return core.startOffset(id)
    if (from === 'latest') return core.endOffset(id)
    if ('timestamp' in from) return core.offsetForTime(id, from.timestamp)
    if (from.partition !== undefined && from.partition !== partition) return core.endOffset(id)
    return this.clamp(id, from.offset)
  }

  /** Kafka reads an offset below the log start from the log start, and one past the end at the end. */
  private clamp(id: number, offset: number): number {
    const core = this.host.core
    return Math.min(Math.max(offset, core.startOffset(id)), core.endOffset(id))
  }

  assignments(): Array<{ topic: string; partition: number }> {
    return this.attachments.map((a) => ({ topic: a.topic.name, partition: a.partition }))
  }

  /** Next offset this reader will deliver per partition (records fetched but not yet handled count as not delivered). */
  position(topic: string, partition: number): number | undefined {
    const a = this.attachments.find((x) => x.topic.name === topic && x.partition === partition)
    if (a === undefined) return undefined
    if (this.batchFrom === a && this.batchPos < this.batch.length) return this.batch[this.batchPos].offset
    return a.next
  }

  seek(target: SeekTarget): void {
    const { byTime, value, partition } = checkSeekTarget(target)
    const core = this.host.core
    const chosen = this.attachments.filter((a) => partition === undefined || a.partition === partition)
    if (chosen.length === 0) throw noPartition(partition)
    for (const a of chosen) this.moveTo(a, byTime ? core.offsetForTime(a.id, value) : this.clamp(a.id, value))
    this.wake()
  }

  /**
   * Moves one partition of one topic back to `offset`, a position this reader held before (the
   * copying transport restores what its worker had not handled yet). Unlike seek() it is not
   * clamped to the log start: if retention removed the offset meanwhile, the next read resets
   * and reports what was lost, as it would have without the move.
   */
  rewind(topic: string, partition: number, offset: number): void {
    const a = this.attachments.find((x) => x.topic.name === topic && x.partition === partition)
    if (a === undefined) return
    this.moveTo(a, Math.min(offset, this.host.core.endOffset(a.id)))
    this.wake()
  }

  /** The next fetch of `a` starts at `offset`; records of it fetched but not handed over are dropped. */
  private moveTo(a: Attachment, offset: number): void {
    a.next = offset
    if (this.batchFrom === a) this.dropBatch()
  }

  private dropBatch(): void {
    this.batch = []
    this.batchPos = 0
    this.batchFrom = undefined
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
    for (const a of this.attachments) {
      if (a.slot >= 0) this.host.core.closeCursor(a.slot)
      a.topic.readers.delete(this)
    }
    this.attachments.length = 0
    this.dropBatch()
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
    if (this.running || this.woken) return false
    if (this.closed || this.paused) return true
    if (this.batchPos < this.batch.length) return false
    const core = this.host.core
    for (const a of this.attachments) if (a.next < core.endOffset(a.id)) return false
    return true
  }

  private woken = false
  /** Real-time pause before trying a partition that was busy again (ms). */
  private busyPause = BUSY_PAUSE_MIN

  /** Runs the reader in a microtask: nothing is delivered inside subscribe(), seek() or resume(). */
  wake(): void {
    if (this.woken) return
    this.woken = true
    queueMicrotask(() => {
      this.woken = false
      this.run()
      if (!this.running) this.host.readerSettled(this)
    })
  }

  /** Delivers what there is; returns at once, continuing after async handlers settle. */
  run(): void {
    if (this.running || this.paused || this.closed) return
    this.running = true
    this.loop()
  }

  /** Continues the delivery loop (after an async handler settled, or in the next turn). */
  private readonly proceed = (): void => this.loop()

  private loop(): void {
    const started = performance.now()
    for (;;) {
      if (this.paused || this.closed) break
      if (this.batchPos === this.batch.length) {
        if (performance.now() - started > SLICE_MS) {
          nextTurn(this.proceed) // still running: idle() waits for the rest
          return
        }
        if (!this.fetch()) break
      }
      // the batch holds materialised messages, so a handler that publishes (and so may recycle
      // log memory) cannot change what the rest of the batch sees
      if (handOver(this.handler, this.batch[this.batchPos++], this.host.handlerFailed, this.proceed)) return
    }
    this.running = false
    this.host.readerSettled(this)
  }

  /**
   * Fills the batch from the next partition with records, round-robin. Runs in a microtask, so
   * nothing may escape it: a partition that cannot be read is reported and passed over.
   */
  private fetch(): boolean {
    const count = this.attachments.length
    for (let tried = 0; tried < count; tried++) {
      const a = this.attachments[this.turn]
      this.turn = this.turn + 1 === count ? 0 : this.turn + 1
      let batch: Delivered[]
      try {
        batch = this.read(a)
      } catch (error) {
        this.host.handlerFailed(error, { topic: a.topic.name, partition: a.partition, offset: a.next })
        continue
      }
      if (batch.length === 0) continue
      this.host.recorder.delivered(a.topic, batch.length)
      this.batch = batch
      this.batchPos = 0
      this.batchFrom = a
      return true
    }
    return false
  }

  /**
   * Up to maxPollRecords records of one partition: the ones this thread published and still
   * remembers come as the published objects; the rest are polled and decoded from the log.
   * Retention may overtake the position any number of times (a fast writer in another thread):
   * each time the reader resets and reports exactly what it lost, then reads on.
   */
  private read(a: Attachment): Delivered[] {
    const core = this.host.core
    const max = this.options.maxPollRecords
    for (let overtaken = 0; ; overtaken++) {
      if (a.next < core.startOffset(a.id)) this.reset(a)
      const end = core.endOffset(a.id)
      if (a.next >= end) return []
      const recent = a.topic.recentBatch(a.partition, a.next, Math.min(end, a.next + max))
      if (recent.length > 0) {
        a.next += recent.length
        return recent
      }
      if (a.slot < 0) a.slot = core.openCursor(a.id, a.next)
      else if (core.cursorOffset(a.slot) !== a.next) core.seekCursor(a.slot, a.next)
      const n = core.poll(a.slot, max)
      if (n === STATUS_OUT_OF_RANGE) {
        // retention removed the position before or while it was read: reset and go on, unless
        // a writer keeps overtaking this reader within one turn; then let it breathe
        if (overtaken < OVERTAKEN_MAX) continue
        retryLater(() => this.wake(), 0)
        return []
      }
      if (n === STATUS_BUSY) {
        // another thread holds the partition past any critical section: it stalled, or died and
        // is released once its exit is noticed, which this thread may be the one to do. Each try
        // spins a while, so the pauses between tries grow and leave the event loop time for that.
        retryLater(() => this.wake(), this.busyPause)
        this.busyPause = Math.min(this.busyPause * 2, BUSY_PAUSE_MAX)
        return []
      }
      this.busyPause = BUSY_PAUSE_MIN
      if (n < 0) throw statusError(n, { topic: a.topic.name, partition: a.partition, offset: a.next })
      return this.decode(a, n)
    }
  }

  /** Messages for the n records the last poll returned, from wherever the core says they are. */
  private decode(a: Attachment, n: number): Delivered[] {
    const core = this.host.core
    const source = core.polledSource
    const batch: Delivered[] = new Array(n)
    let kept = 0
    for (let i = 0; i < n; i++) {
      const offset = core.polledOffset(i)
      try {
        batch[kept++] = a.topic.read(a.partition, core.polledFrame(i), offset, source)
      } catch (error) {
        kept--
        // a record this codec cannot read is reported, not silently dropped
        this.host.handlerFailed(error instanceof CodecError ? error : new CodecError(String(error), { cause: error }),
          { topic: a.topic.name, partition: a.partition, offset })
      }
    }
    batch.length = kept
    a.next = core.cursorOffset(a.slot)
    return batch
  }

  /** Retention removed this reader's position: move per the reset policy and say how much was lost. */
  private reset(a: Attachment): void {
    const core = this.host.core
    const from = a.next
    const to = this.options.reset === 'latest' ? core.endOffset(a.id) : core.startOffset(a.id)
    a.next = to
    this.host.recorder.skipped(a.topic, to - from)
    this.host.skipped({ topic: a.topic.name, partition: a.partition, from, to, count: to - from })
  }
}
