// Hash tables of the routing region (layout: src/core/abi/route.ts): open addressing with
// linear probing and tombstones, so that inserting and removing an entry are each one store of
// its address. A table is held by one word (a region header field, a node's edge field) and
// replaced as a whole when it grows or shrinks. Callers hold the route lock.
import {
  ROUTE_D_CODE, ROUTE_N_WORD, ROUTE_N_WORD_HASH, ROUTE_N_WORD_LENGTH, ROUTE_SLOT_ADDR, ROUTE_SLOT_HASH, ROUTE_SLOT_SIZE, ROUTE_TABLE_CAPACITY,
  ROUTE_TABLE_LIVE, ROUTE_TABLE_MIN, ROUTE_TABLE_SLOTS, ROUTE_TABLE_USED, ROUTE_TOMBSTONE, ROUTE_X_NAME, ROUTE_X_NAME_LENGTH,
} from '../../src/core/abi/route'
import { arenaAlloc, arenaFree } from '../arena'
import { bytesEqual } from '../bytes'

/** What a table holds, for comparing keys: trie nodes by word, exchanges by name, destination records by code. */
export const KIND_NODE: i32 = 0
export const KIND_EXCHANGE: i32 = 1
export const KIND_DEST: i32 = 2

/** FNV-1a of the bytes with a final avalanche (murmur3's fmix32). */
export function hashBytes(ptr: usize, length: i32): u32 {
  let h: u32 = 0x811c9dc5
  for (let i = 0; i < length; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193
  return mix(h ^ <u32>length)
}

export function mix(h: u32): u32 {
  h ^= h >> 16
  h *= 0x85ebca6b
  h ^= h >> 13
  h *= 0xc2b2ae35
  return h ^ (h >> 16)
}

// @ts-ignore: decorator
@inline function slotAt(table: usize, i: u32): usize {
  return table + ROUTE_TABLE_SLOTS + <usize>i * ROUTE_SLOT_SIZE
}

// @ts-ignore: decorator
@inline export function tableBytes(capacity: u32): u32 {
  return <u32>ROUTE_TABLE_SLOTS + capacity * <u32>ROUTE_SLOT_SIZE
}

function sameKey(kind: i32, addr: usize, ptr: usize, length: i32): bool {
  if (kind == KIND_DEST) return load<u32>(addr, ROUTE_D_CODE) == <u32>ptr
  if (kind == KIND_NODE) return load<u32>(addr, ROUTE_N_WORD_LENGTH) == <u32>length && bytesEqual(addr + ROUTE_N_WORD, ptr, length)
  return load<u32>(addr, ROUTE_X_NAME_LENGTH) == <u32>length && bytesEqual(addr + ROUTE_X_NAME, ptr, length)
}

/** The entry with this key (for KIND_DEST `ptr` is the code), or 0. */
export function tableFind(table: usize, kind: i32, hash: u32, ptr: usize, length: i32): usize {
  if (table == 0) return 0
  const mask = load<u32>(table, ROUTE_TABLE_CAPACITY) - 1
  for (let i = hash & mask; ; i = (i + 1) & mask) {
    const slot = slotAt(table, i)
    const addr = <usize>load<u32>(slot, ROUTE_SLOT_ADDR)
    if (addr == 0) return 0
    if (addr != ROUTE_TOMBSTONE && load<u32>(slot, ROUTE_SLOT_HASH) == hash && sameKey(kind, addr, ptr, length)) return addr
  }
  return 0 // not reached: a table always has an empty slot
}

/** Puts an entry into a table known to have room (an empty slot beyond it). */
function place(table: usize, hash: u32, addr: usize): void {
  const mask = load<u32>(table, ROUTE_TABLE_CAPACITY) - 1
  for (let i = hash & mask; ; i = (i + 1) & mask) {
    const slot = slotAt(table, i)
    const held = load<u32>(slot, ROUTE_SLOT_ADDR)
    if (held <= <u32>ROUTE_TOMBSTONE) {
      store<u32>(slot, hash, ROUTE_SLOT_HASH)
      store<u32>(slot, <u32>addr, ROUTE_SLOT_ADDR) // published
      store<u32>(table, load<u32>(table, ROUTE_TABLE_LIVE) + 1, ROUTE_TABLE_LIVE)
      if (held == 0) store<u32>(table, load<u32>(table, ROUTE_TABLE_USED) + 1, ROUTE_TABLE_USED)
      return
    }
  }
}

/**
 * Replaces the table at `holder` by one with room for `entries` at half load or less (no
 * tombstones), filled before its address is stored; false (nothing changed) when the arena has
 * no room.
 */
function rebuild(arena: usize, holder: usize, entries: u32): bool {
  let capacity = <u32>ROUTE_TABLE_MIN
  while (capacity < entries * 2) capacity <<= 1
  const fresh = arenaAlloc(arena, tableBytes(capacity))
  if (fresh == 0) return false
  store<u32>(fresh, capacity, ROUTE_TABLE_CAPACITY)
  const old = <usize>load<u32>(holder)
  if (old != 0) {
    const n = load<u32>(old, ROUTE_TABLE_CAPACITY)
    for (let i: u32 = 0; i < n; i++) {
      const slot = slotAt(old, i)
      const addr = <usize>load<u32>(slot, ROUTE_SLOT_ADDR)
      if (addr > <usize>ROUTE_TOMBSTONE) place(fresh, load<u32>(slot, ROUTE_SLOT_HASH), addr)
    }
  }
  store<u32>(holder, <u32>fresh)
  if (old != 0) arenaFree(arena, old, tableBytes(load<u32>(old, ROUTE_TABLE_CAPACITY)))
  return true
}

/**
 * Makes sure one more entry fits without a rebuild (rebuilding now if needed), so that the
 * insert that follows cannot fail; false when the arena has no room (nothing changed).
 */
export function tableReserve(arena: usize, holder: usize): bool {
  const table = <usize>load<u32>(holder)
  if (table != 0 && (load<u32>(table, ROUTE_TABLE_USED) + 1) * 4 <= load<u32>(table, ROUTE_TABLE_CAPACITY) * 3) return true
  return rebuild(arena, holder, table == 0 ? 1 : load<u32>(table, ROUTE_TABLE_LIVE) + 1)
}

/** Inserts an entry whose key is not in the table, after tableReserve said yes. */
export function tableInsert(holder: usize, hash: u32, addr: usize): void {
  place(<usize>load<u32>(holder), hash, addr)
}

/**
 * Removes the entry `addr` (a tombstone: one store); frees the table when it is empty and
 * shrinks it when it is mostly empty (unless the arena has no room for the smaller one).
 */
export function tableRemove(arena: usize, holder: usize, hash: u32, addr: usize, shrink: bool): void {
  const table = <usize>load<u32>(holder)
  if (table == 0) return
  const capacity = load<u32>(table, ROUTE_TABLE_CAPACITY)
  const mask = capacity - 1
  let i = hash & mask
  let held = <usize>load<u32>(slotAt(table, i), ROUTE_SLOT_ADDR)
  while (held != addr) {
    if (held == 0) return // not in the table
    i = (i + 1) & mask
    held = <usize>load<u32>(slotAt(table, i), ROUTE_SLOT_ADDR)
  }
  store<u32>(slotAt(table, i), ROUTE_TOMBSTONE, ROUTE_SLOT_ADDR)
  const live = load<u32>(table, ROUTE_TABLE_LIVE) - 1
  store<u32>(table, live, ROUTE_TABLE_LIVE)
  if (!shrink) return
  if (live == 0) {
    store<u32>(holder, 0)
    arenaFree(arena, table, tableBytes(capacity))
  } else if (capacity > <u32>ROUTE_TABLE_MIN && live * 8 <= capacity) {
    rebuild(arena, holder, live)
  }
}

/** The entry in slot `i` (0 for an empty slot or a tombstone); for walking a table. */
export function tableEntry(table: usize, i: u32): usize {
  const addr = <usize>load<u32>(slotAt(table, i), ROUTE_SLOT_ADDR)
  return addr > <usize>ROUTE_TOMBSTONE ? addr : 0
}

/** Turns slot `i` into a tombstone (recovery, while walking the table). */
export function tableDrop(table: usize, i: u32): void {
  store<u32>(slotAt(table, i), ROUTE_TOMBSTONE, ROUTE_SLOT_ADDR)
}

export function tableCapacity(table: usize): u32 {
  return table == 0 ? 0 : load<u32>(table, ROUTE_TABLE_CAPACITY)
}

/** Counts live and used slots again (recovery: a death between a slot store and a count store). */
export function tableRecount(table: usize): u32 {
  if (table == 0) return 0
  const n = load<u32>(table, ROUTE_TABLE_CAPACITY)
  let live: u32 = 0
  let used: u32 = 0
  for (let i: u32 = 0; i < n; i++) {
    const addr = load<u32>(slotAt(table, i), ROUTE_SLOT_ADDR)
    if (addr != 0) used++
    if (addr > <u32>ROUTE_TOMBSTONE) live++
  }
  store<u32>(table, live, ROUTE_TABLE_LIVE)
  store<u32>(table, used, ROUTE_TABLE_USED)
  return live
}
