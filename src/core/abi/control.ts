// The control block: one per core, at the address the host passes as `ctl` to every call. It
// says where the other structures are and holds their locks and the wake-up words.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |  magic (MAGIC; stored last, by the thread that initialised)   |  0
//  +---------------------------------------------------------------+
//  |                          ABI version                          |  4
//  +---------------------------------------------------------------+
//  |            block size (bytes of one segment block)            |  8
//  +---------------------------------------------------------------+
//  |                          block count                          | 12
//  +---------------------------------------------------------------+
//  |              blocks: address of the segment pool              | 16
//  +---------------------------------------------------------------+
//  |          partitions: address of the partition table           | 20
//  +---------------------------------------------------------------+
//  |                        max partitions                         | 24
//  +---------------------------------------------------------------+
//  |               partitions in use (ids 0 .. n-1)                | 28
//  +---------------------------------------------------------------+
//  |           pool lock (0 or the holder's lane token)            | 32
//  +---------------------------------------------------------------+
//  |             free list head (block + 1, 0 = empty)             | 36
//  +---------------------------------------------------------------+
//  |                       free block count                        | 40
//  +---------------------------------------------------------------+
//  |         index interval (bytes between index entries)          | 44
//  +---------------------------------------------------------------+
//  |            topics: address of the topic directory             | 48
//  +---------------------------------------------------------------+
//  |                          max topics                           | 52
//  +---------------------------------------------------------------+
//  |           topics declared (entries 0 .. n-1 ready)            | 56
//  +---------------------------------------------------------------+
//  |         directory lock (0 or the holder's lane token)         | 60
//  +---------------------------------------------------------------+
//  |           wake sequence (i32, bumped after commits)           | 64
//  +---------------------------------------------------------------+
//  |             threads waiting on the wake sequence              | 68
//  +---------------------------------------------------------------+
//  |             groups: address of the group directory            | 72
//  +---------------------------------------------------------------+
//  |                          max groups                           | 76
//  +---------------------------------------------------------------+
//  |            groups created (entries 0 .. n-1 ready)            | 80
//  +---------------------------------------------------------------+
//  |           group lock (0 or the holder's lane token)           | 84
//  +---------------------------------------------------------------+
//  |           commits: address of the group commit words          | 88
//  +---------------------------------------------------------------+
//  |              dedup: address of the dedup table                | 92
//  +---------------------------------------------------------------+
//  |          max dedup entries (slots of the dedup table)         | 96
//  +---------------------------------------------------------------+
//  |        dedup table lock (0 or the holder's lane token)        | 100
//  +---------------------------------------------------------------+
//  |      route: address of the routing region (assembly/route/)    | 104
//  +---------------------------------------------------------------+
//  |                 bytes of the routing region                   | 108
//  +---------------------------------------------------------------+
//  |      queues: address of the queue region (assembly/queue/)     | 112
//  +---------------------------------------------------------------+
//  |                   bytes of the queue region                   | 116
//  +---------------------------------------------------------------+
//  |     threads sleeping on a lock (lockAcquire, assembly/sync)    | 120
//  +---------------------------------------------------------------+
//  |                        reserved to 128                        ... 124
//
// Recovery: the pool lock guards the free list, whose head is always valid; a thread that died
// holding it can only have left the free count off by one, so logRecover recounts the list. The
// directory lock is recovered with the directory (see directory.ts), the group lock with the
// group directory (see group.ts), the dedup table lock with the table (see dedup.ts); the routing and queue regions keep
// their own locks inside them (see route.ts and queue.ts). The wake
// words are counters no one holds.
export const MAGIC = 0x52425553 // 'RBUS'
export const ABI_VERSION = 5

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
export const CTL_GROUPS = 72
export const CTL_MAX_GROUPS = 76
export const CTL_GROUP_COUNT = 80
export const CTL_GROUP_LOCK = 84
export const CTL_COMMITS = 88
export const CTL_DEDUP = 92
export const CTL_MAX_DEDUP = 96
export const CTL_DEDUP_LOCK = 100
export const CTL_ROUTE = 104
export const CTL_ROUTE_BYTES = 108
export const CTL_QUEUES = 112
export const CTL_QUEUE_BYTES = 116
export const CTL_LOCK_SLEEPERS = 120
export const CTL_SIZE = 128
