// Append, poll, lookups and retention for one partition's chain of segments. Appends hold the
// partition lock for reserve -> write -> commit; the commit is an atomic store of the segment
// tail and the end offset, so a reader (in any thread) never sees a half-written record.
import { CTL_BLOCK_COUNT, CTL_FREE_COUNT, CTL_INDEX_INTERVAL, CTL_MAX_PARTITIONS, CTL_PARTITION_COUNT } from '../../src/core/abi/control'
import {
  CUR_EPOCH, CUR_NEXT_OFFSET, CUR_PARTITION, CUR_POSITION, CUR_SEGMENT, POLL_STRIDE,
} from '../../src/core/abi/cursor'
import {
  FRAME_ALIGN, FRAME_DELTA, FRAME_HEADER, FRAME_HEADERS_LENGTH, FRAME_KEY_LENGTH, FRAME_LENGTH,
  FRAME_PARTITION, FRAME_TIMESTAMP, FRAME_VALUE_LENGTH,
} from '../../src/core/abi/frame'
import {
  PART_BYTES, PART_END_OFFSET, PART_FLAGS, PART_HEAD, PART_IN_USE, PART_KEEP, PART_LOCK, PART_MAX_AGE,
  PART_MAX_BYTES, PART_MAX_TIMESTAMP, PART_PENDING_END, PART_PENDING_TAIL, PART_REJECT,
  PART_SEGMENT_CAPACITY, PART_SEGMENTS, PART_SIZE, PART_START_OFFSET, PART_TAIL,
} from '../../src/core/abi/partition'
import {
  SEG_BASE_OFFSET, SEG_EPOCH, SEG_FIRST_TIMESTAMP, SEG_HEADER, SEG_LAST_INDEXED, SEG_LIMIT,
  SEG_MAX_TIMESTAMP, SEG_NEXT, SEG_OWNER, SEG_OWN_MAX_TIMESTAMP, SEG_RECORDS, SEG_TAIL,
} from '../../src/core/abi/segment'
import {
  STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_FULL, STATUS_LIMIT, STATUS_OUT_OF_RANGE, STATUS_TOO_LARGE,
  STATUS_UNKNOWN_PARTITION,
} from '../../src/core/abi/status'
import { aadd32, aload32, aload64, astore32, astore64, lockAcquire, lockRelease } from '../sync'
import { indexAdd, indexSeekDelta, indexSeekTime, scanTime } from './index-search'
import { blockAddr, frameAreaMax, partAddr, partValid, segmentEvictHead, segmentRoll } from './segment'

function configure(ctl: usize, part: usize, maxBytes: u32, segmentCapacity: u32, maxAgeMs: f64, reject: bool): i32 {
  if (segmentCapacity < <u32>FRAME_HEADER || segmentCapacity > frameAreaMax(ctl)) return STATUS_BAD_ARGUMENT
  if (maxBytes != 0 && segmentCapacity > maxBytes) return STATUS_BAD_ARGUMENT
  if (!(maxAgeMs >= 0)) return STATUS_BAD_ARGUMENT
  store<u32>(part, maxBytes, PART_MAX_BYTES)
  store<u32>(part, segmentCapacity, PART_SEGMENT_CAPACITY)
  store<f64>(part, maxAgeMs, PART_MAX_AGE)
  astore32(part + PART_FLAGS, PART_IN_USE | (reject ? PART_REJECT : 0) | (aload32(part + PART_FLAGS) & PART_KEEP))
  return 0
}

/**
 * Keeps the partition's blocks from other partitions when the pool runs out, unless nothing else
 * can give one (its own retention still applies). For bookkeeping every thread depends on, such
 * as msgpack record structures.
 */
export function logKeep(ctl: usize, p: i32): i32 {
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const part = partAddr(ctl, p)
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  astore32(part + PART_FLAGS, aload32(part + PART_FLAGS) | PART_KEEP)
  lockRelease(part + PART_LOCK)
  return 0
}

