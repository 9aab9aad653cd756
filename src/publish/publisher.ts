// Appending records to the log: each is checked, encoded and partitioned (its key hashed once,
// for the partition and the frame alike), then staged and committed, and its value remembered for
// same-thread readers. Whatever appends records (publish, and later dead-lettering, exchange
// fan-out, transactions) goes through `append`, so the all-or-nothing rule is written once.
import { encodeHeaders, encodeText } from '../codec/codecs.js'
import { DEDUP_MAX_ID, FLAG_KEY, FLAG_KEY_BINARY, FLAG_NULL_VALUE, FLAG_REF_VALUE, MAX_HEADERS_LENGTH } from '../core/abi.js'
import { frameLength, type LogCore } from '../core/log.js'
import { statusError } from '../core/status.js'
import { CodecError, InvalidArgumentError, RecordTooLargeError, type BusError } from '../errors.js'
import type { TopicRegistry } from '../topic/registry.js'
import type { Tracing } from '../tracing/tracing.js'
import type { Topic } from '../topic/topic.js'
import type { BatchRecord, Headers, PublishOptions, RecordMetadata } from '../types.js'
import { checkPublishOptions, type CheckedPublish } from './publish-options.js'

const EMPTY: Uint8Array = new Uint8Array(0)

/** A record ready to stage: checked, encoded, partitioned and size-checked. */
export interface Prepared extends CheckedPublish {
  topic: Topic
  /** The partition chosen (checkPublishOptions leaves the one asked for here first). */
  partition: number
  keyHash: number
  flags: number
  headerBytes: Uint8Array | undefined
  keyBytes: Uint8Array | undefined
  valueBytes: Uint8Array
  value: unknown
}

/** What the publisher reports to the bus it appends for. */
export interface PublisherHost {
  readonly core: LogCore
  readonly registry: TopicRegistry
  /** `count` records of `topic` went into the log (once per call): count, deliver, wake. */
  appended(topic: Topic, count: number): void
  /** Publishing created a topic that did not exist. */
  topicCreated(topic: Topic): void
  /** Where OpenTelemetry is on: adds the active span's trace context to the headers. */
  readonly tracing?: Tracing
}

const blank = (): Prepared => ({
  topic: undefined as unknown as Topic, partition: 0, timestamp: 0, keyHash: 0, flags: 0, headerBytes: undefined, keyBytes: undefined,
  valueBytes: EMPTY, value: undefined, key: undefined, headers: undefined, hasHeaders: false, messageId: undefined,
})

/** Lets go of what a prepared record holds, so that a reused one does not pin published values. */
const release = (r: Prepared): void => {
  r.value = r.key = r.headers = r.headerBytes = r.keyBytes = r.messageId = undefined
  r.valueBytes = EMPTY
}

/**
 * Idempotent publish within one append: each record with a messageId (on a topic with a dedup
 * window) is claimed in the table every thread shares before it is staged. A messageId already
 * there gives the coordinates of the record it was appended as, and the repeat is not staged; a
 * repeat within the same call takes the coordinates of its first occurrence. Claims are completed
 * once their record is in the log, or released when it did not get there.
 */
class Deduplication {
  /** Claimed slots by record index. */
  private readonly slots = new Map<number, number>()
  /** Repeats within this call: record index -> index of the first occurrence. */
  private readonly repeats = new Map<number, number>()
  private readonly first = new Map<string, number>()

  constructor(private readonly core: LogCore, private readonly prepared: Prepared[], private readonly results: RecordMetadata[], private readonly now: number) {}

  /** True when record k is to be appended; false when it repeats one (its result is filled in later). */
  claim(k: number): boolean {
    const r = this.prepared[k]
    const window = r.messageId === undefined ? 0 : r.topic.dedupWindowMs
    if (window <= 0) return true
    const id = `${r.topic.index}:${r.messageId}`
    const earlier = this.first.get(id)
    if (earlier !== undefined) {
      this.repeats.set(k, earlier)
      return false
    }
    this.first.set(id, k)
    const { slot, claimed } = this.core.dedupClaim(r.topic.index, r.messageId!, this.now, this.now + window)
    if (claimed) {
      this.slots.set(k, slot)
      return true
    }
    const found = this.core.dedupRecord(slot)
    this.results[k] = { topic: r.topic.name, ...found }
    return false
  }

