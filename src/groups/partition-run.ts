// One partition a group member owns: fetching its records in order, handing each to the handler
// (awaiting async ones, each attempt limited to maxPollIntervalMs), retrying failures with
// backoff on the bus clock, dead-lettering (or stopping at) a record that failed every attempt,
// and committing what was handled. A partition never runs ahead of its oldest unhandled record.
import { PartitionFetcher } from '../reader/partition-fetcher.js'
import { nextTurn, retryLater, SLICE_MS } from '../reader/turns.js'
import { NOT_TAKEN } from '../reader/consume.js'
import type { Handler } from '../reader/delivery-loop.js'
import type { Clock } from '../clock.js'
import type { Delivered, Topic } from '../topic/topic.js'
import { BusError } from '../errors.js'
import { retryDelay, type GroupOptions } from './group-options.js'
import { fromRetryRecord } from './retry-topics.js'

/** What a partition run needs from its member. */
export interface RunHost {
  readonly clock: Clock
  readonly options: GroupOptions
  readonly handler: Handler
  readonly maxPollRecords: number
  readonly paused: boolean
  /** Commits `offset` (the next to read) for the run's partition; false: fenced, the partition moved. */
  commit(run: PartitionRun, offset: number): boolean
  /** The generation the run's partition is fenced at now. */
  generationNow(run: PartitionRun): number
  /** An attempt failed (reported on 'error'). */
  failed(error: unknown, message: Delivered): void
  /** Appends the dead letter of `message`; throws when the log refuses it. */
  deadLetter(message: Delivered, attempts: number, error: unknown): void
  /** Appends `message` to the retry topic for `attempt` (retryTopics); throws when the log refuses it. */
  retryLater(message: Delivered, attempt: number): void
  /** The record failed every attempt and there is no dead-letter topic: the partition stops. */
  poison(message: Delivered, error: unknown): void
  /** Takes one of the member's concurrency slots; false: queued, run() is called when one frees. */
  acquire(run: PartitionRun): boolean
  release(run: PartitionRun): void
  /** The run went quiet (bus.idle() may resolve). */
  settled(): void
  /** A commit was refused: the run stopped and must be dropped. */
  fenced(run: PartitionRun): void
  /** Records fetched for the handler (stats' delivered counts). */
  delivered(topic: Topic, count: number): void
}

/** An attempt that took longer than maxPollIntervalMs. */
export class AttemptTimeoutError extends BusError {
  override name = 'AttemptTimeoutError'
}

type State =
  | 'idle' // waiting for records (or a slot)
  | 'running' // in the loop, or about to continue it in the next turn
  | 'handling' // an async handler has not settled
  | 'backoff' // waiting (bus clock) before the next attempt
  | 'poisoned' // stopped at a record that failed every attempt (deadLetter: false)
  | 'stopped'

export class PartitionRun {
  private batch: Delivered[] = []
  private pos = 0
  private attempt = 1
  private state: State = 'idle'
  /** Offset after the last record handled (the consumed position). */
  private handled: number
  private committed: number
  /** Retry topics: the offset of the record each message handed over came from. */
  private readonly origins = new WeakMap<object, number>()
  /** The message handed to the handler now (for a retry topic's record: as it was first read). */
  private current: Delivered | undefined
  /** A failed record whose dead letter (or next retry) the log did not take yet, and the error. */
  private undelivered: { message: Delivered; error: unknown } | undefined
  /** Cancels the backoff or attempt timer. */
  private cancelTimer: (() => void) | undefined
  /** Bumped per attempt: a late settle of an abandoned attempt is ignored. */
  private ticket = 0
  private stopping: Array<() => void> | undefined

  /** `retries`: the partition is one of a retry topic's, whose records wait until they fall due. */
  constructor(private readonly host: RunHost, readonly fetcher: PartitionFetcher, readonly generation: number, start: number,
    readonly retries = false) {
    this.handled = this.committed = start
  }

  get topic(): string {
    return this.fetcher.topic.name
  }

  get partition(): number {
    return this.fetcher.partition
  }

  /** The next offset this run hands to the handler. */
  get position(): number {
    return this.pos < this.batch.length ? this.batch[this.pos].offset : this.fetcher.next
  }

  /** Nothing to hand over now (records in backoff or behind a poison record wait for the clock or a seek). */
  idle(): boolean {
    switch (this.state) {
      case 'running':
      case 'handling':
        return false
      case 'idle':
        return this.host.paused || (this.pos === this.batch.length && !this.fetcher.behind())
      default:
        return true
    }
  }

