// A thread that dies inside the core (worker.terminate() can stop it anywhere) leaves its locks
// holding its lane token and its half-done append uncommitted. recoverLane() must repair the
// partition from what was committed, release the locks, and lose no committed record.
import { describe, expect, it } from 'vitest'
import {
  CTL_FREE_COUNT, CTL_FREE_HEAD, CTL_PARTITION_COUNT, CTL_POOL_LOCK, CTL_TOPIC_LOCK, FRAME_DELTA, FRAME_LENGTH, PART_BYTES, PART_LOCK, PART_PENDING_END,
  PART_PENDING_TAIL, PART_SIZE, PART_TAIL, SEG_RECORDS, SEG_TAIL, PART_END_OFFSET, SEG_OWNER,
  SEG_BASE_OFFSET, SEG_NEXT, SEG_HEADER, SEG_INDEX_COUNT,
} from '../../src/core/abi.js'
import { LogCore, frameLength } from '../../src/core/log.js'
import { STATUS_BUSY } from '../../src/core/abi.js'
import { errors } from '../../src/index.js'

const value = (n: number) => new Uint8Array(40).fill(n)

describe('recovery after a thread died inside the core', () => {
  it('drops the uncommitted append, releases the lock and keeps every committed record', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    const p = a.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
    const token = 7
    const b = LogCore.attach(a.module, a.memory, a.layout, token) // "another thread"
    for (let i = 0; i < 3; i++) b.stage(p, 100 + i, 0, 0, undefined, undefined, value(i))
    expect(b.commit(0)).toBe(3)

    // b dies half-way through a fourth append: the frame is written past the committed tail and
    // the counters moved, but nothing was committed, and it still holds the partition lock
    const dv = new DataView(a.memory.buffer)
    const part = a.layout.partitions + p * PART_SIZE
    const seg = a.layout.blocks + (dv.getUint32(part + PART_TAIL, true) - 1) * a.layout.segmentBytes
    const tail = dv.getUint32(seg + SEG_TAIL, true)
    const length = frameLength(0, 0, 40)
    dv.setUint32(seg + tail + FRAME_LENGTH, length, true)
    dv.setUint32(seg + tail + FRAME_DELTA, 3, true)
    dv.setUint32(seg + SEG_RECORDS, 4, true)
    dv.setUint32(part + PART_BYTES, dv.getUint32(part + PART_BYTES, true) + length, true)
    dv.setUint32(part + PART_PENDING_TAIL, tail + length, true)
    dv.setBigInt64(part + PART_PENDING_END, 4n, true)
    dv.setUint32(part + PART_LOCK, token, true)
    dv.setUint32(a.layout.ctl + CTL_POOL_LOCK, token, true)
    const free = a.freeSegments()
    dv.setUint32(a.layout.ctl + CTL_FREE_COUNT, free + 1, true) // a pool operation cut short

    expect(a.recoverLane(token)).toEqual({ lane: b.lane, released: 2 })
    expect(dv.getUint32(part + PART_LOCK, true)).toBe(0)
    expect(dv.getUint32(part + PART_PENDING_TAIL, true)).toBe(0)
    expect(a.freeSegments()).toBe(free)
    expect(a.endOffset(p)).toBe(3)
    expect(Number(dv.getBigInt64(part + PART_END_OFFSET, true))).toBe(3)
    expect(a.bytes(p)).toBe(3 * length)

    // the log goes on: the next append gets offset 3 and every record reads back
    a.stage(p, 200, 0, 0, undefined, undefined, value(9))
    expect(a.commit(0)).toBe(1)
    expect(a.offsetAt(0)).toBe(3)
    const cursor = a.openCursor(p, 0)
    expect(a.poll(cursor, 10)).toBe(4)
    const firstBytes = [0, 1, 2, 3].map((i) => a.u8[a.polledFrame(i) + 32])
    expect(firstBytes).toEqual([0, 1, 2, 9])
    expect([0, 1, 2, 3].map((i) => a.frameTimestamp(a.polledFrame(i)))).toEqual([100, 101, 102, 200])
  })

  it('repairs a partition whose death came half-way through rolling to a new segment', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    const p = a.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
    const token = 9
    const b = LogCore.attach(a.module, a.memory, a.layout, token)
    // fill more than one segment so there is a closed segment and an active one
    let appended = 0
    while (a.segments(p) < 2) {
      b.stage(p, appended, 0, 0, undefined, undefined, value(appended & 0xff))
      expect(b.commit(0)).toBe(1)
      appended++
    }
    const dv = new DataView(a.memory.buffer)
    const part = a.layout.partitions + p * PART_SIZE
    const bytes = a.bytes(p)
    // b took a block from the pool and linked it after the active segment, then died before
    // recording the new tail in the partition (an empty segment the partition does not know of)
    const tailBlock = dv.getUint32(part + PART_TAIL, true)
    const tailSeg = a.layout.blocks + (tailBlock - 1) * a.layout.segmentBytes
    // taken off the free list first, as the pool does (under its lock)
    const fresh = dv.getUint32(a.layout.ctl + CTL_FREE_HEAD, true)
    const freshSeg = a.layout.blocks + (fresh - 1) * a.layout.segmentBytes
    dv.setUint32(a.layout.ctl + CTL_FREE_HEAD, dv.getUint32(freshSeg + SEG_NEXT, true), true)
    dv.setUint32(a.layout.ctl + CTL_FREE_COUNT, a.freeSegments() - 1, true)
    const free = a.freeSegments()
    dv.setUint32(freshSeg + SEG_OWNER, p + 1, true)
    dv.setBigInt64(freshSeg + SEG_BASE_OFFSET, BigInt(appended), true)
    dv.setUint32(freshSeg + SEG_NEXT, 0, true)
    dv.setUint32(freshSeg + SEG_TAIL, SEG_HEADER, true)
    dv.setUint32(freshSeg + SEG_RECORDS, 0, true)
    dv.setUint32(freshSeg + SEG_INDEX_COUNT, 0, true)
    dv.setUint32(tailSeg + SEG_NEXT, fresh, true)
    dv.setUint32(part + PART_LOCK, token, true)

    expect(a.recoverLane(token)).toEqual({ lane: b.lane, released: 1 })
    expect(dv.getUint32(part + PART_TAIL, true)).toBe(fresh) // the chain is what counts
    expect(a.segments(p)).toBe(3)
    expect(a.bytes(p)).toBe(bytes)
    expect(a.endOffset(p)).toBe(appended)
    expect(a.freeSegments()).toBe(free)
    // appends continue into the recovered segment, and a reader crosses all three segments
    a.stage(p, 999, 0, 0, undefined, undefined, value(7))
    expect(a.commit(0)).toBe(1)
    expect(a.offsetAt(0)).toBe(appended)
    const cursor = a.openCursor(p, 0)
    let read = 0
    for (let n = a.poll(cursor, 1000); n > 0; n = a.poll(cursor, 1000)) {
      for (let i = 0; i < n; i++) expect(a.polledOffset(i)).toBe(read + i)
      read += n
    }
    expect(read).toBe(appended + 1)
  })

  it('releases nothing a living thread holds', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    const p = a.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
    const dv = new DataView(a.memory.buffer)
    const part = a.layout.partitions + p * PART_SIZE
    dv.setUint32(part + PART_LOCK, 5, true) // held by token 5, alive
    expect(a.recoverLane(9)).toEqual({ lane: -1, released: 0 })
    expect(dv.getUint32(part + PART_LOCK, true)).toBe(5)
  })

  it('a lock a dead thread holds makes others give up with STATUS_BUSY (never spin for ever) until it is recovered', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    const p = a.addPartition({ maxBytes: 0, maxAgeMs: 5, reject: false })
    a.stage(p, 1, 0, 0, undefined, undefined, value(1))
    expect(a.commit(1)).toBe(1)
    const dv = new DataView(a.memory.buffer)
    const part = a.layout.partitions + p * PART_SIZE
    const token = 11
    dv.setUint32(part + PART_LOCK, token, true) // its holder died inside the core
    // appending, repositioning a reader, finding an offset by time and configuring all give up
    a.stage(p, 2, 0, 0, undefined, undefined, value(2))
    expect(a.commit(2)).toBe(0)
    expect(a.statusAt(0)).toBe(STATUS_BUSY)
    a.discardStaged()
    const cursor = a.openCursor(p, 0)
    expect(a.poll(cursor, 10)).toBe(STATUS_BUSY)
    expect(() => a.offsetForTime(p, 0)).toThrow(errors.BackPressureError)
    expect(a.retain(1000)).toBe(0) // age retention skips the partition, and retries on its next pass
    // and the log is as it was: once the holder is recovered everything goes on
    expect(a.recoverLane(token).released).toBe(1)
    expect(a.poll(cursor, 10)).toBe(1)
    a.stage(p, 3, 0, 0, undefined, undefined, value(3))
    expect(a.commit(3)).toBe(1)
    expect(a.offsetAt(0)).toBe(1)
  })

  it('gives back the partitions a thread took for a topic it was still creating when it died', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192, maxPartitions: 5 })
    const config = { maxBytes: 0, maxAgeMs: 0, reject: false }
    expect(a.declareTopic('x', 2, config, 0)).toBe(0)
    // "another thread" dies creating a topic of 3 partitions: it holds the directory lock and took
    // the ids, but the topic's partition count (published last) never came
    const token = 7
    const dv = new DataView(a.memory.buffer)
    dv.setUint32(a.layout.ctl + CTL_TOPIC_LOCK, token, true)
    for (let i = 0; i < 3; i++) a.addPartition(config)
    expect(dv.getUint32(a.layout.ctl + CTL_PARTITION_COUNT, true)).toBe(5)
    expect(a.recoverLane(token)).toEqual({ lane: -1, released: 1 })
    expect(dv.getUint32(a.layout.ctl + CTL_PARTITION_COUNT, true)).toBe(2)
    // the table has room again: the topic can be created in full
    const y = a.declareTopic('y', 3, config, 0)
    expect(a.topic(y).ids).toEqual([2, 3, 4])
    expect(a.topic(0).ids).toEqual([0, 1])
  })
})