/** Creates a partition and returns its id (ids are global across topics), or a status. */
export function logAddPartition(ctl: usize, maxBytes: u32, segmentCapacity: u32, maxAgeMs: f64, reject: bool): i32 {
  if (segmentCapacity < <u32>FRAME_HEADER || segmentCapacity > frameAreaMax(ctl)) return STATUS_BAD_ARGUMENT
  const id = aadd32(ctl + CTL_PARTITION_COUNT, 1)
  if (id >= load<u32>(ctl, CTL_MAX_PARTITIONS)) {
    aadd32(ctl + CTL_PARTITION_COUNT, <u32>-1)
    return STATUS_LIMIT
  }
  const part = partAddr(ctl, id)
  memory.fill(part, 0, PART_SIZE)
  store<f64>(part, -Infinity, PART_MAX_TIMESTAMP)
  const status = configure(ctl, part, maxBytes, segmentCapacity, maxAgeMs, reject)
  return status < 0 ? status : <i32>id
}

/** Changes a partition's retention; takes effect from the next append or retention pass. */
export function logConfigure(ctl: usize, p: i32, maxBytes: u32, segmentCapacity: u32, maxAgeMs: f64, reject: bool): i32 {
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const part = partAddr(ctl, p)
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  const status = configure(ctl, part, maxBytes, segmentCapacity, maxAgeMs, reject)
  lockRelease(part + PART_LOCK)
  return status
}

function frameValid(frame: usize, length: u32): bool {
  const payload = <u32>load<u16>(frame, FRAME_HEADERS_LENGTH) + load<u32>(frame, FRAME_KEY_LENGTH)
  const value = load<u32>(frame, FRAME_VALUE_LENGTH)
  return length >= <u32>FRAME_HEADER && (length & <u32>(FRAME_ALIGN - 1)) == 0 && value <= length &&
    payload <= length && <u64>FRAME_HEADER + <u64>payload + <u64>value <= <u64>length
}

/**
 * Frames are 8-byte aligned and sized, so small ones copy fastest as words: memory.copy goes
 * through a runtime call in V8 that costs more than copying a typical 100-byte record.
 */
// @ts-ignore: decorator
@inline function copyFrame(dst: usize, src: usize, length: u32): void {
  if (length > 512) {
    memory.copy(dst, src, length)
    return
  }
  for (let i: usize = 0; i < <usize>length; i += 8) store<u64>(dst + i, load<u64>(src + i))
}

/** Evicts closed segments until `length` more bytes fit under the cap; false if still over. */
function trimToCap(ctl: usize, part: usize, length: u32, maxBytes: u32): bool {
  if (maxBytes == 0) return true
  while (<u64>load<u32>(part, PART_BYTES) + length > <u64>maxBytes) {
    if (load<u32>(part, PART_HEAD) == load<u32>(part, PART_TAIL)) return false
    segmentEvictHead(ctl, part)
  }
  return true
}

/**
 * Commits what a batch append wrote to the partition: the segment tail first, then the end
 * offset readers compare against. A run of frames for one partition commits once.
 */
function commitPending(ctl: usize, part: usize): void {
  const pending = load<u32>(part, PART_PENDING_TAIL)
  if (pending == 0) return
  astore32(blockAddr(ctl, load<u32>(part, PART_TAIL)) + SEG_TAIL, pending)
  astore64(part + PART_END_OFFSET, load<i64>(part, PART_PENDING_END))
  store<u32>(part, 0, PART_PENDING_TAIL)
}

/**
 * A quarter of the pool's blocks or more is free: room for small segments, which take a whole
 * block for less (where blocks are scarce, every segment is full size, so that no capacity is lost).
 */
function poolRoomy(ctl: usize): bool {
  return aload32(ctl + CTL_FREE_COUNT) * 4 >= load<u32>(ctl, CTL_BLOCK_COUNT)
}

/**
 * Appends one staged frame to partition `p` (lock held); returns its offset or a status. The
 * write stays pending until commitPending: anything that rolls, evicts or reads the committed
 * tail commits first. `small` (0: never): the frame area of a segment rolled while the
 * partition has at most one, i.e. while its reader keeps up, and the pool has room (see logAppendOne).
 */
