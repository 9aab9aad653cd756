// The dedup table of idempotent publish (see src/core/abi/dedup.ts): per topic, the messageIds
// appended within the topic's window and the record each became, shared by every thread. A
// claim probes under the table lock; completing or releasing a claim changes only the caller's
// own entry and takes no lock.
import { CTL_DEDUP, CTL_DEDUP_LOCK, CTL_MAX_DEDUP, CTL_TOPIC_COUNT } from '../../src/core/abi/control'
import {
  DEDUP_CLAIMED, DEDUP_DELETED, DEDUP_EMPTY, DEDUP_EXPIRES_AT, DEDUP_HASH, DEDUP_HOLDER, DEDUP_ID, DEDUP_ID_LENGTH,
  DEDUP_MAX_ID, DEDUP_OFFSET, DEDUP_PARTITION, DEDUP_READY, DEDUP_SIZE, DEDUP_STATE, DEDUP_TIMESTAMP, DEDUP_TOPIC,
} from '../../src/core/abi/dedup'
import {
  LOCK_SPIN_LIMIT, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_DEDUP_FULL, STATUS_DEDUP_PENDING, STATUS_OK,
} from '../../src/core/abi/status'
import { murmur2 } from '../topic/murmur2'
import { bytesEqual } from '../bytes'
import { acas32, aload32, astore32, lockAcquire, lockRelease, syncToken } from '../sync'

// What this thread's last dedupClaim found (globals: each thread has its own instance). Read
// back by slot after the lock is let go, when the entry itself may already be reused.
let foundSlot: i32 = -1
let foundPartition: i32 = 0
let foundOffset: f64 = 0
let foundTimestamp: f64 = 0

// @ts-ignore: decorator
@inline function entryAt(ctl: usize, slot: u32): usize {
  return <usize>load<u32>(ctl, CTL_DEDUP) + <usize>slot * DEDUP_SIZE
}

/** The entry of a slot the table has, or 0 (never an entry). */
function slotEntry(ctl: usize, slot: i32): usize {
  return slot < 0 || <u32>slot >= load<u32>(ctl, CTL_MAX_DEDUP) ? 0 : entryAt(ctl, <u32>slot)
}

/** Deleted, or ready and expired at `now`: a claim may take it, and a trim may empty it. */
function isFree(entry: usize, state: u32, now: f64): bool {
  return state == DEDUP_DELETED || (state == DEDUP_READY && load<f64>(entry, DEDUP_EXPIRES_AT) <= now)
}

function sameKey(entry: usize, topic: u32, hash: u32, id: usize, length: i32): bool {
  return load<u32>(entry, DEDUP_HASH) == hash && load<u32>(entry, DEDUP_TOPIC) == topic && load<u32>(entry, DEDUP_ID_LENGTH) == <u32>length &&
    bytesEqual(entry + DEDUP_ID, id, length)
}

/**
 * Empties the free slots just before `end`, an empty slot (table lock held): no live entry lies
 * past them in any run, since a run reaching one would have to go on through `end`.
 */
function trim(ctl: usize, end: u32, slots: u32, now: f64): void {
  let slot = end
  for (let i: u32 = 1; i < slots; i++) {
    slot = slot == 0 ? slots - 1 : slot - 1
    const entry = entryAt(ctl, slot)
    if (!isFree(entry, aload32(entry + DEDUP_STATE), now)) return
    astore32(entry + DEDUP_STATE, DEDUP_EMPTY)
  }
}

/**
 * After a probe went round the whole table without an empty slot (table lock held): empties
 * every free slot that no run passes through. Walking backwards, `cover` counts the slots still
 * inside the run of a live entry seen after them (an entry `d` slots past its home covers the
 * `d` before it); the first lap only learns what wraps round, the second empties.
 */
function sweep(ctl: usize, slots: u32, now: f64): void {
  let cover: u32 = 0
  for (let lap = 0; lap < 2; lap++) {
    for (let slot = slots; slot-- > 0;) {
      const covered = cover > 0
      if (covered) cover--
      const entry = entryAt(ctl, slot)
      const state = aload32(entry + DEDUP_STATE)
      if (state == DEDUP_EMPTY) continue
      if (isFree(entry, state, now)) {
        if (lap == 1 && !covered) astore32(entry + DEDUP_STATE, DEDUP_EMPTY)
        continue
      }
      const home = load<u32>(entry, DEDUP_HASH) % slots
      const displacement = slot >= home ? slot - home : slot + slots - home
      if (displacement > cover) cover = displacement
    }
  }
}

