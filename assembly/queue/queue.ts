// Queues (layout and recovery: src/core/abi/queue.ts): RabbitMQ queue semantics on a log
// partition. The frames are the partition's records; the delivery state of every message
// (ready, delayed, assigned to a consumer's mailbox, unacked, dead, done) is a ring of entries
// here, indexed by offset. Every call takes the queue lock once, changes the state, dispatches
// what became deliverable to consumers with room (round-robin, highest priority first), and
// frees log segments the head passed. Calls return status codes; nothing traps.
import { CTL_QUEUES } from '../../src/core/abi/control'
import {
  C_ASSIGNED, C_FLAGS, C_MAILBOX, C_SETTLED, C_NEXT, C_OWNER, C_PREFETCH, C_QUEUE, C_READ, C_UNACKED, C_WAKE, C_WRITE, CF_GET, CF_NO_ACK,
  CONSUMER_SIZE, DEAD_DELIVERY_LIMIT, DEAD_EXPIRED, DEAD_MAXLEN, DEAD_RECORD_SIZE, DEAD_REJECTED, DELIVERY_COUNT, DELIVERY_OFFSET,
  DELIVERY_PRIORITY, DELIVERY_REDELIVERED, DELIVERY_SIZE, INFO_DELIVERY_LIMIT, INFO_EXPIRES, INFO_FLAGS, INFO_MAX_LENGTH,
  INFO_MAX_PRIORITY, INFO_NAME, INFO_NAME_LENGTH, INFO_PARTITION, INFO_TTL, LEVEL_COUNT, LEVEL_HINT, LEVEL_SIZE, MAILBOX_SLOTS,
  MS_ASSIGNED, MS_DEAD, MS_DEAD_CLAIMED, MS_DELAYED, MS_DONE, MS_READY, MS_UNACKED, MSG_COUNT, MSG_EXPIRES, MSG_FLAGS,
  MSG_HOLDER, MSG_LEVEL, MSG_PRIORITY, MSG_READY_AT, MSG_REDELIVERED, MSG_SIZE, MSG_STATE, OVERFLOW_DROP_HEAD, OVERFLOW_REJECT_DLX,
  Q_ASSIGNED, Q_CONSUMERS, Q_DEAD, Q_DEAD_HINT, Q_DELAYED, Q_DELAYED_HINT, Q_DELIVERY_LIMIT, Q_EXPIRES, Q_FIRST, Q_FLAGS, Q_HEAD,
  Q_LAST_USED, Q_LEVELS, Q_MAX_LENGTH, Q_MAX_PRIORITY, Q_NAME, Q_NAME_LENGTH, Q_NEXT_READY, Q_NOW, Q_PARTITION, Q_READY,
  Q_RING, Q_RR, Q_STATE, Q_TAIL, Q_TTL, Q_UNACKED, QF_DEAD_LETTER, QF_DELIVERY_LIMIT, QF_MAX_LENGTH, QF_OVERFLOW,
  QUEUE_CONSUMERS, QUEUE_ENTRY_SIZE, QUEUE_VERSION, QUEUE_MAX_DEAD_LETTER, Q_DEAD_LETTER, Q_DEAD_LETTER_LENGTH, INFO_DEAD_LETTER, INFO_DEAD_LETTER_LENGTH, QUEUE_GENERATION, CONSUMER_SLOT_BITS, CONSUMER_SLOT_MASK, CONSUMER_GENERATION_MASK, C_GENERATION, QUEUE_HEADER, QUEUE_LOCK, QUEUE_MAX_NAME, QUEUE_MAX_PRIORITY, QUEUE_SMALL_SEGMENT, QUEUE_TABLE, RING_INITIAL,
  STATS_CONSUMERS, STATS_DEAD, STATS_DELAYED, STATS_MESSAGES, STATS_READY, STATS_UNACKED, TABLE_CAPACITY, TABLE_INITIAL,
  TABLE_SLOTS, TABLE_USED,
} from '../../src/core/abi/queue'
import {
  STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_CONSUMER_UNKNOWN, STATUS_NOT_DEAD, STATUS_NOT_UNACKED, STATUS_QUEUE_NO_ROOM,
  STATUS_QUEUE_PRECONDITION, STATUS_QUEUE_REFUSED, STATUS_QUEUE_UNKNOWN,
} from '../../src/core/abi/status'
import { arenaAlloc, arenaFree } from '../arena'
import { bytesEqual } from '../bytes'
import { logAddPartition, logAppendOne, logTrimTo } from '../log/partition'
import { frameAreaMax, partAddr } from '../log/segment'
import { PART_END_OFFSET } from '../../src/core/abi/partition'
import { aadd32, aload32, aload64, astore32, lockAcquire, lockRelease, syncToken } from '../sync'

/** The end offset of the queue's partition (a partition the queue made, so valid). */
function endOf(ctl: usize, qe: usize): i64 {
  return aload64(partAddr(ctl, load<i32>(qe, Q_PARTITION)) + PART_END_OFFSET)
}

// ---- addresses --------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function regionOf(ctl: usize): usize {
  return <usize>load<u32>(ctl, CTL_QUEUES)
}

// @ts-ignore: decorator
@inline function arenaOf(ctl: usize): usize {
  return regionOf(ctl) + QUEUE_HEADER
}

/** Entry address of slot `id` of the table whose block address is at region + `which`, or 0. */
function tableGet(ctl: usize, which: usize, id: i32): usize {
  const table = <usize>load<u32>(regionOf(ctl) + which)
  if (table == 0 || id < 0 || <u32>id >= load<u32>(table, TABLE_USED)) return 0
  return <usize>load<u32>(table + TABLE_SLOTS + (<usize>id << 2))
}

function tableUsed(ctl: usize, which: usize): i32 {
  const table = <usize>load<u32>(regionOf(ctl) + which)
  return table == 0 ? 0 : <i32>load<u32>(table, TABLE_USED)
}

function tableSet(ctl: usize, which: usize, id: i32, entry: usize): void {
  const table = <usize>load<u32>(regionOf(ctl) + which)
  store<u32>(table + TABLE_SLOTS + (<usize>id << 2), <u32>entry)
}

/** Puts `entry` in the first free slot (growing the table by doubling); its id, or a status. */
function tableAdd(ctl: usize, which: usize, entry: usize): i32 {
  const arena = arenaOf(ctl)
  const header = regionOf(ctl) + which
  let table = <usize>load<u32>(header)
  if (table == 0) {
    table = arenaAlloc(arena, TABLE_SLOTS + (TABLE_INITIAL << 2))
    if (table == 0) return STATUS_QUEUE_NO_ROOM
    store<u32>(table, TABLE_INITIAL, TABLE_CAPACITY)
    store<u32>(header, <u32>table)
  }
  const used = load<u32>(table, TABLE_USED)
  for (let i: u32 = 0; i < used; i++) {
    if (load<u32>(table + TABLE_SLOTS + (<usize>i << 2)) == 0) {
      store<u32>(table + TABLE_SLOTS + (<usize>i << 2), <u32>entry)
      return <i32>i
    }
  }
  const capacity = load<u32>(table, TABLE_CAPACITY)
  if (used == capacity) {
    const grown = arenaAlloc(arena, TABLE_SLOTS + (capacity << 3))
    if (grown == 0) return STATUS_QUEUE_NO_ROOM
    memory.copy(grown, table, <usize>TABLE_SLOTS + (<usize>capacity << 2))
    store<u32>(grown, capacity << 1, TABLE_CAPACITY)
    store<u32>(header, <u32>grown) // the commit: the old block is detached, then freed
    arenaFree(arena, table, TABLE_SLOTS + (capacity << 2))
    table = grown
  }
  store<u32>(table + TABLE_SLOTS + (<usize>used << 2), <u32>entry)
  store<u32>(table, used + 1, TABLE_USED)
  return <i32>used
}

/** The entry of live queue `q`, or 0. */
function queueAt(ctl: usize, q: i32): usize {
  const qe = tableGet(ctl, QUEUE_TABLE, q)
  return qe != 0 && load<u32>(qe, Q_STATE) == 1 ? qe : 0
}

