// A segment: one fixed-size block of the pool, at CTL_BLOCKS + (block - 1) * block size. Frames
// grow up from SEG_HEADER; the sparse index grows down from the block's end.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |         epoch (the seqlock: odd = free, even = live)          |  0
//  +---------------------------------------------------------------+
//  |                owner (partition + 1; 0 = free)                |  4
//  +---------------------------------------------------------------+
//  |         base offset (i64): offset of the first record         |  8
//  |                                                               |
//  +---------------------------------------------------------------+
//  |     next segment of the partition / free list (block + 1)     | 16
//  +---------------------------------------------------------------+
//  |       tail: bytes used from the block start (committed)       | 20
//  +---------------------------------------------------------------+
//  |                         record count                          | 24
//  +---------------------------------------------------------------+
//  |                       index entry count                       | 28
//  +---------------------------------------------------------------+
//  |                     first timestamp, f64                      | 32
//  |                                                               |
//  +---------------------------------------------------------------+
//  |    running max timestamp of the partition up to here, f64     | 40
//  |                                                               |
//  +---------------------------------------------------------------+
//  |       max timestamp of this segment's own records, f64        | 48
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                 limit: end of the frame area                  | 56
//  +---------------------------------------------------------------+
//  |           tail when the last index entry was added            | 60
//  +---------------------------------------------------------------+
//  | frames, end to end ... free ... index entries (from the end)  ... 64
//
// The epoch is the segment's seqlock. It is odd while the block is free (or being set up) and
// even while it is a live segment: eviction bumps it to odd (after moving the log start past the
// block's records), segmentRoll bumps it to even once every header field is written and before
// the block is linked. A reader that loaded an even epoch E, read frames below the committed
// tail, and then finds the epoch still E, read a segment nobody recycled in between: its bytes
// are intact. Any other outcome means retention overtook the reader (logPollValid).
//
// Recovery: segments have no lock of their own; they are changed under their partition's lock.
// Only the tail is committed (atomically, after the frames are written), so logRecover recounts
// a segment's records, timestamps and index entries from its frames up to that tail.
export const SEG_EPOCH = 0
export const SEG_OWNER = 4
export const SEG_BASE_OFFSET = 8
export const SEG_NEXT = 16
export const SEG_TAIL = 20
export const SEG_RECORDS = 24
export const SEG_INDEX_COUNT = 28
export const SEG_FIRST_TIMESTAMP = 32
export const SEG_MAX_TIMESTAMP = 40
export const SEG_OWN_MAX_TIMESTAMP = 48
export const SEG_LIMIT = 56
export const SEG_LAST_INDEXED = 60
export const SEG_HEADER = 64

// A sparse index entry, counted down from the block's end: entry i at block + size - (i + 1) * IDX_SIZE.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |              offset delta from the segment base               |  0
//  +---------------------------------------------------------------+
//  |              frame position from the block start              |  4
//  +---------------------------------------------------------------+
//  |                  running max timestamp, f64                   |  8
//  |                                                               |
//  +---------------------------------------------------------------+
export const IDX_DELTA = 0
export const IDX_POSITION = 4
export const IDX_MAX_TIMESTAMP = 8
export const IDX_SIZE = 16
/** Default bytes between index entries (Kafka's index.interval.bytes is 4096; smaller = shorter scans). */
export const INDEX_INTERVAL = 1024
