// A consumer-group member in this thread: what a subscription with a `group` is. It tells the
// group's coordinator which topics it reads, runs the partitions the coordinator assigns to it
// (at most `concurrency` at once), and gives one up when asked, after committing what it handled.
import type { Clock } from '../clock.js'
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import type { Handler } from '../reader/delivery-loop.js'
import { PartitionFetcher, type FetchHost } from '../reader/partition-fetcher.js'
import type { ReaderOptions } from '../reader/reader.js'
import { checkSeekTarget, noPartition } from '../reader/seek-target.js'
import type { StatsRecorder } from '../topic/stats-recorder.js'
import type { Delivered, Topic } from '../topic/topic.js'
import type { PoisonEvent, SeekTarget, SkippedEvent } from '../types.js'
import type { GroupOptions } from './group-options.js'
import { PartitionRun, type RunHost } from './partition-run.js'
import { parseRetryTopic } from './retry-topics.js'

/** What a member needs from the bus it reads. */
export interface MemberHost {
  readonly core: LogCore
  readonly clock: Clock
  readonly recorder: Pick<StatsRecorder, 'delivered' | 'skipped'>
  skipped(event: SkippedEvent): void
  handlerFailed(error: unknown, where: { topic: string; partition: number; offset: number }): void
  poison(event: PoisonEvent): void
  /** Appends the dead letter of a record that failed every attempt; throws when the log refuses it. */
  deadLetter(message: Delivered, source: Topic, options: GroupOptions, attempts: number, error: unknown): void
  /** Appends a failed record to its retry topic for `attempt` (retryTopics); throws when the log refuses it. */
  retryLater(message: Delivered, source: Topic, options: GroupOptions, attempt: number): void
  /** The topic of this name as this thread knows it (catching up with other threads first). */
  topic(name: string): Topic | undefined
  memberSettled(member: GroupMember): void
  memberClosed(member: GroupMember): void
}

/** What a member tells its group's coordinator (in this thread, or over a worker's port). */
export interface CoordinatorLink<M = GroupMember> {
  /** Throws when the coordinator refuses the member at once (an assignor it does not know). */
  join(member: M): void
  /** The member reads more topics or partitions than before: the group rebalances. */
  changed(member: M): void
  /** The member stopped (after committing) and leaves the group: resolves once the others own its partitions. */
  leave(member: M): Promise<void>
}

const key = (topic: string, partition: number): string => `${partition}:${topic}`

export class GroupMember {
  private readonly runs = new Map<string, PartitionRun>()
  /** Topics this member subscribes to, by name (the coordinator assigns among their partitions). */
  private readonly topics = new Map<string, Topic>()
  private readonly group: number
  private readonly runHost: RunHost
  private active = 0
  private readonly queued: PartitionRun[] = []
  paused = false
  closed = false
  private readonly closeHooks: Array<() => void> = []
  /** Resolves when the member has given up its partitions and left, and the rebalance that followed is over. */
  readonly left: Promise<void>
  private leave!: () => void
  private readonly fetchHost: FetchHost
  private joined = false
  /** Joins and changes asked of the coordinator, and how many a finished rebalance has seen. */
  requested = 0
  private answered = 0

  constructor(
    private readonly host: MemberHost,
    private readonly link: CoordinatorLink,
    readonly id: string,
    /** The topic or pattern subscribed to. */
    readonly target: string,
    readonly matches: (topic: string) => boolean,
    handler: Handler,
    private readonly reader: ReaderOptions,
    readonly options: GroupOptions,
  ) {
    this.group = host.core.groupIndex(options.group, true)
    this.left = new Promise((resolve) => { this.leave = resolve })
    const member = this
    // what the member's fetchers lose to retention is reported with the group named
    this.fetchHost = {
      core: host.core,
      recorder: host.recorder,
      skipped: (event: SkippedEvent) => host.skipped({ ...event, group: options.group }),
      failed: host.handlerFailed,
    }
    this.runHost = {
      clock: host.clock,
      options,
      handler,
      maxPollRecords: reader.maxPollRecords,
      get paused() { return member.paused || member.closed },
      commit: (run, offset) => host.core.commitOffset(this.group, run.fetcher.id, run.generation, offset),
      generationNow: (run) => host.core.commitGeneration(this.group, run.fetcher.id),
      failed: (error, message) => host.handlerFailed(error, message),
      deadLetter: (message, attempts, error) => host.deadLetter(message, this.topics.get(message.topic)!, options, attempts, error),
      retryLater: (message, attempt) => host.retryLater(message, this.topics.get(message.topic)!, options, attempt),
      poison: (message, error) => host.poison({ topic: message.topic, partition: message.partition, offset: message.offset, group: options.group, error }),
      acquire: (run) => this.acquire(run),
      release: () => this.release(),
      settled: () => host.memberSettled(this),
      fenced: (run) => this.drop(run),
      delivered: (topic, count) => host.recorder.delivered(topic, count),
    }
  }

