// The layout contract between the AssemblyScript core (assembly/) and the TypeScript host
// (src/core/). This one file is compiled by both asc and tsc, so it holds plain numeric
// constants only: every address, field offset and status code both sides must agree on.

export const MAGIC = 0x52425553 // 'RBUS': written last by the one thread that initialised the core
export const ABI_VERSION = 1

// ---------------------------------------------------------------------------------------------
// Status codes returned by the core instead of trapping (src/core/status.ts maps them to errors).
export const STATUS_OK = 0
/** No room: the partition is at its byte cap with onFull 'reject', or no segment could be freed. */
export const STATUS_FULL = -1
/** The frame does not fit in one segment of its partition. */
export const STATUS_TOO_LARGE = -2
/** A reader's offset is below the partition's log start offset (retention removed it). */
export const STATUS_OUT_OF_RANGE = -3
export const STATUS_UNKNOWN_PARTITION = -4
export const STATUS_BAD_ARGUMENT = -5
/** The partition table is full (raise maxPartitions). */
export const STATUS_LIMIT = -6
/**
 * A lock stayed taken for as long as a spin is allowed (LOCK_SPIN_LIMIT tries): its holder is
 * stalled, or died inside the core and is not recovered yet. Nothing was changed; try again.
 */
export const STATUS_BUSY = -7
/**
 * How many times a thread tries a taken lock before it gives up with STATUS_BUSY: about 50 ms
 * on the development VM, far beyond any critical section or ordinary scheduling delay.
 */
export const LOCK_SPIN_LIMIT = 1 << 24
/** The topic directory is full (raise maxTopics). */
export const STATUS_TOPIC_LIMIT = -8

// ---------------------------------------------------------------------------------------------
// Control block, at the address the host passes as `ctl` to every call.
//
//  0 magic | 4 version | 8 block size | 12 block count | 16 blocks address | 20 partition table
//  address | 24 max partitions | 28 partitions in use | 32 pool lock | 36 free list head (block+1)
//  40 free block count | 44 index interval (bytes) | 48 topic directory address | 52 max topics
//  56 topics declared | 60 directory lock | 64 wake sequence (i32, bumped after commits that
//  other threads may wait for) | 68 threads waiting on it | 72..127 reserved
export const CTL_MAGIC = 0
export const CTL_VERSION = 4
export const CTL_BLOCK_SIZE = 8
export const CTL_BLOCK_COUNT = 12
export const CTL_BLOCKS = 16
export const CTL_PARTITIONS = 20
export const CTL_MAX_PARTITIONS = 24
export const CTL_PARTITION_COUNT = 28
export const CTL_POOL_LOCK = 32
export const CTL_FREE_HEAD = 36
export const CTL_FREE_COUNT = 40
export const CTL_INDEX_INTERVAL = 44
export const CTL_TOPICS = 48
export const CTL_MAX_TOPICS = 52
export const CTL_TOPIC_COUNT = 56
export const CTL_TOPIC_LOCK = 60
export const CTL_WAKE = 64
export const CTL_WAITERS = 68
export const CTL_SIZE = 128

// ---------------------------------------------------------------------------------------------
// Partition entry: CTL_PARTITIONS + id * PART_SIZE.
//
//  0 lock (u32, cmpxchg 0 -> 1)     4 flags (PART_IN_USE | PART_REJECT | PART_KEEP)
//  8 end offset (i64): offset the next record gets; stored atomically on commit
// 16 log start offset (i64): first offset still held; moves up when segments are evicted
// 24 max bytes (u32, 0 = no cap)    28 segment capacity (frame bytes per segment)
// 32 max age ms (f64, 0 = no limit)
// 40 head segment (block+1, oldest) 44 tail segment (block+1, being written; 0 = none)
// 48 bytes held (u32)               52 segment count (u32)
// 56 max timestamp so far (f64)     64 records evicted by retention (f64, a count)
// 72 pending tail, 80 pending end offset (i64): a batch append's writes not yet committed; only
//    ever non-zero while the appending thread holds the lock
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
export const PART_REJECT = 2
/** Other partitions take this one's blocks only as a last resort when the pool is empty (the bus's own bookkeeping). */
export const PART_KEEP = 4

