// Consumer groups in the core: a directory of group names, and one commit word per group and
// partition. Every thread reads committed offsets here directly; the group logic above the core
// (membership, assignment) only calls in with numbers.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
// A group directory entry, at CTL_GROUPS + index * GROUP_SIZE:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |              state (0 free, 1 ready; stored last)             |  0
//  +---------------------------------------------------------------+
//  |               name length (1 .. GROUP_MAX_NAME)               |  4
//  +---------------------------------------------------------------+
//  |           name bytes, UTF-8 (GROUP_MAX_NAME), to 208          ...  8
//
// Entries are written under the group lock (CTL_GROUP_LOCK) and found without it: a reader
// trusts an entry once its state is 1. Groups are never removed.
//
// A commit word, at CTL_COMMITS + (group * max partitions + partition id) * COMMIT_SIZE; the
// partition id is the core's global one (a topic's ids in the topic directory):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------------------------------------------------------+
//  |               committed offset + 1, low 32 bits               |  0
//  +-------------------------------+-------------------------------+
//  |     offset + 1, bits 32-47    |     generation (mod 65536)    |  4
//  +-------------------------------+-------------------------------+
//
// One little-endian i64: the generation in the high COMMIT_GENERATION_BITS, the committed offset
// plus one in the low COMMIT_OFFSET_BITS (0: nothing committed). Zeroed memory is "no commit,
// generation 0". The committed offset is the next one to read, as in Kafka.
//
// Fencing: the coordinator sets a word's generation when it assigns the partition for that
// generation (commitFence keeps the offset). A commit names the generation its member was
// assigned in and is written by one compare-exchange only if the word still holds that
// generation; otherwise it is refused (STATUS_FENCED, Kafka's ILLEGAL_GENERATION) and nothing
// changes. A reset (a group's seek) sets both with one atomic store, whatever the word held.
// Generation and offset change in the same atomic write, so the offset a thread reads beside a
// generation is one committed in it, the one a reset set, or the one the word held when it was
// fenced for it: never a commit of another generation written after the fence.
//
// Recovery: a thread that died holding the group lock may have written part of the entry past
// the published group count. That entry's state is still 0 and the next creator writes it again,
// so logRecover only releases the lock. Commit words are changed by single atomic operations
// (no lock), so a thread that dies leaves each word as it was before or after its write.
export const GROUP_STATE = 0
export const GROUP_NAME_LENGTH = 4
export const GROUP_NAME = 8
export const GROUP_MAX_NAME = 200
export const GROUP_SIZE = 208
/** Most groups a core may be sized for. */
export const GROUP_MAX_GROUPS = 4096

export const COMMIT_SIZE = 8
export const COMMIT_GENERATION_BITS = 16
export const COMMIT_OFFSET_BITS = 48