/**
 * The entry of the consumer with public id `id` (slot and generation; see CONSUMER_SLOT_BITS) of
 * a live queue, if the calling thread owns it when `mine`; or 0. Callers go on with its slot.
 */
function consumerAt(ctl: usize, id: i32, mine: bool): usize {
  const ce = tableGet(ctl, QUEUE_CONSUMERS, id & CONSUMER_SLOT_MASK)
  if (ce == 0 || load<u32>(ce, C_QUEUE) == 0 || load<u32>(ce, C_GENERATION) != <u32>id >>> CONSUMER_SLOT_BITS) return 0
  if (mine && load<u32>(ce, C_OWNER) != syncToken()) return 0
  return queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1) != 0 ? ce : 0
}

// @ts-ignore: decorator
@inline function ringAddr(qe: usize): usize {
  return <usize>(load<u64>(qe, Q_RING) & 0xffffffff)
}

// @ts-ignore: decorator
@inline function ringCap(qe: usize): u32 {
  return <u32>(load<u64>(qe, Q_RING) >> 32)
}

/** The entry of offset `o` (head <= o < tail). */
// @ts-ignore: decorator
@inline function msgAt(qe: usize, o: i64): usize {
  return ringAddr(qe) + <usize>((<u32>o & (ringCap(qe) - 1)) * MSG_SIZE)
}

// @ts-ignore: decorator
@inline function levelAt(qe: usize, level: u32): usize {
  return <usize>load<u32>(qe, Q_LEVELS) + <usize>level * LEVEL_SIZE
}

// @ts-ignore: decorator
@inline function levelsOf(qe: usize): u32 {
  return load<u32>(qe, Q_MAX_PRIORITY) + 1
}

// @ts-ignore: decorator
@inline function bump(addr: usize, delta: i32): void {
  store<u32>(addr, load<u32>(addr) + <u32>delta)
}

function lowerHint(at: usize, o: i64): void {
  if (o < load<i64>(at)) store<i64>(at, o)
}

/** Moves the ring to a block of `capacity` entries (a power of two >= tail - head); false without room. */
function ringResize(ctl: usize, qe: usize, capacity: u32): bool {
  const arena = arenaOf(ctl)
  const block = arenaAlloc(arena, capacity * MSG_SIZE)
  if (block == 0) return false
  const oldBlock = ringAddr(qe)
  const oldCap = ringCap(qe)
  const tail = load<i64>(qe, Q_TAIL)
  for (let o = load<i64>(qe, Q_HEAD); o < tail; o++) {
    memory.copy(block + <usize>((<u32>o & (capacity - 1)) * MSG_SIZE), oldBlock + <usize>((<u32>o & (oldCap - 1)) * MSG_SIZE), MSG_SIZE)
  }
  store<u64>(qe, <u64>block | (<u64>capacity << 32), Q_RING) // the commit, one store
  arenaFree(arena, oldBlock, oldCap * MSG_SIZE)
  return true
}

/** Room in the ring for one more entry. */
function ringRoom(ctl: usize, qe: usize): bool {
  const cap = ringCap(qe)
  if (load<i64>(qe, Q_TAIL) - load<i64>(qe, Q_HEAD) < <i64>cap) return true
  return cap < (1 << 26) && ringResize(ctl, qe, cap << 1)
}

// ---- message state transitions (lock held) -------------------------------------------------------

/** Consumers of other threads woken by this thread's calls since it last asked (queueTakeWakes). */
let foreignWakes: u32 = 0

function wake(ce: usize): void {
  aadd32(ce + C_WAKE, 1)
  if (ASC_FEATURE_THREADS) atomic.notify(ce + C_WAKE, -1)
  if (load<u32>(ce, C_OWNER) != syncToken()) foreignWakes++
}

/**
 * How many times this thread's calls since the last queueTakeWakes woke a consumer another thread
 * owns (its empty mailbox got a message, or it was cancelled): that thread may be waiting, and
 * the host wakes it. Starts the count again.
 */
export function queueTakeWakes(): u32 {
  const n = foreignWakes
  foreignWakes = 0
  return n
}

function makeReady(qe: usize, m: usize, o: i64): void {
  const lv = levelAt(qe, load<u8>(m, MSG_LEVEL))
  bump(lv + LEVEL_COUNT, 1)
  lowerHint(lv + LEVEL_HINT, o)
  bump(qe + Q_READY, 1)
  store<u8>(m, MS_READY, MSG_STATE)
}

/** A READY entry leaves READY (its new state is stored by the caller). */
function leaveReady(qe: usize, m: usize): void {
  bump(levelAt(qe, load<u8>(m, MSG_LEVEL)) + LEVEL_COUNT, -1)
  bump(qe + Q_READY, -1)
}

/** Dead for `reason`: waits for the host when the queue dead-letters, else done. */
function kill(qe: usize, m: usize, o: i64, reason: u32): void {
  if ((load<u32>(qe, Q_FLAGS) & QF_DEAD_LETTER) != 0) {
    store<u8>(m, <u8>((load<u8>(m, MSG_FLAGS) & 0x0f) | (reason << 4)), MSG_FLAGS)
    bump(qe + Q_DEAD, 1)
    lowerHint(qe + Q_DEAD_HINT, o)
    store<u8>(m, MS_DEAD, MSG_STATE)
  } else {
    store<u8>(m, MS_DONE, MSG_STATE)
  }
}

/** A delivered message comes back (nack with requeue, its consumer went away): READY at its offset, redelivered, unless over the delivery limit. */
function giveBack(qe: usize, m: usize, o: i64): void {
  const flags = load<u32>(qe, Q_FLAGS)
  if ((flags & QF_DELIVERY_LIMIT) != 0 && load<u32>(m, MSG_COUNT) > load<u32>(qe, Q_DELIVERY_LIMIT)) {
    kill(qe, m, o, DEAD_DELIVERY_LIMIT)
    return
  }
  store<u8>(m, load<u8>(m, MSG_FLAGS) | MSG_REDELIVERED, MSG_FLAGS)
  makeReady(qe, m, o)
}

/** The first READY entry of `level`, or -1 (moves the level's hint up to it). */
function levelHead(qe: usize, level: u32): i64 {
  const lv = levelAt(qe, level)
  if (load<u32>(lv, LEVEL_COUNT) == 0) return -1
  const tail = load<i64>(qe, Q_TAIL)
  let o = max(load<i64>(lv, LEVEL_HINT), load<i64>(qe, Q_HEAD))
  for (; o < tail; o++) {
    const m = msgAt(qe, o)
    if (load<u8>(m, MSG_STATE) == MS_READY && <u32>load<u8>(m, MSG_LEVEL) == level) {
      store<i64>(lv, o, LEVEL_HINT)
      return o
    }
  }
  store<i64>(lv, tail, LEVEL_HINT)
  return -1
}

/** The next message to deliver: the head of the highest level holding a READY one; -1 if none. */
function queueHead(qe: usize): i64 {
  if (load<u32>(qe, Q_READY) == 0) return -1
  for (let level = <i32>levelsOf(qe) - 1; level >= 0; level--) {
    const o = levelHead(qe, <u32>level)
    if (o >= 0) return o
  }
  return -1
}

/** Promotes the DELAYED entries that fell due at the queue's now. O(entries from the delayed hint), only when one is due. */
function promoteDue(qe: usize): void {
  const now = load<f64>(qe, Q_NOW)
  if (load<u32>(qe, Q_DELAYED) == 0 || !(now >= load<f64>(qe, Q_NEXT_READY))) return
  const tail = load<i64>(qe, Q_TAIL)
  let next = Infinity
  let first: i64 = -1
  for (let o = max(load<i64>(qe, Q_DELAYED_HINT), load<i64>(qe, Q_HEAD)); o < tail; o++) {
    const m = msgAt(qe, o)
    if (load<u8>(m, MSG_STATE) != MS_DELAYED) continue
    const readyAt = load<f64>(m, MSG_READY_AT)
    if (readyAt <= now) {
      bump(qe + Q_DELAYED, -1)
      makeReady(qe, m, o)
    } else {
      if (readyAt < next) next = readyAt
      if (first < 0) first = o
    }
  }
  store<i64>(qe, first < 0 ? tail : first, Q_DELAYED_HINT)
  store<f64>(qe, next, Q_NEXT_READY)
}

