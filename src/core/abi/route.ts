// The routing region: exchanges, bindings and the topic tries RabbitMQ routing runs on, at
// CTL_ROUTE (CTL_ROUTE_BYTES long). Every thread binds, unbinds and routes on the same tables.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
// Code: assembly/route/ (table.ts hash tables, trie.ts nodes, routes.ts the exports).
//
// Region header (the arena takes everything from ROUTE_HEADER to the region's end):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |           route lock (0 or the holder's lane token)           |  0
//  +---------------------------------------------------------------+
//  |        epoch: the visit stamp of the latest routeRoute        |  4
//  +---------------------------------------------------------------+
//  |          next exchange id (ids are never handed out twice)    |  8
//  +---------------------------------------------------------------+
//  |                     exchanges declared                        | 12
//  +---------------------------------------------------------------+
//  |                     bindings in all                           | 16
//  +---------------------------------------------------------------+
//  |   exchange array: address of an array block (below), or 0     | 20
//  +---------------------------------------------------------------+
//  |   name table: address of a hash table of exchanges by name    | 24
//  +---------------------------------------------------------------+
//  |   destination table: hash table of destination records       | 28
//  +---------------------------------------------------------------+
//  |   pending binding: being linked or unlinked (0 = none)        | 32
//  +---------------------------------------------------------------+
//  |   pending operation (ROUTE_OP_BIND, ROUTE_OP_UNBIND)          | 36
//  +---------------------------------------------------------------+
//  |   version: bumped by every change of the tables (declare,      | 40
//  |   bind, unbind, recovery), before the lock is released         |
//  +---------------------------------------------------------------+
//  |                      reserved to ROUTE_HEADER                ... 44
//  +---------------------------------------------------------------+
//  |  arena (arena.ts) for everything else, to the region's end    | ROUTE_HEADER
//
// Everything below lives in arena blocks; every address is absolute (0 = none).
//
// Array block (exchange ids to exchange records); its capacity lives in the block, so that a
// grown array is published by one store of its address:
//
//  | capacity (entries) | reserved x3 | entry 0: exchange record or 0 | entry 1 | ...
//    0                    4             ROUTE_ARRAY_SLOTS (+ 4 x id)
//
// Hash table block (names, destinations, a trie node's word edges): open addressing, linear
// probing from hash & (capacity - 1); a removed entry becomes a tombstone, so that every change
// is one store; tables are rebuilt (grown, shrunk, tombstones dropped) into a new block whose
// address is then stored in one go. At least a quarter of the slots stay empty.
//
//  +---------------------------------------------------------------+
//  |                capacity (slots, a power of two)               |  0
//  +---------------------------------------------------------------+
//  |                 live entries (the slots with an address)      |  4
//  +---------------------------------------------------------------+
//  |                 used slots (live + tombstones)                |  8
//  +---------------------------------------------------------------+
//  |                            reserved                           | 12
//  +---------------------------------------------------------------+
//  |   slot: hash (u32)  |  slot: address (0 empty, 1 tombstone)   | 16 + 8 x slot
//
// Exchange record (ROUTE_X_NAME + name + alternate bytes):
//
//  +---------------------------------------------------------------+
//  |                              id                               |  0
//  +---------------------------------------------------------------+
//  |           type (ROUTE_DIRECT, _FANOUT, _TOPIC, _HEADERS)      |  4
//  +---------------------------------------------------------------+
//  |                       root node of its trie                   |  8
//  +---------------------------------------------------------------+
//  |          visit stamp (the epoch of the last route through it) | 12
//  +---------------------------------------------------------------+
//  |          next exchange on the work list of a route            | 16
//  +---------------------------------------------------------------+
//  |                 name hash      |      (at 24) name length     | 20
//  +---------------------------------------------------------------+
//  |   alternate exchange name hash |  (at 32) its length, 0 none  | 28
//  +---------------------------------------------------------------+
//  |   bindings with this source: list head  | (at 40) their count | 36
//  +---------------------------------------------------------------+
//  |                            reserved                           | 44
//  +---------------------------------------------------------------+
//  |          name bytes (UTF-8), then alternate name bytes       ... 48
//
// Trie node (ROUTE_N_WORD + word bytes). Every exchange has a root node: fanout and headers
// exchanges keep their bindings on it; a direct exchange has one child per binding key (the
// whole key is one word, so a route is one hash lookup); a topic exchange has one node per
// pattern prefix: literal words by hash edge, '*' and '#' as direct children.
//
//  +---------------------------------------------------------------+
//  |                        parent node (0: root)                  |  0
//  +---------------------------------------------------------------+
//  |                          '*' child                            |  4
//  +---------------------------------------------------------------+
//  |                          '#' child                            |  8
//  +---------------------------------------------------------------+
//  |            word edges: hash table of child nodes, or 0        | 12
//  +---------------------------------------------------------------+
//  |      bindings ending here: list head    | (at 20) their count | 16
//  +---------------------------------------------------------------+
//  |       edge from the parent (ROUTE_EDGE_ROOT, _WORD, _STAR, _HASH) | 24
//  +---------------------------------------------------------------+
//  |   memo ('#' nodes): epoch of the stamp below                   | 28
//  +---------------------------------------------------------------+
//  |   memo: lowest key position this route explored from here      | 32
//  +---------------------------------------------------------------+
//  |        word hash          |      (at 40) word length          | 36
//  +---------------------------------------------------------------+
//  |                            reserved                           | 44
//  +---------------------------------------------------------------+
//  |                     word bytes (edge words)                  ... 48
//
// Binding record (ROUTE_B_KEY + key + args bytes). Each binding is on three doubly linked
// lists: its node's, its destination record's and its source exchange's. The next links are the
// truth (each link and unlink is published by one store of a next link or a list head); the
// prev links only make unlinking O(1), and recovery rebuilds them from the next links.
//
//  +---------------------------------------------------------------+
//  |   node list: prev  (0)          |   next   (4)                |  0
//  +---------------------------------------------------------------+
//  |   destination list: prev (8)    |   next  (12)                |  8
//  +---------------------------------------------------------------+
//  |   source list: prev (16)        |   next  (20)                | 16
//  +---------------------------------------------------------------+
//  |   node (24)   |  destination record (28)  | source exchange (32) | 24
//  +---------------------------------------------------------------+
//  |   x-match mode (36): -1 no args, ROUTE_MATCH_*                 | 36
//  +---------------------------------------------------------------+
//  |   key length (40)              |   args length (44)           | 40
//  +---------------------------------------------------------------+
//  |         key bytes, then args (a header table, below)         ... 48
//
// Destination record: one per destination code that has bindings, in the destination table
// (hash of the code):
//
//  |  code (0)  |  visit stamp (4)  |  bindings list head (8)  |  their count (12)  |
//
// A destination code is kind << ROUTE_DEST_SHIFT | id: a queue id (the queue core's), a topic
// index (the topic directory's) or an exchange id (an exchange-to-exchange binding).
//
// Header table (message headers and headers-exchange binding args), canonical so that equal
// tables are equal bytes; all integers little-endian:
//
//  +-----------------------------+
//  | entry count (u32)           |  0
//  +-----------------------------+-----------------------------------------------+
//  | key length (u16) | key (UTF-8) | type (u8) | value length (u32) | value     |  per entry,
//  +-------------------------------------------------------------------------------  keys sorted
//                                                                                    bytewise,
// Types: ROUTE_VALUE_VOID (null/undefined, no bytes), _STRING (UTF-8), _NUMBER (f64, -0 made 0),
// _BOOLEAN (one byte 0/1), _BYTES (as given), _PACKED (msgpack of anything else). Two values
// are equal when type and bytes are.                                               no repeats
//
// Routing (routeRoute) takes the lock, as every operation does: it bumps the epoch and marks
// every destination record and exchange it reaches with it, so each destination is written once
// and each exchange visited once (O(matches), no sorting). A topic route walks the trie like
// RabbitMQ's: at each node the next word's edge, '*' (one word) and '#' (zero or more words);
// a '#' node remembers the lowest position it was explored from in this route, so that many
// '#' in one pattern cannot make the walk combinatorial. When the epoch wraps, every stamp is
// cleared first.
//
// Recovery (routeRecover, for a thread that died holding the lock). Every change publishes with
// one store, after its blocks are allocated and filled: a node or table is linked once built,
// a grown table or array replaces the old one by one store of its address, a removed table entry
// is a tombstone. A bind or unbind sets the pending binding first; recovery finishes it (links
// a pending bind wherever it is missing, unlinks and frees a pending unbind), then rebuilds
// every prev link and count from the next links and table slots, and prunes trie nodes and
// destination records left empty. At worst a death leaks an arena block or two (one being
// allocated or freed); nothing reachable is ever half-built.
export const ROUTE_LOCK = 0
export const ROUTE_EPOCH = 4
export const ROUTE_NEXT_ID = 8
export const ROUTE_EXCHANGE_COUNT = 12
export const ROUTE_BINDING_COUNT = 16
export const ROUTE_EXCHANGES = 20
export const ROUTE_NAMES = 24
export const ROUTE_DESTS = 28
export const ROUTE_PENDING = 32
export const ROUTE_PENDING_OP = 36
export const ROUTE_VERSION = 40
export const ROUTE_HEADER = 256

