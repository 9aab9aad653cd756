// The dedup table of idempotent publish: which messageIds each topic appended within its dedup
// window (TOPIC_DEDUP_WINDOW), and the record each one became. It lives in the core's memory, so
// a repeat is caught whichever thread publishes it.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
// An entry, at CTL_DEDUP + slot * DEDUP_SIZE (CTL_MAX_DEDUP slots, maxDedupEntries):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |         state (0 empty, 1 claimed, 2 ready, 3 deleted)        |  0
//  +---------------------------------------------------------------+
//  |           holder: the claimer's lane token (state 1)          |  4
//  +---------------------------------------------------------------+
//  |                 topic index (topic directory)                 |  8
//  +---------------------------------------------------------------+
//  |        hash of topic and id (murmur2 of the id, mixed)        | 12
//  +---------------------------------------------------------------+
//  |                 id length (1 .. DEDUP_MAX_ID)                 | 16
//  +---------------------------------------------------------------+
//  |          partition of the record (the topic's number)         | 20
//  +---------------------------------------------------------------+
//  |           expires at, f64 ms (clock of the claimer)           | 24
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                   offset of the record, f64                   | 32
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                  timestamp of the record, f64                 | 40
//  |                                                               |
//  +---------------------------------------------------------------+
//  |         messageId bytes, UTF-8 (DEDUP_MAX_ID), to 176         ... 48
//
// Keys are (topic index, id bytes). Open addressing with linear probing from hash % slots: a key
// is in the run of non-empty slots that starts at its home slot, and only one live entry per key
// exists at any time.
//
// States. Empty: never used, or made empty by a trim (below); it ends every probe. Claimed: a
// thread is appending the record (it holds the entry under its lane token); other claimers of
// the same key wait for it. Ready: the record is in the log at partition/offset; the entry is
// live while expiresAt > now (the caller's now) and counts as free after. Deleted: a tombstone,
// free, but a probe goes on past it, so deleting never cuts a run short.
//
// Claiming (dedupClaim) takes the table lock (CTL_DEDUP_LOCK, holding the lane token) and probes
// the whole run: a live ready entry of the key is found (its coordinates are copied for the
// caller, see below); a claimed one of another thread makes the caller let go of the lock and
// spin on that entry until it is ready or gone, then probe again (STATUS_BUSY after
// LOCK_SPIN_LIMIT spins in all); else the first free slot of the run, or the empty slot that
// ends it, is claimed. A slot is free when deleted or ready and expired, so the table refuses a
// claim (STATUS_DEDUP_FULL) only when every slot holds a live entry. Runs shrink again as
// entries expire, instead of growing to the whole table: when a probe ends at an empty slot, the
// free slots just before it are made empty too (no live entry can lie beyond them in any run);
// when a probe went round the table without meeting one, a sweep empties every free slot that
// lies in no live entry's run (between its home slot and itself).
//
// Completing and releasing change only an entry the caller claimed, without the lock: complete
// writes the coordinates, then the state (ready); release sets the state to deleted. Nobody else
// writes a claimed entry, and every probe reads states atomically under the lock.
//
// The coordinates of a ready entry are copied, under the lock, into the claimer's own instance
// (a thread's globals), and dedupPartition/dedupOffset/dedupTimestamp return that copy for the
// slot the thread's last dedupClaim found: once the lock is let go, another thread whose clock
// is past expiresAt may reuse the slot.
//
// Recovery (logRecover, for a thread that died): every entry claimed under its token is deleted
// (the append it was making may be in the log or not: a retry of the messageId appends it again),
// then the table lock is released if it held it. A claim writes the holder, then the state, then
// the key, under the lock; so a claim cut short is either still free (state unchanged) or claimed
// by the dead token, and deleted before any other thread can probe it. Trims and sweeps only
// turn free slots that no run needs empty, one at a time, so one cut short leaves valid runs.
export const DEDUP_STATE = 0
export const DEDUP_HOLDER = 4
export const DEDUP_TOPIC = 8
export const DEDUP_HASH = 12
export const DEDUP_ID_LENGTH = 16
export const DEDUP_PARTITION = 20
export const DEDUP_EXPIRES_AT = 24
export const DEDUP_OFFSET = 32
export const DEDUP_TIMESTAMP = 40
export const DEDUP_ID = 48
/** Longest messageId, in UTF-8 bytes. */
export const DEDUP_MAX_ID = 128
export const DEDUP_SIZE = 176

export const DEDUP_EMPTY = 0
export const DEDUP_CLAIMED = 1
export const DEDUP_READY = 2
export const DEDUP_DELETED = 3

/** Fewest and most entries a core may be sized for (maxDedupEntries). */
export const DEDUP_MIN_ENTRIES = 16
export const DEDUP_MAX_ENTRIES = 1 << 20
