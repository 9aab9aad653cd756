// RabbitMQ's routing model in the core (layout and rules: src/core/abi/route.ts): exchanges
// declared by name, bindings from an exchange to a queue, a topic or another exchange, and
// routing a message to every destination its bindings reach, each once. Every operation takes
// the route lock, routing included (it stamps what it visits); none traps: each returns a
// status instead.
import {
  ROUTE_ARRAY_CAPACITY, ROUTE_ARRAY_MIN, ROUTE_ARRAY_SLOTS, ROUTE_B_ARGS_LENGTH, ROUTE_B_DEST, ROUTE_B_DEST_NEXT, ROUTE_B_DEST_PREV,
  ROUTE_B_KEY, ROUTE_B_KEY_LENGTH, ROUTE_B_MODE, ROUTE_B_NODE, ROUTE_B_NODE_NEXT, ROUTE_B_NODE_PREV, ROUTE_B_SOURCE, ROUTE_B_SOURCE_NEXT,
  ROUTE_B_SOURCE_PREV, ROUTE_BINDING_COUNT, ROUTE_COUNT_BINDINGS, ROUTE_COUNT_BYTES, ROUTE_COUNT_EXCHANGES, ROUTE_D_BINDING_COUNT,
  ROUTE_D_BINDINGS, ROUTE_D_CODE, ROUTE_D_SIZE, ROUTE_D_STAMP, ROUTE_DEST_EXCHANGE, ROUTE_DEST_ID_MASK, ROUTE_DEST_SHIFT, ROUTE_DESTS,
  ROUTE_DIRECT, ROUTE_EDGE_HASH, ROUTE_EDGE_STAR, ROUTE_EDGE_WORD, ROUTE_EPOCH, ROUTE_EXCHANGE_COUNT, ROUTE_EXCHANGES, ROUTE_FANOUT,
  ROUTE_HEADERS, ROUTE_HT_COUNT, ROUTE_HT_ENTRIES, ROUTE_INFO_ALT_LENGTH, ROUTE_INFO_NAME, ROUTE_INFO_NAME_LENGTH, ROUTE_INFO_TYPE,
  ROUTE_LIST_CODE, ROUTE_LIST_KEY, ROUTE_LIST_KEY_LENGTH, ROUTE_LIST_MODE, ROUTE_LOCK, ROUTE_MATCH_ALL, ROUTE_MATCH_ANY_WITH_X,
  ROUTE_MATCH_NONE, ROUTE_MATCH_ALL_WITH_X, ROUTE_MAX_KEY, ROUTE_MAX_NAME, ROUTE_N_BINDING_COUNT, ROUTE_N_BINDINGS, ROUTE_N_EDGE, ROUTE_N_EDGES,
  ROUTE_N_HASH, ROUTE_N_MEMO_POSITION, ROUTE_N_MEMO_STAMP, ROUTE_N_PARENT, ROUTE_N_STAR, ROUTE_N_WORD, ROUTE_N_WORD_HASH, ROUTE_N_WORD_LENGTH,
  ROUTE_NAMES, ROUTE_NEXT_ID, ROUTE_OP_BIND, ROUTE_OP_UNBIND, ROUTE_PENDING, ROUTE_PENDING_OP, ROUTE_TOPIC, ROUTE_VERSION, ROUTE_VALUE_PACKED,
  ROUTE_VALUE_VOID, ROUTE_X_ALT_HASH, ROUTE_X_ALT_LENGTH, ROUTE_X_BINDING_COUNT, ROUTE_X_BINDINGS, ROUTE_X_ID, ROUTE_X_NAME,
  ROUTE_X_NAME_HASH, ROUTE_X_NAME_LENGTH, ROUTE_X_ROOT, ROUTE_X_STAMP, ROUTE_X_TYPE, ROUTE_X_WORK_NEXT,
} from '../../src/core/abi/route'
import {
  STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_ROUTE_ALTERNATE_MISMATCH, STATUS_ROUTE_BAD_TABLE, STATUS_ROUTE_FULL, STATUS_ROUTE_TOO_MANY,
  STATUS_ROUTE_TYPE_MISMATCH, STATUS_ROUTE_UNKNOWN_EXCHANGE,
} from '../../src/core/abi/status'
import { arenaAlloc, arenaFree, arenaUsed } from '../arena'
import { bytesEqual } from '../bytes'
import { aadd32, aload32, astore32, lockAcquire, lockRelease } from '../sync'
import {
  arenaOf, exchangeAt, listHas, listLink, listRelink, listUnlink, nodeBytes, nodeDrop, nodeEmpty, prune, regionOf,
} from './region'
import {
  KIND_DEST, KIND_EXCHANGE, KIND_NODE, hashBytes, mix, tableBytes, tableCapacity, tableDrop, tableEntry, tableFind, tableInsert, tableRecount,
  tableRemove, tableReserve,
} from './table'

const DOT: u32 = 0x2e
const STAR: u32 = 0x2a
const HASH: u32 = 0x23

// ---- exchanges -------------------------------------------------------------------------------

/**
 * Declares exchange `name` of `type` with alternate exchange `alt` (altLength 0: none), or finds
 * it. Returns its id; STATUS_ROUTE_TYPE_MISMATCH / STATUS_ROUTE_ALTERNATE_MISMATCH when it exists
 * with another type / alternate, STATUS_ROUTE_FULL when the arena has no room.
 */
export function routeDeclare(ctl: usize, name: usize, length: i32, type: i32, alt: usize, altLength: i32): i32 {
  if (length < 1 || length > ROUTE_MAX_NAME || altLength < 0 || altLength > ROUTE_MAX_NAME || type < ROUTE_DIRECT || type > ROUTE_HEADERS) {
    return STATUS_BAD_ARGUMENT
  }
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  const result = declare(region, name, length, type, alt, altLength)
  changed(region)
  lockRelease(region + ROUTE_LOCK)
  return result
}

/** The tables changed (or may have): whoever keeps routes keyed by the version drops them. */
function changed(region: usize): void {
  aadd32(region + ROUTE_VERSION, 1)
}