// ---------------------------------------------------------------------------------------------
// Topic directory entry: CTL_TOPICS + index * TOPIC_SIZE. Every thread finds topics here, so a
// topic declared (or auto-created) in one thread is the same topic in all of them.
//
//  0 state (0 free, 1 ready; stored last)   4 name length   8 partition count (stored after
//  the ids it covers)   12 codec (TOPIC_CODEC_*)   16 max bytes   20 flags (PART_REJECT)
//  24 max age ms (f64)   32 version (bumped on every change)   36 record-structures lock (0 or the
//  lane token of the thread saving msgpack structures)   40 name bytes (TOPIC_MAX_NAME)
//  296 partition ids (u32 x TOPIC_MAX_PARTITIONS)
export const TOPIC_STATE = 0
export const TOPIC_NAME_LENGTH = 4
export const TOPIC_PARTITIONS = 8
export const TOPIC_CODEC = 12
export const TOPIC_MAX_BYTES = 16
export const TOPIC_FLAGS = 20
export const TOPIC_MAX_AGE = 24
export const TOPIC_VERSION = 32
export const TOPIC_STRUCTURES_LOCK = 36
export const TOPIC_NAME = 40
export const TOPIC_MAX_NAME = 256
export const TOPIC_IDS = 296
export const TOPIC_MAX_PARTITIONS = 256
export const TOPIC_SIZE = 1320
export const TOPIC_CODEC_MSGPACK = 0
export const TOPIC_CODEC_JSON = 1
export const TOPIC_CODEC_RAW = 2
export const TOPIC_CODEC_REF = 3
export const TOPIC_CODEC_CUSTOM = 4

// ---------------------------------------------------------------------------------------------
// Segment: one fixed-size block of the pool. Frames grow up from SEG_HEADER; the sparse index
// grows down from the block's end.
//
// The epoch is the segment's seqlock. It is odd while the block is free (or being set up) and
// even while it is a live segment: eviction bumps it to odd (after moving the log start past the
// block's records), segmentRoll bumps it to even once every header field is written and before
// the block is linked. A reader that loaded an even epoch E, read frames below the committed
// tail, and then finds the epoch still E, read a segment nobody recycled in between: its bytes
// are intact. Any other outcome means retention overtook the reader (logPollValid).
//
//  0 epoch (u32)                     4 owner partition + 1 (0 = free)
//  8 base offset (i64)              16 next segment of the partition / free list (block+1)
// 20 tail: bytes used from the block start, committed atomically after the frames are written
// 24 record count                   28 index entry count
// 32 first timestamp (f64)          40 running max timestamp of the partition up to here (f64)
// 48 max timestamp of this segment's own records (f64)
// 56 limit: end of the frame area   60 tail when the last index entry was added
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

// Sparse index entry, counted down from the block's end: entry i at block + size - (i + 1) * 16.
//  0 offset delta (u32) | 4 frame position from block start (u32) | 8 running max timestamp (f64)
export const IDX_DELTA = 0
export const IDX_POSITION = 4
export const IDX_MAX_TIMESTAMP = 8
export const IDX_SIZE = 16
/** Default bytes between index entries (Kafka's index.interval.bytes is 4096; smaller = shorter scans). */
export const INDEX_INTERVAL = 1024

// ---------------------------------------------------------------------------------------------
// Record frame, 8-byte aligned. The host writes whole frames into its staging area; the core
// copies them into the segment, replaces the partition id with the offset delta and commits.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |             frame length (header + payload, padded)           |  0
//  +---------------------------------------------------------------+
//  |   offset delta from the segment base (staging: partition id)  |  4
//  +---------------------------------------------------------------+
//  |                      timestamp, f64 ms                        |  8
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                 key hash (Kafka murmur2, 0 = none)            | 16
//  +-------------------------------+-------------------------------+
//  |             flags             |         headers length        | 20
//  +-------------------------------+-------------------------------+
//  |                          key length                           | 24
//  +---------------------------------------------------------------+
//  |                         value length                          | 28
//  +---------------------------------------------------------------+
//  |  headers bytes | key bytes | value bytes | zero pad to 8      ... 32
export const FRAME_LENGTH = 0
export const FRAME_DELTA = 4
export const FRAME_PARTITION = 4
export const FRAME_TIMESTAMP = 8
export const FRAME_KEY_HASH = 16
export const FRAME_FLAGS = 20
export const FRAME_HEADERS_LENGTH = 22
export const FRAME_KEY_LENGTH = 24
export const FRAME_VALUE_LENGTH = 28
export const FRAME_HEADER = 32
export const FRAME_ALIGN = 8
/** Frame flag: the record has a key (an empty key is still a key). */
export const FLAG_KEY = 1
/** Frame flag: the value is null (a tombstone for compaction). */
export const FLAG_NULL_VALUE = 2
/** Frame flag: the key was given as bytes (replayed as a Uint8Array, else as a string). */
export const FLAG_KEY_BINARY = 4
/** Frame flag: the value stays an object in the publishing thread (codec 'ref'); no value bytes. */
export const FLAG_REF_VALUE = 8
export const MAX_HEADERS_LENGTH = 0xffff

// ---------------------------------------------------------------------------------------------
// Reader cursor, at a host-chosen address; the core keeps the cached segment position current.
//  0 partition | 4 segment (block+1, 0 = locate by offset) | 8 frame address | 12 segment epoch
// 16 next offset (i64)
export const CUR_PARTITION = 0
export const CUR_SEGMENT = 4
export const CUR_POSITION = 8
export const CUR_EPOCH = 12
export const CUR_NEXT_OFFSET = 16
export const CUR_SIZE = 32

// Poll output: per record two f64, the frame address and the record's offset.
export const POLL_STRIDE = 2