function appendLocked(ctl: usize, p: i32, part: usize, frame: usize, length: u32, now: f64, small: u32): f64 {
  if (length > load<u32>(part, PART_SEGMENT_CAPACITY)) return STATUS_TOO_LARGE
  const maxBytes = load<u32>(part, PART_MAX_BYTES)
  const overCap = maxBytes != 0 && <u64>load<u32>(part, PART_BYTES) + length > <u64>maxBytes
  if (overCap && (load<u32>(part, PART_FLAGS) & PART_REJECT) != 0) return STATUS_FULL

  let tail = load<u32>(part, PART_TAIL)
  let pending = load<u32>(part, PART_PENDING_TAIL)
  let roll = tail == 0
  if (!roll) {
    const seg = blockAddr(ctl, tail)
    const maxAge = load<f64>(part, PART_MAX_AGE)
    const position = pending != 0 ? pending : load<u32>(seg, SEG_TAIL)
    roll = position + length > load<u32>(seg, SEG_LIMIT) ||
      (maxAge > 0 && load<u32>(seg, SEG_RECORDS) > 0 && now - load<f64>(seg, SEG_FIRST_TIMESTAMP) > maxAge)
  }
  if (roll || overCap) {
    commitPending(ctl, part)
    pending = 0
    // the byte cap is hard: drop closed segments first; if only the one being written holds
    // data, close it and let it go before rolling, so that its block is the one reused
    if (!trimToCap(ctl, part, length, maxBytes)) {
      segmentEvictHead(ctl, part)
      roll = true
    }
    if (roll) {
      const area = small != 0 && load<u32>(part, PART_SEGMENTS) <= 1 && poolRoomy(ctl) ? max(small, length) : 0
      if (segmentRoll(ctl, p, part, area) == 0) return STATUS_FULL
      trimToCap(ctl, part, length, maxBytes)
      tail = load<u32>(part, PART_TAIL)
    }
  }

  // reserve
  const seg = blockAddr(ctl, tail)
  const position = pending != 0 ? pending : load<u32>(seg, SEG_TAIL)
  const offset = pending != 0 ? load<i64>(part, PART_PENDING_END) : aload64(part + PART_END_OFFSET)
  const delta = <u32>(offset - load<i64>(seg, SEG_BASE_OFFSET))
  const records = load<u32>(seg, SEG_RECORDS)
  const ts = load<f64>(frame, FRAME_TIMESTAMP)
  // write
  const dst = seg + <usize>position
  copyFrame(dst, frame, length)
  store<u32>(dst, delta, FRAME_DELTA)
  const runningMax = max(load<f64>(part, PART_MAX_TIMESTAMP), ts)
  store<f64>(part, runningMax, PART_MAX_TIMESTAMP)
  store<f64>(seg, runningMax, SEG_MAX_TIMESTAMP)
  if (records == 0) {
    store<f64>(seg, ts, SEG_FIRST_TIMESTAMP)
    store<f64>(seg, ts, SEG_OWN_MAX_TIMESTAMP)
  } else if (ts > load<f64>(seg, SEG_OWN_MAX_TIMESTAMP)) {
    store<f64>(seg, ts, SEG_OWN_MAX_TIMESTAMP)
  }
  if (records == 0 || position - load<u32>(seg, SEG_LAST_INDEXED) >= load<u32>(ctl, CTL_INDEX_INTERVAL)) {
    indexAdd(ctl, seg, delta, position, runningMax)
    store<u32>(seg, position, SEG_LAST_INDEXED)
  }
  store<u32>(seg, records + 1, SEG_RECORDS)
  store<u32>(part, load<u32>(part, PART_BYTES) + length, PART_BYTES)
  store<u32>(part, position + length, PART_PENDING_TAIL)
  store<i64>(part, offset + 1, PART_PENDING_END)
  return <f64>offset
}

/**
 * Appends `count` frames staged end to end at `frames`, each naming its partition in the frame's
 * partition field. Writes each record's offset to out[i] (f64) and returns how many were
 * appended; when that is fewer than `count`, out[returned] holds the status of the one that failed
 * and nothing after it was appended. Consecutive frames for one partition share one lock.
 */