/** Expires the READY heads of every level (RabbitMQ expires only at the head). */
function expireHeads(qe: usize): void {
  if (load<u32>(qe, Q_READY) == 0) return
  const now = load<f64>(qe, Q_NOW)
  const levels = levelsOf(qe)
  for (let level: u32 = 0; level < levels; level++) {
    for (;;) {
      const o = levelHead(qe, level)
      if (o < 0) break
      const m = msgAt(qe, o)
      if (!(load<f64>(m, MSG_EXPIRES) <= now)) break
      leaveReady(qe, m)
      kill(qe, m, o, DEAD_EXPIRED)
    }
  }
}

function hasRoom(ce: usize): bool {
  const prefetch = load<u32>(ce, C_PREFETCH)
  // entries from the settled count on are still needed (a noAck consumer's last batch); as in
  // RabbitMQ, prefetch does not limit a noAck consumer
  return load<u32>(ce, C_WRITE) - load<u32>(ce, C_SETTLED) < <u32>MAILBOX_SLOTS &&
    (prefetch == 0 || (load<u32>(ce, C_FLAGS) & CF_NO_ACK) != 0 || load<u32>(ce, C_ASSIGNED) + load<u32>(ce, C_UNACKED) < prefetch)
}

/** The next consumer in round-robin order with room (and moves the turn past it); -1 if none. */
function pickConsumer(ctl: usize, qe: usize): i32 {
  const first = load<u32>(qe, Q_FIRST)
  if (first == 0) return -1
  const rr = load<u32>(qe, Q_RR)
  const start = rr != 0 ? rr : first
  let c = start
  do {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, <i32>c - 1)
    const next = load<u32>(ce, C_NEXT)
    if ((load<u32>(ce, C_FLAGS) & CF_GET) == 0 && hasRoom(ce)) {
      store<u32>(qe, next != 0 ? next : first, Q_RR)
      return <i32>c - 1
    }
    c = next != 0 ? next : first
  } while (c != start)
  return -1
}

function assign(ctl: usize, qe: usize, o: i64, c: i32): void {
  const m = msgAt(qe, o)
  const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
  leaveReady(qe, m)
  store<u32>(m, <u32>c, MSG_HOLDER)
  store<u8>(m, MS_ASSIGNED, MSG_STATE)
  bump(qe + Q_ASSIGNED, 1)
  bump(ce + C_ASSIGNED, 1)
  const read = load<u32>(ce, C_READ)
  const write = load<u32>(ce, C_WRITE)
  store<i64>(<usize>load<u32>(ce, C_MAILBOX) + (<usize>(write & (MAILBOX_SLOTS - 1)) << 3), o)
  astore32(ce + C_WRITE, write + 1)
  // a consumer whose mailbox was not empty has not drained it since its last wake-up
  if (read == write) wake(ce)
}

/**
 * Delivers what can be delivered: each READY message, highest level first and in offset order
 * within a level, to the next consumer in round-robin order with room; an expired head is
 * dead instead (except `fresh`, the message being published, which RabbitMQ hands to a waiting
 * consumer before it can expire). Then expires what heads are left and drops heads over max
 * length (drop-head).
 */
function dispatch(ctl: usize, qe: usize, fresh: i64): void {
  promoteDue(qe)
  const now = load<f64>(qe, Q_NOW)
  if (load<u32>(qe, Q_CONSUMERS) > 0 && load<u32>(qe, Q_READY) > 0) {
    let blocked = false
    for (let level = <i32>levelsOf(qe) - 1; level >= 0 && !blocked; level--) {
      for (;;) {
        const o = levelHead(qe, <u32>level)
        if (o < 0) break
        const m = msgAt(qe, o)
        if (o != fresh && load<f64>(m, MSG_EXPIRES) <= now) {
          leaveReady(qe, m)
          kill(qe, m, o, DEAD_EXPIRED)
          continue
        }
        const c = pickConsumer(ctl, qe)
        if (c < 0) {
          blocked = true
          break
        }
        assign(ctl, qe, o, c)
      }
    }
  }
  expireHeads(qe)
  const flags = load<u32>(qe, Q_FLAGS)
  if ((flags & QF_MAX_LENGTH) != 0 && (flags & QF_OVERFLOW) == OVERFLOW_DROP_HEAD) {
    // RabbitMQ drops the message it would deliver next: the head of the highest level
    const maxLength = load<u32>(qe, Q_MAX_LENGTH)
    while (load<u32>(qe, Q_READY) > maxLength) {
      const o = queueHead(qe)
      if (o < 0) break
      const m = msgAt(qe, o)
      leaveReady(qe, m)
      kill(qe, m, o, DEAD_MAXLEN)
    }
  }
}

/** Moves the head past DONE entries, frees the log segments it passed, shrinks a mostly empty ring. */
function finish(ctl: usize, qe: usize): void {
  const head = load<i64>(qe, Q_HEAD)
  const tail = load<i64>(qe, Q_TAIL)
  let o = head
  while (o < tail && load<u8>(msgAt(qe, o), MSG_STATE) == MS_DONE) o++
  if (o == head) return
  store<i64>(qe, o, Q_HEAD)
  logTrimTo(ctl, <i32>load<u32>(qe, Q_PARTITION), o, false)
  const cap = ringCap(qe)
  if (cap > 256 && (tail - o) * 8 <= <i64>cap) ringResize(ctl, qe, cap >> 1)
}

function noteNow(qe: usize, now: f64): void {
  if (now > load<f64>(qe, Q_NOW)) store<f64>(qe, now, Q_NOW)
}

/** Records offsets the partition holds past the queue's tail as DONE (a publish cut short). */
function catchUp(ctl: usize, qe: usize, end: i64): bool {
  for (let tail = load<i64>(qe, Q_TAIL); tail < end; tail++) {
    if (!ringRoom(ctl, qe)) return false
    const m = msgAt(qe, tail)
    memory.fill(m, 0, MSG_SIZE)
    store<u8>(m, MS_DONE, MSG_STATE)
    store<i64>(qe, tail + 1, Q_TAIL)
  }
  return true
}

// @ts-ignore: decorator
@inline function lockOf(ctl: usize): usize {
  return regionOf(ctl) + QUEUE_LOCK
}

/** Ends a call: dispatch, head and trim, lock released; returns `result`. */
function done<T>(ctl: usize, qe: usize, result: T): T {
  if (qe != 0) {
    dispatch(ctl, qe, -1)
    finish(ctl, qe)
  }
  lockRelease(lockOf(ctl))
  return result
}

function unlock<T>(ctl: usize, result: T): T {
  lockRelease(lockOf(ctl))
  return result
}

// ---- queues ----------------------------------------------------------------------------------

function sameConfig(qe: usize, maxPriority: u32, flags: u32, maxLength: u32, deliveryLimit: u32, ttl: f64, expires: f64, dl: usize, dlLength: i32): bool {
  return load<u32>(qe, Q_DEAD_LETTER_LENGTH) == <u32>dlLength && bytesEqual(qe + Q_DEAD_LETTER, dl, dlLength) && load<u32>(qe, Q_MAX_PRIORITY) == maxPriority && load<u32>(qe, Q_FLAGS) == flags &&
    ((flags & QF_MAX_LENGTH) == 0 || load<u32>(qe, Q_MAX_LENGTH) == maxLength) &&
    ((flags & QF_DELIVERY_LIMIT) == 0 || load<u32>(qe, Q_DELIVERY_LIMIT) == deliveryLimit) &&
    load<f64>(qe, Q_TTL) == ttl && load<f64>(qe, Q_EXPIRES) == expires
}

function findName(ctl: usize, name: usize, length: i32): i32 {
  const used = tableUsed(ctl, QUEUE_TABLE)
  for (let q = 0; q < used; q++) {
    const qe = tableGet(ctl, QUEUE_TABLE, q)
    if (qe != 0 && load<u32>(qe, Q_STATE) == 1 && load<u32>(qe, Q_NAME_LENGTH) == <u32>length && bytesEqual(qe + Q_NAME, name, length)) return q
  }
  return -1
}

