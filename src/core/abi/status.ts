// Status codes the core returns instead of trapping, and the lock spin limit behind STATUS_BUSY.
// src/core/status.ts turns them into typed errors.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
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
 * of spinning on the development VM, far beyond any critical section or ordinary scheduling
 * delay; a thread that sleeps on the lock (below) gives up after about 0.2 s in which the lock
 * was never released.
 */
export const LOCK_SPIN_LIMIT = 1 << 24
/**
 * Failed tries on a taken lock after which a thread that may block sleeps on it: tens of
 * microseconds, longer than a critical section takes while its holder runs.
 */
export const LOCK_SPINS_BEFORE_SLEEP = 2048
/** The longest one sleep on a lock lasts (ns) when no release wakes it. */
export const LOCK_SLEEP_NS = 200_000
/**
 * Tries a sleep that lasted its whole LOCK_SLEEP_NS counts for: LOCK_SPIN_LIMIT / LOCK_SLEEP_TRIES
 * such sleeps make about 0.2 s. A sleep a release cut short starts the count again.
 */
export const LOCK_SLEEP_TRIES = 1 << 14
/** The topic directory is full (raise maxTopics). */
export const STATUS_TOPIC_LIMIT = -8
/** The group directory is full (raise maxGroups). */
export const STATUS_GROUP_LIMIT = -9
/**
 * A commit named another generation than its commit word holds: the partition was assigned again
 * since (Kafka's ILLEGAL_GENERATION). Nothing was written.
 */
export const STATUS_FENCED = -10
/**
 * The dedup table is full: every slot holds a messageId within its topic's window or one being
 * appended (raise maxDedupEntries). Nothing was claimed.
 */
export const STATUS_DEDUP_FULL = -11
/**
 * dedupClaim of a messageId the calling thread has claimed itself and neither completed nor
 * released (a batch that repeats it): waiting would wait for itself. Nothing was claimed.
 */
export const STATUS_DEDUP_PENDING = -12
/**
 * The routing region's arena has no room for the binding or exchange (raise routeBytes).
 * Nothing was changed.
 */
export const STATUS_ROUTE_FULL = -20
/** An exchange of that name exists with another type (RabbitMQ: PRECONDITION_FAILED, inequivalent arg 'type'). */
export const STATUS_ROUTE_TYPE_MISMATCH = -21
/** An exchange of that name exists with another alternate exchange (inequivalent arg 'alternate-exchange'). */
export const STATUS_ROUTE_ALTERNATE_MISMATCH = -22
/** No exchange has that id (or name). */
export const STATUS_ROUTE_UNKNOWN_EXCHANGE = -23
/** A route reached more destinations than the output buffer holds; none were written usefully. */
export const STATUS_ROUTE_TOO_MANY = -24
/** A header table (message headers or binding args) is not in the canonical encoding. */
export const STATUS_ROUTE_BAD_TABLE = -25
// Queue statuses (assembly/queue/, src/core/queues.ts): -30..-39.
/** No live queue has that id (never declared, or deleted). */
export const STATUS_QUEUE_UNKNOWN = -30
/** A queue of that name exists with another configuration (RabbitMQ PRECONDITION_FAILED). */
export const STATUS_QUEUE_PRECONDITION = -31
/** The queue is at its max length with overflow reject-publish(-dlx): nothing was appended. */
export const STATUS_QUEUE_REFUSED = -32
/** The queue region's arena has no room for the block asked for (raise queueBytes). Nothing changed. */
export const STATUS_QUEUE_NO_ROOM = -33
/** Ack or nack of an offset the consumer does not hold (already settled, never delivered, another's). */
export const STATUS_NOT_UNACKED = -34
/** No consumer has that id, or it belongs to another thread. */
export const STATUS_CONSUMER_UNKNOWN = -35
/** Settle of an offset this thread has not claimed with queueTakeDead. */
export const STATUS_NOT_DEAD = -36