function declare(region: usize, name: usize, length: i32, type: i32, alt: usize, altLength: i32): i32 {
  const arena = arenaOf(region)
  const hash = hashBytes(name, length)
  const found = tableFind(<usize>load<u32>(region, ROUTE_NAMES), KIND_EXCHANGE, hash, name, length)
  if (found != 0) {
    if (load<i32>(found, ROUTE_X_TYPE) != type) return STATUS_ROUTE_TYPE_MISMATCH
    if (load<i32>(found, ROUTE_X_ALT_LENGTH) != altLength || !bytesEqual(found + ROUTE_X_NAME + <usize>length, alt, altLength)) {
      return STATUS_ROUTE_ALTERNATE_MISMATCH
    }
    return load<i32>(found, ROUTE_X_ID)
  }
  const id = load<u32>(region, ROUTE_NEXT_ID)
  if (id > <u32>ROUTE_DEST_ID_MASK) return STATUS_ROUTE_FULL
  // everything allocated first: a failure frees what was taken and changes nothing
  const record = arenaAlloc(arena, <u32>ROUTE_X_NAME + <u32>length + <u32>altLength)
  const root = arenaAlloc(arena, <u32>ROUTE_N_WORD)
  if (record == 0 || root == 0 || !arrayReserve(arena, region, id) || !tableReserve(arena, region + ROUTE_NAMES)) {
    if (record != 0) arenaFree(arena, record, <u32>ROUTE_X_NAME + <u32>length + <u32>altLength)
    if (root != 0) arenaFree(arena, root, <u32>ROUTE_N_WORD)
    return STATUS_ROUTE_FULL
  }
  store<u32>(record, id, ROUTE_X_ID)
  store<i32>(record, type, ROUTE_X_TYPE)
  store<u32>(record, <u32>root, ROUTE_X_ROOT)
  store<u32>(record, hash, ROUTE_X_NAME_HASH)
  store<u32>(record, <u32>length, ROUTE_X_NAME_LENGTH)
  store<u32>(record, altLength == 0 ? 0 : hashBytes(alt, altLength), ROUTE_X_ALT_HASH)
  store<u32>(record, <u32>altLength, ROUTE_X_ALT_LENGTH)
  memory.copy(record + ROUTE_X_NAME, name, <usize>length)
  memory.copy(record + ROUTE_X_NAME + <usize>length, alt, <usize>altLength)
  // the id first (a death after it only skips an id), then reachable by id, then by name
  store<u32>(region, id + 1, ROUTE_NEXT_ID)
  const array = <usize>load<u32>(region, ROUTE_EXCHANGES)
  store<u32>(array + ROUTE_ARRAY_SLOTS + (<usize>id << 2), <u32>record)
  tableInsert(region + ROUTE_NAMES, hash, record)
  astore32(region + ROUTE_EXCHANGE_COUNT, load<u32>(region, ROUTE_EXCHANGE_COUNT) + 1)
  return <i32>id
}

/** Makes the exchange array hold `id`, growing it (a new block, published by one store). */
function arrayReserve(arena: usize, region: usize, id: u32): bool {
  const array = <usize>load<u32>(region, ROUTE_EXCHANGES)
  const capacity: u32 = array == 0 ? 0 : load<u32>(array, ROUTE_ARRAY_CAPACITY)
  if (id < capacity) return true
  let grown = capacity == 0 ? <u32>ROUTE_ARRAY_MIN : capacity
  while (grown <= id) grown <<= 1
  const fresh = arenaAlloc(arena, <u32>ROUTE_ARRAY_SLOTS + grown * 4)
  if (fresh == 0) return false
  store<u32>(fresh, grown, ROUTE_ARRAY_CAPACITY)
  if (array != 0) memory.copy(fresh + ROUTE_ARRAY_SLOTS, array + ROUTE_ARRAY_SLOTS, <usize>capacity * 4)
  store<u32>(region, <u32>fresh, ROUTE_EXCHANGES)
  if (array != 0) arenaFree(arena, array, <u32>ROUTE_ARRAY_SLOTS + capacity * 4)
  return true
}

/** The id of exchange `name`, or STATUS_ROUTE_UNKNOWN_EXCHANGE. */
export function routeFind(ctl: usize, name: usize, length: i32): i32 {
  if (length < 1 || length > ROUTE_MAX_NAME) return STATUS_ROUTE_UNKNOWN_EXCHANGE
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  const found = tableFind(<usize>load<u32>(region, ROUTE_NAMES), KIND_EXCHANGE, hashBytes(name, length), name, length)
  lockRelease(region + ROUTE_LOCK)
  return found == 0 ? STATUS_ROUTE_UNKNOWN_EXCHANGE : load<i32>(found, ROUTE_X_ID)
}

/**
 * Writes exchange `id`'s type, name and alternate name at `out` (ROUTE_INFO_*); returns the
 * bytes written, or STATUS_ROUTE_UNKNOWN_EXCHANGE.
 */
export function routeInfo(ctl: usize, id: i32, out: usize): i32 {
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  const x = exchangeAt(region, id)
  let written = STATUS_ROUTE_UNKNOWN_EXCHANGE
  if (x != 0) {
    const length = load<u32>(x, ROUTE_X_NAME_LENGTH)
    const altLength = load<u32>(x, ROUTE_X_ALT_LENGTH)
    store<u32>(out, load<u32>(x, ROUTE_X_TYPE), ROUTE_INFO_TYPE)
    store<u32>(out, length, ROUTE_INFO_NAME_LENGTH)
    store<u32>(out, altLength, ROUTE_INFO_ALT_LENGTH)
    memory.copy(out + ROUTE_INFO_NAME, x + ROUTE_X_NAME, <usize>(length + altLength))
    written = <i32>(<u32>ROUTE_INFO_NAME + length + altLength)
  }
  lockRelease(region + ROUTE_LOCK)
  return written
}

