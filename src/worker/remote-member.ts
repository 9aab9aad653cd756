// A consumer-group member of a copying worker, as the worker sees it. The member itself lives in
// the creating thread (see copy-members.ts); here its handler runs, one record per partition at
// a time as that thread sends them, and each result goes back. Failures are reported (and
// retried) by the creating thread, which sends its reports here: the handler's error is not
// reported twice. What the member owns is a copy the creating thread updates at each rebalance
// (and seek), so that assignments() and position() can answer at once.
import { BusClosedError, InvalidArgumentError } from '../errors.js'
import { NOT_TAKEN } from '../reader/consume.js'
import type { Handler } from '../reader/delivery-loop.js'
import { checkSeekTarget, noPartition } from '../reader/seek-target.js'
import type { ReaderLike } from '../reader/surface.js'
import type { SeekTarget } from '../types.js'
import { fromMessage, fromWire, toWire, type Assignment, type ToOwner, type ToWorker, type WireError } from './copy-wire.js'

/** What a member needs of the worker's bus. */
export interface MemberBus {
  send(message: ToOwner): void
  report(error: unknown, where: { topic: string; partition: number; offset: number }): void
  /** The creating thread said how far the group is behind on a topic. */
  lagged(group: string, topic: string, lag: Record<number, number> | undefined): void
  /** ... or on all of its partitions. */
  lags(group: string, lag: Record<string, Record<number, number>>): void
  /** A member closed (bus.idle() may resolve). */
  settled(): void
  /** The member left its group, or was refused: nothing more comes for it. */
  memberGone(member: RemoteMember): void
}

type ForMember = Extract<ToWorker, { id: number }> & { op: `group.${string}` }

const key = (topic: string, partition: number): string => `${partition}:${topic}`

/**
 * Which member delivery each message handed to a handler in this thread is: a transaction that
 * commits the message names the delivery, and the creating thread knows the message by it.
 */
export const deliveries = new WeakMap<object, { id: number; seq: number }>()

export class RemoteMember implements ReaderLike {
  paused = false
  closed = false
  /** Resolves once the member left its group (after close), as told by the creating thread. */
  readonly left: Promise<void>
  private leave!: () => void
  /** Left, refused or the bus ended: the creating thread has nothing more of this member. */
  private finished = false
  private readonly closeHooks: Array<() => void> = []
  /** What it owns, with the next offset of each, as the creating thread last said. */
  private positions = new Map<string, Assignment>()
  private seq = 0
  private readonly commits = new Map<number, { message: unknown; resolve: () => void; reject: (error: unknown) => void }>()

  constructor(readonly id: number, readonly target: string, readonly group: string, readonly matches: (topic: string) => boolean,
    private readonly bus: MemberBus, private readonly handler: Handler) {
    this.left = new Promise((resolve) => { this.leave = resolve })
  }

  receive(message: ForMember): void {
    switch (message.op) {
      case 'group.deliver':
        this.bus.lagged(this.group, message.record.topic, message.lag)
        return this.deliver(message.seq, message)
      case 'group.assigned':
        this.positions = new Map(message.assignments.map((a) => [key(a.topic, a.partition), a]))
        return
      case 'group.committed': {
        this.bus.lags(this.group, message.lag)
        const commit = this.commits.get(message.seq)
        this.commits.delete(message.seq)
        if (message.error === undefined) commit?.resolve()
        else commit?.reject(fromWire(message.error))
        return
      }
      case 'group.refused':
        this.bus.report(fromWire(message.error), { topic: this.target, partition: -1, offset: -1 })
        return this.finish()
      case 'group.left':
        return this.finish()
    }
  }

