// The topic directory: names -> partition ids, retention and dedup window, in shared memory, so
// every thread resolves a topic name to the same partitions and settings. Creating, growing and reconfiguring take the
// directory lock; finding a topic reads ready entries without it.
import {
  CTL_MAX_PARTITIONS, CTL_MAX_TOPICS, CTL_PARTITION_COUNT, CTL_TOPICS, CTL_TOPIC_COUNT, CTL_TOPIC_LOCK,
} from '../../src/core/abi/control'
import {
  TOPIC_CODEC, TOPIC_DEDUP_WINDOW, TOPIC_FLAGS, TOPIC_IDS, TOPIC_MAX_AGE, TOPIC_MAX_BYTES, TOPIC_MAX_NAME, TOPIC_MAX_PARTITIONS,
  TOPIC_NAME, TOPIC_NAME_LENGTH, TOPIC_PARTITIONS, TOPIC_SIZE, TOPIC_STATE, TOPIC_VERSION,
} from '../../src/core/abi/directory'
import { PART_REJECT, PART_SIZE } from '../../src/core/abi/partition'
import { STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_LIMIT, STATUS_TOPIC_LIMIT } from '../../src/core/abi/status'
import { logAddPartition, logConfigure } from '../log/partition'
import { partAddr } from '../log/segment'
import { bytesEqual } from '../bytes'
import { aload32, acas32, astore32, lockAcquire, lockRelease } from '../sync'
import { queuePartitionsUsed } from '../queue/queue'

// @ts-ignore: decorator
@inline export function topicEntry(ctl: usize, t: i32): usize {
  return <usize>load<u32>(ctl, CTL_TOPICS) + <usize>t * TOPIC_SIZE
}

function sameName(entry: usize, name: usize, length: i32): bool {
  return load<u32>(entry, TOPIC_NAME_LENGTH) == <u32>length && bytesEqual(entry + TOPIC_NAME, name, length)
}

/** Index of the topic with this name, or -1. */
export function topicFind(ctl: usize, name: usize, length: i32): i32 {
  const count = <i32>aload32(ctl + CTL_TOPIC_COUNT)
  for (let t = 0; t < count; t++) {
    const entry = topicEntry(ctl, t)
    if (aload32(entry + TOPIC_STATE) == 1 && sameName(entry, name, length)) return t
  }
  return -1
}

/**
 * Whether the partition table has room to grow the topic at `entry` to `partitions` (directory
 * lock held): 0 or a status. Every topic's partitions are added under that lock, so the room
 * checked here is there when grow() takes it.
 */
function room(ctl: usize, entry: usize, partitions: i32): i32 {
  if (partitions > TOPIC_MAX_PARTITIONS) return STATUS_BAD_ARGUMENT
  const from = <i32>load<u32>(entry, TOPIC_PARTITIONS)
  if (partitions <= from) return 0
  const used = <u64>aload32(ctl + CTL_PARTITION_COUNT)
  return used + <u64>(partitions - from) > <u64>load<u32>(ctl, CTL_MAX_PARTITIONS) ? STATUS_LIMIT : 0
}

/**
 * Adds partitions up to `partitions` (directory lock held), all or none: returns 0, or a status
 * with the partition table as it was.
 */
function grow(ctl: usize, entry: usize, partitions: i32, maxBytes: u32, segmentCapacity: u32, maxAgeMs: f64, reject: bool): i32 {
  const status = room(ctl, entry, partitions)
  if (status < 0) return status
  const from = <i32>load<u32>(entry, TOPIC_PARTITIONS)
  if (partitions <= from) return 0
  const before = aload32(ctl + CTL_PARTITION_COUNT)
  for (let i = from; i < partitions; i++) {
    const id = logAddPartition(ctl, maxBytes, segmentCapacity, maxAgeMs, reject)
    if (id < 0) {
      giveBack(ctl, before)
      return id
    }
    store<u32>(entry + TOPIC_IDS + (<usize>i << 2), id)
  }
  // stored once, after every id it covers: a reader sees all the new partitions or none
  astore32(entry + TOPIC_PARTITIONS, partitions)
  return 0
}

/**
 * Gives back the partitions taken since the table held `before` (no topic refers to them yet).
 * Only if nobody took one since: logAddPartition is exported, but the bus takes ids only here.
 */
function giveBack(ctl: usize, before: u32): void {
  const count = aload32(ctl + CTL_PARTITION_COUNT)
  const max = load<u32>(ctl, CTL_MAX_PARTITIONS)
  for (let id = before; id < count && id < max; id++) memory.fill(partAddr(ctl, <i32>id), 0, PART_SIZE)
  acas32(ctl + CTL_PARTITION_COUNT, count, before)
}

/**
 * After a thread died holding the directory lock (caller: logRecover): a topic publishes its
 * partition count only after every id it took, so ids past the highest one any topic lists were
 * taken by a creation or growth that never finished. They go back to the table.
 */
