// A reader cursor, at an address in its thread's lane; the core keeps the cached segment
// position current, the host sets the partition and moves the next offset. Also the poll output.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |                           partition                           |  0
//  +---------------------------------------------------------------+
//  |           segment (block + 1; 0 = locate by offset)           |  4
//  +---------------------------------------------------------------+
//  |           frame address: where the next poll starts           |  8
//  +---------------------------------------------------------------+
//  |         epoch the segment had when the cursor took it         | 12
//  +---------------------------------------------------------------+
//  |                       next offset (i64)                       | 16
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                         unused to 32                          ... 24
//
// Recovery: none needed. A cursor is only ever used by the thread whose lane holds it, and holds
// no lock; when that thread dies its lane, cursors included, is freed by token.
export const CUR_PARTITION = 0
export const CUR_SEGMENT = 4
export const CUR_POSITION = 8
export const CUR_EPOCH = 12
export const CUR_NEXT_OFFSET = 16
export const CUR_SIZE = 32

// Poll output: per record two f64, the frame address and the record's offset.
export const POLL_STRIDE = 2
