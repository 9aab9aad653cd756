// The creating thread's side of a copying worker's consumer-group members. Each member lives
// here, a GroupMember of this bus like any other: the coordinator, commits, retries with backoff
// on this bus's clock, dead letters, poison and fencing are all this thread's. Only its handler
// is the worker's: it sends each record over the port and settles when the worker's handler
// did, rejecting with the worker's error, so that a failed attempt is retried (or dead-lettered)
// here and the record goes to the worker again with `attempt` one higher. The partition run
// awaits each record, so one record per partition is in flight, `concurrency` partitions at once.
//
// One message per record and one per result: simple, and enough for now. Sending a partition's
// next records ahead in batches (answered in order), as the outlets of independent readers do,
// is the optimisation to make when per-record round trips show.
import { CodecError, InvalidArgumentError } from '../errors.js'
import type { GroupLag, MemberHooks } from '../groups/groups.js'
import type { GroupMember } from '../groups/member.js'
import { NOT_TAKEN } from '../reader/consume.js'
import type { Delivered } from '../topic/topic.js'
import type { RebalanceEvent, SubscribeOptions } from '../types.js'
import { fromWire, toMessage, toWire, type MemberOptions, type ToOwner, type ToWorker } from './copy-wire.js'

/** What a copying worker's members need of the bus that owns the log. */
export interface MemberOwner {
  /** A group member of this bus whose reports go to `hooks`; throws when the coordinator refuses it. */
  join(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions, hooks: MemberHooks): GroupMember
  lag(group: string): GroupLag
  /** The group's lag on each partition of one topic now. */
  topicLag(group: string, topic: string): Record<number, number> | undefined
  /** Calls `watcher` with every rebalance of the bus's groups until the returned function is called. */
  rebalances(watcher: (event: RebalanceEvent) => void): () => void
}

/** How the member's side reaches the worker. */
export interface MemberLine {
  /** Posts to the worker; false when it is gone. Throws when the message cannot be cloned. */
  post(message: ToWorker): boolean
  /** Reports a failure on the worker's bus.events 'error'. */
  fail(error: unknown, where: { topic: string; partition: number; offset: number }): void
}

/** The subscribe options of a member the worker checked (groups.open checks them again). */
export function subscribeOptions(options: MemberOptions): SubscribeOptions {
  // every other option has the same name in both
  const { initialMs, maxMs, multiplier, jitter, ...rest } = options
  return { ...rest, backoff: { initialMs, maxMs, multiplier, jitter } }
}

type MemberRequest = Extract<ToOwner, { op: `group.${string}` }>

/** One member of the worker, run here. */
class MemberOutlet {
  member: GroupMember | undefined
  private seq = 0
  /** Messages of retry topics' records handed to the worker, by seq, for the worker's commit(msg). */
  private readonly retried = new Map<number, Delivered>()
  /** Deliveries whose result the worker has not sent yet, by seq, with the message sent. */
  private readonly waiting = new Map<number, { message: Delivered; resolve: () => void; reject: (error: unknown) => void }>()
  private gone = false

  constructor(readonly id: number, private readonly line: MemberLine, private readonly owner: MemberOwner) {}

  /** The member's handler: the record goes to the worker; settles as the worker's handler did. */
  readonly handler = (message: Delivered): Promise<void> => new Promise((resolve, reject) => {
    if (this.gone) return reject(NOT_TAKEN)
    const seq = ++this.seq
    this.waiting.set(seq, { message, resolve, reject })
    // a retried record shows its source's coordinates: the worker's commit of it (autoCommit
    // off) names the delivery, kept here until that commit
    if (!this.member!.options.autoCommit && this.member!.retried(message)) this.retried.set(seq, message)
    let posted: boolean
    try {
      const lag = this.owner.topicLag(this.member!.groupName, message.topic)
      posted = this.line.post({ op: 'group.deliver', id: this.id, seq, record: toMessage(message), lag })
    } catch (error) {
      // a record that cannot be cloned (a 'ref' value holding a function, say): the attempt fails
      this.waiting.delete(seq)
      return reject(new CodecError(`record ${message.topic}/${message.partition}@${message.offset} cannot be copied to the worker: ${(error as Error)?.message ?? error}`,
        { topic: message.topic, partition: message.partition, offset: message.offset, cause: error }))
    }
    if (!posted) {
      this.waiting.delete(seq)
      reject(NOT_TAKEN) // the worker is gone: its end() is on the way, and the member leaves
    }
  })

  /** The message of a delivery the worker is handling now (its transaction commits it). */
  handling(seq: number): Delivered | undefined {
    return this.waiting.get(seq)?.message
  }