export function topicRecover(ctl: usize): void {
  let used: u32 = 0
  const topics = aload32(ctl + CTL_TOPIC_COUNT)
  for (let t: u32 = 0; t < topics; t++) {
    const entry = topicEntry(ctl, <i32>t)
    const count = aload32(entry + TOPIC_PARTITIONS)
    for (let i: u32 = 0; i < count; i++) used = max(used, load<u32>(entry + TOPIC_IDS + (<usize>i << 2)) + 1)
  }
  used = max(used, queuePartitionsUsed(ctl)) // queues add partitions of their own
  if (aload32(ctl + CTL_PARTITION_COUNT) > used) giveBack(ctl, used)
}

/** A dedup window the entry can hold: finite ms, 0 for none (NaN fails both comparisons). */
// @ts-ignore: decorator
@inline function validWindow(dedupWindowMs: f64): bool {
  return dedupWindowMs >= 0 && dedupWindowMs < Infinity
}

function bump(entry: usize): void {
  astore32(entry + TOPIC_VERSION, load<u32>(entry, TOPIC_VERSION) + 1)
}

/**
 * Finds or creates the topic. Returns its index; when it already existed (maybe created by
 * another thread) the caller compares its options with the directory's.
 */
export function topicCreate(ctl: usize, name: usize, length: i32, partitions: i32, maxBytes: u32, segmentCapacity: u32,
  maxAgeMs: f64, reject: bool, codec: u32, dedupWindowMs: f64): i32 {
  if (length < 1 || length > TOPIC_MAX_NAME || partitions < 1 || partitions > TOPIC_MAX_PARTITIONS || !validWindow(dedupWindowMs)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(ctl + CTL_TOPIC_LOCK)) return STATUS_BUSY
  let t = topicFind(ctl, name, length)
  if (t < 0) {
    t = <i32>load<u32>(ctl, CTL_TOPIC_COUNT)
    if (<u32>t >= load<u32>(ctl, CTL_MAX_TOPICS)) {
      lockRelease(ctl + CTL_TOPIC_LOCK)
      return STATUS_TOPIC_LIMIT
    }
    const entry = topicEntry(ctl, t)
    memory.fill(entry, 0, TOPIC_SIZE)
    store<u32>(entry, <u32>length, TOPIC_NAME_LENGTH)
    memory.copy(entry + TOPIC_NAME, name, <usize>length)
    store<u32>(entry, codec, TOPIC_CODEC)
    store<u32>(entry, maxBytes, TOPIC_MAX_BYTES)
    store<u32>(entry, reject ? PART_REJECT : 0, TOPIC_FLAGS)
    store<f64>(entry, maxAgeMs, TOPIC_MAX_AGE)
    store<f64>(entry, dedupWindowMs, TOPIC_DEDUP_WINDOW)
    const status = grow(ctl, entry, partitions, maxBytes, segmentCapacity, maxAgeMs, reject)
    if (status < 0) {
      lockRelease(ctl + CTL_TOPIC_LOCK)
      return status
    }
    astore32(entry + TOPIC_STATE, 1)
    astore32(ctl + CTL_TOPIC_COUNT, <u32>t + 1)
  }
  lockRelease(ctl + CTL_TOPIC_LOCK)
  return t
}

/**
 * New retention, policy and dedup window for the topic (retention and policy for every one of
 * its partitions), and more partitions if asked.
 */
export function topicConfigure(ctl: usize, t: i32, partitions: i32, maxBytes: u32, segmentCapacity: u32, maxAgeMs: f64, reject: bool,
  dedupWindowMs: f64): i32 {
  if (t < 0 || <u32>t >= aload32(ctl + CTL_TOPIC_COUNT) || !validWindow(dedupWindowMs)) return STATUS_BAD_ARGUMENT
  const entry = topicEntry(ctl, t)
  if (!lockAcquire(ctl + CTL_TOPIC_LOCK)) return STATUS_BUSY
  // all or nothing: a topic that cannot grow keeps its retention and policy too
  let status = room(ctl, entry, partitions)
  if (status < 0) {
    lockRelease(ctl + CTL_TOPIC_LOCK)
    return status
  }
  const count = <i32>load<u32>(entry, TOPIC_PARTITIONS)
  for (let i = 0; i < count && status >= 0; i++) {
    status = logConfigure(ctl, <i32>load<u32>(entry + TOPIC_IDS + (<usize>i << 2)), maxBytes, segmentCapacity, maxAgeMs, reject)
  }
  if (status >= 0) {
    store<u32>(entry, maxBytes, TOPIC_MAX_BYTES)
    store<u32>(entry, reject ? PART_REJECT : 0, TOPIC_FLAGS)
    store<f64>(entry, maxAgeMs, TOPIC_MAX_AGE)
    store<f64>(entry, dedupWindowMs, TOPIC_DEDUP_WINDOW)
    status = grow(ctl, entry, partitions, maxBytes, segmentCapacity, maxAgeMs, reject)
  }
  bump(entry)
  lockRelease(ctl + CTL_TOPIC_LOCK)
  return status
}
