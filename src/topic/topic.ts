// A topic: its partitions in the core, codec, partitioner and the recent values that let
// same-thread readers skip the codec. Reading a record back into a Message happens here.
import { FLAG_KEY, FLAG_KEY_BINARY, FLAG_NULL_VALUE, FRAME_HEADER, TOPIC_MAX_PARTITIONS } from '../core/abi.js'
import type { FrameSource, LogCore, TopicEntry } from '../core/log.js'
import { codecId, codecName, decodeHeaders, decodeText, type Codec, type CodecOption } from '../codec/codecs.js'
import { CodecError, InvalidArgumentError } from '../errors.js'
import type { Headers, Key, TopicOptions } from '../types.js'
import { OffsetRing } from './offset-ring.js'

/** A delivered record as built internally (the typed Message is its public view). */
export interface Delivered {
  topic: string
  partition: number
  offset: number
  timestamp: number
  key: Key | undefined
  headers: Readonly<Headers>
  value: unknown
  attempt: number
}

export const NO_HEADERS: Readonly<Headers> = Object.freeze({})

/**
 * The one place a Delivered message is built, whichever way its record reached this thread
 * (recent values, the log, a copying worker's batch): one object shape for handlers to see, and
 * one place for the first attempt's number.
 */
export function createDelivered(topic: string, partition: number, offset: number, timestamp: number,
  key: Key | undefined, headers: Readonly<Headers> | undefined, value: unknown): Delivered {
  return { topic, partition, offset, timestamp, key, headers: headers ?? NO_HEADERS, value, attempt: 1 }
}
const RECENT_MIN = 1024
const RECENT_MAX = 1 << 18

/**
 * Recently published values of one partition, by offset, so that a same-thread reader gets the
 * published object itself instead of decoding the bytes. A ring that doubles (up to RECENT_MAX)
 * when a reader finds its record was overwritten, i.e. when bursts outgrow it; anything older
 * decodes from the log. For a 'ref' topic it is the only copy of the values: it then grows
 * instead of overwriting a record the log still holds.
 */
class RecentValues {
  private readonly ring = new OffsetRing<Key, Headers>(RECENT_MIN)
  /** A log start offset seen earlier ('ref' topics). */
  private knownStart = 0

  /** `logStart` is given for a 'ref' topic, whose values exist nowhere else. */
  constructor(private readonly logStart?: () => number) {}

  /**
   * Stores a record. With `logStart` (a 'ref' topic) a record the log still holds is never
   * overwritten: the ring grows instead.
   */
  put(offset: number, timestamp: number, value: unknown, key: Key | undefined, headers: Headers | undefined): void {
    const held = this.ring.heldAt(offset)
    // the log start only moves up, so the cached one is a lower bound: ask the core only when
    // the slot might still be live
    if (this.logStart !== undefined && held >= this.knownStart && held >= (this.knownStart = this.logStart())) this.ring.grow()
    this.ring.put(offset, timestamp, value, key, headers)
  }

  /** Index of the record if it is held, else -1 (growing the ring if it was overwritten). */
  find(offset: number): number {
    const i = this.ring.find(offset)
    if (i < 0 && this.ring.heldAt(offset) > offset && this.ring.size < RECENT_MAX && this.logStart === undefined) this.ring.grow()
    return i
  }

  /** The message for the record held at index i. */
  message(topic: string, partition: number, offset: number, i: number): Delivered {
    const ring = this.ring
    return createDelivered(topic, partition, offset, ring.timestamp(i), ring.key(i), ring.extra(i), ring.value(i))
  }
}

export interface ResolvedTopicOptions {
  partitions: number
  maxBytes: number
  maxAgeMs: number
  onFull: 'evict' | 'reject'
  codec: CodecOption | undefined
  /** How long a messageId is remembered, in ms; 0: no idempotent publish. */
  dedupWindowMs: number
}