/**
 * Declares queue `name` (`length` bytes) with its configuration: flags (QF_*), max length and
 * delivery limit (when their flag is set), message TTL and expires (ms; -1 = none; kept to
 * compare), and the dead-letter target (`dlLength` bytes at `dl`, compared as bytes). Returns id * 2 + 1 when this call created it (with its partition), id * 2 when a
 * queue of that name and configuration existed, or a status: STATUS_QUEUE_PRECONDITION when it
 * exists with another configuration, STATUS_QUEUE_NO_ROOM, STATUS_LIMIT (partition table full).
 */
export function queueDeclare(ctl: usize, name: usize, length: i32, maxPriority: i32, flags: i32, maxLength: u32,
  deliveryLimit: u32, ttl: f64, expires: f64, dl: usize, dlLength: i32, now: f64): i32 {
  if (length < 1 || length > QUEUE_MAX_NAME || dlLength < 0 || dlLength > QUEUE_MAX_DEAD_LETTER || maxPriority < 0 || maxPriority > QUEUE_MAX_PRIORITY || (flags & ~31) != 0 ||
    (flags & QF_OVERFLOW) > OVERFLOW_REJECT_DLX || !(ttl >= 0 || ttl == -1) || !(expires > 0 || expires == -1) || !isFinite(ttl) ||
    !isFinite(expires) || !isFinite(now)) return STATUS_BAD_ARGUMENT
  if ((flags & QF_MAX_LENGTH) == 0) maxLength = 0
  if ((flags & QF_DELIVERY_LIMIT) == 0) deliveryLimit = 0
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const found = findName(ctl, name, length)
  if (found >= 0) {
    const qe = tableGet(ctl, QUEUE_TABLE, found)
    if (!sameConfig(qe, <u32>maxPriority, <u32>flags, maxLength, deliveryLimit, ttl, expires, dl, dlLength)) return unlock(ctl, STATUS_QUEUE_PRECONDITION)
    noteNow(qe, now)
    store<f64>(qe, now, Q_LAST_USED)
    return unlock(ctl, found << 1)
  }
  const arena = arenaOf(ctl)
  // a deleted queue's entry and partition first
  let q: i32 = -1
  const used = tableUsed(ctl, QUEUE_TABLE)
  for (let i = 0; i < used; i++) {
    const qe = tableGet(ctl, QUEUE_TABLE, i)
    if (qe != 0 && load<u32>(qe, Q_STATE) == 0) {
      q = i
      break
    }
  }
  if (q < 0) {
    const qe = arenaAlloc(arena, QUEUE_ENTRY_SIZE)
    if (qe == 0) return unlock(ctl, STATUS_QUEUE_NO_ROOM)
    store<i32>(qe, -1, Q_PARTITION)
    q = tableAdd(ctl, QUEUE_TABLE, qe)
    if (q < 0) {
      arenaFree(arena, qe, QUEUE_ENTRY_SIZE)
      return unlock(ctl, q)
    }
  }
  const qe = tableGet(ctl, QUEUE_TABLE, q)
  if (load<i32>(qe, Q_PARTITION) < 0) {
    // reject mode: it never evicts its own records and no other partition takes its blocks;
    // no byte cap but the pool; segments as large as a block allows
    const p = logAddPartition(ctl, 0, frameAreaMax(ctl), 0, true)
    if (p < 0) return unlock(ctl, p)
    store<i32>(qe, p, Q_PARTITION)
  }
  const levels = <u32>maxPriority + 1
  const levelBlock = arenaAlloc(arena, levels * LEVEL_SIZE)
  const ring = arenaAlloc(arena, RING_INITIAL * MSG_SIZE)
  if (levelBlock == 0 || ring == 0) {
    arenaFree(arena, levelBlock, levels * LEVEL_SIZE)
    arenaFree(arena, ring, RING_INITIAL * MSG_SIZE)
    return unlock(ctl, STATUS_QUEUE_NO_ROOM)
  }
  const start = endOf(ctl, qe)
  for (let l: u32 = 0; l < levels; l++) store<i64>(levelBlock + <usize>l * LEVEL_SIZE, start, LEVEL_HINT)
  store<u32>(qe, <u32>length, Q_NAME_LENGTH)
  memory.copy(qe + Q_NAME, name, <usize>length)
  store<u32>(qe, <u32>dlLength, Q_DEAD_LETTER_LENGTH)
  memory.copy(qe + Q_DEAD_LETTER, dl, <usize>dlLength)
  store<u32>(qe, <u32>maxPriority, Q_MAX_PRIORITY)
  store<u32>(qe, <u32>flags, Q_FLAGS)
  store<u32>(qe, maxLength, Q_MAX_LENGTH)
  store<u32>(qe, deliveryLimit, Q_DELIVERY_LIMIT)
  store<u32>(qe, <u32>levelBlock, Q_LEVELS)
  store<u64>(qe, <u64>ring | (<u64>RING_INITIAL << 32), Q_RING)
  store<f64>(qe, ttl, Q_TTL)
  store<f64>(qe, expires, Q_EXPIRES)
  store<i64>(qe, start, Q_HEAD)
  store<i64>(qe, start, Q_TAIL)
  store<i64>(qe, start, Q_DEAD_HINT)
  store<i64>(qe, start, Q_DELAYED_HINT)
  store<f64>(qe, now, Q_LAST_USED)
  store<f64>(qe, now, Q_NOW)
  store<f64>(qe, Infinity, Q_NEXT_READY)
  memory.fill(qe + Q_READY, 0, Q_RR + 4 - Q_READY)
  store<u32>(qe, 1, Q_STATE) // the commit
  aadd32(regionOf(ctl) + QUEUE_VERSION, 1)
  return unlock(ctl, (q << 1) | 1)
}

/** The id of the live queue named by the `length` bytes at `name`, or -1. */
export function queueFind(ctl: usize, name: usize, length: i32): i32 {
  if (length < 1 || length > QUEUE_MAX_NAME) return -1
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  return unlock(ctl, findName(ctl, name, length))
}

/** Slots of the queue table (ids below it may be live queues). */
export function queueCount(ctl: usize): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  return unlock(ctl, tableUsed(ctl, QUEUE_TABLE))
}

/** Writes the queue's configuration and name to `out` (INFO_*); returns the name length or a status. */
export function queueInfo(ctl: usize, q: i32, out: usize): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  const length = load<u32>(qe, Q_NAME_LENGTH)
  store<u32>(out, load<u32>(qe, Q_PARTITION), INFO_PARTITION)
  store<u32>(out, load<u32>(qe, Q_MAX_PRIORITY), INFO_MAX_PRIORITY)
  store<u32>(out, load<u32>(qe, Q_FLAGS), INFO_FLAGS)
  store<u32>(out, load<u32>(qe, Q_MAX_LENGTH), INFO_MAX_LENGTH)
  store<u32>(out, load<u32>(qe, Q_DELIVERY_LIMIT), INFO_DELIVERY_LIMIT)
  store<u32>(out, length, INFO_NAME_LENGTH)
  store<f64>(out, load<f64>(qe, Q_TTL), INFO_TTL)
  store<f64>(out, load<f64>(qe, Q_EXPIRES), INFO_EXPIRES)
  memory.copy(out + INFO_NAME, qe + Q_NAME, length)
  const dlLength = load<u32>(qe, Q_DEAD_LETTER_LENGTH)
  store<u32>(out, dlLength, INFO_DEAD_LETTER_LENGTH)
  memory.copy(out + INFO_DEAD_LETTER, qe + Q_DEAD_LETTER, dlLength)
  return unlock(ctl, <i32>length)
}

/** Writes the queue's counts to `out` (STATS_*); 0 or a status. */
export function queueStats(ctl: usize, q: i32, out: usize): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  const ready = load<u32>(qe, Q_READY)
  const delayed = load<u32>(qe, Q_DELAYED)
  const unacked = load<u32>(qe, Q_ASSIGNED) + load<u32>(qe, Q_UNACKED)
  const dead = load<u32>(qe, Q_DEAD)
  store<u32>(out, ready, STATS_READY)
  store<u32>(out, delayed, STATS_DELAYED)
  store<u32>(out, unacked, STATS_UNACKED)
  store<u32>(out, dead, STATS_DEAD)
  store<u32>(out, load<u32>(qe, Q_CONSUMERS), STATS_CONSUMERS)
  store<u32>(out, ready + delayed + unacked + dead, STATS_MESSAGES)
  return unlock(ctl, 0)
}