/** Exchanges, bindings or arena bytes in use (ROUTE_COUNT_*). */
export function routeCount(ctl: usize, what: i32): i32 {
  const region = regionOf(ctl)
  if (what == ROUTE_COUNT_EXCHANGES) return <i32>aload32(region + ROUTE_EXCHANGE_COUNT)
  if (what == ROUTE_COUNT_BINDINGS) return <i32>aload32(region + ROUTE_BINDING_COUNT)
  if (what == ROUTE_COUNT_BYTES) {
    if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
    const used = arenaUsed(arenaOf(region))
    lockRelease(region + ROUTE_LOCK)
    return <i32>used
  }
  return STATUS_BAD_ARGUMENT
}

// ---- header tables ---------------------------------------------------------------------------

/** Compares keys bytewise (then by length): negative, 0 or positive. */
function compareKeys(a: usize, aLength: u32, b: usize, bLength: u32): i32 {
  const n = aLength < bLength ? aLength : bLength
  for (let i: u32 = 0; i < n; i++) {
    const d = <i32>load<u8>(a + <usize>i) - <i32>load<u8>(b + <usize>i)
    if (d != 0) return d
  }
  return <i32>aLength - <i32>bLength
}

/** Whether `length` bytes at `table` are a canonical header table: in bounds, keys strictly ascending. */
function tableValid(table: usize, length: i32): bool {
  if (length < ROUTE_HT_ENTRIES) return false
  const end = table + <usize>length
  const count = load<u32>(table, ROUTE_HT_COUNT)
  let at = table + ROUTE_HT_ENTRIES
  let lastKey: usize = 0
  let lastLength: u32 = 0
  for (let i: u32 = 0; i < count; i++) {
    if (at + 2 > end) return false
    const keyLength = <u32>load<u16>(at)
    const key = at + 2
    if (key + <usize>keyLength + 5 > end) return false
    const type = <u32>load<u8>(key + <usize>keyLength)
    const valueLength = load<u32>(key + <usize>keyLength + 1)
    if (type > <u32>ROUTE_VALUE_PACKED || <u64>(key + <usize>keyLength + 5) + <u64>valueLength > <u64>end) return false
    if (i > 0 && compareKeys(lastKey, lastLength, key, keyLength) >= 0) return false
    lastKey = key
    lastLength = keyLength
    at = key + <usize>keyLength + 5 + <usize>valueLength
  }
  return at == end
}

// @ts-ignore: decorator
@inline function isX(key: usize, length: u32): bool {
  return length >= 2 && load<u8>(key) == 0x78 && load<u8>(key + 1) == 0x2d // "x-"
}

/** "x-match": skipped in the -with-x modes, which match every other x- key. */
function isXMatch(key: usize, length: u32): bool {
  return length == 7 && isX(key, length) && load<u8>(key + 2) == 0x6d && load<u8>(key + 3) == 0x61 && load<u8>(key + 4) == 0x74 &&
    load<u8>(key + 5) == 0x63 && load<u8>(key + 6) == 0x68
}

/**
 * rabbit_exchange_type_headers: a sorted merge of the binding's args with the message's
 * headers (both sorted by key). all: every arg matches (true when there are none); any: one
 * does (false when none). all/any skip args whose key starts with x-; the -with-x modes only
 * skip x-match. An arg of type void matches when the header is present; else type and bytes
 * must be equal.
 */
function headersMatch(mode: i32, args: usize, argsLength: u32, headers: usize, headersLength: u32): bool {
  const all = mode == ROUTE_MATCH_ALL || mode == ROUTE_MATCH_ALL_WITH_X || mode == ROUTE_MATCH_NONE
  if (argsLength == 0) return all
  const withX = mode >= ROUTE_MATCH_ALL_WITH_X
  const count = load<u32>(args, ROUTE_HT_COUNT)
  const headerCount: u32 = headersLength == 0 ? 0 : load<u32>(headers, ROUTE_HT_COUNT)
  let h = headers + ROUTE_HT_ENTRIES
  let hi: u32 = 0
  let a = args + ROUTE_HT_ENTRIES
  for (let i: u32 = 0; i < count; i++) {
    const keyLength = <u32>load<u16>(a)
    const key = a + 2
    const type = load<u8>(key + <usize>keyLength)
    const valueLength = load<u32>(key + <usize>keyLength + 1)
    const value = key + <usize>keyLength + 5
    a = value + <usize>valueLength
    if (withX ? isXMatch(key, keyLength) : isX(key, keyLength)) continue
    let ok = false
    while (hi < headerCount) {
      const hLength = <u32>load<u16>(h)
      const c = compareKeys(h + 2, hLength, key, keyLength)
      if (c < 0) {
        h += 2 + <usize>hLength + 5 + <usize>load<u32>(h + 2 + <usize>hLength + 1)
        hi++
        continue
      }
      if (c == 0) {
        const hType = load<u8>(h + 2 + <usize>hLength)
        const hValueLength = load<u32>(h + 2 + <usize>hLength + 1)
        ok = type == ROUTE_VALUE_VOID || (hType == type && hValueLength == valueLength && bytesEqual(h + 2 + <usize>hLength + 5, value, <i32>valueLength))
      }
      break
    }
    if (all && !ok) return false
    if (!all && ok) return true
  }
  return all
}

// ---- bindings --------------------------------------------------------------------------------

/** The end of the word of `key` starting at `at` (the next '.', or the key's end). */
function wordEnd(key: usize, length: i32, at: i32): i32 {
  let end = at
  while (end < length && <u32>load<u8>(key + <usize>end) != DOT) end++
  return end
}

/** The child of `node` along a word (a literal word: its edge), or 0. */
function childOf(node: usize, word: usize, length: i32, literal: bool): usize {
  if (!literal && length == 1) {
    const c = <u32>load<u8>(word)
    if (c == STAR) return <usize>load<u32>(node, ROUTE_N_STAR)
    if (c == HASH) return <usize>load<u32>(node, ROUTE_N_HASH)
  }
  return tableFind(<usize>load<u32>(node, ROUTE_N_EDGES), KIND_NODE, hashBytes(word, length), word, length)
}