export function logAppend(ctl: usize, frames: usize, count: i32, now: f64, out: usize): i32 {
  let held: i32 = -1
  let part: usize = 0
  let frame = frames
  let i: i32 = 0
  for (; i < count; i++) {
    const length = load<u32>(frame, FRAME_LENGTH)
    const p = load<i32>(frame, FRAME_PARTITION)
    let result: f64
    if (!frameValid(frame, length)) {
      result = STATUS_BAD_ARGUMENT
    } else {
      if (p != held) {
        if (held >= 0) {
          commitPending(ctl, part)
          lockRelease(part + PART_LOCK)
        }
        held = -1
        if (!partValid(ctl, p)) {
          store<f64>(out + (<usize>i << 3), STATUS_UNKNOWN_PARTITION)
          break
        }
        part = partAddr(ctl, p)
        if (!lockAcquire(part + PART_LOCK)) {
          store<f64>(out + (<usize>i << 3), STATUS_BUSY)
          break
        }
        held = p
      }
      result = appendLocked(ctl, p, part, frame, length, now, 0)
    }
    store<f64>(out + (<usize>i << 3), result)
    if (result < 0) break
    frame += length
  }
  if (held >= 0) {
    commitPending(ctl, part)
    lockRelease(part + PART_LOCK)
  }
  return i
}

/** Finds the segment and frame holding `offset` (lock held); writes them to the cursor. */
function locate(ctl: usize, part: usize, cursor: usize, offset: i64): bool {
  let block = load<u32>(part, PART_HEAD)
  if (block == 0) return false
  for (;;) {
    const next = aload32(blockAddr(ctl, block) + SEG_NEXT)
    if (next == 0 || load<i64>(blockAddr(ctl, next), SEG_BASE_OFFSET) > offset) break
    block = next
  }
  const seg = blockAddr(ctl, block)
  store<u32>(cursor, block, CUR_SEGMENT)
  store<u32>(cursor, aload32(seg + SEG_EPOCH), CUR_EPOCH)
  store<u32>(cursor, <u32>indexSeekDelta(ctl, seg, <u32>(offset - load<i64>(seg, SEG_BASE_OFFSET))), CUR_POSITION)
  return true
}

/**
 * Makes the cursor's cached segment current: keeps it while its epoch is the one the cursor
 * saw, else finds the segment again under the lock. Returns 1, 0 when the partition holds no
 * segment, or a status.
 */
function cursorSegment(ctl: usize, p: i32, part: usize, cursor: usize, next: i64): i32 {
  const block = load<u32>(cursor, CUR_SEGMENT)
  if (block != 0 && aload32(blockAddr(ctl, block) + SEG_EPOCH) == load<u32>(cursor, CUR_EPOCH) &&
    aload32(blockAddr(ctl, block) + SEG_OWNER) == <u32>(p + 1)) return 1
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  const inRange = next >= aload64(part + PART_START_OFFSET)
  const found = inRange && locate(ctl, part, cursor, next)
  lockRelease(part + PART_LOCK)
  if (!inRange) return STATUS_OUT_OF_RANGE
  return found ? 1 : 0
}

/**
 * Reads up to `max` committed records (or about `maxBytes`) of ONE segment from the cursor's
 * position into `out` as (frame address, offset) f64 pairs and advances the cursor. Returns the
 * count, or STATUS_OUT_OF_RANGE when the cursor's offset is below the log start offset.
 *
 * The records lie end to end in the segment the cursor names when this returns, and the cursor
 * holds the epoch that segment had before any of its frames were read: another thread may read
 * them (or copy them out) and then ask logPollValid whether the segment was recycled meanwhile.
 */
