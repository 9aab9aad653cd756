// The topic directory as the host sees it (entries: src/core/abi/directory.ts): declaring,
// finding and reconfiguring topics every thread shares, reading an entry back, and the
// per-topic record-structures lock, which recovery releases by the dead thread's token.
import {
  CTL_TOPIC_COUNT, LOCK_SPIN_LIMIT, PART_REJECT, STATUS_BUSY, TOPIC_CODEC, TOPIC_DEDUP_WINDOW, TOPIC_FLAGS, TOPIC_IDS, TOPIC_MAX_AGE,
  TOPIC_MAX_BYTES, TOPIC_NAME, TOPIC_NAME_LENGTH, TOPIC_PARTITIONS, TOPIC_SIZE, TOPIC_STRUCTURES_LOCK, TOPIC_VERSION,
} from './abi.js'
import { CTL, type CoreMemory } from './memory.js'
import type { PartitionConfig, Partitions } from './partitions.js'
import type { Staging } from './staging.js'
import { statusError } from './status.js'

/** The bus's own topics are named with this prefix; users cannot declare such names. */
export const INTERNAL_PREFIX = '__ringbus.'

/** What the topic directory holds about a topic (shared by every thread). */
export interface TopicEntry {
  index: number
  name: string
  ids: number[]
  codec: number
  maxBytes: number
  maxAgeMs: number
  reject: boolean
  /** How long a messageId is remembered for idempotent publish, in ms; 0: not at all. */
  dedupWindowMs: number
  version: number
}

/** What a declaration sets for the whole topic: its partitions' retention and policy, and the dedup window (default 0, off). */
export interface TopicConfig extends PartitionConfig {
  dedupWindowMs?: number
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

export class Directory {
  constructor(private readonly mem: CoreMemory, private readonly staging: Staging, private readonly partitions: Partitions) {}

  /** Writes a topic name where the core can read it. */
  private placeName(name: string): [number, number] {
    const bytes = textEncoder.encode(name)
    return [this.staging.place(bytes), bytes.length]
  }

  private entry(t: number): number {
    return this.mem.layout.topics + t * TOPIC_SIZE
  }

  /** Finds or creates a topic in the directory shared by all threads; returns its index. */
  declare(name: string, partitions: number, config: TopicConfig, codec: number): number {
    const [at, length] = this.placeName(name)
    const t = this.mem.x.topicCreate(CTL, at, length, partitions, config.maxBytes, this.partitions.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0, codec,
      config.dedupWindowMs ?? 0)
    if (t < 0) throw statusError(t, { topic: name })
    return t
  }

  find(name: string): number {
    const [at, length] = this.placeName(name)
    return this.mem.x.topicFind(CTL, at, length)
  }

  configure(t: number, partitions: number, config: TopicConfig): void {
    const status = this.mem.x.topicConfigure(CTL, t, partitions, config.maxBytes, this.partitions.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0,
      config.dedupWindowMs ?? 0)
    if (status < 0) throw statusError(status)
  }

  count(): number {
    return Atomics.load(this.mem.i32, (CTL + CTL_TOPIC_COUNT) >> 2)
  }

  /** A topic's directory entry as this thread sees it now. */
  topic(t: number): TopicEntry {
    const { u8, u32, i32, f64 } = this.mem
    const at = this.entry(t)
    const count = Atomics.load(i32, (at + TOPIC_PARTITIONS) >> 2)
    const ids: number[] = []
    for (let i = 0; i < count; i++) ids.push(u32[((at + TOPIC_IDS) >> 2) + i])
    return {
      index: t,
      name: textDecoder.decode(u8.slice(at + TOPIC_NAME, at + TOPIC_NAME + u32[(at + TOPIC_NAME_LENGTH) >> 2])),
      ids,
      codec: u32[(at + TOPIC_CODEC) >> 2],
      maxBytes: u32[(at + TOPIC_MAX_BYTES) >> 2],
      maxAgeMs: f64[(at + TOPIC_MAX_AGE) >> 3],
      reject: (u32[(at + TOPIC_FLAGS) >> 2] & PART_REJECT) !== 0,
      dedupWindowMs: f64[(at + TOPIC_DEDUP_WINDOW) >> 3],
      version: Atomics.load(i32, (at + TOPIC_VERSION) >> 2),
    }
  }

  /** Cheap change detection: partition count and version of a topic. */
  stamp(t: number): number {
    const at = this.entry(t)
    return Atomics.load(this.mem.i32, (at + TOPIC_PARTITIONS) >> 2) * 0x10000 + Atomics.load(this.mem.i32, (at + TOPIC_VERSION) >> 2)
  }

  /**
   * Runs `fn` holding a topic's record-structures lock (a spin lock on a word of its directory
   * entry, holding this thread's lane token so that recovery can release it).
   */
  withStructuresLock<R>(t: number, fn: () => R): R {
    const word = (this.entry(t) + TOPIC_STRUCTURES_LOCK) >> 2
    // the holder only reads one record and appends one; one that never lets go died (see lockAcquire)
    for (let tries = 0; Atomics.compareExchange(this.mem.i32, word, 0, this.mem.laneToken) !== 0; tries++) {
      if (tries === LOCK_SPIN_LIMIT) throw statusError(STATUS_BUSY, { argument: 'structures' })
    }
    try {
      return fn()
    } finally {
      Atomics.store(this.mem.i32, word, 0)
    }
  }

  /** Releases the record-structures locks a dead thread held under `token`; returns how many. */
  recover(token: number): number {
    let released = 0
    for (let t = 0; t < this.count(); t++) {
      if (Atomics.compareExchange(this.mem.i32, (this.entry(t) + TOPIC_STRUCTURES_LOCK) >> 2, token, 0) === token) released++
    }
    return released
  }
}