/** The child of `node` along a word, created if missing; 0 when the arena has no room (nothing changed). */
function childMake(arena: usize, node: usize, word: usize, length: i32, literal: bool): usize {
  const found = childOf(node, word, length, literal)
  if (found != 0) return found
  let edge = ROUTE_EDGE_WORD
  if (!literal && length == 1) {
    const c = <u32>load<u8>(word)
    if (c == STAR) edge = ROUTE_EDGE_STAR
    else if (c == HASH) edge = ROUTE_EDGE_HASH
  }
  const stored = edge == ROUTE_EDGE_WORD ? length : 0
  const child = arenaAlloc(arena, <u32>ROUTE_N_WORD + <u32>stored)
  if (child == 0) return 0
  if (edge == ROUTE_EDGE_WORD && !tableReserve(arena, node + ROUTE_N_EDGES)) {
    arenaFree(arena, child, <u32>ROUTE_N_WORD + <u32>stored)
    return 0
  }
  const hash = edge == ROUTE_EDGE_WORD ? hashBytes(word, length) : 0
  store<u32>(child, <u32>node, ROUTE_N_PARENT)
  store<u32>(child, edge, ROUTE_N_EDGE)
  store<u32>(child, hash, ROUTE_N_WORD_HASH)
  store<u32>(child, <u32>stored, ROUTE_N_WORD_LENGTH)
  memory.copy(child + ROUTE_N_WORD, word, <usize>stored)
  // built, then linked by one store
  if (edge == ROUTE_EDGE_STAR) store<u32>(node, <u32>child, ROUTE_N_STAR)
  else if (edge == ROUTE_EDGE_HASH) store<u32>(node, <u32>child, ROUTE_N_HASH)
  else tableInsert(node + ROUTE_N_EDGES, hash, child)
  return child
}

/**
 * The node a binding with this key hangs from: the root (fanout, headers), the key's one-word
 * child (direct), the pattern's path (topic). With `make`, missing nodes are created (0 when the
 * arena has no room: the nodes made so far are pruned again); else 0 when it is missing.
 */
function nodeFor(arena: usize, x: usize, key: usize, length: i32, make: bool): usize {
  const root = <usize>load<u32>(x, ROUTE_X_ROOT)
  const type = load<i32>(x, ROUTE_X_TYPE)
  if (type == ROUTE_FANOUT || type == ROUTE_HEADERS) return root
  if (type == ROUTE_DIRECT) return make ? childMake(arena, root, key, length, true) : childOf(root, key, length, true)
  let node = root
  if (length == 0) return root // the empty pattern is zero words
  for (let at = 0; ;) {
    const end = wordEnd(key, length, at)
    const next = make ? childMake(arena, node, key + <usize>at, end - at, false) : childOf(node, key + <usize>at, end - at, false)
    if (next == 0) {
      if (make) prune(arena, node)
      return 0
    }
    node = next
    if (end >= length) return node
    at = end + 1
  }
  return 0 // not reached
}

function destFind(region: usize, code: i32): usize {
  return tableFind(<usize>load<u32>(region, ROUTE_DESTS), KIND_DEST, mix(<u32>code), <usize>code, 0)
}

function sameBinding(b: usize, node: usize, mode: i32, key: usize, length: i32, args: usize, argsLength: i32): bool {
  return load<usize>(b, ROUTE_B_NODE) == node && load<i32>(b, ROUTE_B_MODE) == mode && load<i32>(b, ROUTE_B_KEY_LENGTH) == length &&
    load<i32>(b, ROUTE_B_ARGS_LENGTH) == argsLength && bytesEqual(b + ROUTE_B_KEY, key, length) &&
    bytesEqual(b + ROUTE_B_KEY + <usize>length, args, argsLength)
}

/** The binding (node, destination, key, mode, args), scanning the shorter of the node's and the destination's lists; or 0. */
function bindingFind(node: usize, dest: usize, mode: i32, key: usize, length: i32, args: usize, argsLength: i32): usize {
  if (dest == 0 || node == 0) return 0
  if (load<u32>(dest, ROUTE_D_BINDING_COUNT) <= load<u32>(node, ROUTE_N_BINDING_COUNT)) {
    for (let b = <usize>load<u32>(dest, ROUTE_D_BINDINGS); b != 0; b = <usize>load<u32>(b, ROUTE_B_DEST_NEXT)) {
      if (sameBinding(b, node, mode, key, length, args, argsLength)) return b
    }
  } else {
    for (let b = <usize>load<u32>(node, ROUTE_N_BINDINGS); b != 0; b = <usize>load<u32>(b, ROUTE_B_NODE_NEXT)) {
      if (load<usize>(b, ROUTE_B_DEST) == dest && sameBinding(b, node, mode, key, length, args, argsLength)) return b
    }
  }
  return 0
}

// @ts-ignore: decorator
@inline function bindingBytes(b: usize): u32 {
  return <u32>ROUTE_B_KEY + load<u32>(b, ROUTE_B_KEY_LENGTH) + load<u32>(b, ROUTE_B_ARGS_LENGTH)
}

function checkBinding(region: usize, source: i32, dest: i32, length: i32, mode: i32, args: usize, argsLength: i32): i32 {
  if (length < 0 || length > ROUTE_MAX_KEY || mode < ROUTE_MATCH_NONE || mode > ROUTE_MATCH_ANY_WITH_X || argsLength < 0) return STATUS_BAD_ARGUMENT
  if ((mode == ROUTE_MATCH_NONE) != (argsLength == 0)) return STATUS_BAD_ARGUMENT
  const kind = dest >>> ROUTE_DEST_SHIFT
  if (dest < 0 || <u32>kind > <u32>ROUTE_DEST_EXCHANGE) return STATUS_BAD_ARGUMENT
  if (argsLength > 0 && !tableValid(args, argsLength)) return STATUS_ROUTE_BAD_TABLE
  if (exchangeAt(region, source) == 0) return STATUS_ROUTE_UNKNOWN_EXCHANGE
  if (kind == <u32>ROUTE_DEST_EXCHANGE && exchangeAt(region, dest & ROUTE_DEST_ID_MASK) == 0) return STATUS_ROUTE_UNKNOWN_EXCHANGE
  return 0
}

