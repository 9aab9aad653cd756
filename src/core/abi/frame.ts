// A record frame, 8-byte aligned: how one record lies in the staging area and in a segment. The
// host writes whole frames into its staging area; the core copies them into the segment,
// replaces the partition id with the offset delta and commits.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |             frame length (header + payload, padded)           |  0
//  +---------------------------------------------------------------+
//  |   offset delta from the segment base (staging: partition id)  |  4
//  +---------------------------------------------------------------+
//  |                      timestamp, f64 ms                        |  8
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                 key hash (Kafka murmur2, 0 = none)            | 16
//  +-------------------------------+-------------------------------+
//  |             flags             |         headers length        | 20
//  +-------------------------------+-------------------------------+
//  |                          key length                           | 24
//  +---------------------------------------------------------------+
//  |                         value length                          | 28
//  +---------------------------------------------------------------+
//  |  headers bytes | key bytes | value bytes | zero pad to 8      ... 32
//
// Recovery: none of its own. A frame is either below its segment's committed tail, whole, or
// above it and ignored; a frame still being staged is in its thread's private lane.
export const FRAME_LENGTH = 0
export const FRAME_DELTA = 4
export const FRAME_PARTITION = 4
export const FRAME_TIMESTAMP = 8
export const FRAME_KEY_HASH = 16
export const FRAME_FLAGS = 20
export const FRAME_HEADERS_LENGTH = 22
export const FRAME_KEY_LENGTH = 24
export const FRAME_VALUE_LENGTH = 28
export const FRAME_HEADER = 32
export const FRAME_ALIGN = 8
/** Frame flag: the record has a key (an empty key is still a key). */
export const FLAG_KEY = 1
/** Frame flag: the value is null (a tombstone for compaction). */
export const FLAG_NULL_VALUE = 2
/** Frame flag: the key was given as bytes (replayed as a Uint8Array, else as a string). */
export const FLAG_KEY_BINARY = 4
/** Frame flag: the value stays an object in the publishing thread (codec 'ref'); no value bytes. */
export const FLAG_REF_VALUE = 8
export const MAX_HEADERS_LENGTH = 0xffff
