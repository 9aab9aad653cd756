// The memory map: where the host puts each structure in the one memory every thread's instance
// works on. The core owns no memory; src/core/layout.ts sizes the regions below from the options.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//  0 ................ unused: address 0 is never valid
//  LAYOUT_CTL ....... control block (control.ts), CTL_SIZE bytes
//  LAYOUT_PARTITIONS  partition table (partition.ts), maxPartitions x PART_SIZE
//  topics ........... topic directory (directory.ts), maxTopics x TOPIC_SIZE
//  groups ........... group directory (group.ts), maxGroups x GROUP_SIZE
//  commits .......... group commit words (group.ts), maxGroups x maxPartitions x COMMIT_SIZE
//  dedup ............ dedup table (dedup.ts), maxDedupEntries x DEDUP_SIZE
//  route ............ routing region (route.ts): exchanges, bindings, topic tries; routeBytes
//  queues ........... queue region (queue.ts): queues, consumers, delivery state; queueBytes
//  laneOwners ....... lane owner words, lanes x LANE_OWNER_SIZE: 0 free, else the holder's token
//  lanesAt .......... lanes x laneBytes, one lane per thread:
//                       staging area   one segment's bytes: frames staged for the next commit
//                       output         LANE_OUT_BYTES: append results or poll pairs (cursor.ts)
//                       cursors        maxCursors x CUR_SIZE (cursor.ts)
//  blocks ........... segment pool (segment.ts), segmentCount x segmentBytes
//
// Every region after the partition table starts on a LAYOUT_ALIGN boundary, and the whole map is
// at most LAYOUT_MAX bytes (a 32-bit memory, less the last page).
//
// Recovery of the lane owners: a lane is taken by compare-exchange from 0 to the thread's lane
// token and given back the same way, so when a thread dies the one lane holding its token is
// freed (LogCore.recoverLane) without touching a lane another thread took since.
export const LAYOUT_CTL = 1024
export const LAYOUT_PARTITIONS = 2048
export const LAYOUT_ALIGN = 64
export const LAYOUT_PAGE = 65536
export const LAYOUT_MAX = 0xffff0000
export const LANE_OWNER_SIZE = 4
/** Most frames one append call takes. */
export const APPEND_MAX = 8192
/** Most records one poll returns. */
export const POLL_MAX = 4096
/** One f64 per appended frame; POLL_MAX x POLL_STRIDE f64 fit too. */
export const LANE_OUT_BYTES = APPEND_MAX * 8