/**
 * Binds exchange `source` to destination code `dest` with binding key `key` and, for a binding
 * with args, x-match `mode` and the args header table (mode ROUTE_MATCH_NONE and no args
 * otherwise). Returns 1 when bound, 0 when that binding exists already; STATUS_ROUTE_FULL when
 * the arena has no room (nothing changed), STATUS_ROUTE_UNKNOWN_EXCHANGE, STATUS_ROUTE_BAD_TABLE.
 */
export function routeBind(ctl: usize, source: i32, dest: i32, key: usize, length: i32, mode: i32, args: usize, argsLength: i32): i32 {
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  let result = checkBinding(region, source, dest, length, mode, args, argsLength)
  if (result == 0) result = bind(region, source, dest, key, length, mode, args, argsLength)
  if (result == 1) changed(region)
  lockRelease(region + ROUTE_LOCK)
  return result
}

function bind(region: usize, source: i32, code: i32, key: usize, length: i32, mode: i32, args: usize, argsLength: i32): i32 {
  const arena = arenaOf(region)
  const x = exchangeAt(region, source)
  const node = nodeFor(arena, x, key, length, true)
  if (node == 0) return STATUS_ROUTE_FULL
  let dest = destFind(region, code)
  if (bindingFind(node, dest, mode, key, length, args, argsLength) != 0) return 0
  const size = <u32>ROUTE_B_KEY + <u32>length + <u32>argsLength
  const b = arenaAlloc(arena, size)
  let made: usize = 0
  if (b != 0 && dest == 0) {
    made = arenaAlloc(arena, ROUTE_D_SIZE)
    if (made != 0 && !tableReserve(arena, region + ROUTE_DESTS)) {
      arenaFree(arena, made, ROUTE_D_SIZE)
      made = 0
    }
  }
  if (b == 0 || (dest == 0 && made == 0)) {
    if (b != 0) arenaFree(arena, b, size)
    prune(arena, node)
    return STATUS_ROUTE_FULL
  }
  if (made != 0) {
    store<i32>(made, code, ROUTE_D_CODE)
    tableInsert(region + ROUTE_DESTS, mix(<u32>code), made)
    dest = made
  }
  store<u32>(b, <u32>node, ROUTE_B_NODE)
  store<u32>(b, <u32>dest, ROUTE_B_DEST)
  store<u32>(b, <u32>x, ROUTE_B_SOURCE)
  store<i32>(b, mode, ROUTE_B_MODE)
  store<i32>(b, length, ROUTE_B_KEY_LENGTH)
  store<i32>(b, argsLength, ROUTE_B_ARGS_LENGTH)
  memory.copy(b + ROUTE_B_KEY, key, <usize>length)
  memory.copy(b + ROUTE_B_KEY + <usize>length, args, <usize>argsLength)
  // built; recovery finishes the linking if this thread dies during it
  store<u32>(region, ROUTE_OP_BIND, ROUTE_PENDING_OP)
  store<u32>(region, <u32>b, ROUTE_PENDING)
  linkAll(region, b, true)
  store<u32>(region, 0, ROUTE_PENDING)
  return 1
}

/**
 * Links a built binding into the lists it is not on yet, counting it on each. A `fresh` binding
 * is on none: the checks, a walk of each list, are for recovery, which may find it half linked
 * (without them a bind would cost O(bindings of its exchange)).
 */
function linkAll(region: usize, b: usize, fresh: bool): void {
  const node = <usize>load<u32>(b, ROUTE_B_NODE)
  const dest = <usize>load<u32>(b, ROUTE_B_DEST)
  const x = <usize>load<u32>(b, ROUTE_B_SOURCE)
  if (fresh || !listHas(node + ROUTE_N_BINDINGS, b, ROUTE_B_NODE_NEXT)) {
    listLink(node + ROUTE_N_BINDINGS, b, ROUTE_B_NODE_PREV, ROUTE_B_NODE_NEXT)
    store<u32>(node, load<u32>(node, ROUTE_N_BINDING_COUNT) + 1, ROUTE_N_BINDING_COUNT)
  }
  if (fresh || !listHas(dest + ROUTE_D_BINDINGS, b, ROUTE_B_DEST_NEXT)) {
    listLink(dest + ROUTE_D_BINDINGS, b, ROUTE_B_DEST_PREV, ROUTE_B_DEST_NEXT)
    store<u32>(dest, load<u32>(dest, ROUTE_D_BINDING_COUNT) + 1, ROUTE_D_BINDING_COUNT)
  }
  if (fresh || !listHas(x + ROUTE_X_BINDINGS, b, ROUTE_B_SOURCE_NEXT)) {
    listLink(x + ROUTE_X_BINDINGS, b, ROUTE_B_SOURCE_PREV, ROUTE_B_SOURCE_NEXT)
    store<u32>(x, load<u32>(x, ROUTE_X_BINDING_COUNT) + 1, ROUTE_X_BINDING_COUNT)
    astore32(region + ROUTE_BINDING_COUNT, load<u32>(region, ROUTE_BINDING_COUNT) + 1)
  }
}

/** Unlinks a binding from every list (unlinked first, pending meanwhile), then frees what it leaves empty. */
function unbindOne(region: usize, b: usize): void {
  const arena = arenaOf(region)
  const node = <usize>load<u32>(b, ROUTE_B_NODE)
  const dest = <usize>load<u32>(b, ROUTE_B_DEST)
  const x = <usize>load<u32>(b, ROUTE_B_SOURCE)
  store<u32>(region, ROUTE_OP_UNBIND, ROUTE_PENDING_OP)
  store<u32>(region, <u32>b, ROUTE_PENDING)
  listUnlink(node + ROUTE_N_BINDINGS, b, ROUTE_B_NODE_PREV, ROUTE_B_NODE_NEXT)
  store<u32>(node, load<u32>(node, ROUTE_N_BINDING_COUNT) - 1, ROUTE_N_BINDING_COUNT)
  listUnlink(dest + ROUTE_D_BINDINGS, b, ROUTE_B_DEST_PREV, ROUTE_B_DEST_NEXT)
  store<u32>(dest, load<u32>(dest, ROUTE_D_BINDING_COUNT) - 1, ROUTE_D_BINDING_COUNT)
  listUnlink(x + ROUTE_X_BINDINGS, b, ROUTE_B_SOURCE_PREV, ROUTE_B_SOURCE_NEXT)
  store<u32>(x, load<u32>(x, ROUTE_X_BINDING_COUNT) - 1, ROUTE_X_BINDING_COUNT)
  astore32(region + ROUTE_BINDING_COUNT, load<u32>(region, ROUTE_BINDING_COUNT) - 1)
  // unlinked everywhere: a death from here on leaks at most a block, and leaves an empty node
  // or destination record that recovery drops (the pending mark goes before the free, so that
  // recovery never frees the block twice)
  store<u32>(region, 0, ROUTE_PENDING)
  arenaFree(arena, b, bindingBytes(b))
  if (load<u32>(dest, ROUTE_D_BINDINGS) == 0) {
    tableRemove(arena, region + ROUTE_DESTS, mix(load<u32>(dest, ROUTE_D_CODE)), dest, true)
    arenaFree(arena, dest, ROUTE_D_SIZE)
  }
  prune(arena, node)
}

