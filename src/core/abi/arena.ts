// An arena: a region of memory that hands out blocks of power-of-two sizes (16 bytes up) and
// takes them back, for the structures whose number and size change while the bus runs (routing
// bindings and keys, queue delivery state). The routing and the queue regions each end in one.
// The arena has no lock of its own: its owner calls it under the lock that guards the region.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |   bump: bytes of the data area handed out at least once       |  0
//  +---------------------------------------------------------------+
//  |                 limit: bytes of the data area                 |  4
//  +---------------------------------------------------------------+
//  |          bytes in use (handed out and not taken back)          |  8
//  +---------------------------------------------------------------+
//  |                            reserved                           | 12
//  +---------------------------------------------------------------+
//  |  free list heads, one per size class (address of a free block, |
//  |  0 = empty); class c holds blocks of 16 << c bytes            | 16
//  |                              ...                              |
//  +---------------------------------------------------------------+
//  |  data area (16-byte aligned), from ARENA_HEADER               | 128
//
// A free block's first word holds the address of the next free block of its class. Blocks are
// zeroed when handed out. An all-zero header is an arena with no room: arenaInit gives it its size.
export const ARENA_BUMP = 0
export const ARENA_LIMIT = 4
export const ARENA_USED = 8
export const ARENA_FREE = 16
/** Size classes: 16 bytes << 0 .. 16 bytes << 27 (2 GiB). */
export const ARENA_CLASSES = 28
export const ARENA_MIN_BLOCK = 16
export const ARENA_HEADER = 128
