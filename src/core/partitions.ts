// The partition table as the host sees it: adding and configuring partitions, sizing their
// segments, and reading a partition's offsets, bytes and segments back for stats and readers.
import { FRAME_ALIGN } from './abi.js'
import { CTL, type CoreMemory } from './memory.js'
import { statusError } from './status.js'

export interface PartitionConfig {
  /** Hard cap on bytes held by the partition; 0 = bounded only by the pool. */
  maxBytes: number
  /** Age limit in ms against the bus clock; 0 = none. */
  maxAgeMs: number
  /** onFull 'reject': refuse appends instead of evicting. */
  reject: boolean
}

export class Partitions {
  constructor(private readonly mem: CoreMemory, private readonly maxFrameBytes: number) {}

  /** Frame bytes per segment for a partition: about a quarter of its byte cap, so eviction is gradual. */
  segmentCapacity(maxBytes: number): number {
    if (maxBytes === 0) return this.maxFrameBytes
    const quarter = Math.floor(maxBytes / 4 / FRAME_ALIGN) * FRAME_ALIGN
    return Math.min(this.maxFrameBytes, Math.max(quarter, Math.min(maxBytes, 4096)))
  }

  add(config: PartitionConfig): number {
    const id = this.mem.x.logAddPartition(CTL, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0)
    if (id < 0) throw statusError(id)
    return id
  }

  /** Other partitions take this one's blocks only as a last resort when the pool runs out. */
  keep(id: number): void {
    const status = this.mem.x.logKeep(CTL, id)
    if (status < 0) throw statusError(status, { partition: id })
  }

  configure(id: number, config: PartitionConfig): void {
    const status = this.mem.x.logConfigure(CTL, id, config.maxBytes, this.segmentCapacity(config.maxBytes), config.maxAgeMs, config.reject ? 1 : 0)
    if (status < 0) throw statusError(status)
  }

  startOffset(p: number): number { return this.mem.x.logStartOffset(CTL, p) }
  endOffset(p: number): number { return this.mem.x.logEndOffset(CTL, p) }
  bytes(p: number): number { return this.mem.x.logBytes(CTL, p) }
  segments(p: number): number { return this.mem.x.logSegments(CTL, p) }
  evicted(p: number): number { return this.mem.x.logEvicted(CTL, p) }
  freeSegments(): number { return this.mem.x.logFreeSegments(CTL) }
  offsetForTime(p: number, ts: number): number {
    const offset = this.mem.x.logOffsetForTime(CTL, p, ts)
    if (offset < 0) throw statusError(offset, { partition: p })
    return offset
  }
  /** Age retention at `now`; returns the number of segments removed. */
  retain(now: number): number { return this.mem.x.logRetain(CTL, now) }
}