/** Removes the binding routeBind would make; 1 when removed, 0 when there was none. */
export function routeUnbind(ctl: usize, source: i32, dest: i32, key: usize, length: i32, mode: i32, args: usize, argsLength: i32): i32 {
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  let result = checkBinding(region, source, dest, length, mode, args, argsLength)
  if (result == STATUS_ROUTE_UNKNOWN_EXCHANGE && exchangeAt(region, source) != 0) result = 0 // a deleted destination exchange has no bindings left
  if (result == 0) {
    const node = nodeFor(arenaOf(region), exchangeAt(region, source), key, length, false)
    const b = bindingFind(node, destFind(region, dest), mode, key, length, args, argsLength)
    if (b != 0) {
      unbindOne(region, b)
      changed(region)
      result = 1
    }
  }
  lockRelease(region + ROUTE_LOCK)
  return result
}

/** Removes every binding to destination code `dest` (a deleted queue); returns how many. */
export function routeUnbindAll(ctl: usize, dest: i32): i32 {
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  let removed = 0
  const d = destFind(region, dest)
  if (d != 0) {
    const n = load<u32>(d, ROUTE_D_BINDING_COUNT)
    // the last unbind frees the record: count first, then take the head each time
    for (let i: u32 = 0; i < n; i++) {
      unbindOne(region, <usize>load<u32>(d, ROUTE_D_BINDINGS))
      removed++
    }
  }
  if (removed > 0) changed(region)
  lockRelease(region + ROUTE_LOCK)
  return removed
}

/**
 * Lists exchange `id`'s bindings from the `skip`-th on into `out` (`outBytes` bytes) as
 * ROUTE_LIST_* records; returns how many fit (0: no more).
 */
export function routeBindings(ctl: usize, id: i32, skip: i32, out: usize, outBytes: i32): i32 {
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  const x = exchangeAt(region, id)
  let written = STATUS_ROUTE_UNKNOWN_EXCHANGE
  if (x != 0) {
    written = 0
    let at: usize = 0
    let i = 0
    for (let b = <usize>load<u32>(x, ROUTE_X_BINDINGS); b != 0; b = <usize>load<u32>(b, ROUTE_B_SOURCE_NEXT)) {
      if (i++ < skip) continue
      const length = load<u32>(b, ROUTE_B_KEY_LENGTH)
      const size = <usize>ROUTE_LIST_KEY + ((<usize>length + 3) & ~3)
      if (at + size > <usize>outBytes) break
      store<u32>(out + at, load<u32>(load<u32>(b, ROUTE_B_DEST), ROUTE_D_CODE), ROUTE_LIST_CODE)
      store<i32>(out + at, load<i32>(b, ROUTE_B_MODE), ROUTE_LIST_MODE)
      store<u32>(out + at, length, ROUTE_LIST_KEY_LENGTH)
      memory.copy(out + at + ROUTE_LIST_KEY, b + ROUTE_B_KEY, <usize>length)
      at += size
      written++
    }
  }
  lockRelease(region + ROUTE_LOCK)
  return written
}

// ---- routing ---------------------------------------------------------------------------------

// The state of this thread's current route (globals: each thread has its own instance).
let gRegion: usize = 0
let gEpoch: u32 = 0
let gKey: usize = 0
let gKeyLength: i32 = 0
/** The position past the last word: no words left. */
let gEnd: i32 = 0
let gHeaders: usize = 0
let gHeadersLength: u32 = 0
let gOut: usize = 0
let gMax: i32 = 0
let gCount: i32 = 0
let gTail: usize = 0
let gMatched: bool = false

/** Puts an exchange on the work list, once per route. */
function visit(x: usize): void {
  if (x == 0 || load<u32>(x, ROUTE_X_STAMP) == gEpoch) return
  store<u32>(x, gEpoch, ROUTE_X_STAMP)
  store<u32>(x, 0, ROUTE_X_WORK_NEXT)
  if (gTail != 0) store<u32>(gTail, <u32>x, ROUTE_X_WORK_NEXT)
  gTail = x
}

function reach(b: usize): void {
  gMatched = true
  const dest = <usize>load<u32>(b, ROUTE_B_DEST)
  const code = load<i32>(dest, ROUTE_D_CODE)
  if (<u32>code >>> ROUTE_DEST_SHIFT == <u32>ROUTE_DEST_EXCHANGE) {
    visit(exchangeAt(gRegion, code & ROUTE_DEST_ID_MASK))
    return
  }
  if (load<u32>(dest, ROUTE_D_STAMP) == gEpoch) return
  store<u32>(dest, gEpoch, ROUTE_D_STAMP)
  if (gCount < gMax) store<i32>(gOut + (<usize>gCount << 2), code)
  gCount++
}

function reachAll(node: usize): void {
  for (let b = <usize>load<u32>(node, ROUTE_N_BINDINGS); b != 0; b = <usize>load<u32>(b, ROUTE_B_NODE_NEXT)) reach(b)
}

/** The start of the word after the one at `at` (gEnd when it was the last). */
function nextWord(at: i32): i32 {
  const end = wordEnd(gKey, gKeyLength, at)
  return end < gKeyLength ? end + 1 : gEnd
}