/**
 * Claims messageId `id` (`length` bytes) of topic `topic` for an append, or finds the record it
 * was appended as. Returns slot * 2 when a live ready entry holds it (read its coordinates with
 * dedupPartition, dedupOffset, dedupTimestamp), slot * 2 + 1 when the caller claimed it (append,
 * then dedupComplete, or dedupRelease if the append failed), or a status: STATUS_BUSY when
 * another thread's claim of it, or the lock, was not let go within the spin limit,
 * STATUS_DEDUP_FULL when every slot is live, STATUS_DEDUP_PENDING when the caller holds the claim.
 */
export function dedupClaim(ctl: usize, topic: i32, id: usize, length: i32, now: f64, expiresAt: f64): i32 {
  foundSlot = -1
  // NaN fails the comparison too
  if (length < 1 || length > DEDUP_MAX_ID || topic < 0 || <u32>topic >= aload32(ctl + CTL_TOPIC_COUNT) || !(expiresAt > now)) return STATUS_BAD_ARGUMENT
  const hash = <u32>murmur2(id, length) ^ (<u32>topic * 0x9e3779b1)
  const slots = load<u32>(ctl, CTL_MAX_DEDUP)
  const home = hash % slots
  const me = syncToken()
  const lock = ctl + CTL_DEDUP_LOCK
  let spins: u32 = 0
  for (;;) {
    if (!lockAcquire(lock)) return STATUS_BUSY
    let free: i32 = -1
    let end: i32 = -1
    let waitFor: usize = 0
    let holder: u32 = 0
    for (let i: u32 = 0; i < slots; i++) {
      const slot = home + i < slots ? home + i : home + i - slots
      const entry = entryAt(ctl, slot)
      const state = aload32(entry + DEDUP_STATE)
      if (state == DEDUP_EMPTY) {
        end = <i32>slot
        break
      }
      if (isFree(entry, state, now)) {
        if (free < 0) free = <i32>slot
        continue
      }
      if (!sameKey(entry, <u32>topic, hash, id, length)) continue
      if (state == DEDUP_READY) {
        foundSlot = <i32>slot
        foundPartition = <i32>load<u32>(entry, DEDUP_PARTITION)
        foundOffset = load<f64>(entry, DEDUP_OFFSET)
        foundTimestamp = load<f64>(entry, DEDUP_TIMESTAMP)
        lockRelease(lock)
        return <i32>slot << 1
      }
      holder = aload32(entry + DEDUP_HOLDER)
      if (holder == me) {
        lockRelease(lock)
        return STATUS_DEDUP_PENDING
      }
      waitFor = entry
      break
    }
    if (waitFor != 0) {
      lockRelease(lock)
      // in the unshared build only this thread runs: nobody can complete the claim while it spins
      if (!ASC_FEATURE_THREADS) return STATUS_BUSY
      while (aload32(waitFor + DEDUP_STATE) == DEDUP_CLAIMED && aload32(waitFor + DEDUP_HOLDER) == holder) {
        if (++spins >= <u32>LOCK_SPIN_LIMIT) return STATUS_BUSY
      }
      continue // completed, released or recovered: probe again
    }
    // runs shrink again as entries expire; either may empty `free` too, still the first slot a probe could use
    if (end >= 0) trim(ctl, <u32>end, slots, now)
    else if (free >= 0) sweep(ctl, slots, now)
    if (free < 0) free = end
    if (free < 0) {
      lockRelease(lock)
      return STATUS_DEDUP_FULL
    }
    const entry = entryAt(ctl, <u32>free)
    // holder, then state, then the key: a claim cut short is free still, or claimed by its token
    astore32(entry + DEDUP_HOLDER, me)
    astore32(entry + DEDUP_STATE, DEDUP_CLAIMED)
    store<u32>(entry, <u32>topic, DEDUP_TOPIC)
    store<u32>(entry, hash, DEDUP_HASH)
    store<u32>(entry, <u32>length, DEDUP_ID_LENGTH)
    memory.copy(entry + DEDUP_ID, id, <usize>length)
    store<f64>(entry, expiresAt, DEDUP_EXPIRES_AT)
    store<u32>(entry, 0, DEDUP_PARTITION)
    store<f64>(entry, 0, DEDUP_OFFSET)
    store<f64>(entry, 0, DEDUP_TIMESTAMP)
    lockRelease(lock)
    return free << 1 | 1
  }
}

