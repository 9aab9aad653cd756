// The creating thread's side of the copying transport: it appends what a worker publishes, runs
// a reader here for each of the worker's subscriptions and posts what they read in batches, at
// most CREDIT unacknowledged batches per subscription (a slow worker holds its reader back
// instead of piling up messages). A worker that goes away is noticed by its port in Node, by its
// liveness in a browser (liveness.ts).
import { BackPressureError, CodecError, InvalidArgumentError } from '../errors.js'
import type { Reader, ReaderHost } from '../reader/reader.js'
import { BusyBackoff, retryLater } from '../reader/turns.js'
import type { Delivered } from '../topic/topic.js'
import type { GroupLag } from '../groups/groups.js'
import type { BatchRecord, PublishOptions, RecordMetadata, SkippedEvent, SubscribeOptions, TopicOptions, TopicStats } from '../types.js'
import { CREDIT, isSend, isSettle, isSkip, toColumns, toWire, type Assignment, type Outgoing, type ToOwner, type ToWorker, type TransactionRecord, type WireRecord } from './copy-wire.js'
import { MemberOutlets, type MemberOwner } from './copy-members.js'
import { QueueOutlets, type QueueOwner } from './copy-queues.js'
import { unref, type CopyHandle, type WorkerExit } from './handle.js'
import { watchWorker, type Watch } from './liveness.js'

/** What the copying transport needs of the bus that owns the log. */
export interface CopyOwner extends MemberOwner, QueueOwner {
  publish(topic: string, value: unknown, options?: PublishOptions): unknown
  publishBatch(topic: string, records: ReadonlyArray<BatchRecord<unknown>>): unknown
  topic(name: string, options?: TopicOptions): unknown
  read(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions, hooks: Pick<ReaderHost, 'skipped' | 'handlerFailed'>): Reader
  idle(): Promise<void>
  stats(): Record<string, TopicStats>
  /** bus.lag() of every group the log knows. */
  lags(): Record<string, GroupLag>
  exit(event: WorkerExit): void
  /** Registers what to do when the owning bus closes. */
  onClose(fn: () => void): void
  /** Runs a copying worker's transaction here: its records, and the messages it commits. */
  transaction(records: TransactionRecord[], commits: Delivered[]): Promise<RecordMetadata[]>
  redrive(topic: string, options: { limit?: number; to?: string } | undefined): Promise<number>
}

/** One of the worker's subscriptions, read here. */
class Outlet {
  reader!: Reader
  epoch = 0
  pending: Outgoing[] = []
  inFlight = 0
  paused = false
  /** Per topic/partition, the first position handed to this outlet since the last seek. */
  readonly firstTaken = new Map<string, number>()
  private scheduled = false
  private waiting: (() => void) | undefined

  constructor(readonly id: number, private readonly host: CopyHost, private readonly max: number) {}

  /** The reader's handler: gathers messages into batches; waits when the worker is behind. */
  readonly take = (message: Delivered): Promise<void> | undefined => {
    this.queue(message.topic, message.partition, message.offset, message)
    return this.inFlight < CREDIT ? undefined : new Promise((resolve) => { this.waiting = resolve })
  }

  /**
   * The reader lost records to retention: the worker hears it in order with the records. A
   * report that continues the partition's last one still waiting here extends it, so that a
   * reader overtaken again and again while its worker is behind sends a few reports, not a flood.
   */
  readonly skip = (event: SkippedEvent): void => {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const entry = this.pending[i]
      const last = isSkip(entry) ? entry.skipped : entry
      if (last.topic !== event.topic || last.partition !== event.partition) continue
      if (isSkip(entry) && entry.skipped.to === event.from) {
        entry.skipped = { ...entry.skipped, to: event.to, count: entry.skipped.count + event.count }
        return
      }
      break
    }
    this.queue(event.topic, event.partition, event.from, { skipped: event })
  }

  private queue(topic: string, partition: number, position: number, entry: Outgoing): void {
    const key = `${topic}/${partition}`
    if (!this.firstTaken.has(key)) this.firstTaken.set(key, position)
    this.pending.push(entry)
    if (this.pending.length >= this.max) this.post()
    else if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => { this.scheduled = false; this.post() })
    }
  }

  /** Sends what is pending, unless CREDIT batches are unacknowledged: then the next ack sends it. */
  post(): void {
    if (this.pending.length === 0 || this.inFlight >= CREDIT) return
    const messages = this.pending
    this.pending = []
    this.inFlight++
    this.host.postBatch(this, messages)
  }

  acked(): void {
    this.inFlight--
    this.post()
    this.release()
  }

  /** Lets a reader that waits for credit go on (to stop, when it was paused or closed). */
  release(): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
  }

  busy(): boolean {
    return !this.paused && !this.reader.closed && (this.inFlight > 0 || this.pending.length > 0)
  }

  assignments(): Assignment[] {
    return this.reader.assignments().map(({ topic, partition }) => ({ topic, partition, next: this.reader.position(topic, partition) }))
  }
}