/** RabbitMQ's trie_match: the words from position `at` on, from `node`. */
function matchFrom(node: usize, at: i32): void {
  if (at == gEnd) {
    reachAll(node)
    const hash = <usize>load<u32>(node, ROUTE_N_HASH)
    if (hash != 0) matchHash(hash, at)
    return
  }
  const edges = <usize>load<u32>(node, ROUTE_N_EDGES)
  const next = nextWord(at)
  if (edges != 0) {
    const length = (next == gEnd ? gKeyLength : next - 1) - at
    const child = tableFind(edges, KIND_NODE, hashBytes(gKey + <usize>at, length), gKey + <usize>at, length)
    if (child != 0) matchFrom(child, next)
  }
  const star = <usize>load<u32>(node, ROUTE_N_STAR)
  if (star != 0) matchFrom(star, next)
  const hash = <usize>load<u32>(node, ROUTE_N_HASH)
  if (hash != 0) matchHash(hash, at)
}

/**
 * A '#' node entered with the words from `at` on: it takes zero or more of them, so the walk
 * goes on from it at `at` and every later word. Positions explored from it already in this
 * route (the memo: all from its lowest) are not explored again.
 */
function matchHash(node: usize, at: i32): void {
  let stop = gEnd + 1
  if (load<u32>(node, ROUTE_N_MEMO_STAMP) == gEpoch) {
    stop = load<i32>(node, ROUTE_N_MEMO_POSITION)
    if (at >= stop) return
  } else {
    store<u32>(node, gEpoch, ROUTE_N_MEMO_STAMP)
  }
  store<i32>(node, at, ROUTE_N_MEMO_POSITION)
  for (let q = at; q < stop; q = q == gEnd ? gEnd + 1 : nextWord(q)) matchFrom(node, q)
}

function routeExchange(x: usize): void {
  const type = load<i32>(x, ROUTE_X_TYPE)
  const root = <usize>load<u32>(x, ROUTE_X_ROOT)
  if (type == ROUTE_FANOUT) {
    reachAll(root)
  } else if (type == ROUTE_DIRECT) {
    const child = tableFind(<usize>load<u32>(root, ROUTE_N_EDGES), KIND_NODE, hashBytes(gKey, gKeyLength), gKey, gKeyLength)
    if (child != 0) reachAll(child)
  } else if (type == ROUTE_TOPIC) {
    matchFrom(root, gKeyLength == 0 ? gEnd : 0)
  } else {
    for (let b = <usize>load<u32>(root, ROUTE_N_BINDINGS); b != 0; b = <usize>load<u32>(b, ROUTE_B_NODE_NEXT)) {
      const length = load<u32>(b, ROUTE_B_KEY_LENGTH)
      if (headersMatch(load<i32>(b, ROUTE_B_MODE), b + ROUTE_B_KEY + <usize>length, load<u32>(b, ROUTE_B_ARGS_LENGTH), gHeaders, gHeadersLength)) reach(b)
    }
  }
}

/**
 * Routes a message with routing key `key` and headers (a header table; headersLength 0: none)
 * through exchange `id`, its exchange-to-exchange bindings and alternate exchanges, as
 * rabbit_exchange:route does: each exchange visited once; one whose own bindings matched
 * nothing passes the message to its alternate exchange, if that is declared. Writes the code of
 * every queue and topic destination reached, once each, at `out` (up to `max`); returns how many,
 * or STATUS_ROUTE_TOO_MANY when they were more than `max`.
 */
export function routeRoute(ctl: usize, id: i32, key: usize, length: i32, headers: usize, headersLength: i32, out: usize, max: i32): i32 {
  if (length < 0 || length > ROUTE_MAX_KEY || headersLength < 0 || max < 0) return STATUS_BAD_ARGUMENT
  if (headersLength > 0 && !tableValid(headers, headersLength)) return STATUS_ROUTE_BAD_TABLE
  const region = regionOf(ctl)
  if (!lockAcquire(region + ROUTE_LOCK)) return STATUS_BUSY
  const x = exchangeAt(region, id)
  if (x == 0) {
    lockRelease(region + ROUTE_LOCK)
    return STATUS_ROUTE_UNKNOWN_EXCHANGE
  }
  let epoch = load<u32>(region, ROUTE_EPOCH) + 1
  if (epoch == 0) {
    clearStamps(region)
    epoch = 1
  }
  store<u32>(region, epoch, ROUTE_EPOCH)
  gRegion = region
  gEpoch = epoch
  gKey = key
  gKeyLength = length
  gEnd = length + 1
  gHeaders = headers
  gHeadersLength = <u32>headersLength
  gOut = out
  gMax = max
  gCount = 0
  gTail = 0
  visit(x)
  for (let at = x; at != 0; at = <usize>load<u32>(at, ROUTE_X_WORK_NEXT)) {
    gMatched = false
    routeExchange(at)
    const altLength = load<i32>(at, ROUTE_X_ALT_LENGTH)
    if (!gMatched && altLength > 0) {
      const alt = at + ROUTE_X_NAME + <usize>load<u32>(at, ROUTE_X_NAME_LENGTH)
      visit(tableFind(<usize>load<u32>(region, ROUTE_NAMES), KIND_EXCHANGE, load<u32>(at, ROUTE_X_ALT_HASH), alt, altLength))
    }
  }
  lockRelease(region + ROUTE_LOCK)
  return gCount > max ? STATUS_ROUTE_TOO_MANY : gCount
}

// ---- walks over everything: stamps, recovery -------------------------------------------------

/** Clears every stamp (the epoch wrapped); the epoch word is set after, so a death here redoes it. */
function clearStamps(region: usize): void {
  walkAll(region, false)
}

/**
 * Visits every exchange, trie node and destination record. `repair` false: clears their visit
 * stamps. `repair` true (recovery): relinks every list from its next links, recounts lists and
 * tables, and drops empty trie nodes and destination records.
 */