/** The partition of the record this thread's last dedupClaim found at `slot`, or a status. */
export function dedupPartition(ctl: usize, slot: i32): i32 {
  return slot >= 0 && slot == foundSlot ? foundPartition : STATUS_BAD_ARGUMENT
}

/** The offset of the record this thread's last dedupClaim found at `slot`, or a status. */
export function dedupOffset(ctl: usize, slot: i32): f64 {
  return slot >= 0 && slot == foundSlot ? foundOffset : STATUS_BAD_ARGUMENT
}

/**
 * The timestamp of the record this thread's last dedupClaim found at `slot`, or STATUS_BAD_ARGUMENT;
 * a timestamp may be any number, so the caller checks the slot with dedupPartition.
 */
export function dedupTimestamp(ctl: usize, slot: i32): f64 {
  return slot >= 0 && slot == foundSlot ? foundTimestamp : STATUS_BAD_ARGUMENT
}

/** The entry at `slot` when the caller holds its claim, else 0. */
function claimedByMe(ctl: usize, slot: i32): usize {
  const entry = slotEntry(ctl, slot)
  if (entry == 0 || aload32(entry + DEDUP_STATE) != DEDUP_CLAIMED || aload32(entry + DEDUP_HOLDER) != syncToken()) return 0
  return entry
}

/** The caller's claim at `slot` was appended as this record: the entry becomes ready. */
export function dedupComplete(ctl: usize, slot: i32, partition: i32, offset: f64, timestamp: f64): i32 {
  const entry = claimedByMe(ctl, slot)
  if (entry == 0 || partition < 0 || !(offset >= 0) || Math.floor(offset) != offset || offset > 9007199254740992 || timestamp != timestamp) return STATUS_BAD_ARGUMENT
  store<u32>(entry, <u32>partition, DEDUP_PARTITION)
  store<f64>(entry, offset, DEDUP_OFFSET)
  store<f64>(entry, timestamp, DEDUP_TIMESTAMP)
  // stored last: a claimer that reads the state ready reads these too
  astore32(entry + DEDUP_STATE, DEDUP_READY)
  return STATUS_OK
}

/** The caller's claim at `slot` was not appended: the entry is deleted, the messageId free again. */
export function dedupRelease(ctl: usize, slot: i32): i32 {
  const entry = claimedByMe(ctl, slot)
  if (entry == 0) return STATUS_BAD_ARGUMENT
  astore32(entry + DEDUP_STATE, DEDUP_DELETED)
  return STATUS_OK
}

/**
 * After the thread with lane token `token` died (caller: logRecover): deletes the entries it
 * had claimed, then releases the table lock if it held it. Returns how many of both it released
 * (a claim is a lock other claimers of its messageId wait on).
 */
export function dedupRecover(ctl: usize, token: u32): i32 {
  let released = 0
  const slots = load<u32>(ctl, CTL_MAX_DEDUP)
  for (let slot: u32 = 0; slot < slots; slot++) {
    const entry = entryAt(ctl, slot)
    // only the holder changes a claimed entry, and it is gone
    if (aload32(entry + DEDUP_STATE) == DEDUP_CLAIMED && aload32(entry + DEDUP_HOLDER) == token &&
      acas32(entry + DEDUP_STATE, DEDUP_CLAIMED, DEDUP_DELETED) == DEDUP_CLAIMED) released++
  }
  // after the entries: a claim it left half-written is deleted before anyone can probe it
  if (aload32(ctl + CTL_DEDUP_LOCK) == token) {
    astore32(ctl + CTL_DEDUP_LOCK, 0)
    released++
  }
  return released
}