  get groupName(): string {
    return this.options.group
  }

  get assignor(): string {
    return this.options.assignor
  }

  /** The topic names this member reads now. */
  subscribedTopics(): string[] {
    return [...this.topics.keys()]
  }

  /** A topic it matches exists (or grew) in this thread: partitions from `first` on are new to it. */
  attach(topic: Topic, first: number, created: boolean): void {
    if (this.closed) return
    const known = this.topics.has(topic.name)
    this.topics.set(topic.name, topic)
    topic.readers.add(this)
    // `from` applies where the group has no committed offset: fixed now, when it subscribes, so
    // that a record published right after subscribe() is the group's whichever member gets it
    const core = this.host.core
    // a retry topic is read from its start: what is in it waits for this group whatever `from` says
    const retries = parseRetryTopic(topic.name, this.options.group) !== undefined
    for (let partition = first; partition < topic.partitions; partition++) {
      const id = topic.ids[partition]
      core.initCommit(this.group, id, created ? 0 : retries ? core.startOffset(id) : PartitionFetcher.start(core, id, partition, this.reader.from))
    }
    if (known || this.joined) {
      this.requested++
      this.link.changed(this)
    }
  }

  /** Joins the group once the topics it matches now are attached. */
  join(): void {
    this.joined = true
    this.requested++
    this.link.join(this)
  }

  rebalanced(requested: number): void {
    if (requested <= this.answered) return
    this.answered = requested
    this.host.memberSettled(this)
  }

  /** The coordinator gives this member a partition for `generation`. */
  assigned(topicName: string, partition: number, generation: number): void {
    if (this.closed) return
    const topic = this.topics.get(topicName) ?? this.host.topic(topicName)
    if (topic === undefined || partition >= topic.partitions) return
    const core = this.host.core
    const id = topic.ids[partition]
    const committed = core.committed(this.group, id)
    const start = committed >= 0 ? committed : PartitionFetcher.start(core, id, partition, this.reader.from)
    const fetcher = new PartitionFetcher(this.fetchHost, topic, partition, start, this.reader.reset)
    this.runs.get(key(topicName, partition))?.halt()
    const run = new PartitionRun(this.runHost, fetcher, generation, start, parseRetryTopic(topicName, this.options.group) !== undefined)
    this.runs.set(key(topicName, partition), run)
    run.run()
  }

  /** The coordinator takes a partition away: resolves once it stopped and committed. */
  async revoke(topicName: string, partition: number): Promise<void> {
    const k = key(topicName, partition)
    const run = this.runs.get(k)
    if (run === undefined) return
    await run.stop()
    if (this.runs.get(k) === run) this.runs.delete(k)
    this.unqueue(run)
  }

  private drop(run: PartitionRun): void {
    const k = key(run.topic, run.partition)
    if (this.runs.get(k) === run) this.runs.delete(k)
    this.unqueue(run)
  }

  private acquire(run: PartitionRun): boolean {
    if (this.active < this.options.concurrency) {
      this.active++
      return true
    }
    if (!this.queued.includes(run)) this.queued.push(run)
    return false
  }

  /** A slot is free: the runs waiting for one go, until the slots are taken again (a run with nothing to do takes none). */
  private release(): void {
    this.active--
    while (this.active < this.options.concurrency && this.queued.length > 0) this.queued.shift()!.run()
  }

