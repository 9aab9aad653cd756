// When this thread's readers run: once per turn (a microtask) for the topics that got records,
// however many were published in that turn, and when idle() may resolve. The end of a turn is
// also the moment other threads are woken (the host's turnEnded).
import { BusClosedError } from '../errors.js'
import type { Topic } from '../topic/topic.js'

/** What the scheduler runs: an independent reader or a group member of this thread. */
export interface ScheduledReader {
  matches(topic: string): boolean
  /** The topic exists (or grew) here: partitions from `first` on are new to the reader; `created`: new to the bus. */
  attach(topic: Topic, first: number, created: boolean): void
  run(): void
  /** Nothing left to hand over now. */
  idle(): boolean
  close(): void
  /** Poked and not run since (kept by the scheduler: a reader poked for every message is added once). */
  pokePending?: boolean
}

export interface SchedulerHost {
  /** A turn of delivery begins (even on a closed bus: what was committed still wakes others). */
  turnEnded(): void
  /** Before readers run: catch up with topics other threads created. */
  beforeDelivery(): void
}

export class DeliveryScheduler {
  /** This thread's open readers. */
  readonly readers = new Set<ScheduledReader>()
  /** Topics that got records since the last turn. */
  private readonly dirty = new Set<Topic>()
  /** Readers fed by something other than topics (queue consumers), and those of them to run next turn. */
  private readonly others = new Set<ScheduledReader>()
  private readonly poked = new Set<ScheduledReader>()
  private scheduled = false
  private idleWaiters: Array<() => void> = []
  private closed = false

  constructor(private readonly topics: ReadonlyMap<string, Topic>, private readonly host: SchedulerHost) {}

  /** Records of `topic` were appended; `endTurn`: run a turn even if no reader here wants them. */
  appended(topic: Topic, endTurn: boolean): void {
    const read = topic.readers.size > 0
    if (read) this.dirty.add(topic)
    if (read || endTurn) this.schedule()
  }

  /**
   * Something other threads may wait for changed here (a queue message sent or settled): run a
   * turn, whose start wakes them (the host's turnEnded), even with no reader here.
   */
  endTurnSoon(): void {
    this.schedule()
  }

  /** Every topic may have records (other threads appended, or idle() asks): runs every reader. */
  deliverAll(): void {
    for (const topic of this.topics.values()) this.dirty.add(topic)
    for (const reader of this.others) this.poked.add(reader)
    this.schedule()
  }

  /** Runs `reader` (one of the others) in the next turn. */
  poke(reader: ScheduledReader): void {
    if (reader.pokePending === true) return
    reader.pokePending = true
    this.poked.add(reader)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(this.deliver)
  }

  private readonly deliver = (): void => {
    this.scheduled = false
    this.host.turnEnded()
    if (this.closed) return
    this.host.beforeDelivery()
    const topics = [...this.dirty]
    this.dirty.clear()
    for (const topic of topics) for (const reader of topic.readers) reader.run()
    if (this.poked.size > 0) {
      const poked = [...this.poked]
      this.poked.clear()
      for (const reader of poked) reader.pokePending = false
      for (const reader of poked) reader.run()
    }
    this.settled()
  }

  /** A new reader: it reads every topic it matches now, and those that grow or appear later. */
  add(reader: ScheduledReader): void {
    this.readers.add(reader)
    for (const topic of this.topics.values()) if (reader.matches(topic.name)) reader.attach(topic, 0, false)
  }

  /** Partitions [from, topic.partitions) are new to this thread: matching readers read them from 0. */
  grew(topic: Topic, from: number): void {
    for (const reader of this.readers) if (reader.matches(topic.name)) reader.attach(topic, from, true)
  }

  /** A reader that no topic feeds (a queue consumer): it runs when poked, and in every deliverAll. */
  addOther(reader: ScheduledReader): void {
    this.readers.add(reader)
    this.others.add(reader)
  }

  /** A reader closed: it no longer holds idle() back. */
  removeReader(reader: ScheduledReader): void {
    this.readers.delete(reader)
    this.others.delete(reader)
    this.poked.delete(reader)
    reader.pokePending = false
    this.settled()
  }

  /** Resolves idle() waiters once no turn is pending and every reader has handed over all it can. */
  settled(): void {
    if (this.idleWaiters.length === 0 || this.scheduled) return
    for (const reader of this.readers) if (!reader.idle()) return
    this.release()
  }

  /** Resolves when everything deliverable now was delivered and every handler settled. */
  idle(): Promise<void> {
    if (this.closed) return Promise.reject(new BusClosedError('the bus is closed'))
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve)
      // also wakes readers of records that other threads appended
      this.deliverAll()
    })
  }

  /** Stops delivering: closes every reader and lets every idle() waiter go. */
  close(): void {
    this.closed = true
    for (const reader of [...this.readers]) reader.close()
    this.release()
  }

  private release(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