const nonNegative = (value: unknown, name: string): number => {
  if (value === undefined) return 0
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a finite number >= 0, got ${String(value)}`, { argument: name })
  }
  return value
}

/** Options of features this version does not have: rejected rather than silently ignored. */
const NOT_BUILT_TOPIC_OPTIONS = ['compact'] as const

export function resolveTopicOptions(options: TopicOptions | undefined, defaults: TopicOptions | undefined): ResolvedTopicOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError('topic options must be an object', { argument: 'options' })
  }
  const merged = { ...defaults, ...options, retention: { ...defaults?.retention, ...options?.retention } }
  for (const name of NOT_BUILT_TOPIC_OPTIONS) {
    const value = (merged as Record<string, unknown>)[name]
    if (value !== undefined && value !== false) {
      throw new InvalidArgumentError(`topic option '${name}' belongs to log compaction, which is not built yet; omit it`, { argument: name })
    }
  }
  const partitions = merged.partitions ?? 1
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > TOPIC_MAX_PARTITIONS) {
    throw new InvalidArgumentError(`partitions must be an integer from 1 to ${TOPIC_MAX_PARTITIONS} (a topic's most), got ${String(partitions)}`, { argument: 'partitions' })
  }
  const maxBytes = nonNegative(merged.retention.maxBytes, 'retention.maxBytes')
  if (maxBytes > 0xffffffff || (maxBytes > 0 && maxBytes < 64)) {
    throw new InvalidArgumentError(`retention.maxBytes must be from 64 bytes to 4 GiB, got ${maxBytes}`, { argument: 'retention.maxBytes' })
  }
  const onFull = merged.onFull ?? 'evict'
  if (onFull !== 'evict' && onFull !== 'reject') {
    throw new InvalidArgumentError(`onFull must be 'evict' or 'reject', got ${String(onFull)}`, { argument: 'onFull' })
  }
  codecId(merged.codec) // validates
  return {
    partitions, maxBytes: Math.floor(maxBytes), maxAgeMs: nonNegative(merged.retention.maxAgeMs, 'retention.maxAgeMs'), onFull, codec: merged.codec,
    dedupWindowMs: nonNegative(merged.dedupWindowMs, 'dedupWindowMs'),
  }
}

export class Topic {
  /** Partition ids in the core, from the topic directory shared by all threads. */
  ids: number[]
  readonly codecName: string
  /** Codec 'ref': values live only in this thread's recent values, never in the log. */
  readonly byReference: boolean
  /** Largest frame a record of this topic may take (header + headers + key + value). */
  maxFrame: number
  /** Readers in this thread attached to this topic (woken when it gets records). */
  readonly readers = new Set<{ run(): void }>()
  readonly createdAt: number
  private recent: (RecentValues | undefined)[] = []
  private roundRobin = 0
  private stamp: number

  constructor(private entry: TopicEntry, public options: ResolvedTopicOptions, readonly codec: Codec, private readonly core: LogCore, now: number) {
    this.ids = entry.ids
    this.codecName = codecName(options.codec)
    this.byReference = codec.byReference === true
    this.maxFrame = core.segmentCapacity(options.maxBytes)
    this.createdAt = now
    this.stamp = entry.index < 0 ? 0 : core.topicStamp(entry.index) // index -1: a stand-in (TopicRegistry.writable)
  }

  get name(): string {
    return this.entry.name
  }

  /** The topic's index in the directory every thread shares. */
  get index(): number {
    return this.entry.index
  }

  get partitions(): number {
    return this.ids.length
  }

  /**
   * How long a messageId is remembered, in ms (0: not at all), as the topic directory says: the
   * same in every thread once refresh() has caught up with a redeclaration.
   */
  get dedupWindowMs(): number {
    return this.entry.dedupWindowMs
  }

  /** Applies a new declaration: retention, policy and dedup window change in place, partitions may only grow. */
  reconfigure(options: ResolvedTopicOptions): void {
    if (options.partitions < this.partitions) {
      throw new InvalidArgumentError(`topic ${this.name} has ${this.partitions} partitions and cannot shrink to ${options.partitions}`, { topic: this.name, argument: 'partitions' })
    }
    if (codecName(options.codec) !== this.codecName || (typeof options.codec === 'object' && options.codec !== this.options.codec)) {
      throw new InvalidArgumentError(`topic ${this.name} already uses codec ${this.codecName}`, { topic: this.name, argument: 'codec' })
    }
    // the directory changes; refresh() (from the bus's sync) brings this thread's view up to date
    this.core.configureTopic(this.entry.index, options.partitions,
      { maxBytes: options.maxBytes, maxAgeMs: options.maxAgeMs, reject: options.onFull === 'reject', dedupWindowMs: options.dedupWindowMs })
  }

