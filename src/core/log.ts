// LogCore: the only TypeScript that touches the WebAssembly core. It lays out memory per the
// contract in abi.ts, stages frames for batch appends, runs cursors, and reads frames back.
// Everything above it deals in partitions ids, offsets and bytes, never in addresses.
import {
  CUR_EPOCH, CUR_NEXT_OFFSET, CUR_PARTITION, CUR_POSITION, CUR_SEGMENT, CUR_SIZE, FRAME_ALIGN, FRAME_FLAGS,
  FRAME_HEADER, FRAME_KEY_HASH, FRAME_KEY_LENGTH, FRAME_TIMESTAMP, FRAME_VALUE_LENGTH, IDX_SIZE,
  INDEX_INTERVAL, PART_REJECT, PART_SIZE, POLL_STRIDE, SEG_HEADER, TOPIC_CODEC, TOPIC_FLAGS, TOPIC_IDS,
  TOPIC_MAX_AGE, TOPIC_MAX_BYTES, TOPIC_NAME, TOPIC_NAME_LENGTH, TOPIC_PARTITIONS, TOPIC_SIZE, TOPIC_VERSION,
  CTL_TOPIC_COUNT, CTL_WAKE, CTL_WAITERS, LOCK_SPIN_LIMIT, STATUS_BUSY, STATUS_OUT_OF_RANGE, TOPIC_STRUCTURES_LOCK,
} from './abi.js'
import { loadCore, type WasmSource } from './load.js'
import { statusError } from './status.js'
import { BusError, InvalidArgumentError } from '../errors.js'

interface CoreExports {
  logInit(ctl: number, blocks: number, blockSize: number, blockCount: number, partitions: number, maxPartitions: number, interval: number, topics: number, maxTopics: number): number
  topicCreate(ctl: number, name: number, length: number, partitions: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number, codec: number): number
  topicFind(ctl: number, name: number, length: number): number
  topicConfigure(ctl: number, t: number, partitions: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number): number
  logAddPartition(ctl: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number): number
  logConfigure(ctl: number, p: number, maxBytes: number, segmentCapacity: number, maxAgeMs: number, reject: number): number
  logKeep(ctl: number, p: number): number
  logAppend(ctl: number, frames: number, count: number, now: number, out: number): number
  logPoll(ctl: number, cursor: number, out: number, max: number, maxBytes: number): number
  logPollValid(ctl: number, cursor: number): number
  logOffsetForTime(ctl: number, p: number, ts: number): number
  logRetain(ctl: number, now: number): number
  logStartOffset(ctl: number, p: number): number
  logEndOffset(ctl: number, p: number): number
  logBytes(ctl: number, p: number): number
  logSegments(ctl: number, p: number): number
  logEvicted(ctl: number, p: number): number
  logFreeSegments(ctl: number): number
  murmur2(ptr: number, length: number): number
  logRecover(ctl: number, token: number): number
  syncSetToken(token: number): void
}

export interface CoreOptions {
  /** Total bytes of segment memory (the pool). */
  maxBytes: number
  /** Back the core with a shared WebAssembly.Memory (workers can attach). */
  shared: boolean
  /** Size of one segment block; default scales with maxBytes between 64 KiB and 1 MiB. */
  segmentBytes?: number
  maxPartitions?: number
  /** Reader positions (one per subscription and partition) this thread may hold at once. */
  maxCursors?: number
  /** Threads that may use the core at once (each takes a lane: staging area and cursors). */
  lanes?: number
  /** Most topics (default 512). */
  maxTopics?: number
  wasm?: WasmSource
}

/**
 * Where everything lives in the core's memory: plain numbers, so a worker given the same memory
 * and layout sees the same log.
 *
 *   0 .. 1 KiB      unused (address 0 is never valid)
 *   CTL             control block (abi.ts CTL_*)
 *   PARTITIONS      partition table, maxPartitions x PART_SIZE
 *   topics          topic directory, maxTopics x TOPIC_SIZE
 *   laneOwners      one i32 per lane: 0 free, 1 taken
 *   lanes           per thread: staging (one segment) | poll/append output | cursors
 *   blocks          the segment pool, segmentCount x segmentBytes
 */
