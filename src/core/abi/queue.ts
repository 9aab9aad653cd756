// The queue region: queues, their consumers and the delivery state of every message, at
// CTL_QUEUES (CTL_QUEUE_BYTES long). Consumers in any thread claim, ack and requeue here.
// A queue is a partition of the log (its messages' frames, appended in offset order) plus a
// delivery state per message kept here, the way Kafka's share groups put queue semantics on a
// log. Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
// The region header:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |           queue lock (0 or the holder's lane token)           |  0
//  +---------------------------------------------------------------+
//  |     queue table: address of a table block (0 = none yet)      |  4
//  +---------------------------------------------------------------+
//  |   consumer table: address of a table block (0 = none yet)     |  8
//  +---------------------------------------------------------------+
//  |  consumer generation: bumped for every consumer made (15 bits)  | 12
//  +---------------------------------------------------------------+
//  |  queue table version: bumped (atomically) whenever a queue is   | 16
//  |  created or deleted, so a thread may cache names and configs    |
//  +---------------------------------------------------------------+
//  |                      reserved to QUEUE_HEADER                 ... 20
//  +---------------------------------------------------------------+
//  |  arena (arena.ts) for everything else, to the region's end    | QUEUE_HEADER
//
// Everything below lives in blocks of the arena. One lock (the queue lock) guards the whole
// region: every queue call takes it for one short critical section (at most one frame copy into
// the queue's partition, and dispatch, which is O(priority levels + entries skipped)).
export const QUEUE_LOCK = 0
export const QUEUE_TABLE = 4
export const QUEUE_CONSUMERS = 8
export const QUEUE_GENERATION = 12
export const QUEUE_VERSION = 16
/**
 * A consumer's id outside the core is its slot in the consumer table plus its generation times
 * 2^CONSUMER_SLOT_BITS: a slot is reused once its consumer is gone, and the generation makes an
 * id of the consumer before (a delivery it received) refer to no one instead of to the new one.
 */
export const CONSUMER_SLOT_BITS = 16
export const CONSUMER_SLOT_MASK = 0xffff
export const CONSUMER_GENERATION_MASK = 0x7fff
export const QUEUE_HEADER = 256

// A table block (the queue table and the consumer table are both one): slot i holds the address
// of the entry with id i, or 0. Ids are slot numbers and are reused once freed.
//
//  +---------------------------------------------------------------+
//  |                capacity (slots; a power of two)               |  0
//  +---------------------------------------------------------------+
//  |                high-water: slots ever used (ids < it)         |  4
//  +---------------------------------------------------------------+
//  |                           reserved                            |  8
//  +---------------------------------------------------------------+
//  |            slot 0, slot 1, ... (u32 entry addresses)          | 16
//
// A full table grows by doubling: a new block is filled, then the header word is switched to it
// in one store, then the old block is freed.
export const TABLE_CAPACITY = 0
export const TABLE_USED = 4
export const TABLE_SLOTS = 16
export const TABLE_INITIAL = 16

