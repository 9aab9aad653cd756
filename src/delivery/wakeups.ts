// Waking readers in other threads of a shared bus, and being woken by theirs. A writer notifies
// once per turn (or every NOTIFY_EVERY records of a long synchronous burst, so that they read
// while it still writes); a thread with readers waits with Atomics.waitAsync, so nobody polls.
import type { LogCore } from '../core/log.js'

/** Records appended in one synchronous burst before other threads are woken anyway. */
const NOTIFY_EVERY = 256

export interface WakeupsHost {
  /** This thread still has readers to wake (the bus is open). */
  watching(): boolean
  /** Other threads may have committed records or created topics: deliver what there is. */
  othersCommitted(): void
  /** Keeps a worker thread alive while it waits for records (attachBus passes it). */
  keepAlive?(on: boolean): void
}

export class Wakeups {
  /** The core is on shared memory: other threads may append and read. */
  private readonly shared: boolean
  /** Records were committed that other threads may be waiting for. */
  private pending = false
  private unnotified = 0
  private wokeThisTurn = false
  private watching = false

  constructor(private readonly core: LogCore, private readonly host: WakeupsHost) {
    this.shared = core.shared
  }

  /** `count` records were committed in this thread. */
  committed(count: number): void {
    if (!this.shared) return
    // at once if a reader waits and none was woken this turn (latency), else at the end of the
    // turn or every NOTIFY_EVERY records
    this.pending = true
    if ((this.unnotified += count) >= NOTIFY_EVERY || (!this.wokeThisTurn && this.core.hasWaiters())) {
      this.wokeThisTurn = true
      this.notify()
    }
  }

  /** The end of this thread's turn: one wake-up for everything it committed. */
  turnEnded(): void {
    this.notify()
    this.wokeThisTurn = false
  }

  /** Wakes other threads now if this one committed records since it last did. */
  notify(): void {
    if (!this.pending) return
    this.pending = false
    this.unnotified = 0
    this.core.notifyRecords()
  }

  /**
   * While this thread has readers, waits (without blocking) for records that other threads
   * commit, then has them delivered. An idle bus costs no CPU.
   */
  watch(): void {
    if (!this.shared || this.watching) return
    this.watching = true
    this.host.keepAlive?.(true)
    const loop = async (): Promise<void> => {
      while (this.host.watching()) {
        // read the sequence first: a commit after this point changes it, so the wait returns
        const seen = this.core.wakeSequence()
        this.host.othersCommitted()
        await this.core.waitForRecords(seen)
      }
      this.watching = false
      this.host.keepAlive?.(false)
    }
    void loop()
  }

  /** Ends this thread's wait (the bus closes). */
  stop(): void {
    if (this.watching) this.core.wakeAll()
  }
}