/** Frees consumer `c` (lock held): wakes its waiter, unlinks it, clears its slot, frees its blocks. */
function freeConsumer(ctl: usize, qe: usize, c: i32, ce: usize): void {
  wake(ce)
  if (qe != 0 && (load<u32>(ce, C_FLAGS) & CF_GET) == 0) {
    const me = <u32>c + 1
    const next = load<u32>(ce, C_NEXT)
    if (load<u32>(qe, Q_FIRST) == me) {
      store<u32>(qe, next, Q_FIRST)
    } else {
      for (let at = load<u32>(qe, Q_FIRST); at != 0;) {
        const e = tableGet(ctl, QUEUE_CONSUMERS, <i32>at - 1)
        if (load<u32>(e, C_NEXT) == me) {
          store<u32>(e, next, C_NEXT)
          break
        }
        at = load<u32>(e, C_NEXT)
      }
    }
    if (load<u32>(qe, Q_RR) == me) store<u32>(qe, next, Q_RR)
    bump(qe + Q_CONSUMERS, -1)
  }
  tableSet(ctl, QUEUE_CONSUMERS, c, 0) // the commit
  const arena = arenaOf(ctl)
  const mailbox = <usize>load<u32>(ce, C_MAILBOX)
  if (mailbox != 0) arenaFree(arena, mailbox, MAILBOX_SLOTS << 3)
  arenaFree(arena, ce, CONSUMER_SIZE)
}

/** Deletes queue `q` (lock held): its consumers, ring and levels go; its partition is emptied and kept for reuse. */
function deleteLocked(ctl: usize, q: i32, qe: usize): void {
  store<u32>(qe, 0, Q_STATE) // the commit
  aadd32(regionOf(ctl) + QUEUE_VERSION, 1)
  const used = tableUsed(ctl, QUEUE_CONSUMERS)
  for (let c = 0; c < used; c++) {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
    if (ce != 0 && load<u32>(ce, C_QUEUE) == <u32>q + 1) freeConsumer(ctl, 0, c, ce)
  }
  releaseBlocks(ctl, qe)
  logTrimTo(ctl, load<i32>(qe, Q_PARTITION), endOf(ctl, qe), true)
  store<u32>(qe, 0, Q_FIRST)
  store<u32>(qe, 0, Q_RR)
}

/** Detaches, then frees, a deleted queue's ring and levels. */
function releaseBlocks(ctl: usize, qe: usize): void {
  const arena = arenaOf(ctl)
  const ring = ringAddr(qe)
  const cap = ringCap(qe)
  store<u64>(qe, 0, Q_RING)
  if (ring != 0) arenaFree(arena, ring, cap * MSG_SIZE)
  const levels = <usize>load<u32>(qe, Q_LEVELS)
  store<u32>(qe, 0, Q_LEVELS)
  if (levels != 0) arenaFree(arena, levels, levelsOf(qe) * LEVEL_SIZE)
}

/** Deletes the queue with its messages and consumers (their waiters are woken); 0 or a status. */
export function queueDelete(ctl: usize, q: i32): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  deleteLocked(ctl, q, qe)
  return unlock(ctl, 0)
}

/**
 * Deletes the queue if it has an expires setting and was unused (no consumers; no declare,
 * consume, get or cancel) for that long at `now`: 1 when deleted, 0 when not, or a status.
 */
export function queueExpireUnused(ctl: usize, q: i32, now: f64): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  const expires = load<f64>(qe, Q_EXPIRES)
  if (expires < 0 || load<u32>(qe, Q_CONSUMERS) != 0 || !(now - load<f64>(qe, Q_LAST_USED) >= expires)) return unlock(ctl, 0)
  deleteLocked(ctl, q, qe)
  return unlock(ctl, 1)
}

// ---- publishing and time ---------------------------------------------------------------------

/**
 * Appends the frame at `frame` (staging format; its partition field is overwritten) to queue
 * `q` and enqueues it with `priority` (0..255; above the queue's max counts as max), expiring
 * at `expiresAt` (Infinity = never) and deliverable from `readyAt` (DELAYED until then), then
 * dispatches. Returns its offset, or a status: STATUS_QUEUE_REFUSED (max length reached with
 * reject-publish(-dlx); nothing appended), STATUS_FULL, STATUS_TOO_LARGE, STATUS_QUEUE_UNKNOWN,
 * STATUS_QUEUE_NO_ROOM, STATUS_BUSY, STATUS_BAD_ARGUMENT.
 */
export function queuePublish(ctl: usize, q: i32, frame: usize, priority: i32, expiresAt: f64, readyAt: f64, now: f64): f64 {
  if (priority < 0 || priority > 255 || isNaN(expiresAt) || isNaN(readyAt) || !isFinite(now)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, <f64>STATUS_QUEUE_UNKNOWN)
  noteNow(qe, now)
  promoteDue(qe)
  expireHeads(qe)
  const flags = load<u32>(qe, Q_FLAGS)
  const delayed = readyAt > now
  if (!delayed && (flags & QF_MAX_LENGTH) != 0 && (flags & QF_OVERFLOW) != OVERFLOW_DROP_HEAD &&
    load<u32>(qe, Q_READY) >= load<u32>(qe, Q_MAX_LENGTH)) return unlock(ctl, <f64>STATUS_QUEUE_REFUSED)
  if (!ringRoom(ctl, qe)) return unlock(ctl, <f64>STATUS_QUEUE_NO_ROOM)
  const offset = logAppendOne(ctl, load<i32>(qe, Q_PARTITION), frame, now, QUEUE_SMALL_SEGMENT)
  if (offset < 0) return unlock(ctl, offset)
  const o = <i64>offset
  // the partition is the queue's alone, so the offset is its tail; if anything else appended
  // to it, those records are skipped
  if (o != load<i64>(qe, Q_TAIL) && (!catchUp(ctl, qe, o) || !ringRoom(ctl, qe))) return unlock(ctl, <f64>STATUS_QUEUE_NO_ROOM)
  const m = msgAt(qe, o)
  const maxPriority = load<u32>(qe, Q_MAX_PRIORITY)
  store<u8>(m, <u8>priority, MSG_PRIORITY)
  store<u8>(m, <u8>min(<u32>priority, maxPriority), MSG_LEVEL)
  store<u8>(m, 0, MSG_FLAGS)
  store<u32>(m, 0, MSG_COUNT)
  store<u32>(m, 0, MSG_HOLDER)
  store<f64>(m, expiresAt, MSG_EXPIRES)
  store<f64>(m, readyAt, MSG_READY_AT)
  if (delayed) {
    bump(qe + Q_DELAYED, 1)
    lowerHint(qe + Q_DELAYED_HINT, o)
    if (readyAt < load<f64>(qe, Q_NEXT_READY)) store<f64>(qe, readyAt, Q_NEXT_READY)
    store<u8>(m, MS_DELAYED, MSG_STATE)
  } else {
    makeReady(qe, m, o)
  }
  store<i64>(qe, o + 1, Q_TAIL) // the commit
  dispatch(ctl, qe, o)
  finish(ctl, qe)
  return unlock(ctl, offset)
}

/**
 * Expires heads, promotes delayed messages that fell due and dispatches at `now`. Returns the
 * next time anything falls due (the earliest head expiry or delayed readyAt), Infinity if
 * nothing will, or a status.
 */
export function queueTick(ctl: usize, q: i32, now: f64): f64 {
  if (!isFinite(now)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, <f64>STATUS_QUEUE_UNKNOWN)
  noteNow(qe, now)
  dispatch(ctl, qe, -1)
  finish(ctl, qe)
  let next = load<u32>(qe, Q_DELAYED) > 0 ? load<f64>(qe, Q_NEXT_READY) : Infinity
  if (load<u32>(qe, Q_READY) > 0) {
    const levels = levelsOf(qe)
    for (let level: u32 = 0; level < levels; level++) {
      const o = levelHead(qe, level)
      if (o >= 0) next = min(next, load<f64>(msgAt(qe, o), MSG_EXPIRES))
    }
  }
  return unlock(ctl, next)
}