  run(): void {
    if (this.state !== 'idle' || this.host.paused) return
    if (this.pos === this.batch.length && !this.fetcher.behind()) return
    if (!this.host.acquire(this)) return
    this.state = 'running'
    this.loop()
  }

  private readonly proceed = (): void => {
    if (this.state === 'running') this.loop()
  }

  private readonly wake = (): void => this.run()

  private loop(): void {
    const started = performance.now()
    for (;;) {
      if (this.stopping !== undefined || this.host.paused) break
      if (this.undelivered !== undefined && !this.giveUp(this.undelivered.message, this.undelivered.error)) return
      if (this.pos === this.batch.length) {
        if (performance.now() - started > SLICE_MS) {
          this.flush()
          nextTurn(this.proceed)
          return
        }
        if (!this.refill()) break
      }
      const message = this.next()
      if (message === undefined) return
      if (!this.attemptOne(message)) return
    }
    this.quiet('idle')
  }

  /** Fetches the next batch; false when there is nothing now. */
  private refill(): boolean {
    let records: Delivered[]
    try {
      records = this.fetcher.fetch(this.host.maxPollRecords)
    } catch (error) {
      this.host.failed(error, { topic: this.topic, partition: this.partition, offset: this.fetcher.next } as Delivered)
      return false
    }
    if (this.fetcher.retryAfter > 0) retryLater(this.wake, this.fetcher.retryAfter)
    this.batch = records
    this.pos = 0
    if (records.length === 0) return false
    this.host.delivered(this.fetcher.topic, records.length)
    return true
  }

  /**
   * The message for the record at the head, as the handler gets it; undefined when it is a retry
   * that is not due yet (the run waits for it on the bus clock).
   */
  private next(): Delivered | undefined {
    const record = this.batch[this.pos]
    if (!this.retries) {
      // a retry is a message of its own: one kept from an earlier attempt keeps its number
      return (this.current = this.attempt === 1 ? record : { ...record, attempt: this.attempt })
    }
    const { message, due } = fromRetryRecord(record)
    const wait = due - this.host.clock.now()
    if (wait > 0) {
      this.later(wait)
      return undefined
    }
    this.origins.set(message, record.offset)
    return (this.current = message)
  }

  /**
   * The position after `message`, one this run handed over, in this run's partition: for a
   * retry topic's record that is not the offset the message shows (its source's), so the run
   * keeps where each came from. Undefined for a message it never handed over.
   */
  after(message: { offset: number }): number | undefined {
    if (!this.retries) return message.offset + 1
    const offset = this.origins.get(message)
    return offset === undefined ? undefined : offset + 1
  }

  /** Waits `ms` of the bus clock (a backoff, a retry not due yet), then runs again. */
  private later(ms: number): void {
    this.flush()
    this.cancelTimer = this.host.clock.setTimer(() => {
      this.cancelTimer = undefined
      if (this.state !== 'backoff') return
      this.state = 'idle'
      this.run()
    }, ms)
    this.quiet('backoff')
  }

  /** Hands `message` over; true when the loop may go on at once (it was handled or given up synchronously). */
  private attemptOne(message: Delivered): boolean {
    let result: unknown
    try {
      result = this.host.handler(message)
    } catch (error) {
      return this.fail(message, error)
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') {
      this.done(message)
      return true
    }
    const ticket = ++this.ticket
    this.state = 'handling'
    this.flush()
    const limit = this.host.options.maxPollIntervalMs
    this.cancelTimer = this.host.clock.setTimer(() => {
      if (ticket !== this.ticket) return
      this.ticket++
      this.cancelTimer = undefined
      this.settle(message, false, new AttemptTimeoutError(`handler did not settle within maxPollIntervalMs (${limit} ms); the attempt counts as failed`,
        { topic: message.topic, partition: message.partition, offset: message.offset }))
    }, limit)
    ;(result as PromiseLike<unknown>).then(
      () => { if (ticket === this.ticket) this.settle(message, true, undefined) },
      (error: unknown) => { if (ticket === this.ticket) this.settle(message, false, error) },
    )
    return false
  }

  /** An async attempt ended (or timed out): go on with the loop. */
  private settle(message: Delivered, ok: boolean, error: unknown): void {
    this.ticket++
    this.cancelTimer?.()
    this.cancelTimer = undefined
    if (this.state !== 'handling') return
    this.state = 'running'
    if (ok) this.done(message)
    else if (!this.fail(message, error)) return
    this.loop()
  }

  private done(message: Delivered): void {
    this.attempt = 1
    if (this.current !== message) return // a seek moved the run meanwhile
    this.current = undefined
    this.handled = this.batch[this.pos++].offset + 1
  }