class CopyHost {
  private readonly outlets = new Map<number, Outlet>()
  /** The worker's group members, which live here. */
  private readonly members: MemberOutlets
  /** The worker's exchanges, queues and queue consumers, which live here. */
  private readonly queues: QueueOutlets
  private ackWaiters: Array<() => void> = []
  private clean = false
  private gone = false
  readonly watch: Watch

  constructor(private readonly port: MessagePort, private readonly owner: CopyOwner) {
    this.members = new MemberOutlets({
      post: (message) => {
        if (this.gone) return false
        this.port.postMessage(message)
        return true
      },
      fail: (error, where) => this.fail(error, where),
    }, owner)
    this.queues = new QueueOutlets({
      post: (message) => {
        if (this.gone) return false
        this.port.postMessage(message)
        return true
      },
      fail: (error) => this.fail(error),
    }, owner)
    port.onmessage = (event: MessageEvent) => this.enqueue(event.data as ToOwner)
    this.watch = watchWorker(port, () => this.end())
    // the bus closing says so and closes the port: the worker's bus learns it is gone (in Node
    // from the port's 'close' too); the bus halts the members itself
    owner.onClose(() => {
      this.watch.stop()
      this.gone = true
      this.members.end()
      this.queues.end()
      port.postMessage({ op: 'closed' } satisfies ToWorker)
      port.close()
    })
    unref(port)
  }

  /** Sends the outcome of a request once it settles. */
  private answer(seq: number, outcome: Promise<unknown>): void {
    outcome.then((result) => this.send({ op: 'answer', seq, result, error: undefined }),
      (error: unknown) => this.send({ op: 'answer', seq, result: undefined, error: toWire(error) }))
  }

  private send(message: ToWorker): void {
    if (!this.gone) this.port.postMessage(message)
  }

  /** Answers request `seq` with the figures of now (stats, lags). */
  private done(seq: number): void {
    if (!this.gone) this.send({ op: 'done', seq, stats: this.owner.stats(), lags: this.owner.lags(), queues: this.owner.queueStats() })
  }

  private fail(error: unknown, where: { topic?: string; partition?: number; offset?: number } = {}): void {
    this.send({ op: 'error', error: toWire(error), topic: where.topic ?? '', partition: where.partition ?? -1, offset: where.offset ?? -1 })
  }

  postBatch(outlet: Outlet, messages: Outgoing[]): void {
    if (this.gone) return
    try {
      this.port.postMessage({ op: 'batch', id: outlet.id, epoch: outlet.epoch, batch: toColumns(messages) } satisfies ToWorker)
    } catch {
      // a record that cannot be cloned: same-thread readers get what this thread published itself
      // (a 'ref' value, or a msgpack one, holding a function; headers changed after publish), and
      // the worker's reader is one of them. The others still go.
      const sendable = messages.filter((message) => {
        if (isSkip(message)) return true
        try {
          structuredClone([message.value, message.key, message.headers])
          return true
        } catch (error) {
          this.fail(this.uncopyable(message, error), message)
          return false
        }
      })
      try {
        this.port.postMessage({ op: 'batch', id: outlet.id, epoch: outlet.epoch, batch: toColumns(sendable) } satisfies ToWorker)
      } catch (error) {
        // cloned once but not twice (a getter that changed its mind): none of them goes, yet the
        // empty batch is acknowledged like any other, so the reader does not wait for credit for ever
        for (const message of sendable) if (!isSkip(message)) this.fail(this.uncopyable(message, error), message)
        this.port.postMessage({ op: 'batch', id: outlet.id, epoch: outlet.epoch, batch: toColumns(sendable.filter(isSkip)) } satisfies ToWorker)
      }
    }
  }