// ---- consumers -------------------------------------------------------------------------------

/** The id the host knows consumer slot `c` by: the slot and its consumer's generation. */
function publicId(ctl: usize, c: i32): i32 {
  return c | <i32>(load<u32>(tableGet(ctl, QUEUE_CONSUMERS, c), C_GENERATION) << CONSUMER_SLOT_BITS)
}

/** A new consumer's slot, or a status. */
function newConsumer(ctl: usize, q: i32, qe: usize, prefetch: u32, flags: u32): i32 {
  const arena = arenaOf(ctl)
  const ce = arenaAlloc(arena, CONSUMER_SIZE)
  if (ce == 0) return STATUS_QUEUE_NO_ROOM
  let mailbox: usize = 0
  if ((flags & CF_GET) == 0) {
    mailbox = arenaAlloc(arena, MAILBOX_SLOTS << 3)
    if (mailbox == 0) {
      arenaFree(arena, ce, CONSUMER_SIZE)
      return STATUS_QUEUE_NO_ROOM
    }
  }
  store<u32>(ce, <u32>q + 1, C_QUEUE)
  store<u32>(ce, syncToken(), C_OWNER)
  store<u32>(ce, prefetch, C_PREFETCH)
  store<u32>(ce, flags, C_FLAGS)
  store<u32>(ce, <u32>mailbox, C_MAILBOX)
  const generation = (load<u32>(regionOf(ctl), QUEUE_GENERATION) & CONSUMER_GENERATION_MASK) + 1
  store<u32>(regionOf(ctl), generation & CONSUMER_GENERATION_MASK, QUEUE_GENERATION)
  store<u32>(ce, generation, C_GENERATION)
  let c = tableAdd(ctl, QUEUE_CONSUMERS, ce)
  if (c > CONSUMER_SLOT_MASK) {
    tableSet(ctl, QUEUE_CONSUMERS, c, 0)
    c = STATUS_QUEUE_NO_ROOM
  }
  if (c < 0) {
    if (mailbox != 0) arenaFree(arena, mailbox, MAILBOX_SLOTS << 3)
    arenaFree(arena, ce, CONSUMER_SIZE)
    return c
  }
  // a get consumer is not in the list: the round-robin turn never rests on it
  if ((flags & CF_GET) == 0) {
    link(ctl, qe, c)
    bump(qe + Q_CONSUMERS, 1)
  }
  return c
}

/** Appends consumer `c` to its queue's list (consume order is round-robin order). */
function link(ctl: usize, qe: usize, c: i32): void {
  const me = <u32>c + 1
  let at = load<u32>(qe, Q_FIRST)
  if (at == 0) {
    store<u32>(qe, me, Q_FIRST)
    return
  }
  for (;;) {
    const e = tableGet(ctl, QUEUE_CONSUMERS, <i32>at - 1)
    const next = load<u32>(e, C_NEXT)
    if (next == 0) {
      store<u32>(e, me, C_NEXT)
      return
    }
    at = next
  }
}

/**
 * Adds a consumer of queue `q` owned by the calling thread: `prefetch` unacked + assigned
 * messages at most (0 = unlimited); with `noAck` messages are done once received. Returns its
 * id (wait on its wake word, queueWake) or a status.
 */
export function queueConsume(ctl: usize, q: i32, prefetch: i32, noAck: i32, now: f64): i32 {
  if (prefetch < 0 || !isFinite(now)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  noteNow(qe, now)
  const c = newConsumer(ctl, q, qe, <u32>prefetch, noAck != 0 ? CF_NO_ACK : 0)
  if (c < 0) return unlock(ctl, c)
  store<f64>(qe, now, Q_LAST_USED)
  return done(ctl, qe, publicId(ctl, c))
}

/** Address of consumer `c`'s wake word (an i32 to Atomics.waitAsync on), or a status. */
export function queueWake(ctl: usize, c: i32): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const ce = consumerAt(ctl, c, false)
  if (ce == 0) return unlock(ctl, STATUS_CONSUMER_UNKNOWN)
  return unlock(ctl, <i32>(ce + C_WAKE))
}

function writeDelivery(out: usize, o: i64, m: usize): void {
  store<f64>(out, <f64>o, DELIVERY_OFFSET)
  store<u32>(out, load<u32>(m, MSG_COUNT), DELIVERY_COUNT)
  store<u8>(out, load<u8>(m, MSG_FLAGS) & MSG_REDELIVERED, DELIVERY_REDELIVERED)
  store<u8>(out, load<u8>(m, MSG_PRIORITY), DELIVERY_PRIORITY)
}

/**
 * Takes up to `max` messages from the calling thread's consumer `c`'s mailbox: UNACKED, delivery
 * count + 1, a DELIVERY_SIZE record each at `out`. Returns the count or a status.
 *
 * A noAck consumer's messages are done, but only from its next receive (or its cancel) on: until
 * then they stay UNACKED, so that the head cannot pass them and trimming cannot free the segment
 * the host is still reading them from. The host loops on receive until it returns 0, which
 * settles the last batch.
 */
export function queueReceive(ctl: usize, c: i32, out: usize, max: i32): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const ce = consumerAt(ctl, c, true)
  if (ce == 0 || (load<u32>(ce, C_FLAGS) & CF_GET) != 0) return unlock(ctl, STATUS_CONSUMER_UNKNOWN)
  c &= CONSUMER_SLOT_MASK
  const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
  const noAck = (load<u32>(ce, C_FLAGS) & CF_NO_ACK) != 0
  const mailbox = <usize>load<u32>(ce, C_MAILBOX)
  const head = load<i64>(qe, Q_HEAD)
  const tail = load<i64>(qe, Q_TAIL)
  let n = 0
  let read = load<u32>(ce, C_READ)
  if (noAck && load<u32>(ce, C_SETTLED) != read) {
    for (let at = load<u32>(ce, C_SETTLED); at != read; at++) {
      const o = load<i64>(mailbox + (<usize>(at & (MAILBOX_SLOTS - 1)) << 3))
      if (o < head || o >= tail) continue
      const m = msgAt(qe, o)
      if (load<u8>(m, MSG_STATE) != MS_UNACKED || load<u32>(m, MSG_HOLDER) != <u32>c) continue
      store<u8>(m, MS_DONE, MSG_STATE)
      bump(ce + C_UNACKED, -1)
      bump(qe + Q_UNACKED, -1)
    }
    store<u32>(ce, read, C_SETTLED)
    // the mailbox room just freed may take more now, read in this same call
    dispatch(ctl, qe, -1)
  }
  const before = read
  const write = load<u32>(ce, C_WRITE)
  while (n < max && read != write) {
    const o = load<i64>(mailbox + (<usize>(read & (MAILBOX_SLOTS - 1)) << 3))
    read++
    store<u32>(ce, read, C_READ)
    if (o < head || o >= tail) continue
    const m = msgAt(qe, o)
    // after a recovery a mailbox may name a message that was given back meanwhile
    if (load<u8>(m, MSG_STATE) != MS_ASSIGNED || load<u32>(m, MSG_HOLDER) != <u32>c) continue
    store<u32>(m, load<u32>(m, MSG_COUNT) + 1, MSG_COUNT)
    bump(ce + C_ASSIGNED, -1)
    bump(qe + Q_ASSIGNED, -1)
    store<u8>(m, MS_UNACKED, MSG_STATE)
    bump(ce + C_UNACKED, 1)
    bump(qe + Q_UNACKED, 1)
    writeDelivery(out + <usize>n * DELIVERY_SIZE, o, m)
    n++
  }
  // acked consumers' entries are settled once read; a noAck consumer's at its next receive
  store<u32>(ce, noAck ? before : read, C_SETTLED)
  return done(ctl, qe, n)
}

