// The segment pool: fixed-size blocks handed to partitions and recycled like a ring. A
// partition owns a chain of segments (oldest = head, being written = tail); eviction takes
// the head, moves the log start offset up and returns the block to the free list.
import {
  CTL_BLOCKS, CTL_BLOCK_SIZE, CTL_FREE_COUNT, CTL_FREE_HEAD, CTL_INDEX_INTERVAL, CTL_PARTITIONS,
  CTL_PARTITION_COUNT, CTL_POOL_LOCK,
} from '../../src/core/abi/control'
import {
  PART_BYTES, PART_END_OFFSET, PART_EVICTED, PART_FLAGS, PART_HEAD, PART_IN_USE, PART_KEEP, PART_LOCK,
  PART_MAX_TIMESTAMP, PART_REJECT, PART_SEGMENTS, PART_SEGMENT_CAPACITY, PART_SIZE, PART_START_OFFSET,
  PART_TAIL,
} from '../../src/core/abi/partition'
import {
  IDX_SIZE, SEG_BASE_OFFSET, SEG_EPOCH, SEG_FIRST_TIMESTAMP, SEG_HEADER, SEG_INDEX_COUNT, SEG_LAST_INDEXED,
  SEG_LIMIT, SEG_MAX_TIMESTAMP, SEG_NEXT, SEG_OWNER, SEG_OWN_MAX_TIMESTAMP, SEG_RECORDS, SEG_TAIL,
} from '../../src/core/abi/segment'
import { aadd32, aload32, aload64, astore32, astore64, lockAcquireShort, lockRelease, lockTry } from '../sync'

// @ts-ignore: decorator
@inline export function blockAddr(ctl: usize, block: u32): usize {
  return <usize>load<u32>(ctl, CTL_BLOCKS) + <usize>(block - 1) * <usize>load<u32>(ctl, CTL_BLOCK_SIZE)
}

// @ts-ignore: decorator
@inline export function partAddr(ctl: usize, p: i32): usize {
  return <usize>load<u32>(ctl, CTL_PARTITIONS) + <usize>p * PART_SIZE
}

export function partValid(ctl: usize, p: i32): bool {
  return p >= 0 && <u32>p < aload32(ctl + CTL_PARTITION_COUNT) &&
    (aload32(partAddr(ctl, p) + PART_FLAGS) & PART_IN_USE) != 0
}

/** Rounds of freeing a block and asking the pool for it before a roll gives up (see segmentRoll). */
const ROLL_TRIES = 64
/** Locked candidates stealOldest passes over before it gives up for this round. */
const STEAL_ROUNDS = 16

/** Bytes at the end of every block kept for its sparse index. */
export function indexReserve(blockSize: u32, interval: u32): u32 {
  return (blockSize / interval + 2) * IDX_SIZE
}

/** Largest frame area a segment can have: what is left of a block after header and index. */
export function frameAreaMax(ctl: usize): u32 {
  const size = load<u32>(ctl, CTL_BLOCK_SIZE)
  return size - SEG_HEADER - indexReserve(size, load<u32>(ctl, CTL_INDEX_INTERVAL))
}

function poolPop(ctl: usize): u32 {
  lockAcquireShort(ctl + CTL_POOL_LOCK)
  const head = load<u32>(ctl, CTL_FREE_HEAD)
  if (head != 0) {
    store<u32>(ctl, load<u32>(blockAddr(ctl, head), SEG_NEXT), CTL_FREE_HEAD)
    store<u32>(ctl, load<u32>(ctl, CTL_FREE_COUNT) - 1, CTL_FREE_COUNT)
  }
  lockRelease(ctl + CTL_POOL_LOCK)
  return head
}

function poolPush(ctl: usize, block: u32): void {
  lockAcquireShort(ctl + CTL_POOL_LOCK)
  store<u32>(blockAddr(ctl, block), load<u32>(ctl, CTL_FREE_HEAD), SEG_NEXT)
  store<u32>(ctl, block, CTL_FREE_HEAD)
  store<u32>(ctl, load<u32>(ctl, CTL_FREE_COUNT) + 1, CTL_FREE_COUNT)
  lockRelease(ctl + CTL_POOL_LOCK)
}

/**
 * Removes the partition's oldest segment (caller holds the partition lock). When it was the only
 * one the partition is left without segments and its log start offset equals its end offset.
 */
export function segmentEvictHead(ctl: usize, part: usize): void {
  const block = load<u32>(part, PART_HEAD)
  const seg = blockAddr(ctl, block)
  const next = aload32(seg + SEG_NEXT)
  store<u32>(part, load<u32>(part, PART_BYTES) - (aload32(seg + SEG_TAIL) - SEG_HEADER), PART_BYTES)
  store<u32>(part, load<u32>(part, PART_SEGMENTS) - 1, PART_SEGMENTS)
  store<f64>(part, load<f64>(part, PART_EVICTED) + <f64>load<u32>(seg, SEG_RECORDS), PART_EVICTED)
  if (next == 0) {
    store<u32>(part, 0, PART_HEAD)
    store<u32>(part, 0, PART_TAIL)
    astore64(part + PART_START_OFFSET, aload64(part + PART_END_OFFSET))
  } else {
    store<u32>(part, next, PART_HEAD)
    astore64(part + PART_START_OFFSET, load<i64>(blockAddr(ctl, next), SEG_BASE_OFFSET))
  }
  // An odd epoch tells every reader holding a position in this block that it is gone (the
  // segment seqlock, see src/core/abi/segment.ts).
  astore32(seg + SEG_OWNER, 0)
  aadd32(seg + SEG_EPOCH, 1)
  poolPush(ctl, block)
}