export const ROUTE_OP_BIND = 1
export const ROUTE_OP_UNBIND = 2

export const ROUTE_ARRAY_CAPACITY = 0
export const ROUTE_ARRAY_SLOTS = 16
export const ROUTE_ARRAY_MIN = 16

export const ROUTE_TABLE_CAPACITY = 0
export const ROUTE_TABLE_LIVE = 4
export const ROUTE_TABLE_USED = 8
export const ROUTE_TABLE_SLOTS = 16
export const ROUTE_SLOT_SIZE = 8
export const ROUTE_SLOT_HASH = 0
export const ROUTE_SLOT_ADDR = 4
export const ROUTE_TOMBSTONE = 1
/** Fewest slots a table has. */
export const ROUTE_TABLE_MIN = 4

export const ROUTE_X_ID = 0
export const ROUTE_X_TYPE = 4
export const ROUTE_X_ROOT = 8
export const ROUTE_X_STAMP = 12
export const ROUTE_X_WORK_NEXT = 16
export const ROUTE_X_NAME_HASH = 20
export const ROUTE_X_NAME_LENGTH = 24
export const ROUTE_X_ALT_HASH = 28
export const ROUTE_X_ALT_LENGTH = 32
export const ROUTE_X_BINDINGS = 36
export const ROUTE_X_BINDING_COUNT = 40
export const ROUTE_X_NAME = 48