/** The calling thread's get consumer of queue `q`, or -1. O(consumers of all queues): basic.get is the slow path. */
function getConsumer(ctl: usize, q: i32): i32 {
  const token = syncToken()
  const used = tableUsed(ctl, QUEUE_CONSUMERS)
  for (let c = 0; c < used; c++) {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
    if (ce != 0 && load<u32>(ce, C_QUEUE) == <u32>q + 1 && (load<u32>(ce, C_FLAGS) & CF_GET) != 0 && load<u32>(ce, C_OWNER) == token) return c
  }
  return -1
}

/**
 * basic.get: claims the next deliverable message of queue `q` for the calling thread's get
 * consumer (created on first use; never in round-robin), UNACKED (or DONE with `noAck`), and
 * writes its record at `out`. Returns that consumer's id + 1, 0 when nothing is ready, or a status.
 */
export function queueGet(ctl: usize, q: i32, noAck: i32, now: f64, out: usize): i32 {
  if (!isFinite(now)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  noteNow(qe, now)
  store<f64>(qe, now, Q_LAST_USED)
  promoteDue(qe)
  expireHeads(qe)
  const o = queueHead(qe)
  if (o < 0) return done(ctl, qe, 0)
  let c = getConsumer(ctl, q)
  if (c < 0) {
    c = newConsumer(ctl, q, qe, 0, CF_GET)
    if (c < 0) return done(ctl, qe, c)
  }
  const m = msgAt(qe, o)
  leaveReady(qe, m)
  store<u32>(m, load<u32>(m, MSG_COUNT) + 1, MSG_COUNT)
  if (noAck != 0) {
    store<u8>(m, MS_DONE, MSG_STATE)
  } else {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
    store<u32>(m, <u32>c, MSG_HOLDER)
    store<u8>(m, MS_UNACKED, MSG_STATE)
    bump(ce + C_UNACKED, 1)
    bump(qe + Q_UNACKED, 1)
  }
  writeDelivery(out, o, m)
  return done(ctl, qe, publicId(ctl, c) + 1)
}

/** The UNACKED entry of `offset` held by consumer `c`, or 0. */
function heldBy(qe: usize, c: i32, offset: f64): usize {
  if (!(offset >= 0) || offset != Math.floor(offset)) return 0
  const o = <i64>offset
  if (o < load<i64>(qe, Q_HEAD) || o >= load<i64>(qe, Q_TAIL)) return 0
  const m = msgAt(qe, o)
  return load<u8>(m, MSG_STATE) == MS_UNACKED && load<u32>(m, MSG_HOLDER) == <u32>c ? m : 0
}

const SETTLE_ACK = 0
const SETTLE_REQUEUE = 1
const SETTLE_REJECT = 2

/**
 * Settles `offset`, which the calling thread's consumer `c` holds (lock not held): done, READY
 * again at its offset and redelivered (dead, delivery_limit, once delivered more often than the
 * limit), or dead (rejected). 0, STATUS_NOT_UNACKED (nothing changed) or a status.
 */
function settle(ctl: usize, c: i32, offset: f64, how: i32, now: f64): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const ce = consumerAt(ctl, c, true)
  if (ce == 0) return unlock(ctl, STATUS_CONSUMER_UNKNOWN)
  c &= CONSUMER_SLOT_MASK
  const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
  const m = (load<u32>(ce, C_FLAGS) & CF_NO_ACK) != 0 ? <usize>0 : heldBy(qe, c, offset) // a noAck consumer settles nothing
  if (m == 0) return unlock(ctl, STATUS_NOT_UNACKED)
  bump(ce + C_UNACKED, -1)
  bump(qe + Q_UNACKED, -1)
  if (how == SETTLE_ACK) {
    store<u8>(m, MS_DONE, MSG_STATE)
  } else {
    noteNow(qe, now)
    if (how == SETTLE_REQUEUE) giveBack(qe, m, <i64>offset)
    else kill(qe, m, <i64>offset, DEAD_REJECTED)
  }
  return done(ctl, qe, 0)
}

/** Acks `offset`, which the calling thread's consumer `c` holds: 0, STATUS_NOT_UNACKED (nothing changed) or a status. */
export function queueAck(ctl: usize, c: i32, offset: f64): i32 {
  return settle(ctl, c, offset, SETTLE_ACK, 0)
}

/**
 * Acks the `count` offsets (f64 each) at `offsets`, all held by the calling thread's consumer
 * `c`, under one lock with one dispatch: a consumer settling a batch of deliveries. Offsets it
 * does not hold are left alone. Returns how many it acked, or a status (nothing acked).
 */
export function queueAckMany(ctl: usize, c: i32, offsets: usize, count: i32): i32 {
  if (count < 0) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const ce = consumerAt(ctl, c, true)
  if (ce == 0) return unlock(ctl, STATUS_CONSUMER_UNKNOWN)
  c &= CONSUMER_SLOT_MASK
  const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
  if ((load<u32>(ce, C_FLAGS) & CF_NO_ACK) != 0) return unlock(ctl, 0) // a noAck consumer settles nothing
  let acked = 0
  for (let i = 0; i < count; i++) {
    const m = heldBy(qe, c, load<f64>(offsets + (<usize>i << 3)))
    if (m == 0) continue
    store<u8>(m, MS_DONE, MSG_STATE)
    acked++
  }
  if (acked == 0) return unlock(ctl, 0)
  bump(ce + C_UNACKED, -acked)
  bump(qe + Q_UNACKED, -acked)
  return done(ctl, qe, acked)
}

/** Nacks `offset` held by the calling thread's consumer `c`, with or without `requeue` (see settle). */
export function queueNack(ctl: usize, c: i32, offset: f64, requeue: i32, now: f64): i32 {
  if (!isFinite(now)) return STATUS_BAD_ARGUMENT
  return settle(ctl, c, offset, requeue != 0 ? SETTLE_REQUEUE : SETTLE_REJECT, now)
}

/** Gives back consumer `c`'s messages and frees it (lock held). O(entries in the queue). */
function cancelLocked(ctl: usize, c: i32, ce: usize, qe: usize): void {
  const head = load<i64>(qe, Q_HEAD)
  const tail = load<i64>(qe, Q_TAIL)
  for (let o = head; o < tail; o++) {
    const m = msgAt(qe, o)
    const state = load<u8>(m, MSG_STATE)
    if ((state != MS_ASSIGNED && state != MS_UNACKED) || load<u32>(m, MSG_HOLDER) != <u32>c) continue
    if (state == MS_ASSIGNED) {
      // never received: back as it was
      bump(qe + Q_ASSIGNED, -1)
      makeReady(qe, m, o)
    } else {
      bump(qe + Q_UNACKED, -1)
      // a noAck consumer's received messages were delivered for good (at most once)
      if ((load<u32>(ce, C_FLAGS) & CF_NO_ACK) != 0) store<u8>(m, MS_DONE, MSG_STATE)
      else giveBack(qe, m, o)
    }
  }
  freeConsumer(ctl, qe, c, ce)
}

/**
 * Cancels the calling thread's consumer `c`: messages in its mailbox are READY again as they
 * were, the ones it holds READY again redelivered (subject to the delivery limit). 0 or a status.
 */
export function queueCancel(ctl: usize, c: i32, now: f64): i32 {
  if (!isFinite(now)) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const ce = consumerAt(ctl, c, true)
  if (ce == 0) return unlock(ctl, STATUS_CONSUMER_UNKNOWN)
  c &= CONSUMER_SLOT_MASK
  const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
  noteNow(qe, now)
  store<f64>(qe, now, Q_LAST_USED)
  cancelLocked(ctl, c, ce, qe)
  return done(ctl, qe, 0)
}

// ---- dead letters ----------------------------------------------------------------------------

/**
 * Claims up to `limit` DEAD messages of queue `q` for the calling thread to dead-letter: writes
 * (offset f64, reason u32) records (DEAD_RECORD_SIZE each) at `out`, returns the count.
 */
export function queueTakeDead(ctl: usize, q: i32, limit: i32, out: usize): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  const tail = load<i64>(qe, Q_TAIL)
  const token = syncToken()
  let n = 0
  let o = max(load<i64>(qe, Q_DEAD_HINT), load<i64>(qe, Q_HEAD))
  for (; o < tail && n < limit; o++) {
    const m = msgAt(qe, o)
    if (load<u8>(m, MSG_STATE) != MS_DEAD) continue
    store<u32>(m, token, MSG_HOLDER)
    store<u8>(m, MS_DEAD_CLAIMED, MSG_STATE)
    const record = out + <usize>n * DEAD_RECORD_SIZE
    store<f64>(record, <f64>o)
    store<u32>(record, <u32>load<u8>(m, MSG_FLAGS) >> 4, 8)
    n++
  }
  store<i64>(qe, o, Q_DEAD_HINT)
  return unlock(ctl, n)
}

