// The memory map (src/core/abi/layout.ts) sized for one bus: where the control block, partition
// table, topic and group directories, commit words, dedup table, lane owners, lanes and segment
// pool go, and how big the memory is.
// Plain numbers, so a worker given the same memory and layout sees the same log.
import {
  COMMIT_SIZE, CUR_SIZE, DEDUP_MAX_ENTRIES, DEDUP_MIN_ENTRIES, DEDUP_SIZE, GROUP_MAX_GROUPS, GROUP_SIZE, IDX_SIZE, INDEX_INTERVAL, LANE_OUT_BYTES, LANE_OWNER_SIZE,
  LAYOUT_ALIGN, LAYOUT_CTL, LAYOUT_MAX, LAYOUT_PAGE, LAYOUT_PARTITIONS, PART_SIZE, SEG_HEADER, TOPIC_SIZE,
} from './abi.js'
import type { WasmSource } from './load.js'
import { InvalidArgumentError } from '../errors.js'

export interface CoreOptions {
  /** Total bytes of segment memory (the pool). */
  maxBytes: number
  /** Back the core with a shared WebAssembly.Memory (workers can attach). */
  shared: boolean
  /** Size of one segment block; default scales with maxBytes between 64 KiB and 1 MiB. */
  segmentBytes?: number
  maxPartitions?: number
  /** Reader positions (one per subscription and partition) this thread may hold at once. */
  maxCursors?: number
  /** Threads that may use the core at once (each takes a lane: staging area and cursors). */
  lanes?: number
  /** Most topics (default 512). */
  maxTopics?: number
  /** Group table size: see BusOptions.maxGroups. */
  maxGroups?: number
  /** Dedup table size: see BusOptions.maxDedupEntries. */
  maxDedupEntries?: number
  /** Routing region size: see BusOptions.routeBytes. */
  routeBytes?: number
  /** Queue region size: see BusOptions.queueBytes. */
  queueBytes?: number
  wasm?: WasmSource
}

/** Where everything lives in the core's memory (the regions of src/core/abi/layout.ts). */
export interface CoreLayout {
  ctl: number
  partitions: number
  segmentBytes: number
  segmentCount: number
  maxPartitions: number
  maxCursors: number
  maxTopics: number
  topics: number
  maxGroups: number
  groups: number
  commits: number
  maxDedupEntries: number
  dedup: number
  routeBytes: number
  route: number
  queueBytes: number
  queues: number
  lanes: number
  laneOwners: number
  lanesAt: number
  laneBytes: number
  blocks: number
  pages: number
}

export const align = (n: number, to: number): number => Math.ceil(n / to) * to

/**
 * Segment blocks are the unit of allocation, so their count bounds how many partitions hold data
 * at once: aim for 256 blocks, between 64 KiB and 1 MiB each (the largest record is a little
 * under one block).
 */