  private uncopyable(message: Delivered, error: unknown): CodecError {
    return new CodecError(`record ${message.topic}/${message.partition}@${message.offset} cannot be copied to the worker: ${(error as Error)?.message ?? error}`,
      { topic: message.topic, partition: message.partition, offset: message.offset, cause: error })
  }

  /** The worker's messages, handled in order; the first may be a publish the log found busy. */
  private readonly inbox: ToOwner[] = []
  /** Records of inbox[0] (a publish) handled so far. */
  private handled = 0
  private retrying = false
  private readonly busy = new BusyBackoff()

  private enqueue(message: ToOwner): void {
    this.inbox.push(message)
    if (this.inbox.length === 1 && !this.retrying) this.work()
  }

  /**
   * Handles the messages in order. A publish the log refuses as busy (a lock held by a thread
   * that died and is not recovered yet) is tried again later, and what came after it waits: this
   * thread must get back to its event loop to notice the death and recover the lock, rather than
   * spin on every record of a long backlog, and the worker's records must not be lost for it.
   */
  private work(): void {
    while (this.inbox.length > 0) {
      const message = this.inbox[0]
      if (message.op === 'publish' && !this.publish(message.records)) {
        this.retrying = true
        retryLater(() => { this.retrying = false; this.work() }, this.busy.next())
        return
      }
      this.inbox.shift()
      this.busy.reset()
      if (message.op !== 'publish') this.receive(message)
    }
  }

  /** Appends the records not handled yet; false when the log was busy (they stay, to go again). */
  private publish(records: WireRecord[]): boolean {
    for (; this.handled < records.length; this.handled++) {
      const record = records[this.handled]
      // a send is routed once: one the log found busy part way is reported, not sent again
      if (isSend(record)) {
        this.queues.send(record)
        continue
      }
      if (isSettle(record)) {
        this.queues.settle(record)
        continue
      }
      try {
        if ('batch' in record) this.owner.publishBatch(record.topic, record.batch)
        else this.owner.publish(record.topic, record.value, record.options)
      } catch (error) {
        if (error instanceof BackPressureError && error.reason === 'busy') {
          // a batch refused part way goes again from the first record that did not go in
          if ('batch' in record) record.batch = record.batch.slice(error.accepted?.length ?? 0)
          return false
        }
        this.fail(error, { topic: record.topic })
      }
    }
    this.handled = 0
    return true
  }

