// A topic directory entry, at CTL_TOPICS + index * TOPIC_SIZE. Every thread finds topics here, so
// a topic declared (or auto-created) in one thread is the same topic in all of them.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |             state (0 free, 1 ready; stored last)              |  0
//  +---------------------------------------------------------------+
//  |                          name length                          |  4
//  +---------------------------------------------------------------+
//  |       partition count (stored after the ids it covers)        |  8
//  +---------------------------------------------------------------+
//  |                     codec (TOPIC_CODEC_*)                     | 12
//  +---------------------------------------------------------------+
//  |                           max bytes                           | 16
//  +---------------------------------------------------------------+
//  |                      flags (PART_REJECT)                      | 20
//  +---------------------------------------------------------------+
//  |                        max age, f64 ms                        | 24
//  |                                                               |
//  +---------------------------------------------------------------+
//  |               version (bumped on every change)                | 32
//  +---------------------------------------------------------------+
//  |          record-structures lock (0 or a lane token)           | 36
//  +---------------------------------------------------------------+
//  |        dedup window, f64 ms (0: no idempotent publish)        | 40
//  |                                                               |
//  +---------------------------------------------------------------+
//  |                  name bytes (TOPIC_MAX_NAME)                  | 48
//  +---------------------------------------------------------------+
//  |      partition ids, u32 x TOPIC_MAX_PARTITIONS, to 1328       ...304
//
// Entries are written under the directory lock (CTL_TOPIC_LOCK) and found without it: a reader
// trusts an entry once its state is 1, and only the ids below the partition count. Max bytes,
// flags, max age and the dedup window change together under that lock, and the version is bumped
// after them, so a thread re-reads them when the version moves.
//
// Recovery: a thread that died holding the directory lock may have taken partitions for a topic
// it never finished creating or growing. A topic publishes its partition count only after every
// id it took, so topicRecover gives back every id past the highest one any topic lists; an
// entry past the published topic count is simply written again by the next creator. A
// record-structures lock holds the lane token of its holder and is released by that token.
export const TOPIC_STATE = 0
export const TOPIC_NAME_LENGTH = 4
export const TOPIC_PARTITIONS = 8
export const TOPIC_CODEC = 12
export const TOPIC_MAX_BYTES = 16
export const TOPIC_FLAGS = 20
export const TOPIC_MAX_AGE = 24
export const TOPIC_VERSION = 32
export const TOPIC_STRUCTURES_LOCK = 36
/** How long a messageId is remembered (idempotent publish, see dedup.ts); the same for every thread. */
export const TOPIC_DEDUP_WINDOW = 40
export const TOPIC_NAME = 48
export const TOPIC_MAX_NAME = 256
export const TOPIC_IDS = 304
export const TOPIC_MAX_PARTITIONS = 256
export const TOPIC_SIZE = 1328

export const TOPIC_CODEC_MSGPACK = 0
export const TOPIC_CODEC_JSON = 1
export const TOPIC_CODEC_RAW = 2
export const TOPIC_CODEC_REF = 3
export const TOPIC_CODEC_CUSTOM = 4