  /** Record k is in the log (results[k] says where). */
  appended(k: number): void {
    const slot = this.slots.get(k)
    if (slot === undefined) return
    const { partition, offset, timestamp } = this.results[k]
    this.core.dedupComplete(slot, partition, offset, timestamp)
    this.slots.delete(k)
  }

  /** These records did not get into the log: their messageIds may be published again. */
  notAppended(indices: number[]): void {
    for (const k of indices) {
      const slot = this.slots.get(k)
      if (slot !== undefined) this.core.dedupRelease(slot)
      this.slots.delete(k)
    }
  }

  /** `results` with every repeat given its first occurrence's coordinates (where it has them). */
  settled(results: RecordMetadata[]): RecordMetadata[] {
    for (const [k, first] of this.repeats) if (k < results.length && results[first] !== undefined) results[k] = results[first]
    return results
  }
}

export class Publisher {
  private readonly core: LogCore
  private readonly scratch = blank()
  /** Reused per-record state of publishBatch (cleared after each call). */
  private readonly batchScratch: Prepared[] = []
  private batching = false

  constructor(private readonly host: PublisherHost) {
    this.core = host.core
  }

  /** Appends one record (see Bus.publish). */
  publish(name: string, value: unknown, options: PublishOptions | undefined, now: number): RecordMetadata {
    const known = this.host.registry.byName.get(name)
    if (options === undefined && known !== undefined) {
      const headers = this.host.tracing?.inject<Headers>(undefined)
      if (headers === undefined) return this.publishValue(known, value, now)
      options = { headers } // a span is active: its trace context is the record's one header
    }
    const r = known !== undefined ? this.prepare(known, value, options, this.scratch, now, true) : this.scratch
    if (known === undefined) this.created(name, [r], 1, (t) => { this.prepare(t, value, options, r, now) })
    if (r.messageId !== undefined) {
      try {
        return this.append([r], 1, now)[0]
      } finally {
        release(r)
      }
    }
    // the hot path, kept flat (no try/finally, one call out per step): TurboFan inlines it whole
    this.stage(r)
    if (this.core.commit(now) !== 1) {
      const error = this.failure(r, this.core.statusAt(0))
      release(r)
      throw error
    }
    const offset = this.core.offsetAt(0)
    const topic = r.topic
    topic.remember(r.partition, offset, r.timestamp, r.value, r.key, r.headers)
    const result = { topic: name, partition: r.partition, offset, timestamp: r.timestamp }
    release(r)
    this.host.appended(topic, 1)
    return result
  }

  /**
   * The most common publish: a known topic, no options (no key, headers or partition; nothing
   * for tracing to add). The same steps as below without a prepared record: encode, stage,
   * commit, remember.
   */
  private publishValue(topic: Topic, value: unknown, now: number): RecordMetadata {
    const valueBytes = this.encode(topic, value, true)
    const flags = value === null ? FLAG_NULL_VALUE : topic.byReference ? FLAG_REF_VALUE : 0
    const size = frameLength(0, 0, valueBytes.length)
    if (size > topic.maxFrame) throw this.tooLarge(topic, undefined, size)
    const partition = topic.choosePartition(undefined, undefined)
    this.core.stage(topic.ids[partition], now, 0, flags, undefined, undefined, valueBytes)
    if (this.core.commit(now) !== 1) throw this.refused(topic, partition, size, this.core.statusAt(0))
    const offset = this.core.offsetAt(0)
    topic.remember(partition, offset, now, value, undefined, undefined)
    this.host.appended(topic, 1)
    return { topic: topic.name, partition, offset, timestamp: now }
  }

  /** Appends records all or nothing as far as the input goes (see Bus.publishBatch). */
  publishBatch(name: string, records: ReadonlyArray<BatchRecord<unknown>>, now: number): RecordMetadata[] {
    const known = this.host.registry.byName.get(name)
    if (!Array.isArray(records)) throw new InvalidArgumentError('publishBatch takes an array of { value, key?, headers? }', { topic: name, argument: 'records' })
    // a codec that publishes from inside encode() must not share the scratch
    const prepared = this.batching ? [] : this.batchScratch
    while (prepared.length < records.length) prepared.push(blank())
    const outer = !this.batching
    this.batching = true
    try {
      const prepareAll = (into: Topic): void => {
        for (let i = 0; i < records.length; i++) {
          const record = records[i]
          if (typeof record !== 'object' || record === null) throw new InvalidArgumentError(`record ${i} must be an object with a value`, { topic: name, argument: 'records' })
          this.prepare(into, record.value, record, prepared[i], now)
        }
      }
      const topic = known ?? this.created(name, prepared, records.length, prepareAll)
      if (topic === known) prepareAll(topic)
      return this.append(prepared, records.length, now)
    } finally {
      if (outer) this.batching = false
      for (let i = 0; i < records.length; i++) release(prepared[i])
    }
  }