/** The host dead-lettered `offset`, which this thread claimed: it is done. 0, STATUS_NOT_DEAD or a status. */
export function queueSettle(ctl: usize, q: i32, offset: f64): i32 {
  if (!lockAcquire(lockOf(ctl))) return STATUS_BUSY
  const qe = queueAt(ctl, q)
  if (qe == 0) return unlock(ctl, STATUS_QUEUE_UNKNOWN)
  if (!(offset >= 0) || offset != Math.floor(offset)) return unlock(ctl, STATUS_NOT_DEAD)
  const o = <i64>offset
  if (o < load<i64>(qe, Q_HEAD) || o >= load<i64>(qe, Q_TAIL)) return unlock(ctl, STATUS_NOT_DEAD)
  const m = msgAt(qe, o)
  if (load<u8>(m, MSG_STATE) != MS_DEAD_CLAIMED || load<u32>(m, MSG_HOLDER) != syncToken()) return unlock(ctl, STATUS_NOT_DEAD)
  bump(qe + Q_DEAD, -1)
  store<u8>(m, MS_DONE, MSG_STATE)
  return done(ctl, qe, 0)
}

// ---- recovery --------------------------------------------------------------------------------

function inMailbox(ce: usize, o: i64): bool {
  const mailbox = <usize>load<u32>(ce, C_MAILBOX)
  if (mailbox == 0) return false
  const write = load<u32>(ce, C_WRITE)
  for (let i = load<u32>(ce, C_READ); i != write; i++) {
    if (load<i64>(mailbox + (<usize>(i & (MAILBOX_SLOTS - 1)) << 3)) == o) return true
  }
  return false
}

/** Rebuilds every counter, hint and consumer list from the entries and tables (a thread died holding the lock). */
function repair(ctl: usize): void {
  aadd32(regionOf(ctl) + QUEUE_VERSION, 1) // a create or delete cut short may not have bumped it
  const queues = tableUsed(ctl, QUEUE_TABLE)
  const consumers = tableUsed(ctl, QUEUE_CONSUMERS)
  for (let q = 0; q < queues; q++) {
    const qe = tableGet(ctl, QUEUE_TABLE, q)
    if (qe == 0) continue
    if (load<u32>(qe, Q_STATE) != 1) {
      releaseBlocks(ctl, qe) // a delete cut short
      continue
    }
    catchUp(ctl, qe, endOf(ctl, qe))
    const head = load<i64>(qe, Q_HEAD)
    const tail = load<i64>(qe, Q_TAIL)
    const levels = levelsOf(qe)
    for (let l: u32 = 0; l < levels; l++) {
      store<u32>(levelAt(qe, l), 0, LEVEL_COUNT)
      store<i64>(levelAt(qe, l), head, LEVEL_HINT)
    }
    memory.fill(qe + Q_READY, 0, Q_RR + 4 - Q_READY)
    store<i64>(qe, head, Q_DEAD_HINT)
    store<i64>(qe, head, Q_DELAYED_HINT)
    let next = Infinity
    for (let o = head; o < tail; o++) {
      const m = msgAt(qe, o)
      const state = load<u8>(m, MSG_STATE)
      if (state == MS_READY) {
        bump(levelAt(qe, load<u8>(m, MSG_LEVEL)) + LEVEL_COUNT, 1)
        bump(qe + Q_READY, 1)
      } else if (state == MS_DELAYED) {
        bump(qe + Q_DELAYED, 1)
        next = min(next, load<f64>(m, MSG_READY_AT))
      } else if (state == MS_DEAD || state == MS_DEAD_CLAIMED) {
        bump(qe + Q_DEAD, 1)
      }
    }
    store<f64>(qe, next, Q_NEXT_READY)
  }
  for (let c = 0; c < consumers; c++) {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
    if (ce == 0) continue
    const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
    if (qe == 0) {
      freeConsumer(ctl, 0, c, ce)
      continue
    }
    store<u32>(ce, 0, C_ASSIGNED)
    store<u32>(ce, 0, C_UNACKED)
    store<u32>(ce, 0, C_NEXT)
    if ((load<u32>(ce, C_FLAGS) & CF_GET) == 0) {
      link(ctl, qe, c)
      bump(qe + Q_CONSUMERS, 1)
    }
  }
  for (let q = 0; q < queues; q++) {
    const qe = queueAt(ctl, q)
    if (qe == 0) continue
    const tail = load<i64>(qe, Q_TAIL)
    for (let o = load<i64>(qe, Q_HEAD); o < tail; o++) {
      const m = msgAt(qe, o)
      const state = load<u8>(m, MSG_STATE)
      if (state != MS_ASSIGNED && state != MS_UNACKED) continue
      const c = <i32>load<u32>(m, MSG_HOLDER)
      const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
      const mine = ce != 0 && load<u32>(ce, C_QUEUE) == <u32>q + 1
      if (state == MS_ASSIGNED) {
        if (mine && inMailbox(ce, o)) {
          bump(ce + C_ASSIGNED, 1)
          bump(qe + Q_ASSIGNED, 1)
        } else {
          makeReady(qe, m, o)
        }
      } else if (mine) {
        bump(ce + C_UNACKED, 1)
        bump(qe + Q_UNACKED, 1)
      } else {
        giveBack(qe, m, o)
      }
    }
  }
}

/**
 * After the thread with lane token `token` died (called from logRecover): repairs the region if
 * it died holding the queue lock, cancels its consumers (its get consumers too: their messages
 * are redelivered to the others) and makes the dead letters it claimed DEAD again. Returns 1 when
 * it held the queue lock, else 0.
 */
export function queueRecover(ctl: usize, token: u32): i32 {
  const lock = lockOf(ctl)
  const held = aload32(lock) == token
  if (held) astore32(lock, syncToken())
  else if (!lockAcquire(lock)) return 0
  if (held) repair(ctl)
  const consumers = tableUsed(ctl, QUEUE_CONSUMERS)
  for (let c = 0; c < consumers; c++) {
    const ce = tableGet(ctl, QUEUE_CONSUMERS, c)
    if (ce == 0 || load<u32>(ce, C_OWNER) != token) continue
    const qe = queueAt(ctl, <i32>load<u32>(ce, C_QUEUE) - 1)
    if (qe != 0) cancelLocked(ctl, c, ce, qe)
    else freeConsumer(ctl, 0, c, ce)
  }
  const queues = tableUsed(ctl, QUEUE_TABLE)
  for (let q = 0; q < queues; q++) {
    const qe = queueAt(ctl, q)
    if (qe == 0) continue
    const tail = load<i64>(qe, Q_TAIL)
    for (let o = load<i64>(qe, Q_HEAD); o < tail; o++) {
      const m = msgAt(qe, o)
      if (load<u8>(m, MSG_STATE) == MS_DEAD_CLAIMED && load<u32>(m, MSG_HOLDER) == token) {
        store<u8>(m, MS_DEAD, MSG_STATE)
        lowerHint(qe + Q_DEAD_HINT, o)
      }
    }
    dispatch(ctl, qe, -1)
    finish(ctl, qe)
  }
  lockRelease(lock)
  return held ? 1 : 0
}

/**
 * One more than the highest partition id a queue holds (0 when none): topic recovery gives back
 * partition ids a dead topic creator took, and must not give back a queue's.
 */
export function queuePartitionsUsed(ctl: usize): u32 {
  let used: u32 = 0
  const queues = tableUsed(ctl, QUEUE_TABLE)
  for (let q = 0; q < queues; q++) {
    const qe = tableGet(ctl, QUEUE_TABLE, q)
    if (qe != 0 && load<i32>(qe, Q_PARTITION) >= 0) used = max(used, <u32>load<i32>(qe, Q_PARTITION) + 1)
  }
  return used
}