export interface CoreLayout {
  ctl: number
  partitions: number
  segmentBytes: number
  segmentCount: number
  maxPartitions: number
  maxCursors: number
  maxTopics: number
  topics: number
  lanes: number
  laneOwners: number
  lanesAt: number
  laneBytes: number
  blocks: number
  pages: number
}

/**
 * Where the frames of a poll are read from: the core's memory itself, or (on a shared core) a
 * private copy of them, frame address X at bytes[X - base].
 */
export interface FrameSource {
  readonly bytes: Uint8Array
  readonly base: number
  readonly view: DataView | undefined
}

/** A frame's header fields (one reused object per core: read them before the next call). */
export interface FrameFields {
  flags: number
  headersLength: number
  keyLength: number
  valueLength: number
  timestamp: number
}

/** What the topic directory holds about a topic (shared by every thread). */
export interface TopicEntry {
  index: number
  name: string
  ids: number[]
  codec: number
  maxBytes: number
  maxAgeMs: number
  reject: boolean
  version: number
}

export interface PartitionConfig {
  /** Hard cap on bytes held by the partition; 0 = bounded only by the pool. */
  maxBytes: number
  /** Age limit in ms against the bus clock; 0 = none. */
  maxAgeMs: number
  /** onFull 'reject': refuse appends instead of evicting. */
  reject: boolean
}

const CTL = 1024 // the first KiB stays unused so that address 0 is never valid
const PARTITIONS = 2048
/** Most frames one append call takes and most records one poll returns. */
export const APPEND_MAX = 8192
export const POLL_MAX = 4096
const OUT_BYTES = APPEND_MAX * 8
const PAGE = 65536

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const align = (n: number, to: number): number => Math.ceil(n / to) * to
export const frameLength = (headers: number, key: number, value: number): number =>
  align(FRAME_HEADER + headers + key + value, FRAME_ALIGN)

/**
 * Segment blocks are the unit of allocation, so their count bounds how many partitions hold data
 * at once: aim for 256 blocks, between 64 KiB and 1 MiB each (the largest record is a little
 * under one block).
 */
export function computeLayout(options: CoreOptions): CoreLayout {
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes(options.maxBytes)
  if (!Number.isInteger(segmentBytes) || segmentBytes < 4096 || segmentBytes > 64 * 1024 * 1024 || segmentBytes % 8 !== 0) {
    throw new InvalidArgumentError(`segmentBytes must be a multiple of 8 between 4096 and 64 MiB, got ${segmentBytes}`, { argument: 'segmentBytes' })
  }
  const maxPartitions = options.maxPartitions ?? 1024
  const maxCursors = options.maxCursors ?? 4096
  const lanes = options.lanes ?? (options.shared ? 16 : 1)
  const maxTopics = options.maxTopics ?? 512
  const topics = align(PARTITIONS + maxPartitions * PART_SIZE, 64)
  const laneOwners = align(topics + maxTopics * TOPIC_SIZE, 64)
  const lanesAt = align(laneOwners + lanes * 4, 64)
  const laneBytes = align(segmentBytes + OUT_BYTES + maxCursors * CUR_SIZE, 64)
  const blocks = align(lanesAt + lanes * laneBytes, 64)
  if (segmentBytes > options.maxBytes) {
    throw new InvalidArgumentError(`segmentBytes ${segmentBytes} is more than maxBytes ${options.maxBytes}: the pool holds whole segments, at least one`, { argument: 'segmentBytes' })
  }
  const segmentCount = Math.max(1, Math.floor(options.maxBytes / segmentBytes))
  const total = blocks + segmentCount * segmentBytes
  if (total > 0xffff0000) throw tooLarge(total, { maxBytes: segmentCount * segmentBytes, lanes: lanes * laneBytes, maxPartitions: maxPartitions * PART_SIZE, maxTopics: maxTopics * TOPIC_SIZE }, lanes, laneBytes, maxCursors)
  return { ctl: CTL, partitions: PARTITIONS, segmentBytes, segmentCount, maxPartitions, maxCursors, maxTopics, topics, lanes, laneOwners, lanesAt, laneBytes, blocks, pages: Math.ceil(total / PAGE) }
}