  /**
   * Records for several topics, all or nothing as far as the input goes (a transaction): every
   * one is checked and encoded before any is appended, and they go in with as few core calls as
   * the staging area allows. Topics that do not exist are created (only once all records passed).
   */
  publishAll(records: ReadonlyArray<{ topic: string; value: unknown; options: PublishOptions | undefined }>, now: number): RecordMetadata[] {
    const prepared = records.map(() => blank())
    try {
      const { byName } = this.host.registry
      // known topics first: a bad record fails before any topic is created
      records.forEach(({ topic, value, options }, i) => {
        const known = byName.get(topic)
        if (known !== undefined) this.prepare(known, value, options, prepared[i], now)
      })
      records.forEach(({ topic, value, options }, i) => {
        if (prepared[i].topic === undefined) this.created(topic, [prepared[i]], 1, (t) => { this.prepare(t, value, options, prepared[i], now) })
      })
      return this.append(prepared, records.length, now)
    } finally {
      for (const r of prepared) release(r)
    }
  }

  /**
   * Stages and commits the first `count` prepared records, as many per core call as the staging
   * area holds. Only the log can refuse part way (a full 'reject' partition, a lock held too
   * long): then the error's `accepted` lists the records that went in, in order, and the rest
   * are not in the log.
   */
  append(prepared: Prepared[], count: number, now: number): RecordMetadata[] {
    const results: RecordMetadata[] = new Array(count)
    /** Indices (into `prepared`) of the records in the staging area, in order. */
    const staged: number[] = []
    const dedup = new Deduplication(this.core, prepared, results, now)
    const commit = (): void => {
      const n = this.core.commit(now)
      let run = 0
      for (let i = 0; i < n; i++) {
        const k = staged[i]
        const r = prepared[k]
        const offset = this.core.offsetAt(i)
        r.topic.remember(r.partition, offset, r.timestamp, r.value, r.key, r.headers)
        results[k] = { topic: r.topic.name, partition: r.partition, offset, timestamp: r.timestamp }
        dedup.appended(k)
        // the bus counts and wakes once per run of records of one topic
        if (i + 1 === n || prepared[staged[i + 1]].topic !== r.topic) {
          this.host.appended(r.topic, i + 1 - run)
          run = i + 1
        }
      }
      if (n < staged.length) {
        const failed = staged[n]
        const error = this.failure(prepared[failed], this.core.statusAt(n))
        dedup.notAppended(staged.slice(n))
        Object.assign(error, { accepted: dedup.settled(results.slice(0, failed)) })
        throw error
      }
      staged.length = 0
    }
    try {
      for (let k = 0; k < count; k++) {
        // a claim writes its messageId beside the staged frames: commit them first if it may not fit
        if (staged.length > 0 && prepared[k].messageId !== undefined && this.core.stagingRoom < DEDUP_MAX_ID) commit()
        if (!dedup.claim(k)) continue // a repeat: it has the coordinates of the record it repeats
        if (!this.stage(prepared[k])) {
          commit()
          this.stage(prepared[k])
        }
        staged.push(k)
      }
      commit()
      return dedup.settled(results)
    } catch (error) {
      dedup.notAppended(staged)
      throw error
    } finally {
      this.core.discardStaged()
    }
  }


  /**
   * A topic that does not exist yet, found in the directory or auto-created. `prepareAll` runs
   * first against a stand-in with the new topic's codec and limits, so that a publish that would
   * be rejected creates nothing; it runs again on the created topic unless the stand-in's codec
   * instance and limits are the topic's own (then the prepared records just move over).
   */
  private created(name: string, prepared: Prepared[], count: number, prepareAll: (topic: Topic) => void): Topic {
    let stand: Topic | undefined
    const topic = this.host.registry.writable(name, (s) => { prepareAll(stand = s) })
    this.host.topicCreated(topic)
    if (stand !== undefined && stand.codec === topic.codec && stand.partitions === topic.partitions && stand.maxFrame === topic.maxFrame) {
      for (let i = 0; i < count; i++) prepared[i].topic = topic
    } else {
      prepareAll(topic)
    }
    return topic
  }