  private receive(message: Exclude<ToOwner, { op: 'publish' }>): void {
    switch (message.op) {
      case 'topic':
        try {
          this.owner.topic(message.name, message.options)
        } catch (error) {
          this.fail(error, { topic: message.name })
        }
        return
      case 'transaction': {
        const commits = message.commits.map(({ id, seq }) => this.members.handling(id, seq))
        const outcome = commits.includes(undefined)
          ? Promise.reject(new InvalidArgumentError('tx.commit takes a message a consumer-group member of this thread is handling now', { argument: 'message' }))
          : this.owner.transaction(message.records, commits as Delivered[])
        return this.answer(message.seq, outcome)
      }
      case 'redrive':
        return this.answer(message.seq, this.owner.redrive(message.topic, message.options))
      case 'subscribe': {
        const outlet = new Outlet(message.id, this, message.options.maxPollRecords)
        try {
          outlet.reader = this.owner.read(message.target, outlet.take, message.options, {
            skipped: outlet.skip,
            handlerFailed: (error, where) => this.fail(error, where),
          })
        } catch (error) {
          this.fail(error, { topic: message.target })
          return
        }
        this.outlets.set(message.id, outlet)
        this.send({ op: 'assigned', id: outlet.id, epoch: outlet.epoch, assignments: outlet.assignments() })
        return
      }
      case 'seek': {
        const outlet = this.outlets.get(message.id)
        if (outlet !== undefined) this.seek(outlet, message)
        return
      }
      case 'pause':
      case 'resume': {
        const outlet = this.outlets.get(message.id)
        if (outlet === undefined) return
        outlet.paused = message.op === 'pause'
        outlet.reader[message.op]()
        // a paused reader must not stay blocked waiting for credit the worker will not give
        // while paused (it would never count as idle)
        if (outlet.paused) outlet.release()
        this.settled()
        return
      }
      case 'close':
        this.closeOutlet(message.id)
        return
      case 'delivered':
        this.outlets.get(message.id)?.acked()
        this.settled()
        return
      case 'sync':
        this.done(message.seq)
        return
      case 'idle':
        void this.idle().then(() => this.done(message.seq))
        return
      case 'exchange':
      case 'queue':
      case 'bind':
      case 'unbind':
      case 'queue.consume':
      case 'queue.cancel':
        this.queues.receive(message)
        return
      case 'closed':
        this.clean = true
        for (const id of [...this.outlets.keys()]) this.closeOutlet(id)
        this.members.end()
        this.queues.end()
        this.done(message.seq)
        this.watch.closed()
        return
      default:
        this.members.receive(message)
    }
  }

  /**
   * The worker dropped every batch of the old epoch it had not handled, whatever the partition.
   * The partitions the seek names move; every other one goes back to just after what the worker
   * handled since the last seek, or else to the first record handed over since then.
   */
  private seek(outlet: Outlet, message: Extract<ToOwner, { op: 'seek' }>): void {
    const { target } = message
    outlet.epoch = message.epoch
    outlet.pending = []
    let moved = (partition: number): boolean => 'timestamp' in target || target.partition === undefined || target.partition === partition
    try {
      outlet.reader.seek(target)
    } catch (error) {
      this.fail(error)
      moved = () => false
    }
    const delivered = new Map(message.delivered.map((d) => [`${d.topic}/${d.partition}`, d.next]))
    for (const { topic, partition } of outlet.reader.assignments()) {
      if (moved(partition)) continue
      const key = `${topic}/${partition}`
      const back = delivered.get(key) ?? outlet.firstTaken.get(key)
      if (back !== undefined) outlet.reader.rewind(topic, partition, back)
    }
    outlet.firstTaken.clear()
    this.send({ op: 'assigned', id: outlet.id, epoch: outlet.epoch, assignments: outlet.assignments() })
  }

  private closeOutlet(id: number): void {
    const outlet = this.outlets.get(id)
    if (outlet === undefined) return
    this.outlets.delete(id)
    outlet.reader.close()
    outlet.release() // a reader waiting for credit is let go
    this.settled()
  }

  private settled(): void {
    const waiters = this.ackWaiters
    this.ackWaiters = []
    for (const resolve of waiters) resolve()
  }

  /** Everything deliverable was delivered here and acknowledged by the worker (paused readers aside). */
  private async idle(): Promise<void> {
    for (;;) {
      try {
        await this.owner.idle()
      } catch {
        return // the owning bus closed
      }
      if (![...this.outlets.values()].some((outlet) => outlet.busy())) return
      await new Promise<void>((resolve) => this.ackWaiters.push(resolve))
    }
  }

  /** The worker closed its bus, exited or crashed: its readers go, and the bus reports it. */
  private end(): void {
    if (this.gone) return
    this.gone = true
    for (const id of [...this.outlets.keys()]) this.closeOutlet(id)
    this.members.end()
    this.queues.end()
    this.owner.exit({ lane: -1, clean: this.clean, recovered: 0 })
  }
}

/** A copying handle for one worker, served by this thread. */
export function createCopyHandle(owner: CopyOwner): CopyHandle {
  const { port1, port2 } = new MessageChannel()
  const { liveness } = new CopyHost(port1, owner).watch
  return { kind: 'ringbus/copy', port: port2, liveness, transfer: liveness === undefined ? [port2] : [port2, liveness.port] }
}