// A queue entry (QUEUE_ENTRY_SIZE bytes). A deleted queue keeps its entry (state 0) and its
// partition for the next queue declared, which starts at the partition's end offset.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |                  state (0 deleted, 1 live)                    |  0
//  +---------------------------------------------------------------+
//  |        partition: the log partition holding its frames        |  4
//  +---------------------------------------------------------------+
//  |                  name length (1..QUEUE_MAX_NAME)              |  8
//  +---------------------------------------------------------------+
//  |                  max priority (0 = not a priority queue)      | 12
//  +---------------------------------------------------------------+
//  |  flags: overflow (QF_OVERFLOW), QF_DEAD_LETTER, QF_MAX_LENGTH, QF_DELIVERY_LIMIT | 16
//  +---------------------------------------------------------------+
//  |                 max length (READY messages)                   | 20
//  +---------------------------------------------------------------+
//  |                        delivery limit                         | 24
//  +---------------------------------------------------------------+
//  |     levels: address of the level array (levels x LEVEL_SIZE)  | 28
//  +---------------------------------------------------------------+
//  |  ring (u64): address | capacity << 32, switched in one store  | 32
//  |                                                               |
//  +---------------------------------------------------------------+
//  |            message TTL, f64 ms (-1 = none; config only)       | 40
//  +---------------------------------------------------------------+
//  |        expires (unused-queue TTL), f64 ms (-1 = none)         | 48
//  +---------------------------------------------------------------+
//  |    head (i64): first offset not DONE; below it all is done    | 56
//  +---------------------------------------------------------------+
//  |   tail (i64): next offset; [head, tail) have a ring entry     | 64
//  +---------------------------------------------------------------+
//  |   dead hint (i64): no DEAD entry below it (from head)         | 72
//  +---------------------------------------------------------------+
//  |   delayed hint (i64): no DELAYED entry below it (from head)   | 80
//  +---------------------------------------------------------------+
//  |                 last used, f64 ms (declare/consume/get/cancel) | 88
//  +---------------------------------------------------------------+
//  |            now, f64 ms: the latest clock any call passed       | 96
//  +---------------------------------------------------------------+
//  |     next ready at, f64 ms: earliest readyAt of a DELAYED one   | 104
//  +---------------------------------------------------------------+
//  |  ready | delayed | assigned | unacked | dead (waiting, claimed incl.) | 112..128
//  +---------------------------------------------------------------+
//  |   consumers (round-robin ones; basic.get ones not counted)    | 132
//  +---------------------------------------------------------------+
//  | first consumer (id + 1): the round-robin list, consume order | 136
//  +---------------------------------------------------------------+
//  |        round-robin: the consumer to try next (id + 1)         | 140
//  +---------------------------------------------------------------+
//  |      dead-letter target length (bytes at Q_DEAD_LETTER)        | 144
//  +---------------------------------------------------------------+
//  |                       reserved to 256                         ... 148
//  +---------------------------------------------------------------+
//  |                name bytes (QUEUE_MAX_NAME)                    ... 256
//  +---------------------------------------------------------------+
//  |  dead-letter target (QUEUE_MAX_DEAD_LETTER bytes the host       ... 512
//  |  encodes: exchange and routing key; compared on redeclare)     |
export const Q_STATE = 0
export const Q_PARTITION = 4
export const Q_NAME_LENGTH = 8
export const Q_MAX_PRIORITY = 12
export const Q_FLAGS = 16
export const Q_MAX_LENGTH = 20
export const Q_DELIVERY_LIMIT = 24
export const Q_LEVELS = 28
export const Q_RING = 32
export const Q_TTL = 40
export const Q_EXPIRES = 48
export const Q_HEAD = 56
export const Q_TAIL = 64
export const Q_DEAD_HINT = 72
export const Q_DELAYED_HINT = 80
export const Q_LAST_USED = 88
export const Q_NOW = 96
export const Q_NEXT_READY = 104
export const Q_READY = 112
export const Q_DELAYED = 116
export const Q_ASSIGNED = 120
export const Q_UNACKED = 124
export const Q_DEAD = 128
export const Q_CONSUMERS = 132
export const Q_FIRST = 136
export const Q_RR = 140
export const Q_DEAD_LETTER_LENGTH = 144
export const Q_DEAD_LETTER = 512
export const QUEUE_MAX_DEAD_LETTER = 512
export const Q_NAME = 256
export const QUEUE_ENTRY_SIZE = 1024
export const QUEUE_MAX_NAME = 255
export const QUEUE_MAX_PRIORITY = 255

/** Q_FLAGS & QF_OVERFLOW: 0 drop-head, 1 reject-publish, 2 reject-publish-dlx. */
export const QF_OVERFLOW = 3
export const OVERFLOW_DROP_HEAD = 0
export const OVERFLOW_REJECT = 1
export const OVERFLOW_REJECT_DLX = 2
/** The queue has a dead-letter exchange: dead messages wait for the host (else they are DONE at once). */
export const QF_DEAD_LETTER = 4
/** Q_MAX_LENGTH holds a limit. */
export const QF_MAX_LENGTH = 8
/** Q_DELIVERY_LIMIT holds a limit. */
export const QF_DELIVERY_LIMIT = 16

// A priority level (LEVEL_SIZE bytes, one per level 0..max priority; one for a plain queue).
// Dispatch takes the highest level with READY messages, and within it the lowest offset.
//
//  +---------------------------------------------------------------+
//  |                 READY messages of the level                   |  0
//  +---------------------------------------------------------------+
//  |                           reserved                            |  4
//  +---------------------------------------------------------------+
//  |   hint (i64): no READY message of the level below it          |  8
//  +---------------------------------------------------------------+
// The hint only moves forward while looking for the level's first READY message, and back to a
// message's offset when it becomes READY again (requeue, a delayed one falling due): so the
// level's head is found in O(entries skipped), each skipped once between requeues.
export const LEVEL_COUNT = 0
export const LEVEL_HINT = 8
export const LEVEL_SIZE = 16

