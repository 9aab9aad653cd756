// A partition entry: the state of one partition's log, at CTL_PARTITIONS + id * PART_SIZE.
// Ids are global across topics; the topic directory says which ids make up a topic.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |              lock (0 or the holder's lane token)              |  0
//  +---------------------------------------------------------------+
//  |         flags (PART_IN_USE | PART_REJECT | PART_KEEP)         |  4
//  +---------------------------------------------------------------+
//  |       end offset (i64): the offset the next record gets       |  8
//  |                                                               |
//  +---------------------------------------------------------------+
//  |      log start offset (i64): the first offset still held      | 16
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                    max bytes (0 = no cap)                     | 24
//  +---------------------------------------------------------------+
//  |          segment capacity (frame bytes per segment)           | 28
//  +---------------------------------------------------------------+
//  |                max age, f64 ms (0 = no limit)                 | 32
//  |                                                               |
//  +---------------------------------------------------------------+
//  |        head segment (block + 1, the oldest; 0 = none)         | 40
//  +---------------------------------------------------------------+
//  |       tail segment (block + 1, being written; 0 = none)       | 44
//  +---------------------------------------------------------------+
//  |                          bytes held                           | 48
//  +---------------------------------------------------------------+
//  |                         segment count                         | 52
//  +---------------------------------------------------------------+
//  |                   max timestamp so far, f64                   | 56
//  |                                                               |
//  +---------------------------------------------------------------+
//  |          records evicted by retention, f64 (a count)          | 64
//  |                                                               |
//  +---------------------------------------------------------------+
//  |       pending tail (uncommitted segment tail; 0 = none)       | 72
//  +---------------------------------------------------------------+
//  |                            unused                             | 76
//  +---------------------------------------------------------------+
//  |                   pending end offset (i64)                    | 80
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                        reserved to 128                        ... 88
//
// The end offset is stored atomically on commit: readers compare against it without the lock.
// The pending tail and end offset hold a batch append's writes that are not committed yet, and
// are only ever non-zero while the appending thread holds the lock.
//
// Recovery: a thread that died holding a partition lock (its lane token) may have left the chain
// or the counters half-changed. logRecover rebuilds the entry from what was committed: it walks
// the chain while the blocks still name this partition as owner, recounts bytes and segments,
// repairs the tail segment up to its committed tail, drops the pending write and releases the
// lock. No committed record is lost; at worst a block half-taken from the pool is.
export const PART_LOCK = 0
export const PART_FLAGS = 4
export const PART_END_OFFSET = 8
export const PART_START_OFFSET = 16
export const PART_MAX_BYTES = 24
export const PART_SEGMENT_CAPACITY = 28
export const PART_MAX_AGE = 32
export const PART_HEAD = 40
export const PART_TAIL = 44
export const PART_BYTES = 48
export const PART_SEGMENTS = 52
export const PART_MAX_TIMESTAMP = 56
export const PART_EVICTED = 64
export const PART_PENDING_TAIL = 72
export const PART_PENDING_END = 80
export const PART_SIZE = 128

export const PART_IN_USE = 1
/** onFull 'reject': refuse appends over the cap instead of evicting. */
export const PART_REJECT = 2
/** Other partitions take this one's blocks only as a last resort when the pool is empty (the bus's own bookkeeping). */
export const PART_KEEP = 4