  private unqueue(run: PartitionRun): void {
    const i = this.queued.indexOf(run)
    if (i >= 0) this.queued.splice(i, 1)
  }

  /**
   * The run a message came from: a retry topic's run for a retried message (which shows its
   * source's topic and offset), else the run of the message's partition.
   */
  private runFor(message: { topic: string; partition: number; offset: number }): PartitionRun | undefined {
    for (const run of this.runs.values()) if (run.retries && run.after(message) !== undefined) return run
    return this.runs.get(key(message.topic, message.partition))
  }

  /** `message` came from one of this member's retry topics (it shows its source's coordinates). */
  retried(message: object): boolean {
    const run = this.runFor(message as { topic: string; partition: number; offset: number })
    return run?.retries === true
  }

  /** The run handing `message` over now, if this member has it. */
  holder(message: { topic: string; partition: number; offset: number }): PartitionRun | undefined {
    const run = this.runFor(message)
    return run?.holds(message) ? run : undefined
  }

  assignments(): Array<{ topic: string; partition: number }> {
    return [...this.runs.values()].map((r) => ({ topic: r.topic, partition: r.partition }))
      .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
  }

  position(topic: string, partition: number): number | undefined {
    return this.runs.get(key(topic, partition))?.position
  }

  /** Moves owned partitions (one, or all) like an independent reader's seek; the next commit records it. */
  seek(target: SeekTarget): void {
    const { byTime, value, partition } = checkSeekTarget(target)
    const core = this.host.core
    const chosen = [...this.runs.values()].filter((r) => partition === undefined || r.partition === partition)
    if (chosen.length === 0) throw noPartition(partition)
    for (const r of chosen) r.moveTo(byTime ? core.offsetForTime(r.fetcher.id, value) : PartitionFetcher.clamp(core, r.fetcher.id, value))
    this.run()
  }

  /**
   * Commits what was handled, or with `message` the position after it. Rejects with
   * InvalidArgumentError when the message's partition is not this member's (any more).
   */
  commit(message?: { topic: string; partition: number; offset: number }): void {
    if (message === undefined) {
      for (const run of [...this.runs.values()]) run.commitHandled()
      return
    }
    const run = this.runFor(message)
    const after = run?.after(message)
    if (run === undefined || after === undefined || !run.commit(after)) {
      throw new InvalidArgumentError(`cannot commit ${message.topic}/${message.partition}@${message.offset}: the partition is not assigned to this member of group ${this.options.group} (a rebalance moved it)`,
        { topic: message.topic, partition: message.partition, offset: message.offset, argument: 'message' })
    }
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.run()
  }

  /** Runs every partition that has records (the delivery scheduler calls it once per turn). */
  run(): void {
    for (const run of this.runs.values()) run.run()
  }

  /** Nothing to hand over now, and no rebalance it asked for is under way. */
  idle(): boolean {
    if (this.answered < this.requested && !this.closed) return false
    for (const run of this.runs.values()) if (!run.idle()) return false
    return true
  }

  /** Leaves the group: every partition stops and commits what it handled, then the group rebalances. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const topic of this.topics.values()) topic.readers.delete(this)
    const runs = [...this.runs.values()]
    void Promise.all(runs.map((r) => r.stop())).then(() => {
      this.runs.clear()
      this.queued.length = 0
      return this.link.leave(this)
    }).then(this.leave)
    this.host.memberClosed(this)
    for (const fn of this.closeHooks.splice(0)) fn()
  }

  /**
   * Stops at once (the bus closes under it): what was handled is committed, an attempt in flight
   * is abandoned (its record goes to the next owner). `tell`: leave the group now rather than
   * when the thread's exit is noticed.
   */
  halt(tell = false): void {
    if (this.closed && this.runs.size === 0) return
    this.closed = true
    for (const topic of this.topics.values()) topic.readers.delete(this)
    for (const run of this.runs.values()) {
      if (this.options.autoCommit) run.commitHandled()
      run.halt()
    }
    this.runs.clear()
    if (tell) void this.link.leave(this)
    this.leave()
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.closeHooks.push(fn)
  }
}