  /**
   * Picks up changes made in the directory (by any thread): new partitions, retention and dedup window.
   * Returns the number of partitions before, so that readers can attach to the new ones.
   */
  refresh(): number {
    const before = this.ids.length
    const stamp = this.core.topicStamp(this.entry.index)
    if (stamp === this.stamp) return before
    this.stamp = stamp
    this.entry = this.core.topic(this.entry.index)
    this.ids = this.entry.ids
    this.options = {
      ...this.options, partitions: this.ids.length, maxBytes: this.entry.maxBytes, maxAgeMs: this.entry.maxAgeMs, onFull: this.entry.reject ? 'reject' : 'evict',
      dedupWindowMs: this.entry.dedupWindowMs,
    }
    this.maxFrame = this.core.segmentCapacity(this.entry.maxBytes)
    return before
  }

  /**
   * Kafka's choice: explicit partition, else murmur2 of the key, else round-robin. The key's hash
   * is given, not computed here: the frame carries it too, and one hash per record is enough.
   */
  choosePartition(partition: number | undefined, keyHash: number | undefined): number {
    if (partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.ids.length) {
        throw new InvalidArgumentError(`partition ${String(partition)} does not exist in topic ${this.name} (${this.ids.length} partitions)`, { topic: this.name, argument: 'partition' })
      }
      return partition
    }
    if (this.ids.length === 1) return 0
    if (keyHash !== undefined) return (keyHash & 0x7fffffff) % this.ids.length
    const p = this.roundRobin
    this.roundRobin = p + 1 === this.ids.length ? 0 : p + 1
    return p
  }

  /**
   * Keeps an appended record's value for same-thread readers (and the value itself for 'ref'):
   * only while this thread has a reader of the topic, or the topic is 'ref'.
   */
  remember(partition: number, offset: number, timestamp: number, value: unknown, key: Key | undefined, headers: Headers | undefined): void {
    if (this.readers.size === 0 && !this.byReference) return
    let recent = this.recent[partition]
    if (recent === undefined) {
      const id = this.ids[partition]
      recent = this.recent[partition] = new RecentValues(this.byReference ? () => this.core.startOffset(id) : undefined)
    }
    recent.put(offset, timestamp, value, key, headers)
  }

  /** Messages for offsets [from, end) while this thread still remembers them; stops at the first miss. */
  recentBatch(partition: number, from: number, end: number): Delivered[] {
    const batch: Delivered[] = []
    const recent = this.recent[partition]
    if (recent === undefined) return batch
    for (let offset = from; offset < end; offset++) {
      const i = recent.find(offset)
      if (i < 0) break
      batch.push(recent.message(this.name, partition, offset, i))
    }
    return batch
  }

  /**
   * Builds the Message for the record at `frame`, from the recent values when it is there, else
   * by decoding it from `source` (see LogCore.poll).
   */
  read(partition: number, frame: number, offset: number, source: FrameSource): Delivered {
    const core = this.core
    const recent = this.recent[partition]
    const hit = recent === undefined ? -1 : recent.find(offset)
    if (hit >= 0) return recent!.message(this.name, partition, offset, hit)
    const { flags, headersLength: h, keyLength: k, valueLength: v, timestamp } = core.fields(frame, source)
    const src = source.bytes
    const base = source.base
    let at = frame + FRAME_HEADER
    try {
      const headers = h === 0 ? NO_HEADERS : decodeHeaders(src, at - base, at - base + h)
      at += h
      const key = (flags & FLAG_KEY) === 0 ? undefined
        : (flags & FLAG_KEY_BINARY) !== 0 ? core.keep(source, at, k) : decodeText(core.keep(source, at, k))
      at += k
      const codec = this.codec
      const value = (flags & FLAG_NULL_VALUE) !== 0 ? null
        : codec.decodeRange !== undefined ? codec.decodeRange(src, at - base, at - base + v) : codec.decode(core.keep(source, at, v))
      return createDelivered(this.name, partition, offset, timestamp, key, headers, value)
    } catch (error) {
      throw new CodecError(`cannot decode record ${offset} of ${this.name}/${partition} with codec ${this.codecName}`, { topic: this.name, partition, offset, cause: error })
    }
  }
}