// A ring block: the message entries of offsets [head, tail), the entry of offset o at
// (o & (capacity - 1)) * MSG_SIZE. It grows by doubling under the lock when tail - head reaches
// the capacity (Q_RING switches in one 8-byte store), and shrinks again when mostly empty.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------+---------------+---------------+---------------+
//  |     state     |   priority    |     level     | flags | reason|  0
//  +---------------+---------------+---------------+---------------+
//  |                        delivery count                         |  4
//  +---------------------------------------------------------------+
//  |  holder: consumer id (ASSIGNED, UNACKED) or token (DEAD_CLAIMED) |  8
//  +---------------------------------------------------------------+
//  |                           reserved                            | 12
//  +---------------------------------------------------------------+
//  |          expires at, f64 ms (Infinity = never)                | 16
//  +---------------------------------------------------------------+
//  |          ready at, f64 ms (DELAYED until then)                | 24
//  +---------------------------------------------------------------+
// Byte 3: bit 0 redelivered; bits 4..7 the dead reason.
export const MSG_STATE = 0
export const MSG_PRIORITY = 1
export const MSG_LEVEL = 2
export const MSG_FLAGS = 3
export const MSG_COUNT = 4
export const MSG_HOLDER = 8
export const MSG_EXPIRES = 16
export const MSG_READY_AT = 24
export const MSG_SIZE = 32
export const MSG_REDELIVERED = 1
export const RING_INITIAL = 16
/**
 * The frame area of a queue's segment while its consumers keep up (its partition holds one
 * segment when it rolls): many busy queues each writing into a full block would each keep a
 * write position in memory that is cold by the time it is written; small segments, freed and
 * taken again at once, stay warm. A queue that falls behind gets full segments again.
 */
export const QUEUE_SMALL_SEGMENT = 16384

export const MS_READY = 1
/** Not deliverable before its readyAt. */
export const MS_DELAYED = 2
/** In a consumer's mailbox, not received yet. */
export const MS_ASSIGNED = 3
/** Received by a consumer, which must ack or nack it. */
export const MS_UNACKED = 4
/** Waiting for the host to dead-letter it (queueTakeDead). */
export const MS_DEAD = 5
/** The host (the thread whose token is the holder) is dead-lettering it (queueSettle). */
export const MS_DEAD_CLAIMED = 6
/** Finished: acked, dropped, or dead-lettered. */
export const MS_DONE = 7

/** Dead reasons (MSG_FLAGS >> 4). */
export const DEAD_REJECTED = 1
export const DEAD_EXPIRED = 2
export const DEAD_MAXLEN = 3
export const DEAD_DELIVERY_LIMIT = 4

// A consumer entry (CONSUMER_SIZE bytes); its mailbox is a block of MAILBOX_SLOTS i64 offsets.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |                   queue id + 1 (0 = free)                     |  0
//  +---------------------------------------------------------------+
//  |            owner: the lane token of its thread                |  4
//  +---------------------------------------------------------------+
//  | wake word (i32): bumped and notified when the mailbox fills   |  8
//  +---------------------------------------------------------------+
//  |                 prefetch (0 = unlimited)                      | 12
//  +---------------------------------------------------------------+
//  |                 flags (CF_NO_ACK, CF_GET)                     | 16
//  +---------------------------------------------------------------+
//  |             assigned (in the mailbox, not received)           | 20
//  +---------------------------------------------------------------+
//  |                  unacked (received, not settled)              | 24
//  +---------------------------------------------------------------+
//  |            next consumer of the queue (id + 1; 0 = last)      | 28
//  +---------------------------------------------------------------+
//  |                  mailbox: address of its block                | 32
//  +---------------------------------------------------------------+
//  |        mailbox read count (entries taken, mod 2^32)           | 36
//  +---------------------------------------------------------------+
//  |        mailbox write count (entries put, mod 2^32)            | 40
//  +---------------------------------------------------------------+
//  |     generation (QUEUE_GENERATION when it was made; 1..2^15-1)  | 44
//  +---------------------------------------------------------------+
//  |  mailbox settled count: entries before it are done with; a noAck  | 48
//  |  consumer's received batch is settled by its next receive       |
//  +---------------------------------------------------------------+
//  |                       reserved to 64                          ... 52
export const C_QUEUE = 0
export const C_OWNER = 4
export const C_WAKE = 8
export const C_PREFETCH = 12
export const C_FLAGS = 16
export const C_ASSIGNED = 20
export const C_UNACKED = 24
export const C_NEXT = 28
export const C_MAILBOX = 32
export const C_READ = 36
export const C_WRITE = 40
export const C_GENERATION = 44
export const C_SETTLED = 48
export const CONSUMER_SIZE = 64
export const CF_NO_ACK = 1
/** The thread's basic.get pseudo-consumer of the queue: not in the round-robin list, no mailbox. */
export const CF_GET = 2
export const MAILBOX_SLOTS = 256