export function computeLayout(options: CoreOptions): CoreLayout {
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes(options.maxBytes)
  if (!Number.isInteger(segmentBytes) || segmentBytes < 4096 || segmentBytes > 64 * 1024 * 1024 || segmentBytes % 8 !== 0) {
    throw new InvalidArgumentError(`segmentBytes must be a multiple of 8 between 4096 and 64 MiB, got ${segmentBytes}`, { argument: 'segmentBytes' })
  }
  const maxPartitions = options.maxPartitions ?? 1024
  const maxCursors = options.maxCursors ?? 4096
  const lanes = options.lanes ?? (options.shared ? 16 : 1)
  const maxTopics = options.maxTopics ?? 512
  const maxGroups = options.maxGroups ?? 64
  if (!Number.isInteger(maxGroups) || maxGroups < 1 || maxGroups > GROUP_MAX_GROUPS) {
    throw new InvalidArgumentError(`maxGroups must be an integer between 1 and ${GROUP_MAX_GROUPS}, got ${maxGroups}`, { argument: 'maxGroups' })
  }
  const maxDedupEntries = options.maxDedupEntries ?? 4096
  if (!Number.isInteger(maxDedupEntries) || maxDedupEntries < DEDUP_MIN_ENTRIES || maxDedupEntries > DEDUP_MAX_ENTRIES) {
    throw new InvalidArgumentError(`maxDedupEntries must be an integer between ${DEDUP_MIN_ENTRIES} and ${DEDUP_MAX_ENTRIES}, got ${maxDedupEntries}`, { argument: 'maxDedupEntries' })
  }
  const routeBytes = regionBytes('routeBytes', options.routeBytes ?? 8 << 20)
  const queueBytes = regionBytes('queueBytes', options.queueBytes ?? 16 << 20)
  const topics = align(LAYOUT_PARTITIONS + maxPartitions * PART_SIZE, LAYOUT_ALIGN)
  const groups = align(topics + maxTopics * TOPIC_SIZE, LAYOUT_ALIGN)
  const commits = align(groups + maxGroups * GROUP_SIZE, LAYOUT_ALIGN)
  const dedup = align(commits + maxGroups * maxPartitions * COMMIT_SIZE, LAYOUT_ALIGN)
  const route = align(dedup + maxDedupEntries * DEDUP_SIZE, LAYOUT_ALIGN)
  const queues = align(route + routeBytes, LAYOUT_ALIGN)
  const laneOwners = align(queues + queueBytes, LAYOUT_ALIGN)
  const lanesAt = align(laneOwners + lanes * LANE_OWNER_SIZE, LAYOUT_ALIGN)
  const laneBytes = align(segmentBytes + LANE_OUT_BYTES + maxCursors * CUR_SIZE, LAYOUT_ALIGN)
  const blocks = align(lanesAt + lanes * laneBytes, LAYOUT_ALIGN)
  if (segmentBytes > options.maxBytes) {
    throw new InvalidArgumentError(`segmentBytes ${segmentBytes} is more than maxBytes ${options.maxBytes}: the pool holds whole segments, at least one`, { argument: 'segmentBytes' })
  }
  const segmentCount = Math.max(1, Math.floor(options.maxBytes / segmentBytes))
  const total = blocks + segmentCount * segmentBytes
  if (total > LAYOUT_MAX) {
    throw tooLarge(total, {
      maxBytes: segmentCount * segmentBytes, lanes: lanes * laneBytes, maxPartitions: maxPartitions * PART_SIZE, maxTopics: maxTopics * TOPIC_SIZE,
      maxDedupEntries: maxDedupEntries * DEDUP_SIZE, routeBytes, queueBytes, maxGroups: maxGroups * (GROUP_SIZE + maxPartitions * COMMIT_SIZE),
    }, lanes, laneBytes, maxCursors, maxPartitions)
  }
  return {
    ctl: LAYOUT_CTL, partitions: LAYOUT_PARTITIONS, segmentBytes, segmentCount, maxPartitions, maxCursors, maxTopics, topics, maxGroups, groups, commits,
    maxDedupEntries, dedup, routeBytes, route, queueBytes, queues, lanes, laneOwners, lanesAt, laneBytes, blocks, pages: Math.ceil(total / LAYOUT_PAGE),
  }
}

/** Says what takes the room when the memory would exceed 4 GiB, and names the biggest taker. */
function tooLarge(total: number, parts: Record<'maxBytes' | 'lanes' | 'maxPartitions' | 'maxTopics' | 'maxDedupEntries' | 'routeBytes' | 'queueBytes' | 'maxGroups', number>, lanes: number, laneBytes: number, maxCursors: number,
  maxPartitions: number): InvalidArgumentError {
  const [argument] = (Object.entries(parts) as Array<[keyof typeof parts, number]>).sort((a, b) => b[1] - a[1])[0]
  const mib = (n: number) => `${Math.ceil(n / (1 << 20))} MiB`
  return new InvalidArgumentError(`the core would need ${mib(total)}, more than a 4 GiB memory holds: the segment pool (maxBytes) takes ${mib(parts.maxBytes)}, ` +
    `${lanes} lanes x ${laneBytes} bytes per lane (a segment of staging, the output buffer and ${maxCursors} maxCursors) take ${mib(parts.lanes)}, ` +
    `the partition table ${mib(parts.maxPartitions)}, the topic directory ${mib(parts.maxTopics)}, the dedup table (maxDedupEntries) ${mib(parts.maxDedupEntries)}, the routing region (routeBytes) ${mib(parts.routeBytes)}, the queue region (queueBytes) ${mib(parts.queueBytes)} and the consumer groups (maxGroups, a commit word for each of ${maxPartitions} maxPartitions) ` +
    `${mib(parts.maxGroups)}; lower ${argument}`, { argument })
}

/** A routing or queue region: 64 KiB to 1 GiB, a multiple of 64. */
function regionBytes(argument: 'routeBytes' | 'queueBytes', bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 65536 || bytes > 2 ** 30 || bytes % 64 !== 0) {
    throw new InvalidArgumentError(`${argument} must be a multiple of 64 between 64 KiB and 1 GiB, got ${bytes}`, { argument })
  }
  return bytes
}

function defaultSegmentBytes(maxBytes: number): number {
  let size = 1 << 20
  while (size > 64 * 1024 && size * 256 > maxBytes) size >>= 1
  return size
}

/** Largest frame a segment can hold: the block less its header and index (assembly's frameAreaMax). */
export function maxFrameBytes(layout: CoreLayout): number {
  return layout.segmentBytes - SEG_HEADER - (Math.floor(layout.segmentBytes / INDEX_INTERVAL) + 2) * IDX_SIZE
}
