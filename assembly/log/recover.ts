// Recovery after a thread died inside the core (worker.terminate() can stop it anywhere). Its
// locks hold its lane token; every structure it may have left half-changed is rebuilt from what
// was committed: the chain of segments and each segment's committed tail. At worst a block that
// was between the pool and a partition is lost to the pool; no committed record is lost.
import {
  CTL_BLOCK_COUNT, CTL_FREE_COUNT, CTL_FREE_HEAD, CTL_GROUP_LOCK, CTL_PARTITION_COUNT, CTL_POOL_LOCK, CTL_TOPIC_LOCK,
} from '../../src/core/abi/control'
import { FRAME_LENGTH, FRAME_TIMESTAMP } from '../../src/core/abi/frame'
import {
  PART_BYTES, PART_END_OFFSET, PART_HEAD, PART_LOCK, PART_MAX_TIMESTAMP, PART_PENDING_TAIL, PART_SEGMENTS,
  PART_TAIL,
} from '../../src/core/abi/partition'
import {
  IDX_POSITION, SEG_BASE_OFFSET, SEG_FIRST_TIMESTAMP, SEG_HEADER, SEG_INDEX_COUNT, SEG_LAST_INDEXED,
  SEG_MAX_TIMESTAMP, SEG_NEXT, SEG_OWNER, SEG_OWN_MAX_TIMESTAMP, SEG_RECORDS, SEG_TAIL,
} from '../../src/core/abi/segment'
import { indexEntry } from './index-search'
import { blockAddr, partAddr } from './segment'
import { topicRecover } from '../topic/directory'
import { dedupRecover } from '../dedup/table'
import { routeRecover } from '../route/routes'
import { queueRecover } from '../queue/queue'
import { aload32, astore32, astore64 } from '../sync'

/** Recounts a segment's records, timestamps and index up to its committed tail. */
function repairSegment(ctl: usize, seg: usize, before: f64): f64 {
  const end = seg + <usize>aload32(seg + SEG_TAIL)
  let records: u32 = 0
  let own = -Infinity
  let first: f64 = 0
  for (let pos = seg + SEG_HEADER; pos < end; pos += load<u32>(pos, FRAME_LENGTH)) {
    const ts = load<f64>(pos, FRAME_TIMESTAMP)
    if (records == 0) first = ts
    if (ts > own) own = ts
    records++
  }
  let entries = load<u32>(seg, SEG_INDEX_COUNT)
  while (entries > 0 && seg + <usize>load<u32>(indexEntry(ctl, seg, entries - 1), IDX_POSITION) >= end) entries--
  store<u32>(seg, entries, SEG_INDEX_COUNT)
  store<u32>(seg, entries > 0 ? load<u32>(indexEntry(ctl, seg, entries - 1), IDX_POSITION) : 0, SEG_LAST_INDEXED)
  store<u32>(seg, records, SEG_RECORDS)
  store<f64>(seg, first, SEG_FIRST_TIMESTAMP)
  store<f64>(seg, own, SEG_OWN_MAX_TIMESTAMP)
  const running = max(before, own)
  store<f64>(seg, running, SEG_MAX_TIMESTAMP)
  return running
}

function repairPartition(ctl: usize, p: i32, part: usize): void {
  const owner = <u32>(p + 1)
  let block = load<u32>(part, PART_HEAD)
  let last: u32 = 0
  let bytes: u32 = 0
  let segments: u32 = 0
  let running = -Infinity
  while (block != 0 && aload32(blockAddr(ctl, block) + SEG_OWNER) == owner) {
    const seg = blockAddr(ctl, block)
    last = block
    segments++
    bytes += aload32(seg + SEG_TAIL) - SEG_HEADER
    const next = aload32(seg + SEG_NEXT)
    if (next == 0 || aload32(blockAddr(ctl, next) + SEG_OWNER) != owner) {
      astore32(seg + SEG_NEXT, 0) // a block half-taken from the pool is dropped, not followed
      break
    }
    running = load<f64>(seg, SEG_MAX_TIMESTAMP) // closed segments keep their committed running max
    block = next
  }
  if (last == 0) {
    store<u32>(part, 0, PART_HEAD)
  } else {
    const seg = blockAddr(ctl, last)
    running = repairSegment(ctl, seg, running)
    astore64(part + PART_END_OFFSET, load<i64>(seg, SEG_BASE_OFFSET) + <i64>load<u32>(seg, SEG_RECORDS))
    store<f64>(part, running, PART_MAX_TIMESTAMP)
  }
  store<u32>(part, last, PART_TAIL)
  store<u32>(part, bytes, PART_BYTES)
  store<u32>(part, segments, PART_SEGMENTS)
  store<u32>(part, 0, PART_PENDING_TAIL)
}

/**
 * Repairs what the thread with lane token `token` held and releases its locks. Returns how many
 * locks it held. Call it only once that thread is gone.
 */
export function logRecover(ctl: usize, token: u32): i32 {
  let released = 0
  if (aload32(ctl + CTL_POOL_LOCK) == token) {
    // the free list head is always valid; only the count may be off by one
    let count: u32 = 0
    for (let b = load<u32>(ctl, CTL_FREE_HEAD); b != 0 && count <= load<u32>(ctl, CTL_BLOCK_COUNT); b = load<u32>(blockAddr(ctl, b), SEG_NEXT)) count++
    store<u32>(ctl, count, CTL_FREE_COUNT)
    astore32(ctl + CTL_POOL_LOCK, 0)
    released++
  }
  const partitions = <i32>aload32(ctl + CTL_PARTITION_COUNT)
  for (let p = 0; p < partitions; p++) {
    const part = partAddr(ctl, p)
    if (aload32(part + PART_LOCK) != token) continue
    repairPartition(ctl, p, part)
    astore32(part + PART_LOCK, 0)
    released++
  }
  if (aload32(ctl + CTL_TOPIC_LOCK) == token) {
    // an entry past the published count is simply written again by the next creator; the
    // partitions it took go back
    topicRecover(ctl)
    astore32(ctl + CTL_TOPIC_LOCK, 0)
    released++
  }
  if (aload32(ctl + CTL_GROUP_LOCK) == token) {
    // a group entry is published (state, then count) only once written: a half-written one past
    // the count is written again by the next creator, so there is nothing to repair
    astore32(ctl + CTL_GROUP_LOCK, 0)
    released++
  }
  // its dedup claims (each a lock its messageId's other claimers wait on) and the table lock
  released += dedupRecover(ctl, token)
  // the route lock: the bind or unbind it was in is finished, links and counts repaired
  released += routeRecover(ctl, token)
  // its consumers, claimed dead letters and the queue lock (after its partitions were repaired)
  released += queueRecover(ctl, token)
  return released
}