export const ROUTE_N_PARENT = 0
export const ROUTE_N_STAR = 4
export const ROUTE_N_HASH = 8
export const ROUTE_N_EDGES = 12
export const ROUTE_N_BINDINGS = 16
export const ROUTE_N_BINDING_COUNT = 20
export const ROUTE_N_EDGE = 24
export const ROUTE_N_MEMO_STAMP = 28
export const ROUTE_N_MEMO_POSITION = 32
export const ROUTE_N_WORD_HASH = 36
export const ROUTE_N_WORD_LENGTH = 40
export const ROUTE_N_WORD = 48

export const ROUTE_EDGE_ROOT = 0
export const ROUTE_EDGE_WORD = 1
export const ROUTE_EDGE_STAR = 2
export const ROUTE_EDGE_HASH = 3

export const ROUTE_B_NODE_PREV = 0
export const ROUTE_B_NODE_NEXT = 4
export const ROUTE_B_DEST_PREV = 8
export const ROUTE_B_DEST_NEXT = 12
export const ROUTE_B_SOURCE_PREV = 16
export const ROUTE_B_SOURCE_NEXT = 20
export const ROUTE_B_NODE = 24
export const ROUTE_B_DEST = 28
export const ROUTE_B_SOURCE = 32
export const ROUTE_B_MODE = 36
export const ROUTE_B_KEY_LENGTH = 40
export const ROUTE_B_ARGS_LENGTH = 44
export const ROUTE_B_KEY = 48

export const ROUTE_D_CODE = 0
export const ROUTE_D_STAMP = 4
export const ROUTE_D_BINDINGS = 8
export const ROUTE_D_BINDING_COUNT = 12
export const ROUTE_D_SIZE = 16

export const ROUTE_DIRECT = 0
export const ROUTE_FANOUT = 1
export const ROUTE_TOPIC = 2
export const ROUTE_HEADERS = 3

/** x-match of a headers binding; ROUTE_MATCH_NONE: a binding without args. */
export const ROUTE_MATCH_NONE = -1
export const ROUTE_MATCH_ALL = 0
export const ROUTE_MATCH_ANY = 1
export const ROUTE_MATCH_ALL_WITH_X = 2
export const ROUTE_MATCH_ANY_WITH_X = 3

export const ROUTE_DEST_QUEUE = 0
export const ROUTE_DEST_TOPIC = 1
export const ROUTE_DEST_EXCHANGE = 2
export const ROUTE_DEST_SHIFT = 24
export const ROUTE_DEST_ID_MASK = 0xffffff

/** Longest routing key or binding pattern, and longest exchange name, in UTF-8 bytes. */
export const ROUTE_MAX_KEY = 255
export const ROUTE_MAX_NAME = 255

export const ROUTE_VALUE_VOID = 0
export const ROUTE_VALUE_STRING = 1
export const ROUTE_VALUE_NUMBER = 2
export const ROUTE_VALUE_BOOLEAN = 3
export const ROUTE_VALUE_BYTES = 4
export const ROUTE_VALUE_PACKED = 5
export const ROUTE_HT_COUNT = 0
export const ROUTE_HT_ENTRIES = 4
/** Entry: key length (u16), key, type (u8), value length (u32), value. */
export const ROUTE_HT_KEY_LENGTH_BYTES = 2
export const ROUTE_HT_TYPE_BYTES = 1
export const ROUTE_HT_VALUE_LENGTH_BYTES = 4

/** routeCount: what to count. */
export const ROUTE_COUNT_EXCHANGES = 0
export const ROUTE_COUNT_BINDINGS = 1
export const ROUTE_COUNT_BYTES = 2

/** routeInfo writes type, name length, alternate length (u32 each), then name and alternate bytes. */
export const ROUTE_INFO_TYPE = 0
export const ROUTE_INFO_NAME_LENGTH = 4
export const ROUTE_INFO_ALT_LENGTH = 8
export const ROUTE_INFO_NAME = 12

/** routeBindings writes records: code (i32), mode (i32), key length (u32), key padded to 4 bytes. */
export const ROUTE_LIST_CODE = 0
export const ROUTE_LIST_MODE = 4
export const ROUTE_LIST_KEY_LENGTH = 8
export const ROUTE_LIST_KEY = 12