export function logPoll(ctl: usize, cursor: usize, out: usize, max: i32, maxBytes: u32): i32 {
  const p = load<i32>(cursor, CUR_PARTITION)
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const part = partAddr(ctl, p)
  let next = load<i64>(cursor, CUR_NEXT_OFFSET)
  if (next < aload64(part + PART_START_OFFSET)) return STATUS_OUT_OF_RANGE
  if (next >= aload64(part + PART_END_OFFSET)) return 0
  const found = cursorSegment(ctl, p, part, cursor, next)
  if (found <= 0) return found

  let block = load<u32>(cursor, CUR_SEGMENT)
  let seg = blockAddr(ctl, block)
  let base = load<i64>(seg, SEG_BASE_OFFSET)
  let pos = <usize>load<u32>(cursor, CUR_POSITION)
  let end = seg + <usize>aload32(seg + SEG_TAIL)
  let n: i32 = 0
  let bytes: u32 = 0
  while (n < max) {
    if (pos >= end) {
      // `next` is linked only after the segment's final tail was committed, so a tail read
      // after seeing `next` is final
      const following = aload32(seg + SEG_NEXT)
      end = seg + <usize>aload32(seg + SEG_TAIL)
      if (pos < end) continue
      // one segment per poll, so that one epoch vouches for everything returned
      if (following == 0 || n > 0) break
      const fseg = blockAddr(ctl, following)
      const epoch = aload32(fseg + SEG_EPOCH)
      if ((epoch & 1) != 0 || aload32(fseg + SEG_OWNER) != <u32>(p + 1) || load<i64>(fseg, SEG_BASE_OFFSET) != next) {
        // the link was stale: both segments were evicted (and the block maybe reused) while this
        // cursor stood at the end of the first; find the position again under the lock
        store<u32>(cursor, 0, CUR_SEGMENT)
        const again = cursorSegment(ctl, p, part, cursor, next)
        if (again <= 0) return again
        block = load<u32>(cursor, CUR_SEGMENT)
        seg = blockAddr(ctl, block)
        base = load<i64>(seg, SEG_BASE_OFFSET)
        pos = <usize>load<u32>(cursor, CUR_POSITION)
        end = seg + <usize>aload32(seg + SEG_TAIL)
        continue
      }
      block = following
      seg = fseg
      base = next
      pos = seg + SEG_HEADER
      end = seg + <usize>aload32(seg + SEG_TAIL)
      store<u32>(cursor, block, CUR_SEGMENT)
      store<u32>(cursor, epoch, CUR_EPOCH)
      continue
    }
    const length = load<u32>(pos, FRAME_LENGTH)
    // only a segment recycled under this poll has such a frame: stop, and logPollValid says so
    if (length < <u32>FRAME_HEADER || (length & <u32>(FRAME_ALIGN - 1)) != 0 || pos + <usize>length > end) break
    const offset = base + <i64>load<u32>(pos, FRAME_DELTA)
    const o = out + (<usize>n << 4)
    store<f64>(o, <f64>pos)
    store<f64>(o, <f64>offset, 8)
    n++
    pos += length
    next = offset + 1
    bytes += length
    if (bytes >= maxBytes) break
  }
  store<u32>(cursor, <u32>pos, CUR_POSITION)
  store<i64>(cursor, next, CUR_NEXT_OFFSET)
  return n
}

/**
 * After a poll's frames were read (or copied out) by the host: true if the segment they lie in
 * still has the epoch the cursor saw, i.e. nobody recycled it meanwhile and every byte read was
 * committed data of that segment (the reading half of the segment seqlock).
 */
export function logPollValid(ctl: usize, cursor: usize): bool {
  // an atomic read-modify-write is a full barrier: the host's reads of the frames are done
  // before the epoch is read again (atomic.fence does not validate in this binaryen); the word
  // is the cursor's own, which no other thread touches
  const seen = aadd32(cursor + CUR_EPOCH, 0)
  const block = load<u32>(cursor, CUR_SEGMENT)
  return block != 0 && aload32(blockAddr(ctl, block) + SEG_EPOCH) == seen
}

