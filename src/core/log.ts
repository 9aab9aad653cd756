// LogCore: one thread's handle on the WebAssembly core, and the only way the rest of the bus
// reaches it. It joins the memory and lays out nothing itself (layout.ts does), then forwards to
// one module per structure; everything above deals in partition ids, offsets and bytes.
import { FRAME_FLAGS, FRAME_KEY_LENGTH, FRAME_TIMESTAMP, FRAME_VALUE_LENGTH, INDEX_INTERVAL } from './abi.js'
import { Cursors, type FrameFields, type FrameSource } from './cursors.js'
import { Dedup, type DedupRecord } from './dedup.js'
import { Directory, type TopicConfig, type TopicEntry } from './directory.js'
import type { CoreExports } from './exports.js'
import { Groups } from './groups.js'
import { Lane, recoverLane } from './lanes.js'
import { computeLayout, maxFrameBytes, type CoreLayout, type CoreOptions } from './layout.js'
import { loadCore } from './load.js'
import { CTL, CoreMemory } from './memory.js'
import { Partitions, type PartitionConfig } from './partitions.js'
import { Routes } from './routes.js'
import { QueueCore } from './queues.js'
import { Staging } from './staging.js'
import { statusError } from './status.js'
import { Wake } from './wake.js'

export { APPEND_MAX, POLL_MAX } from './abi.js'
export { frameLength } from './staging.js'
export { computeLayout } from './layout.js'
export type { CoreLayout, CoreOptions, DedupRecord, FrameFields, FrameSource, PartitionConfig, TopicConfig, TopicEntry }
export type { DeadReason, Delivered, Overflow, QueueConfig, QueueStats } from './queues.js'
export { QueueCore } from './queues.js'

export class LogCore {
  readonly memory: WebAssembly.Memory
  readonly module: WebAssembly.Module
  /** The memory is a SharedArrayBuffer: other threads may use this core. */
  readonly shared: boolean
  readonly segmentBytes: number
  readonly segmentCount: number
  /** Largest frame a segment can hold (header + headers + key + value, aligned). */
  readonly maxFrameBytes: number
  readonly maxPartitions: number
  readonly u8: Uint8Array
  /** This thread's lane: its own staging area, output buffer and cursors. */
  readonly lane: number
  private readonly mem: CoreMemory
  private readonly laneArea: Lane
  private readonly partitions: Partitions
  private readonly staging: Staging
  private readonly cursors: Cursors
  private readonly directory: Directory
  private readonly groups: Groups
  private readonly dedup: Dedup
  /** RabbitMQ's exchanges and bindings, shared by every thread (src/core/routes.ts). */
  readonly routes: Routes
  private readonly wake: Wake
  /** Queues (RabbitMQ semantics on a log partition each), shared by every thread. */
  readonly queues: QueueCore