/**
 * With the pool empty, frees a block held by another partition that allows eviction: the oldest
 * closed segment anywhere; failing that, the segment of the partition whose newest record is
 * oldest (that partition is left empty, its readers are told what they lost). PART_KEEP
 * partitions (bookkeeping every thread needs) give a block only when no other one can. Never
 * blocks: a partition whose lock is busy is passed over.
 */
function stealOldest(ctl: usize, self: i32): void {
  const count = <i32>aload32(ctl + CTL_PARTITION_COUNT)
  // candidates in order of (rank, age, id); one whose writer holds its lock right now is passed
  // over for the next in that order
  let afterRank: u32 = 0
  let afterAge = -Infinity
  let afterId: i32 = -1
  for (let round = 0; round < STEAL_ROUNDS; round++) {
    let victim: i32 = -1
    let victimRank: u32 = 0
    let oldest = Infinity
    for (let q = 0; q < count; q++) {
      if (q == self) continue
      const part = partAddr(ctl, q)
      const flags = aload32(part + PART_FLAGS)
      if ((flags & PART_IN_USE) == 0 || (flags & PART_REJECT) != 0) continue
      const head = load<u32>(part, PART_HEAD)
      if (head == 0) continue
      // lower is taken first: data before bookkeeping, a closed segment before a partition's last
      const rank: u32 = ((flags & PART_KEEP) != 0 ? 2 : 0) + (head != load<u32>(part, PART_TAIL) ? 0 : 1)
      const age = load<f64>(blockAddr(ctl, head), SEG_OWN_MAX_TIMESTAMP)
      if (round > 0 && (rank < afterRank || (rank == afterRank && (age < afterAge || (age == afterAge && q <= afterId))))) continue
      if (victim < 0 || rank < victimRank || (rank == victimRank && age < oldest)) {
        victim = q
        victimRank = rank
        oldest = age
      }
    }
    if (victim < 0) return
    const part = partAddr(ctl, victim)
    if (lockTry(part + PART_LOCK)) {
      if (load<u32>(part, PART_HEAD) != 0) segmentEvictHead(ctl, part)
      lockRelease(part + PART_LOCK)
      return
    }
    afterRank = victimRank
    afterAge = oldest
    afterId = victim
  }
}

/**
 * Takes a block for partition `p` (lock held), links it as the new tail and returns it, or 0
 * when no block can be had. An empty pool is refilled from the partition's own oldest closed
 * segment first (unless it is a 'reject' partition), then from another evictable partition.
 * `area`: the segment's frame area when smaller than the partition's (0: the partition's).
 */
export function segmentRoll(ctl: usize, p: i32, part: usize, area: u32): u32 {
  let block = poolPop(ctl)
  // Other threads take blocks too: one freed here may be gone by the time it is asked for, and
  // the victim chosen may be locked by its writer for a moment. Try again rather than refuse an
  // 'evict' record (a capped partition may already have dropped its own data to make room).
  for (let tries = 0; block == 0 && tries < ROLL_TRIES; tries++) {
    // a 'reject' partition never gives up its own records, but may take room from others
    const head = load<u32>(part, PART_HEAD)
    const evictable = (load<u32>(part, PART_FLAGS) & PART_REJECT) == 0
    if (evictable && head != 0 && head != load<u32>(part, PART_TAIL)) segmentEvictHead(ctl, part)
    else stealOldest(ctl, p)
    block = poolPop(ctl)
  }
  if (block == 0) return 0
  const seg = blockAddr(ctl, block)
  const blockSize = load<u32>(ctl, CTL_BLOCK_SIZE)
  const full = min(load<u32>(part, PART_SEGMENT_CAPACITY), frameAreaMax(ctl))
  if (area == 0 || area > full) area = full
  store<u32>(seg, p + 1, SEG_OWNER)
  store<i64>(seg, aload64(part + PART_END_OFFSET), SEG_BASE_OFFSET)
  store<u32>(seg, 0, SEG_NEXT)
  store<u32>(seg, 0, SEG_RECORDS)
  store<u32>(seg, 0, SEG_INDEX_COUNT)
  store<f64>(seg, 0, SEG_FIRST_TIMESTAMP)
  store<f64>(seg, load<f64>(part, PART_MAX_TIMESTAMP), SEG_MAX_TIMESTAMP)
  store<f64>(seg, -Infinity, SEG_OWN_MAX_TIMESTAMP)
  store<u32>(seg, SEG_HEADER + area, SEG_LIMIT)
  store<u32>(seg, 0, SEG_LAST_INDEXED)
  astore32(seg + SEG_TAIL, SEG_HEADER)
  // even again: a reader that loads this epoch sees every field written above
  astore32(seg + SEG_EPOCH, aload32(seg + SEG_EPOCH) + 1)
  const tail = load<u32>(part, PART_TAIL)
  // Linking last: a reader only follows `next` to a block that is ready to be read.
  if (tail != 0) astore32(blockAddr(ctl, tail) + SEG_NEXT, block)
  else store<u32>(part, block, PART_HEAD)
  store<u32>(part, block, PART_TAIL)
  store<u32>(part, load<u32>(part, PART_SEGMENTS) + 1, PART_SEGMENTS)
  return block
}

/** Lays out the pool's free list; called once, by the thread that initialises the core. */
export function segmentPoolInit(ctl: usize, count: u32): void {
  for (let b: u32 = 1; b <= count; b++) {
    const seg = blockAddr(ctl, b)
    store<u32>(seg, 1, SEG_EPOCH) // odd: free
    store<u32>(seg, 0, SEG_OWNER)
    store<u32>(seg, b < count ? b + 1 : 0, SEG_NEXT)
  }
  store<u32>(ctl, count > 0 ? 1 : 0, CTL_FREE_HEAD)
  store<u32>(ctl, count, CTL_FREE_COUNT)
}