  /**
   * Checks, encodes and partitions one record. `staged`: the record is staged before anything
   * else is encoded, so the codec may reuse its buffer (encodeTransient).
   */
  private prepare(topic: Topic, value: unknown, options: PublishOptions | undefined, into: Prepared, now: number, staged = false): Prepared {
    const { key } = checkPublishOptions(topic.name, options, now, into)
    const traced = this.host.tracing?.inject(into.headers) ?? into.headers
    if (traced !== into.headers) {
      into.headers = traced
      into.hasHeaders = true
    }
    let flags = 0
    let keyBytes: Uint8Array | undefined
    if (key !== undefined) {
      if (typeof key === 'string') keyBytes = encodeText(key)
      else { keyBytes = key; flags |= FLAG_KEY_BINARY }
      flags |= FLAG_KEY
    }
    const headerBytes = into.hasHeaders ? this.encodeHeaders(topic, into) : undefined
    if (value === null) flags |= FLAG_NULL_VALUE
    else if (topic.byReference) flags |= FLAG_REF_VALUE
    const valueBytes = this.encode(topic, value, staged)
    // the size first: hashing the key places its bytes in the staging area
    const size = frameLength(headerBytes?.length ?? 0, keyBytes?.length ?? 0, valueBytes.length)
    if (size > topic.maxFrame) throw this.tooLarge(topic, into.partition, size)
    const keyHash = keyBytes === undefined ? undefined : this.core.murmur2(keyBytes)
    into.partition = topic.choosePartition(into.partition, keyHash)
    into.topic = topic
    into.keyHash = keyHash ?? 0
    into.flags = flags
    into.headerBytes = headerBytes
    into.keyBytes = keyBytes
    into.valueBytes = valueBytes
    into.value = value
    return into
  }

  private encodeHeaders(topic: Topic, r: Prepared): Uint8Array {
    const bytes = encodeHeaders(r.headers!)
    if (bytes.length > MAX_HEADERS_LENGTH) {
      throw new RecordTooLargeError(`headers take ${bytes.length} bytes, more than ${MAX_HEADERS_LENGTH}`, { topic: topic.name, size: bytes.length, max: MAX_HEADERS_LENGTH })
    }
    return bytes
  }

  private stage(r: Prepared): boolean {
    return this.core.stage(r.topic.ids[r.partition], r.timestamp, r.keyHash, r.flags, r.headerBytes, r.keyBytes, r.valueBytes)
  }

  /** The value's bytes in the log: none for null and 'ref' values. `staged`: staged before anything else is encoded, so the codec may reuse its buffer. */
  private encode(topic: Topic, value: unknown, staged: boolean): Uint8Array {
    if (value === null || topic.byReference) return EMPTY
    let bytes: Uint8Array
    try {
      const codec = topic.codec
      bytes = staged && codec.encodeTransient !== undefined ? codec.encodeTransient(value) : codec.encode(value)
    } catch (error) {
      throw new CodecError(`codec ${topic.codecName} cannot encode this value for topic ${topic.name}: ${(error as Error)?.message ?? error}`, { topic: topic.name, cause: error })
    }
    if (!(bytes instanceof Uint8Array)) throw new CodecError(`codec ${topic.codecName} returned no bytes`, { topic: topic.name })
    return bytes
  }

  private tooLarge(topic: Topic, partition: number | undefined, size: number): RecordTooLargeError {
    return new RecordTooLargeError(`record of ${size} bytes (header, key and value) exceeds the segment limit of ${topic.maxFrame} bytes for topic ${topic.name}`,
      { topic: topic.name, partition, size, max: topic.maxFrame })
  }

  private failure(r: Prepared, status: number): BusError {
    return this.refused(r.topic, r.partition, frameLength(r.headerBytes?.length ?? 0, r.keyBytes?.length ?? 0, r.valueBytes.length), status)
  }

  /** What the log's refusal of a record of `size` bytes is, as a typed error. */
  private refused(topic: Topic, partition: number, size: number, status: number): BusError {
    return statusError(status, { topic: topic.name, partition, size, max: topic.maxFrame })
  }
}