function walkAll(region: usize, repair: bool): void {
  const arena = arenaOf(region)
  const array = <usize>load<u32>(region, ROUTE_EXCHANGES)
  const capacity: u32 = array == 0 ? 0 : load<u32>(array, ROUTE_ARRAY_CAPACITY)
  let exchanges: u32 = 0
  let bindings: u32 = 0
  for (let id: u32 = 0; id < capacity; id++) {
    const x = <usize>load<u32>(array + ROUTE_ARRAY_SLOTS + (<usize>id << 2))
    if (x == 0) continue
    exchanges++
    store<u32>(x, 0, ROUTE_X_STAMP)
    if (repair) {
      const n = listRelink(x + ROUTE_X_BINDINGS, ROUTE_B_SOURCE_PREV, ROUTE_B_SOURCE_NEXT)
      store<u32>(x, n, ROUTE_X_BINDING_COUNT)
      bindings += n
    }
    walkNode(arena, <usize>load<u32>(x, ROUTE_X_ROOT), repair)
  }
  const dests = <usize>load<u32>(region, ROUTE_DESTS)
  for (let i: u32 = 0, n = tableCapacity(dests); i < n; i++) {
    const d = tableEntry(dests, i)
    if (d == 0) continue
    store<u32>(d, 0, ROUTE_D_STAMP)
    if (!repair) continue
    const count = listRelink(d + ROUTE_D_BINDINGS, ROUTE_B_DEST_PREV, ROUTE_B_DEST_NEXT)
    store<u32>(d, count, ROUTE_D_BINDING_COUNT)
    if (count == 0) {
      tableDrop(dests, i)
      arenaFree(arena, d, ROUTE_D_SIZE)
    }
  }
  if (repair) {
    if (dests != 0 && tableRecount(dests) == 0) {
      store<u32>(region, 0, ROUTE_DESTS)
      arenaFree(arena, dests, tableBytes(tableCapacity(dests)))
    }
    tableRecount(<usize>load<u32>(region, ROUTE_NAMES))
    astore32(region + ROUTE_EXCHANGE_COUNT, exchanges)
    astore32(region + ROUTE_BINDING_COUNT, bindings)
  }
}

function walkNode(arena: usize, node: usize, repair: bool): void {
  store<u32>(node, 0, ROUTE_N_MEMO_STAMP)
  if (repair) store<u32>(node, listRelink(node + ROUTE_N_BINDINGS, ROUTE_B_NODE_PREV, ROUTE_B_NODE_NEXT), ROUTE_N_BINDING_COUNT)
  const star = <usize>load<u32>(node, ROUTE_N_STAR)
  if (star != 0) walkChild(arena, star, repair)
  const hash = <usize>load<u32>(node, ROUTE_N_HASH)
  if (hash != 0) walkChild(arena, hash, repair)
  const edges = <usize>load<u32>(node, ROUTE_N_EDGES)
  if (edges == 0) return
  for (let i: u32 = 0, n = tableCapacity(edges); i < n; i++) {
    const child = tableEntry(edges, i)
    if (child == 0) continue
    walkNode(arena, child, repair)
    if (repair && nodeEmpty(child)) {
      tableDrop(edges, i)
      arenaFree(arena, child, nodeBytes(child))
    }
  }
  if (repair && tableRecount(edges) == 0) {
    store<u32>(node, 0, ROUTE_N_EDGES)
    arenaFree(arena, edges, tableBytes(tableCapacity(edges)))
  }
}

function walkChild(arena: usize, child: usize, repair: bool): void {
  walkNode(arena, child, repair)
  if (repair && nodeEmpty(child)) nodeDrop(arena, child, false)
}

/**
 * After the thread with lane token `token` died (caller: logRecover): if it held the route
 * lock, finishes the bind or unbind it was in, repairs links and counts, and releases the lock.
 * Returns 1 when it released the lock, else 0.
 */
export function routeRecover(ctl: usize, token: u32): i32 {
  const region = regionOf(ctl)
  if (aload32(region + ROUTE_LOCK) != token) return 0
  const b = <usize>load<u32>(region, ROUTE_PENDING)
  if (b != 0) {
    // prev links may be stale where it stopped: make them right before linking or unlinking
    relinkAround(b)
    if (load<u32>(region, ROUTE_PENDING_OP) == ROUTE_OP_BIND) {
      linkAll(region, b, false)
    } else {
      const node = <usize>load<u32>(b, ROUTE_B_NODE)
      const dest = <usize>load<u32>(b, ROUTE_B_DEST)
      const x = <usize>load<u32>(b, ROUTE_B_SOURCE)
      if (listHas(node + ROUTE_N_BINDINGS, b, ROUTE_B_NODE_NEXT)) listUnlink(node + ROUTE_N_BINDINGS, b, ROUTE_B_NODE_PREV, ROUTE_B_NODE_NEXT)
      if (listHas(dest + ROUTE_D_BINDINGS, b, ROUTE_B_DEST_NEXT)) listUnlink(dest + ROUTE_D_BINDINGS, b, ROUTE_B_DEST_PREV, ROUTE_B_DEST_NEXT)
      if (listHas(x + ROUTE_X_BINDINGS, b, ROUTE_B_SOURCE_NEXT)) listUnlink(x + ROUTE_X_BINDINGS, b, ROUTE_B_SOURCE_PREV, ROUTE_B_SOURCE_NEXT)
      arenaFree(arenaOf(region), b, bindingBytes(b))
    }
    store<u32>(region, 0, ROUTE_PENDING)
  }
  walkAll(region, true)
  changed(region)
  astore32(region + ROUTE_LOCK, 0)
  return 1
}

/** Rebuilds the prev links of the three lists a pending binding belongs to. */
function relinkAround(b: usize): void {
  listRelink(<usize>load<u32>(b, ROUTE_B_NODE) + ROUTE_N_BINDINGS, ROUTE_B_NODE_PREV, ROUTE_B_NODE_NEXT)
  listRelink(<usize>load<u32>(b, ROUTE_B_DEST) + ROUTE_D_BINDINGS, ROUTE_B_DEST_PREV, ROUTE_B_DEST_NEXT)
  listRelink(<usize>load<u32>(b, ROUTE_B_SOURCE) + ROUTE_X_BINDINGS, ROUTE_B_SOURCE_PREV, ROUTE_B_SOURCE_NEXT)
}