/** Offset of the first record with timestamp >= ts (Kafka's offsetsForTimes), or the end offset. */
export function logOffsetForTime(ctl: usize, p: i32, ts: f64): f64 {
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const part = partAddr(ctl, p)
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  let result = <f64>aload64(part + PART_END_OFFSET)
  let block = load<u32>(part, PART_HEAD)
  // segments keep the partition's running max timestamp, so the first one reaching ts holds
  // the answer (later segments are only scanned when timestamps went backwards)
  while (block != 0 && load<f64>(blockAddr(ctl, block), SEG_MAX_TIMESTAMP) < ts) block = load<u32>(blockAddr(ctl, block), SEG_NEXT)
  let first = true
  while (block != 0) {
    const seg = blockAddr(ctl, block)
    const hit = scanTime(seg, first ? indexSeekTime(ctl, seg, ts) : seg + SEG_HEADER, ts)
    if (hit != 0) {
      result = <f64>(load<i64>(seg, SEG_BASE_OFFSET) + <i64>load<u32>(hit, FRAME_DELTA))
      break
    }
    first = false
    block = load<u32>(seg, SEG_NEXT)
  }
  lockRelease(part + PART_LOCK)
  return result
}

/**
 * Age retention: drops every segment whose newest record is older than its partition's
 * maxAgeMs at time `now`, the segment being written included once all of it expired.
 * Returns the number of segments removed.
 */
export function logRetain(ctl: usize, now: f64): i32 {
  const count = <i32>aload32(ctl + CTL_PARTITION_COUNT)
  let removed = 0
  for (let p = 0; p < count; p++) {
    const part = partAddr(ctl, p)
    if ((aload32(part + PART_FLAGS) & PART_IN_USE) == 0) continue
    const maxAge = load<f64>(part, PART_MAX_AGE)
    if (maxAge <= 0) continue
    if (!lockAcquire(part + PART_LOCK)) continue // its next pass retries
    for (;;) {
      const head = load<u32>(part, PART_HEAD)
      if (head == 0 || !(now - load<f64>(blockAddr(ctl, head), SEG_OWN_MAX_TIMESTAMP) > maxAge)) break
      segmentEvictHead(ctl, part)
      removed++
    }
    lockRelease(part + PART_LOCK)
  }
  return removed
}

/**
 * Appends the one frame at `frame` to partition `p` (the frame's partition field is set to p)
 * and commits it: the queue core's append, made while it holds the queue lock. Returns the
 * offset or a status. `small` (0: never): a segment rolled while the partition has at most one
 * gets a frame area of that many bytes (or the frame's length, if more); once the partition
 * holds more than one, segments are full size again.
 */
export function logAppendOne(ctl: usize, p: i32, frame: usize, now: f64, small: u32): f64 {
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const length = load<u32>(frame, FRAME_LENGTH)
  if (!frameValid(frame, length)) return STATUS_BAD_ARGUMENT
  store<i32>(frame, p, FRAME_PARTITION)
  const part = partAddr(ctl, p)
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  const result = appendLocked(ctl, p, part, frame, length, now, small)
  commitPending(ctl, part)
  lockRelease(part + PART_LOCK)
  return result
}

/**
 * Frees the partition's oldest segments while every record of them lies below `offset`; the
 * segment being written stays unless `all` (a deleted queue's partition gives everything back).
 * The log start offset moves as with retention. Returns the number of segments freed.
 */
export function logTrimTo(ctl: usize, p: i32, offset: i64, all: bool): i32 {
  if (!partValid(ctl, p)) return STATUS_UNKNOWN_PARTITION
  const part = partAddr(ctl, p)
  if (!lockAcquire(part + PART_LOCK)) return STATUS_BUSY
  let freed = 0
  for (;;) {
    const head = load<u32>(part, PART_HEAD)
    if (head == 0) break
    if (head == load<u32>(part, PART_TAIL)) {
      if (!all || aload64(part + PART_END_OFFSET) > offset) break
    } else {
      const next = aload32(blockAddr(ctl, head) + SEG_NEXT)
      if (load<i64>(blockAddr(ctl, next), SEG_BASE_OFFSET) > offset) break
    }
    segmentEvictHead(ctl, part)
    freed++
  }
  lockRelease(part + PART_LOCK)
  return freed
}

/**
 * Frees the segments of partition `p` whose records all lie below `offset`, never the segment
 * being written; the log start offset moves as with retention. Returns how many were freed.
 */
export function logTrim(ctl: usize, p: i32, offset: f64): i32 {
  if (!(offset >= 0)) return STATUS_BAD_ARGUMENT
  return logTrimTo(ctl, p, <i64>offset, false)
}