  static async create(options: CoreOptions): Promise<LogCore> {
    const layout = computeLayout(options)
    const module = await loadCore(options.shared, options.wasm)
    // sized once and never grown: views stay valid and other threads never see a moved buffer
    const memory = new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages, shared: options.shared } as WebAssembly.MemoryDescriptor)
    return new LogCore(module, memory, layout)
  }

  /** Joins a core another thread created (same module build, memory and layout). */
  static attach(module: WebAssembly.Module, memory: WebAssembly.Memory, layout: CoreLayout, laneToken: number): LogCore {
    return new LogCore(module, memory, layout, laneToken)
  }

  /**
   * `laneToken` marks the lane this thread takes, so that whoever watches the thread can give the
   * lane back if it dies, without ever freeing a lane another thread took since.
   */
  private constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, readonly layout: CoreLayout, readonly laneToken = 1) {
    this.module = module
    this.memory = memory
    const mem = (this.mem = new CoreMemory(module, memory, layout, laneToken))
    this.shared = mem.shared
    mem.x.syncSetToken(laneToken, this.shared && mayBlock() ? 1 : 0)
    this.u8 = mem.u8
    this.segmentBytes = layout.segmentBytes
    this.segmentCount = layout.segmentCount
    this.maxPartitions = layout.maxPartitions
    this.maxFrameBytes = maxFrameBytes(layout)
    // the first thread initialises; the others find it done (or wait the few microseconds it takes)
    const status = mem.x.logInit(CTL, layout.blocks, layout.segmentBytes, layout.segmentCount, layout.partitions, layout.maxPartitions,
      INDEX_INTERVAL, layout.topics, layout.maxTopics, layout.groups, layout.maxGroups, layout.commits, layout.dedup, layout.maxDedupEntries,
      layout.route, layout.routeBytes, layout.queues, layout.queueBytes)
    if (status < 0) throw statusError(status)
    this.laneArea = new Lane(mem)
    this.lane = this.laneArea.index
    this.partitions = new Partitions(mem, this.maxFrameBytes)
    this.staging = new Staging(mem, this.laneArea)
    this.cursors = new Cursors(mem, this.laneArea)
    this.directory = new Directory(mem, this.staging, this.partitions)
    this.groups = new Groups(mem, this.staging)
    this.dedup = new Dedup(mem, this.staging, (t) => this.directory.topic(t).name)
    this.routes = new Routes(mem, this.staging, this.laneArea)
    this.wake = new Wake(mem)
    this.queues = new QueueCore(mem, this.staging, this.laneArea)
  }

  /** This thread's instance; tests wrap an export to stage a race between two calls. */
  private get x(): CoreExports { return this.mem.x }
  private set x(x: CoreExports) { this.mem.x = x }

  // ---- lanes and recovery ---------------------------------------------------------------------

  /** Gives this thread's lane back (its staging area and cursors) for another thread to use. */
  releaseLane(): void { this.laneArea.release() }

  /**
   * After a thread died: repairs what it was changing when it stopped, releases the locks it held
   * (they carry its lane token) and frees its lane. Returns the lane it held (-1 if it never took
   * one) and how many locks were released.
   */
  recoverLane(token: number): { lane: number; released: number } {
    const released = this.x.logRecover(CTL, token) + this.directory.recover(token)
    return { lane: recoverLane(this.mem, token), released }
  }

  // ---- partitions -----------------------------------------------------------------------------

  segmentCapacity(maxBytes: number): number { return this.partitions.segmentCapacity(maxBytes) }
  addPartition(config: PartitionConfig): number { return this.partitions.add(config) }
  keepPartition(id: number): void { this.partitions.keep(id) }
  configurePartition(id: number, config: PartitionConfig): void { this.partitions.configure(id, config) }
  startOffset(p: number): number { return this.partitions.startOffset(p) }
  endOffset(p: number): number { return this.partitions.endOffset(p) }
  bytes(p: number): number { return this.partitions.bytes(p) }
  segments(p: number): number { return this.partitions.segments(p) }
  evicted(p: number): number { return this.partitions.evicted(p) }
  freeSegments(): number { return this.partitions.freeSegments() }
  offsetForTime(p: number, ts: number): number { return this.partitions.offsetForTime(p, ts) }
  /** Age retention at `now`; returns the number of segments removed. */
  retain(now: number): number { return this.partitions.retain(now) }

  // ---- appends: stage frames, then commit them with one call ----------------------------------

  /** Writes a frame into the staging area; false when it does not fit (commit, then retry). */
  stage(partition: number, timestamp: number, keyHash: number, flags: number,
    headers: Uint8Array | undefined, key: Uint8Array | undefined, value: Uint8Array): boolean {
    return this.staging.stage(partition, timestamp, keyHash, flags, headers, key, value)
  }

  get stagedCount(): number { return this.staging.count }

  /** Bytes left beside the staged frames for an argument a core call reads (a key, a messageId). */
  get stagingRoom(): number { return this.staging.room }

  /**
   * Appends everything staged. Returns how many frames were appended; offsetAt(i) gives each
   * one's offset and, for the first one not appended, statusAt(returned) says why.
   */
  commit(now: number): number { return this.staging.commit(now) }

  /** Drops staged frames (a batch that failed validation before the commit). */
  discardStaged(): void { this.staging.discard() }

  // offsetAt and statusAt read the same result slot; the two names say which one a caller expects
  offsetAt(i: number): number { return this.staging.resultAt(i) }
  statusAt(i: number): number { return this.staging.resultAt(i) }

  /** Appends one value-only record right away (internal topics); returns its offset. */
  appendValue(partition: number, value: Uint8Array): number { return this.staging.appendValue(partition, value) }

  /** Kafka's murmur2 of the bytes (written to the staging area's far end to hash them). */
  murmur2(bytes: Uint8Array): number { return this.staging.murmur2(bytes) }

  // ---- topic directory ------------------------------------------------------------------------

  /**
   * Finds or creates a topic in the directory shared by all threads; returns its index. A topic
   * that exists keeps its settings (the caller compares them and configures it).
   */
  declareTopic(name: string, partitions: number, config: TopicConfig, codec: number): number {
    return this.directory.declare(name, partitions, config, codec)
  }

  findTopic(name: string): number { return this.directory.find(name) }
  /** New retention, policy and dedup window (0 when `config` has none), and more partitions if asked. */
  configureTopic(t: number, partitions: number, config: TopicConfig): void { this.directory.configure(t, partitions, config) }
  topicCount(): number { return this.directory.count() }
  /** A topic's directory entry as this thread sees it now. */
  topic(t: number): TopicEntry { return this.directory.topic(t) }
  /** Cheap change detection: partition count and version of a topic. */
  topicStamp(t: number): number { return this.directory.stamp(t) }
  /** Runs `fn` holding a topic's record-structures lock (released by recovery if this thread dies). */
  withStructuresLock<R>(t: number, fn: () => R): R { return this.directory.withStructuresLock(t, fn) }

  // ---- consumer groups ------------------------------------------------------------------------

  /** Index of the group in the table every thread shares; created unless `create` is false (then -1 when absent). */
  groupIndex(name: string, create: boolean): number { return this.groups.index(name, create) }
  /** The name of the group at `index`. */
  groupName(index: number): string { return this.groups.name(index) }
  /** Groups created so far, by any thread (indices 0 .. n-1). */
  groupCount(): number { return this.groups.count() }

  /** The group's committed offset of a partition (global id): the next offset to read, or -1 when none. */
  committed(group: number, partitionId: number): number { return this.groups.committed(group, partitionId) }
  /** The generation (mod 65536) the group's commits of the partition are fenced at; 0 until fenced. */
  commitGeneration(group: number, partitionId: number): number { return this.groups.generation(group, partitionId) }
  /**
   * Commits `offset` (the next to read) for a member assigned the partition in `generation` (not
   * commit(now), which appends the staged records). False when the partition was assigned for
   * another generation since: the member is fenced (Kafka's ILLEGAL_GENERATION) and nothing was
   * written.
   */
  commitOffset(group: number, partitionId: number, generation: number, offset: number): boolean {
    return this.groups.commit(group, partitionId, generation, offset)
  }
  /** Fences the partition's commits at `generation` (it is assigned for it), keeping the offset. */
  fenceCommits(group: number, partitionId: number, generation: number): void { this.groups.fence(group, partitionId, generation) }
  /**
   * Sets the committed offset where the group has none yet (its start position, fixed when a
   * member subscribes); false when a commit was there first.
   */
  initCommit(group: number, partitionId: number, offset: number): boolean { return this.groups.init(group, partitionId, offset) }
  /** Sets generation and committed offset (-1: none) whatever they were: a group's seek or reset. */
  resetCommit(group: number, partitionId: number, generation: number, offset: number): void {
    this.groups.reset(group, partitionId, generation, offset)
  }

  // ---- idempotent publish: the dedup table ----------------------------------------------------

  /**
   * Claims `messageId` of the topic (directory index) for an append, or finds the record it was
   * appended as within the window. `claimed`: this thread must append the record, then
   * dedupComplete(slot, ...) with where it went, or dedupRelease(slot) if the append failed;
   * until then another thread claiming it waits. Else dedupRecord(slot) says where the record is.
   * The claim, once completed, is live until `expiresAt` (ms, compared with each claimer's `now`).
   * Throws InvalidArgumentError for a messageId of more than 128 UTF-8 bytes (or none, or a lone
   * surrogate) and for one this thread claimed itself and has not completed or released;
   * BackPressureError reason 'dedup' when every entry is live (raise maxDedupEntries), reason
   * 'busy' when another thread's claim of it was not completed for as long as a lock may be held
   * (it stalled, or died and is released with its lane).
   */
  dedupClaim(topicIndex: number, messageId: string, now: number, expiresAt: number): { slot: number; claimed: boolean } {
    return this.dedup.claim(topicIndex, messageId, now, expiresAt)
  }
  /** Where the record is that this thread's last dedupClaim found at `slot` (claimed: false). */
  dedupRecord(slot: number): DedupRecord { return this.dedup.record(slot) }
  /** This thread's claim at `slot` was appended as this record: repeats of its messageId now find it. */
  dedupComplete(slot: number, partition: number, offset: number, timestamp: number): void { this.dedup.complete(slot, partition, offset, timestamp) }
  /** This thread's claim at `slot` was not appended: its messageId is free to claim again. */
  dedupRelease(slot: number): void { this.dedup.release(slot) }

  // ---- wake-ups across threads ----------------------------------------------------------------

  /** Tells threads waiting in waitForRecords() that records were committed. */
  notifyRecords(): void { this.wake.notify() }
  /** Whether any thread waits in waitForRecords now. */
  hasWaiters(): boolean { return this.wake.hasWaiters() }
  /** The wake sequence now; pass it to waitForRecords. */
  wakeSequence(): number { return this.wake.sequence() }
  /** Resolves once another notifyRecords() happened after `seen` (without blocking the thread). */
  waitForRecords(seen: number): Promise<void> { return this.wake.wait(seen) }
  /** Wakes every waiter (for example so that a closing bus stops waiting). */
  wakeAll(): void { this.wake.wakeAll() }

  // ---- reading --------------------------------------------------------------------------------

  openCursor(partition: number, offset: number): number { return this.cursors.open(partition, offset) }
  closeCursor(slot: number): void { this.cursors.close(slot) }
  /** Moves a cursor; the core finds the segment again on the next poll. */
  seekCursor(slot: number, offset: number): void { this.cursors.seek(slot, offset) }
  cursorOffset(slot: number): number { return this.cursors.offset(slot) }

  /**
   * Reads up to `max` records of one segment at the cursor and moves it past them; returns the
   * count or a negative status (STATUS_OUT_OF_RANGE: retention removed the cursor's offset, also
   * while this thread was reading). `polledSource` says where the frames are (see Cursors.poll).
   */
  poll(slot: number, max: number, maxBytes = 0x7fffffff): number { return this.cursors.poll(slot, max, maxBytes) }

  /** Where the frames of the last successful poll are read from. */
  get polledSource(): FrameSource { return this.cursors.source }
  /** Frame address of the i-th record of the last poll. */
  polledFrame(i: number): number { return this.cursors.frame(i) }
  polledOffset(i: number): number { return this.cursors.frameOffset(i) }
  /** The header fields of the frame at `frame`, read from `source`. */
  fields(frame: number, source: FrameSource): FrameFields { return this.cursors.fields(frame, source) }
  /** Bytes [at, at + length) as a copy with a buffer of its own, which a message may keep. */
  keep(source: FrameSource, at: number, length: number): Uint8Array { return this.cursors.keep(source, at, length) }

  /**
   * Reads the value bytes of the record at `offset` (a private cursor, opened and closed);
   * undefined when the log no longer holds it.
   */
  readValue<R>(partition: number, offset: number, decode: (bytes: Uint8Array) => R): R | undefined {
    return this.cursors.readValue(partition, offset, decode)
  }

  // one field of a frame, read in the core's memory itself (tests and benchmarks on a plain core):
  // one load each, where fields() reads them all
  frameTimestamp(frame: number): number { return this.mem.f64[(frame + FRAME_TIMESTAMP) >> 3] }
  frameFlags(frame: number): number { return this.mem.u32[(frame + FRAME_FLAGS) >> 2] & 0xffff }
  frameHeadersLength(frame: number): number { return this.mem.u32[(frame + FRAME_FLAGS) >> 2] >>> 16 }
  frameKeyLength(frame: number): number { return this.mem.u32[(frame + FRAME_KEY_LENGTH) >> 2] }
  frameValueLength(frame: number): number { return this.mem.u32[(frame + FRAME_VALUE_LENGTH) >> 2] }
}

/**
 * Whether this thread may block in Atomics.wait (a waiting core call sleeps on a lock held too
 * long): everywhere but a browser's main thread, where Atomics.wait throws.
 */
function mayBlock(): boolean {
  if (canBlock === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0)
      canBlock = true
    } catch {
      canBlock = false
    }
  }
  return canBlock
}
let canBlock: boolean | undefined