  /** Hands a record to the handler and answers with how it ended. */
  private deliver(seq: number, { record }: Extract<ForMember, { op: 'group.deliver' }>): void {
    // sent before the creating thread knew the member closed: its next owner gets it
    if (this.closed) return this.answer(seq, NOT_TAKEN)
    const position = this.positions.get(key(record.topic, record.partition))
    if (position !== undefined) position.next = record.offset
    let result: unknown
    const message = fromMessage(record)
    deliveries.set(message, { id: this.id, seq })
    try {
      result = this.handler(message)
    } catch (error) {
      return this.answer(seq, error)
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return this.handled(seq, record)
    ;(result as PromiseLike<unknown>).then(() => this.handled(seq, record), (error: unknown) => this.answer(seq, error))
  }

  private handled(seq: number, record: { topic: string; partition: number; offset: number }): void {
    const position = this.positions.get(key(record.topic, record.partition))
    if (position?.next === record.offset) position.next = record.offset + 1
    this.bus.send({ op: 'group.result', id: this.id, seq, outcome: 'ok' })
  }

  /** A failed attempt: the creating thread reports it, and retries or dead-letters the record. */
  private answer(seq: number, error: unknown): void {
    if (error === NOT_TAKEN) this.bus.send({ op: 'group.result', id: this.id, seq, outcome: 'not-taken' })
    else this.bus.send({ op: 'group.result', id: this.id, seq, outcome: 'failed', error: toWire(error) satisfies WireError })
  }

  /**
   * Always: bus.idle() waits in the creating thread for every record the member handed over
   * and still awaits (an attempt that timed out is not awaited there, nor here), and a result
   * goes back only once the handler here settled.
   */
  idle(): boolean {
    return true
  }

  assignments(): Array<{ topic: string; partition: number }> {
    return [...this.positions.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  position(topic: string, partition: number): number | undefined {
    return this.positions.get(key(topic, partition))?.next
  }

  /**
   * Moves owned partitions like a member anywhere: checked here against what the member owns as
   * far as this thread knows; the creating thread moves them (reporting on 'error' should a
   * rebalance have taken them meanwhile).
   */
  seek(target: SeekTarget): void {
    const { byTime, value, partition } = checkSeekTarget(target)
    const chosen = [...this.positions.values()].filter((a) => partition === undefined || a.partition === partition)
    if (chosen.length === 0 || this.closed) throw noPartition(partition)
    if (!byTime) for (const a of chosen) a.next = value // the creating thread clamps it and says so
    this.bus.send({ op: 'group.seek', id: this.id, target: byTime ? { timestamp: value } : { partition, offset: value } })
  }

  /** Resolves once the creating thread committed (rejects as a member anywhere would). */
  commit(message?: { topic: string; partition: number; offset: number }): Promise<void> {
    const sent = message === undefined ? undefined : { topic: message.topic, partition: message.partition, offset: message.offset }
    if (this.finished) {
      return message === undefined ? Promise.resolve() : Promise.reject(notOwned(sent!, this.group))
    }
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      this.commits.set(seq, { message: sent, resolve, reject })
      const delivery = message === undefined ? undefined : deliveries.get(message)?.seq
      this.bus.send({ op: 'group.commit', id: this.id, seq, message: sent, delivery })
    })
  }

  /**
   * The creating thread hands over nothing more once it hears of it. A record it sent before
   * that (one per partition at most) is still handed over here: it is an attempt under way
   * there. Called from the handler with concurrency 1, nothing follows.
   */
  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    this.bus.send({ op: 'group.pause', id: this.id })
  }

  resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.bus.send({ op: 'group.resume', id: this.id })
  }

  /** Leaves the group: `left` resolves once the creating thread says it has. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (!this.finished) this.bus.send({ op: 'group.close', id: this.id })
    this.bus.settled()
    for (const fn of this.closeHooks.splice(0)) fn()
  }

  /** Nothing more comes for this member (it left, was refused, or the bus ended). */
  finish(ended = false): void {
    if (this.finished) return
    this.finished = true
    this.close()
    // commits the creating thread dropped because the member had left already
    for (const { message, resolve, reject } of this.commits.values()) {
      if (ended) reject(new BusClosedError('the bus is closed'))
      else if (message === undefined) resolve()
      else reject(notOwned(message as { topic: string; partition: number; offset: number }, this.group))
    }
    this.commits.clear()
    this.positions.clear()
    this.leave()
    this.bus.memberGone(this)
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.closeHooks.push(fn)
  }
}

const notOwned = (message: { topic: string; partition: number; offset: number }, group: string): InvalidArgumentError =>
  new InvalidArgumentError(`cannot commit ${message.topic}/${message.partition}@${message.offset}: the partition is not assigned to this member of group ${group} (it left the group)`,
    { topic: message.topic, partition: message.partition, offset: message.offset, argument: 'message' })