  /** Its reports go to the worker's bus.events. */
  readonly hooks: MemberHooks = {
    skipped: (event) => { this.line.post({ op: 'group.skipped', event }) },
    handlerFailed: (error, where) => this.line.fail(error, where),
    poison: (event) => { this.line.post({ op: 'group.poison', event: { ...event, error: toWire(event.error) } }) },
  }

  /** Tells the worker what the member owns now, with the positions. */
  assigned(): void {
    const member = this.member
    if (member === undefined || member.closed) return
    this.line.post({ op: 'group.assigned', id: this.id, assignments: member.assignments().map((tp) => ({ ...tp, next: member.position(tp.topic, tp.partition) })) })
  }

  receive(message: MemberRequest): void {
    const member = this.member
    switch (message.op) {
      case 'group.result': {
        const waiting = this.waiting.get(message.seq)
        if (waiting === undefined) return // abandoned: the worker went away, or the member left meanwhile
        this.waiting.delete(message.seq)
        if (message.outcome === 'ok') waiting.resolve()
        else waiting.reject(message.outcome === 'not-taken' ? NOT_TAKEN : fromWire(message.error!))
        return
      }
      case 'group.commit': {
        let error: unknown
        try {
          const retried = message.delivery === undefined ? undefined : this.retried.get(message.delivery)
          if (retried !== undefined) this.retried.delete(message.delivery!)
          if (member !== undefined) member.commit(retried ?? message.message)
          else if (message.message !== undefined) throw new InvalidArgumentError('this member is not in its group (the coordinator refused it)', { argument: 'message' })
        } catch (failure) {
          error = failure
        }
        this.line.post({ op: 'group.committed', id: this.id, seq: message.seq, error: error === undefined ? undefined : toWire(error), lag: this.owner.lag(this.member?.groupName ?? '') })
        return
      }
      case 'group.seek':
        if (member === undefined) return
        try {
          member.seek(message.target)
        } catch (error) {
          this.line.fail(error, { topic: '', partition: -1, offset: -1 })
        }
        this.assigned() // the positions moved
        return
      case 'group.pause':
        return member?.pause()
      case 'group.resume':
        return member?.resume()
      case 'group.close':
        if (member === undefined) return
        member.close() // an attempt in flight runs to its end: the worker still answers it
        void member.left.then(() => this.line.post({ op: 'group.left', id: this.id }))
    }
  }

  /**
   * The worker is gone, or closed its bus: the member leaves at once. What the worker was
   * handling counts as not handled (uncommitted: its next owner gets it again).
   */
  abandon(): void {
    this.gone = true
    this.member?.close()
    for (const { reject } of this.waiting.values()) reject(NOT_TAKEN)
    this.waiting.clear()
  }
}

/** A copying worker's group members, served by the creating thread. */
export class MemberOutlets {
  private readonly outlets = new Map<number, MemberOutlet>()
  private readonly unwatch: () => void

  constructor(private readonly line: MemberLine, private readonly owner: MemberOwner) {
    this.unwatch = owner.rebalances((event) => this.rebalanced(event))
  }

  /** The message of member `id`'s delivery `seq`, while the worker handles it. */
  handling(id: number, seq: number): Delivered | undefined {
    return this.outlets.get(id)?.handling(seq)
  }

  receive(message: MemberRequest): void {
    if (message.op === 'group.open') return this.open(message)
    this.outlets.get(message.id)?.receive(message)
  }

  private open(message: Extract<MemberRequest, { op: 'group.open' }>): void {
    const outlet = new MemberOutlet(message.id, this.line, this.owner)
    try {
      outlet.member = this.owner.join(message.target, outlet.handler, subscribeOptions(message.options), outlet.hooks)
    } catch (error) {
      this.line.post({ op: 'group.refused', id: message.id, error: toWire(error) })
      return
    }
    this.outlets.set(message.id, outlet)
    // the outlet stays until the worker is gone: a closing member's last results still come
    void outlet.member.left.then(() => { if (this.outlets.get(message.id) === outlet) this.outlets.delete(message.id) })
  }

  /**
   * A group rebalanced: the worker's members in it learn what they own now, and then the
   * worker's bus emits 'group.rebalance' too (as it would for a member of its own).
   */
  private rebalanced(event: RebalanceEvent): void {
    let ours = false
    for (const outlet of this.outlets.values()) {
      if (outlet.member?.groupName !== event.group || outlet.member.closed) continue
      ours = true
      outlet.assigned()
    }
    if (ours) this.line.post({ op: 'group.rebalance', event })
  }

  /** The worker is gone (or closed its bus): every member leaves at once. */
  end(): void {
    this.unwatch()
    for (const outlet of this.outlets.values()) outlet.abandon()
    this.outlets.clear()
  }
}