// Records the core writes to the lane's output buffer.
// queueReceive / queueGet, one per message (DELIVERY_SIZE bytes):
//   0 offset f64 | 8 delivery count u32 | 12 redelivered u8 | 13 priority u8 | 14 reserved
export const DELIVERY_OFFSET = 0
export const DELIVERY_COUNT = 8
export const DELIVERY_REDELIVERED = 12
export const DELIVERY_PRIORITY = 13
export const DELIVERY_SIZE = 16
// queueTakeDead, one per message (DEAD_RECORD_SIZE bytes): 0 offset f64 | 8 reason u32
export const DEAD_RECORD_SIZE = 16
// queueStats: u32 ready, delayed, unacked (assigned + unacked), dead, consumers, messages
export const STATS_READY = 0
export const STATS_DELAYED = 4
export const STATS_UNACKED = 8
export const STATS_DEAD = 12
export const STATS_CONSUMERS = 16
export const STATS_MESSAGES = 20
// queueInfo: u32 partition, max priority, flags, max length, delivery limit, name length;
// f64 ttl at 24, f64 expires at 32; name bytes from 40
export const INFO_PARTITION = 0
export const INFO_MAX_PRIORITY = 4
export const INFO_FLAGS = 8
export const INFO_MAX_LENGTH = 12
export const INFO_DELIVERY_LIMIT = 16
export const INFO_NAME_LENGTH = 20
export const INFO_TTL = 24
export const INFO_EXPIRES = 32
export const INFO_NAME = 40
/** After the name's QUEUE_MAX_NAME bytes: the dead-letter target's length, then its bytes. */
export const INFO_DEAD_LETTER_LENGTH = 296
export const INFO_DEAD_LETTER = 300

// Choices and costs:
//  - Priorities: a level per priority (LEVEL_*), each with its READY count and a hint (no READY
//    message of the level below it). Dispatch walks the levels from the top and takes each
//    level's first READY entry from its hint: O(levels + entries skipped), never O(queue length)
//    per message. A requeued (or newly due) message lowers its level's hint to its offset, so it
//    goes before later messages of its level; a level above maxPriority counts as maxPriority.
//  - Expiry only at the head, as RabbitMQ: the first READY message of each level is checked on
//    every call and by queueTick; one behind an unexpired head waits. A message being published
//    reaches a consumer with room before its expiry is checked (TTL 0 messages are delivered
//    to a waiting consumer, else dropped), like RabbitMQ's deliver-or-enqueue.
//  - Max length counts READY messages. drop-head drops the message that would be delivered
//    next, the head of the highest level with READY messages: rabbit_priority_queue's drop/fetch
//    go through its sub-queues from the highest priority (find2 over the levels in
//    lists:reverse(lists:seq(0, Max))). Drop-head runs after dispatch (a waiting consumer gets a
//    new message first) and after requeues; reject-publish(-dlx) refuse when READY >= max length.
//  - Delivery limit as rabbit_fifo: a message returned after more than deliveryLimit deliveries
//    (delivery count > limit) is dead (delivery_limit); so it is delivered deliveryLimit + 1
//    times at most.
//  - Trimming: when the head passes whole segments of the queue's partition they are freed
//    (logTrimTo), never the segment being written. A message held unacked, or a dead letter not
//    settled, pins every segment from its own on: accepted, as for a Kafka share group.
//  - O(entries between head and tail), the rare paths: cancelling a consumer (its messages are
//    found by scanning), promoting delayed messages (only when one is due), takeDead (from a
//    hint), recovery. basic.get finds its consumer in O(consumers).
//  - One lock for the region. Dispatch notifies a consumer's wake word only when its mailbox was
//    empty: a consumer that has not drained its mailbox since the last wake-up needs none.
//
// Recovery (queueRecover, from logRecover, once the thread with a token is gone):
//  - The delivery state of the message entries is the truth; every counter (ready per level,
//    delayed, assigned, unacked, dead, each consumer's assigned and unacked), every hint and the
//    consumer lists are derived from it and the tables. When the dead thread held the queue
//    lock, all of them are rebuilt: an ASSIGNED entry missing from its consumer's mailbox is
//    READY again; a mailbox entry whose message is no longer ASSIGNED to that consumer is
//    skipped by queueReceive; records appended to a queue's partition past its tail (a publish
//    cut short before it recorded the entry) are DONE: the publisher never got the offset.
//  - Structural changes commit with one store: a table slot (an entry exists once its slot
//    holds it, and is gone once cleared), the ring word, a table header word. Blocks are
//    detached before they are freed, so a death in between leaks a block, never frees one
//    twice; an entry of a deleted queue whose ring word is still set is freed by the repair.
//  - Then every consumer of the dead thread (its basic.get ones too) is cancelled as
//    queueCancel does, and its claimed dead letters are DEAD again for another thread to take.