  /**
   * A failed attempt: retry (after a backoff in place, or through the next retry topic), or
   * dead-letter, or stop. True when the loop may go on.
   */
  private fail(message: Delivered, error: unknown): boolean {
    if (error !== NOT_TAKEN) this.host.failed(error, message)
    if (this.current !== message) return true // a seek moved the run meanwhile
    if (this.stopping !== undefined) {
      // the partition is being given up: the record stays uncommitted for its next owner
      this.quiet('idle')
      return false
    }
    const { maxAttempts, deadLetter, retryTopics } = this.host.options
    if (message.attempt < maxAttempts && !retryTopics) {
      this.attempt++
      this.later(retryDelay(this.host.options, this.attempt))
      return false
    }
    if (message.attempt >= maxAttempts && deadLetter === false) {
      this.flush()
      this.host.poison(message, error)
      this.quiet('poisoned')
      return false
    }
    return this.giveUp(message, error)
  }

  /**
   * Sends the record on, to the next retry topic or the dead-letter topic, and moves past it;
   * when the log refuses, tries again after maxMs.
   */
  private giveUp(message: Delivered, error: unknown): boolean {
    try {
      if (message.attempt < this.host.options.maxAttempts) this.host.retryLater(message, message.attempt + 1)
      else this.host.deadLetter(message, message.attempt, error)
    } catch (failure) {
      this.host.failed(failure, message)
      this.undelivered = { message, error }
      this.later(this.host.options.maxMs)
      return false
    }
    this.undelivered = undefined
    this.done(message)
    return true
  }

  /** Leaves the loop: commits what was handled, frees the slot, and lets a pending stop finish. */
  private quiet(state: State): void {
    this.flush()
    if (this.state === 'stopped') return this.host.settled() // fenced while committing
    const wasActive = this.state === 'running' || this.state === 'handling'
    this.state = this.stopping !== undefined ? 'stopped' : state
    if (wasActive) this.host.release(this)
    if (this.stopping !== undefined) this.finishStop()
    this.host.settled()
  }

  /** Commits the handled position (auto-commit). */
  private flush(): void {
    if (!this.host.options.autoCommit || this.handled === this.committed || this.state === 'stopped') return
    this.commit(this.handled)
  }

  /** Commits `offset` as the next to read; false when fenced (the run stops). */
  commit(offset: number): boolean {
    if (this.host.commit(this, offset)) {
      this.committed = offset
      return true
    }
    this.halt()
    this.host.fenced(this)
    return false
  }

  /** `message` is the one this run is handing over now. */
  holds(message: object): boolean {
    return this.current === message && (this.state === 'running' || this.state === 'handling')
  }

  /** The partition is still this run's: a commit now is not fenced. */
  owned(): boolean {
    return this.state !== 'stopped' && this.host.generationNow(this) === this.generation
  }

  /** Commits everything handled so far (sub.commit()). */
  commitHandled(): boolean {
    return this.handled === this.committed || this.commit(this.handled)
  }

  /** Moves the run to `offset` (seek): what was fetched is dropped, a poison or backoff ends. */
  moveTo(offset: number): void {
    this.fetcher.next = offset
    this.batch = []
    this.pos = 0
    this.attempt = 1
    this.current = this.undelivered = undefined
    this.handled = offset
    // an attempt in flight runs to its end, but no longer moves the run (see done and fail)
    if (this.state === 'backoff' || this.state === 'poisoned') {
      this.cancelTimer?.()
      this.cancelTimer = undefined
      this.state = 'idle'
    }
  }

  /**
   * Gives the partition up (a rebalance moves it, or the member leaves): resolves once no
   * attempt is in flight and what was handled is committed. An attempt in flight may run to its
   * end (at most maxPollIntervalMs); its record is committed only if it succeeds.
   */
  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve()
    return new Promise((resolve) => {
      const first = this.stopping === undefined
      ;(this.stopping ??= []).push(resolve)
      if (!first) return
      if (this.state === 'handling' || this.state === 'running') return // the loop stops at its next step
      this.cancelTimer?.()
      this.cancelTimer = undefined
      this.quiet('stopped')
    })
  }

  /** Stops at once without committing (the partition is no longer ours, or the bus closed). */
  halt(): void {
    this.ticket++
    this.cancelTimer?.()
    this.cancelTimer = undefined
    if (this.state === 'running' || this.state === 'handling') this.host.release(this)
    this.state = 'stopped'
    this.fetcher.close()
    if (this.stopping !== undefined) this.finishStop()
  }

  private finishStop(): void {
    this.fetcher.close()
    for (const resolve of this.stopping!.splice(0)) resolve()
  }
}