/** Says what takes the room when the memory would exceed 4 GiB, and names the biggest taker. */
function tooLarge(total: number, parts: Record<'maxBytes' | 'lanes' | 'maxPartitions' | 'maxTopics', number>, lanes: number, laneBytes: number, maxCursors: number): InvalidArgumentError {
  const [argument] = (Object.entries(parts) as Array<[keyof typeof parts, number]>).sort((a, b) => b[1] - a[1])[0]
  const mib = (n: number) => `${Math.ceil(n / (1 << 20))} MiB`
  return new InvalidArgumentError(`the core would need ${mib(total)}, more than a 4 GiB memory holds: the segment pool (maxBytes) takes ${mib(parts.maxBytes)}, ` +
    `${lanes} lanes x ${laneBytes} bytes per lane (a segment of staging, the output buffer and ${maxCursors} maxCursors) take ${mib(parts.lanes)}, ` +
    `the partition table ${mib(parts.maxPartitions)} and the topic directory ${mib(parts.maxTopics)}; lower ${argument}`, { argument })
}

function defaultSegmentBytes(maxBytes: number): number {
  let size = 1 << 20
  while (size > 64 * 1024 && size * 256 > maxBytes) size >>= 1
  return size
}

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
  u8!: Uint8Array
  private u32!: Uint32Array
  private i32!: Int32Array
  private f64!: Float64Array
  private readonly x: CoreExports
  /** This thread's lane: its own staging area, output buffer and cursors. */
  readonly lane: number
  private readonly staging: number
  private readonly stagingEnd: number
  private readonly out: number
  private readonly cursors: number
  private readonly freeCursors: number[] = []
  private cursorTop = 0
  private readonly maxCursors: number
  private write = 0
  private staged = 0
  /** Where the last poll's frames are read from: the memory itself on a plain core. */
  private polled!: FrameSource
  private readonly frameFields: FrameFields = { flags: 0, headersLength: 0, keyLength: 0, valueLength: 0, timestamp: 0 }

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
    this.shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
    this.segmentBytes = layout.segmentBytes
    this.segmentCount = layout.segmentCount
    this.maxPartitions = layout.maxPartitions
    this.maxCursors = layout.maxCursors
    this.maxFrameBytes = layout.segmentBytes - SEG_HEADER - (Math.floor(layout.segmentBytes / INDEX_INTERVAL) + 2) * IDX_SIZE
    this.x = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as CoreExports
    this.x.syncSetToken(laneToken)
    this.refreshViews()
    // the first thread initialises; the others find it done (or wait the few microseconds it takes)
    const status = this.x.logInit(CTL, layout.blocks, layout.segmentBytes, layout.segmentCount, PARTITIONS, layout.maxPartitions,
      INDEX_INTERVAL, layout.topics, layout.maxTopics)
    if (status < 0) throw statusError(status)
    this.lane = this.takeLane()
    this.staging = layout.lanesAt + this.lane * layout.laneBytes
    this.stagingEnd = this.staging + layout.segmentBytes
    this.out = this.stagingEnd
    this.cursors = this.out + OUT_BYTES
  }

  /**
   * Takes a free lane for this thread's token. A token holds at most one lane: when two threads
   * attach with the same token at once, the one with the lower lane keeps it and the other
   * gives its lane back and fails (recovery frees lanes by token, so two would be freed as one).
   */
  private takeLane(): number {
    const owners = this.layout.laneOwners >> 2
    for (let lane = 0; lane < this.layout.lanes; lane++) {
      if (Atomics.compareExchange(this.i32, owners + lane, 0, this.laneToken) !== 0) continue
      for (let other = 0; other < this.layout.lanes; other++) {
        if (other < lane && Atomics.load(this.i32, owners + other) === this.laneToken) {
          Atomics.compareExchange(this.i32, owners + lane, this.laneToken, 0)
          throw new BusError('this handle is attached already in another thread: make a new one with bus.handle() for each thread', { argument: 'handle' })
        }
      }
      return lane
    }
    throw new InvalidArgumentError(`all ${this.layout.lanes} lanes of this bus are in use: one per thread; raise 'lanes'`, { argument: 'lanes' })
  }

  /** Gives this thread's lane back (its staging area and cursors) for another thread to use. */
  releaseLane(): void {
    Atomics.compareExchange(this.i32, (this.layout.laneOwners >> 2) + this.lane, this.laneToken, 0)
  }

  /**
   * After a thread died: repairs what it was changing when it stopped, releases the locks it held
   * (they carry its lane token) and frees its lane. Returns the lane it held (-1 if it never took
   * one) and how many locks were released.
   */
  recoverLane(token: number): { lane: number; released: number } {
    let released = this.x.logRecover(CTL, token)
    for (let t = 0; t < this.topicCount(); t++) {
      const word = (this.layout.topics + t * TOPIC_SIZE + TOPIC_STRUCTURES_LOCK) >> 2
      if (Atomics.compareExchange(this.i32, word, token, 0) === token) released++
    }
    const owners = this.layout.laneOwners >> 2
    for (let lane = 0; lane < this.layout.lanes; lane++) {
      if (Atomics.compareExchange(this.i32, owners + lane, token, 0) === token) return { lane, released }
    }
    return { lane: -1, released }
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer
    this.u8 = new Uint8Array(buffer)
    this.u32 = new Uint32Array(buffer)
    this.i32 = new Int32Array(buffer)
    this.f64 = new Float64Array(buffer)
    this.polled = { bytes: this.u8, base: 0, view: undefined }
  }

  /** Frame bytes per segment for a partition: about a quarter of its byte cap, so eviction is gradual. */
  segmentCapacity(maxBytes: number): number {
    if (maxBytes === 0) return this.maxFrameBytes
    const quarter = Math.floor(maxBytes / 4 / FRAME_ALIGN) * FRAME_ALIGN
    return Math.min(this.maxFrameBytes, Math.max(quarter, Math.min(maxBytes, 4096)))
  }

  addPartition(config: PartitionConfig): number {
    const id = this.x.logAddPartition(CTL, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0)
    if (id < 0) throw statusError(id)
    return id
  }

  /** Other partitions take this one's blocks only as a last resort when the pool runs out. */
  keepPartition(id: number): void {
    const status = this.x.logKeep(CTL, id)
    if (status < 0) throw statusError(status, { partition: id })
  }

  configurePartition(id: number, config: PartitionConfig): void {
    const status = this.x.logConfigure(CTL, id, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0)
    if (status < 0) throw statusError(status)
  }

  // ---- appends: stage frames, then commit them with one call --------------------------------

  /** Writes a frame into the staging area; false when it does not fit (commit, then retry). */
  stage(partition: number, timestamp: number, keyHash: number, flags: number,
    headers: Uint8Array | undefined, key: Uint8Array | undefined, value: Uint8Array): boolean {
    const h = headers === undefined ? 0 : headers.length
    const k = key === undefined ? 0 : key.length
    const v = value.length
    const length = frameLength(h, k, v)
    const at = this.staging + this.write
    if (at + length > this.stagingEnd || this.staged === APPEND_MAX) return false
    const w = at >> 2
    const u32 = this.u32
    u32[w] = length
    u32[w + 1] = partition
    this.f64[(at + FRAME_TIMESTAMP) >> 3] = timestamp
    this.i32[(at + FRAME_KEY_HASH) >> 2] = keyHash
    u32[(at + FRAME_FLAGS) >> 2] = flags | (h << 16)
    u32[(at + FRAME_KEY_LENGTH) >> 2] = k
    u32[(at + FRAME_VALUE_LENGTH) >> 2] = v
    u32[(at + length - 8) >> 2] = 0 // zero the padding so identical records are identical bytes
    u32[(at + length - 4) >> 2] = 0
    let p = at + FRAME_HEADER
    if (h !== 0) { this.u8.set(headers!, p); p += h }
    if (k !== 0) { this.u8.set(key!, p); p += k }
    if (v !== 0) this.u8.set(value, p)
    this.write += length
    this.staged++
    return true
  }

  get stagedCount(): number {
    return this.staged
  }

  /**
   * Appends everything staged. Returns how many frames were appended; offsetAt(i) gives each
   * one's offset and, for the first one not appended, statusAt(returned) says why.
   */
  commit(now: number): number {
    const count = this.staged
    this.staged = 0
    this.write = 0
    return count === 0 ? 0 : this.x.logAppend(CTL, this.staging, count, now, this.out)
  }

  /** Drops staged frames (a batch that failed validation before the commit). */
  discardStaged(): void {
    this.staged = 0
    this.write = 0
  }

  offsetAt(i: number): number {
    return this.f64[(this.out >> 3) + i]
  }

  statusAt(i: number): number {
    return this.f64[(this.out >> 3) + i]
  }

  /** Kafka's murmur2 of the bytes (written to the staging area's far end to hash them). */
  murmur2(bytes: Uint8Array): number {
    return this.x.murmur2(this.placeBytes(bytes), bytes.length)
  }

  // ---- topic directory ----------------------------------------------------------------------------

  /** Writes a topic name where the core can read it (the staging area's far end). */
  private placeName(name: string): [number, number] {
    const bytes = textEncoder.encode(name)
    return [this.placeBytes(bytes), bytes.length]
  }

  private placeBytes(bytes: Uint8Array): number {
    if (bytes.length > this.segmentBytes - this.write) throw new InvalidArgumentError('argument too large for the staging area', { argument: 'name' })
    const at = this.stagingEnd - bytes.length
    this.u8.set(bytes, at)
    return at
  }

  /** Finds or creates a topic in the directory shared by all threads; returns its index. */
  declareTopic(name: string, partitions: number, config: PartitionConfig, codec: number): number {
    const [at, length] = this.placeName(name)
    const t = this.x.topicCreate(CTL, at, length, partitions, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0, codec)
    if (t < 0) throw statusError(t, { topic: name })
    return t
  }

  findTopic(name: string): number {
    const [at, length] = this.placeName(name)
    return this.x.topicFind(CTL, at, length)
  }

  configureTopic(t: number, partitions: number, config: PartitionConfig): void {
    const status = this.x.topicConfigure(CTL, t, partitions, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0)
    if (status < 0) throw statusError(status)
  }

  topicCount(): number {
    return Atomics.load(this.i32, (CTL + CTL_TOPIC_COUNT) >> 2)
  }

  /** A topic's directory entry as this thread sees it now. */
  topic(t: number): TopicEntry {
    const at = this.layout.topics + t * TOPIC_SIZE
    const count = Atomics.load(this.i32, (at + TOPIC_PARTITIONS) >> 2)
    const ids: number[] = []
    for (let i = 0; i < count; i++) ids.push(this.u32[((at + TOPIC_IDS) >> 2) + i])
    return {
      index: t,
      name: textDecoder.decode(this.u8.slice(at + TOPIC_NAME, at + TOPIC_NAME + this.u32[(at + TOPIC_NAME_LENGTH) >> 2])),
      ids,
      codec: this.u32[(at + TOPIC_CODEC) >> 2],
      maxBytes: this.u32[(at + TOPIC_MAX_BYTES) >> 2],
      maxAgeMs: this.f64[(at + TOPIC_MAX_AGE) >> 3],
      reject: (this.u32[(at + TOPIC_FLAGS) >> 2] & PART_REJECT) !== 0,
      version: Atomics.load(this.i32, (at + TOPIC_VERSION) >> 2),
    }
  }

  /** Cheap change detection: partition count and version of a topic. */
  topicStamp(t: number): number {
    const at = this.layout.topics + t * TOPIC_SIZE
    return Atomics.load(this.i32, (at + TOPIC_PARTITIONS) >> 2) * 0x10000 + Atomics.load(this.i32, (at + TOPIC_VERSION) >> 2)
  }

  /**
   * Runs `fn` holding a topic's record-structures lock (a spin lock on a word of its directory
   * entry, holding this thread's lane token so that recovery can release it).
   */
  withStructuresLock<R>(t: number, fn: () => R): R {
    const word = (this.layout.topics + t * TOPIC_SIZE + TOPIC_STRUCTURES_LOCK) >> 2
    // the holder only reads one record and appends one; one that never lets go died (see lockAcquire)
    for (let tries = 0; Atomics.compareExchange(this.i32, word, 0, this.laneToken) !== 0; tries++) {
      if (tries === LOCK_SPIN_LIMIT) throw statusError(STATUS_BUSY, { argument: 'structures' })
    }
    try {
      return fn()
    } finally {
      Atomics.store(this.i32, word, 0)
    }
  }

  /** Appends one value-only record right away (internal topics); returns its offset. */
  appendValue(partition: number, value: Uint8Array): number {
    if (this.staged !== 0) throw new InvalidArgumentError('appendValue while records are staged', { argument: 'partition' })
    this.stage(partition, 0, 0, 0, undefined, undefined, value)
    if (this.commit(0) !== 1) throw statusError(this.statusAt(0), { partition })
    return this.offsetAt(0)
  }

  /**
   * Reads the value bytes of the record at `offset` (a private cursor, opened and closed);
   * undefined when the log no longer holds it.
   */
  readValue<R>(partition: number, offset: number, decode: (bytes: Uint8Array) => R): R | undefined {
    const slot = this.openCursor(partition, offset)
    try {
      if (this.poll(slot, 1) !== 1) return undefined
      const frame = this.polledFrame(0)
      const { headersLength, keyLength, valueLength } = this.fields(frame, this.polled)
      return decode(this.keep(this.polled, frame + FRAME_HEADER + headersLength + keyLength, valueLength))
    } finally {
      this.closeCursor(slot)
    }
  }

  // ---- wake-ups across threads ------------------------------------------------------------------

  /** Tells threads waiting in waitForRecords() that records were committed. */
  notifyRecords(): void {
    Atomics.add(this.i32, (CTL + CTL_WAKE) >> 2, 1)
    if (Atomics.load(this.i32, (CTL + CTL_WAITERS) >> 2) > 0) Atomics.notify(this.i32, (CTL + CTL_WAKE) >> 2)
  }

  /** Whether any thread waits in waitForRecords now. */
  hasWaiters(): boolean {
    return Atomics.load(this.i32, (CTL + CTL_WAITERS) >> 2) > 0
  }

  /** The wake sequence now; pass it to waitForRecords. */
  wakeSequence(): number {
    return Atomics.load(this.i32, (CTL + CTL_WAKE) >> 2)
  }

  /** Resolves once another notifyRecords() happened after `seen` (without blocking the thread). */
  async waitForRecords(seen: number): Promise<void> {
    const waiters = (CTL + CTL_WAITERS) >> 2
    Atomics.add(this.i32, waiters, 1)
    try {
      const result = Atomics.waitAsync(this.i32, (CTL + CTL_WAKE) >> 2, seen)
      if (result.async) await result.value
    } finally {
      Atomics.sub(this.i32, waiters, 1)
    }
  }

  /** Wakes every waiter (for example so that a closing bus stops waiting). */
  wakeAll(): void {
    Atomics.add(this.i32, (CTL + CTL_WAKE) >> 2, 1)
    Atomics.notify(this.i32, (CTL + CTL_WAKE) >> 2)
  }

  // ---- reading --------------------------------------------------------------------------------

  openCursor(partition: number, offset: number): number {
    let slot = this.freeCursors.pop()
    if (slot === undefined) {
      if (this.cursorTop === this.maxCursors) throw new InvalidArgumentError(`more than ${this.maxCursors} reader positions are open: raise maxCursors`, { argument: 'maxCursors' })
      slot = this.cursorTop++
    }
    const at = this.cursors + slot * CUR_SIZE
    this.u32[(at + CUR_PARTITION) >> 2] = partition
    this.seekCursor(slot, offset)
    return slot
  }

  closeCursor(slot: number): void {
    this.freeCursors.push(slot)
  }

  /** Moves a cursor; the core finds the segment again on the next poll. */
  seekCursor(slot: number, offset: number): void {
    const at = this.cursors + slot * CUR_SIZE
    this.u32[(at + CUR_SEGMENT) >> 2] = 0
    this.u32[(at + CUR_EPOCH) >> 2] = 0
    // i64 little-endian from a safe integer
    this.u32[(at + CUR_NEXT_OFFSET) >> 2] = offset >>> 0
    this.u32[(at + CUR_NEXT_OFFSET + 4) >> 2] = Math.floor(offset / 0x100000000)
  }

  cursorOffset(slot: number): number {
    const at = (this.cursors + slot * CUR_SIZE + CUR_NEXT_OFFSET) >> 2
    return this.u32[at] + this.u32[at + 1] * 0x100000000
  }

  /**
   * Reads up to `max` records of one segment at the cursor and moves it past them; returns the
   * count or a negative status. STATUS_OUT_OF_RANGE: retention removed the cursor's offset, also
   * when that happened while this thread was reading (the cursor then stays where it was).
   * `polledSource` says where the frames are. On a shared core that is a private copy, checked
   * against the segment's epoch after it was taken (the segment seqlock): decoders need plain
   * memory (msgpackr's native string extractor throws on a SharedArrayBuffer, browsers'
   * TextDecoder refuses shared views), and another thread may recycle the segment at any time.
   */
  poll(slot: number, max: number, maxBytes = 0x7fffffff): number {
    const cursor = this.cursors + slot * CUR_SIZE
    const from = this.shared ? this.cursorOffset(slot) : 0
    const n = this.x.logPoll(CTL, cursor, this.out, Math.min(max, POLL_MAX), maxBytes)
    if (n <= 0 || !this.shared) return n
    const start = this.polledFrame(0)
    const bytes = this.u8.slice(start, this.u32[(cursor + CUR_POSITION) >> 2])
    if (this.x.logPollValid(CTL, cursor) === 0) {
      this.seekCursor(slot, from)
      return STATUS_OUT_OF_RANGE
    }
    this.polled = { bytes, base: start, view: new DataView(bytes.buffer) }
    return n
  }

  /** Where the frames of the last successful poll are read from. */
  get polledSource(): FrameSource {
    return this.polled
  }

  /** Frame address of the i-th record of the last poll. */
  polledFrame(i: number): number {
    return this.f64[(this.out >> 3) + i * POLL_STRIDE]
  }

  polledOffset(i: number): number {
    return this.f64[(this.out >> 3) + i * POLL_STRIDE + 1]
  }

  /** The header fields of the frame at `frame`, read from `source`. */
  fields(frame: number, source: FrameSource): FrameFields {
    const f = this.frameFields
    const view = source.view
    if (view === undefined) {
      const word = this.u32[(frame + FRAME_FLAGS) >> 2]
      f.flags = word & 0xffff
      f.headersLength = word >>> 16
      f.keyLength = this.u32[(frame + FRAME_KEY_LENGTH) >> 2]
      f.valueLength = this.u32[(frame + FRAME_VALUE_LENGTH) >> 2]
      f.timestamp = this.f64[(frame + FRAME_TIMESTAMP) >> 3]
    } else {
      const at = frame - source.base
      const word = view.getUint32(at + FRAME_FLAGS, true)
      f.flags = word & 0xffff
      f.headersLength = word >>> 16
      f.keyLength = view.getUint32(at + FRAME_KEY_LENGTH, true)
      f.valueLength = view.getUint32(at + FRAME_VALUE_LENGTH, true)
      f.timestamp = view.getFloat64(at + FRAME_TIMESTAMP, true)
    }
    return f
  }

  /**
   * Bytes [at, at + length) that a message may keep: a copy with an ArrayBuffer of its own, so
   * that whatever a user does with it (keep it, write to it, transfer its buffer) touches nothing
   * else: not the log, which is recycled, and not another record.
   */
  keep(source: FrameSource, at: number, length: number): Uint8Array {
    return source.bytes.slice(at - source.base, at - source.base + length)
  }

  frameTimestamp(frame: number): number {
    return this.f64[(frame + FRAME_TIMESTAMP) >> 3]
  }

  frameFlags(frame: number): number {
    return this.u32[(frame + FRAME_FLAGS) >> 2] & 0xffff
  }

  frameHeadersLength(frame: number): number {
    return this.u32[(frame + FRAME_FLAGS) >> 2] >>> 16
  }

  frameKeyLength(frame: number): number {
    return this.u32[(frame + FRAME_KEY_LENGTH) >> 2]
  }

  frameValueLength(frame: number): number {
    return this.u32[(frame + FRAME_VALUE_LENGTH) >> 2]
  }

  // ---- partition state --------------------------------------------------------------------------

  startOffset(p: number): number { return this.x.logStartOffset(CTL, p) }
  endOffset(p: number): number { return this.x.logEndOffset(CTL, p) }
  bytes(p: number): number { return this.x.logBytes(CTL, p) }
  segments(p: number): number { return this.x.logSegments(CTL, p) }
  evicted(p: number): number { return this.x.logEvicted(CTL, p) }
  freeSegments(): number { return this.x.logFreeSegments(CTL) }
  offsetForTime(p: number, ts: number): number {
    const offset = this.x.logOffsetForTime(CTL, p, ts)
    if (offset < 0) throw statusError(offset, { partition: p })
    return offset
  }
  /** Age retention at `now`; returns the number of segments removed. */
  retain(now: number): number { return this.x.logRetain(CTL, now) }
}
