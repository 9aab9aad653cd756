// The exported ABI of the ringbus core: numbers in, numbers out. The module owns no memory:
// every structure lives at addresses the host chose (src/core/abi/), so several threads can
// instantiate it over one shared memory.
import {
  ABI_VERSION, CTL_BLOCKS, CTL_BLOCK_COUNT, CTL_BLOCK_SIZE, CTL_COMMITS, CTL_DEDUP, CTL_FREE_COUNT, CTL_GROUPS,
  CTL_GROUP_COUNT, CTL_INDEX_INTERVAL, CTL_MAGIC, CTL_MAX_DEDUP, CTL_MAX_GROUPS, CTL_MAX_PARTITIONS, CTL_MAX_TOPICS,
  CTL_PARTITIONS, CTL_PARTITION_COUNT, CTL_QUEUE_BYTES, CTL_QUEUES, CTL_ROUTE, CTL_ROUTE_BYTES, CTL_TOPICS, CTL_TOPIC_COUNT, CTL_VERSION, MAGIC,
} from '../src/core/abi/control'
import { FRAME_HEADER } from '../src/core/abi/frame'
import { PART_BYTES, PART_END_OFFSET, PART_EVICTED, PART_SEGMENTS, PART_START_OFFSET } from '../src/core/abi/partition'
import { SEG_HEADER } from '../src/core/abi/segment'
import { STATUS_BAD_ARGUMENT, STATUS_UNKNOWN_PARTITION } from '../src/core/abi/status'
import { indexReserve, partAddr, partValid, segmentPoolInit } from './log/segment'
import { acas32, aload32, aload64, astore32 } from './sync'
import { routeInit } from './route/region'
import { queueInit } from './queue/region'

export { logAddPartition, logAppend, logConfigure, logKeep, logOffsetForTime, logPoll, logPollValid, logRetain, logTrim } from './log/partition'
export {
  queueAck, queueAckMany, queueCancel, queueConsume, queueCount, queueDeclare, queueDelete, queueExpireUnused, queueFind, queueGet, queueInfo, queueNack,
  queuePublish, queueReceive, queueSettle, queueStats, queueTakeDead, queueTakeWakes, queueTick, queueWake,
} from './queue/queue'
export { murmur2 } from './topic/murmur2'
export { topicConfigure, topicCreate, topicFind } from './topic/directory'
export { groupCreate, groupFind } from './group/directory'
export { commitFence, commitGeneration, commitInit, commitLoad, commitReset, commitStore } from './group/commit'
export { dedupClaim, dedupComplete, dedupOffset, dedupPartition, dedupRelease, dedupTimestamp } from './dedup/table'
export { logRecover } from './log/recover'
export { syncSetToken } from './sync'
export { routeBind, routeBindings, routeCount, routeDeclare, routeFind, routeInfo, routeRoute, routeUnbind, routeUnbindAll } from './route/routes'

/**
 * Lays out the control block, partition table, group directory, dedup table, routing and queue
 * regions and segment pool
 * once. The first caller wins the cmpxchg on the magic word and initialises; later callers (other
 * threads) wait until it is done.
 * Returns 0 when this call initialised, 1 when the core was already initialised, or a status.
 */
export function logInit(ctl: usize, blocks: usize, blockSize: u32, blockCount: u32, partitions: usize,
  maxPartitions: u32, indexInterval: u32, topics: usize, maxTopics: u32, groups: usize, maxGroups: u32, commits: usize,
  dedup: usize, maxDedup: u32, route: usize, routeBytes: u32, queues: usize, queueBytes: u32): i32 {
  // commit words are i64 atomics, which trap unless aligned; a dedup table has a slot to hash to
  if (blockSize & 7 || indexInterval < <u32>FRAME_HEADER || blocks & 7 || partitions & 7 || topics & 7 || groups & 7 || commits & 7 ||
    dedup & 7 || maxDedup == 0 || route & 63 || routeBytes < 1024 || queues & 63 || queueBytes < 1024 ||
    blockSize < <u32>(SEG_HEADER + FRAME_HEADER) + indexReserve(blockSize, indexInterval)) return STATUS_BAD_ARGUMENT
  if (acas32(ctl + CTL_MAGIC, 0, 1) != 0) {
    while (aload32(ctl + CTL_MAGIC) != MAGIC) {
      // another thread is initialising; it does no I/O, so this is short
    }
    return 1
  }
  store<u32>(ctl, ABI_VERSION, CTL_VERSION)
  store<u32>(ctl, blockSize, CTL_BLOCK_SIZE)
  store<u32>(ctl, blockCount, CTL_BLOCK_COUNT)
  store<u32>(ctl, <u32>blocks, CTL_BLOCKS)
  store<u32>(ctl, <u32>partitions, CTL_PARTITIONS)
  store<u32>(ctl, maxPartitions, CTL_MAX_PARTITIONS)
  store<u32>(ctl, 0, CTL_PARTITION_COUNT)
  store<u32>(ctl, indexInterval, CTL_INDEX_INTERVAL)
  store<u32>(ctl, <u32>topics, CTL_TOPICS)
  store<u32>(ctl, maxTopics, CTL_MAX_TOPICS)
  store<u32>(ctl, 0, CTL_TOPIC_COUNT)
  store<u32>(ctl, <u32>groups, CTL_GROUPS)
  store<u32>(ctl, maxGroups, CTL_MAX_GROUPS)
  store<u32>(ctl, 0, CTL_GROUP_COUNT)
  store<u32>(ctl, <u32>commits, CTL_COMMITS)
  store<u32>(ctl, <u32>dedup, CTL_DEDUP)
  store<u32>(ctl, maxDedup, CTL_MAX_DEDUP)
  store<u32>(ctl, <u32>route, CTL_ROUTE)
  store<u32>(ctl, routeBytes, CTL_ROUTE_BYTES)
  store<u32>(ctl, <u32>queues, CTL_QUEUES)
  store<u32>(ctl, queueBytes, CTL_QUEUE_BYTES)
  routeInit(ctl)
  queueInit(ctl)
  segmentPoolInit(ctl, blockCount)
  astore32(ctl + CTL_MAGIC, MAGIC)
  return 0
}

// Read-outs for stats and readers. Offsets are i64 inside and f64 at the boundary (exact up to
// 2^53), because an i64 crosses into JavaScript as a BigInt.
export function logStartOffset(ctl: usize, p: i32): f64 {
  return partValid(ctl, p) ? <f64>aload64(partAddr(ctl, p) + PART_START_OFFSET) : STATUS_UNKNOWN_PARTITION
}
export function logEndOffset(ctl: usize, p: i32): f64 {
  return partValid(ctl, p) ? <f64>aload64(partAddr(ctl, p) + PART_END_OFFSET) : STATUS_UNKNOWN_PARTITION
}
export function logBytes(ctl: usize, p: i32): i32 {
  return partValid(ctl, p) ? <i32>load<u32>(partAddr(ctl, p), PART_BYTES) : STATUS_UNKNOWN_PARTITION
}
export function logSegments(ctl: usize, p: i32): i32 {
  return partValid(ctl, p) ? <i32>load<u32>(partAddr(ctl, p), PART_SEGMENTS) : STATUS_UNKNOWN_PARTITION
}
export function logEvicted(ctl: usize, p: i32): f64 {
  return partValid(ctl, p) ? load<f64>(partAddr(ctl, p), PART_EVICTED) : STATUS_UNKNOWN_PARTITION
}
export function logFreeSegments(ctl: usize): i32 {
  return <i32>load<u32>(ctl, CTL_FREE_COUNT)
}
