// Unit tests of LogCore, the TypeScript face of the WebAssembly segment log: appends, cursors,
// the byte cap, onFull 'reject', the segment pool, oversized frames, age retention and
// offsetForTime. Every test runs against both builds (shared and plain memory).
import { describe, expect, it } from 'vitest'
import {
  FLAG_KEY, FLAG_KEY_BINARY, FLAG_NULL_VALUE, STATUS_BAD_ARGUMENT, STATUS_FULL, STATUS_LIMIT, STATUS_OUT_OF_RANGE, STATUS_TOO_LARGE, STATUS_TOPIC_LIMIT,
} from '../../src/core/abi.js'
import { LogCore, frameLength } from '../../src/core/log.js'
import { instantiateCore } from '../../src/core/exports.js'
import { realClock } from '../../src/clock.js'
import { errors } from '../../src/index.js'
import { TopicRegistry } from '../../src/topic/registry.js'
import { bytes } from './bytes.js'

// ---- helpers ----------------------------------------------------------------------------------

interface Rec {
  ts: number
  value: Uint8Array
  key?: Uint8Array
  headers?: Uint8Array
  keyHash?: number
  flags?: number
}

interface Read {
  offset: number
  ts: number
  keyHash: number
  flags: number
  headers: Uint8Array
  key: Uint8Array
  value: Uint8Array
}


/** A value of `length` bytes whose frame (no key, no headers) is exactly frameBytes long. */
const valueForFrame = (frameBytes: number, seed: number): Uint8Array => bytes(seed, frameBytes - 32)

const lengthOf = (r: Rec): number => frameLength(r.headers?.length ?? 0, r.key?.length ?? 0, r.value.length)

/** Stages and commits one record; returns its offset, or the status when it was refused. */
function append(core: LogCore, p: number, r: Rec, now = r.ts): number {
  expect(core.stage(p, r.ts, r.keyHash ?? 0, r.flags ?? 0, r.headers, r.key, r.value)).toBe(true)
  const n = core.commit(now)
  return n === 1 ? core.offsetAt(0) : core.statusAt(0)
}

/** Appends records built by `make(i)` for i in [from, to); expects every one to be accepted. */
function appendMany(core: LogCore, p: number, from: number, to: number, make: (i: number) => Rec): Rec[] {
  const recs: Rec[] = []
  for (let i = from; i < to; i++) {
    const r = make(i)
    const offset = append(core, p, r)
    expect(offset, `append #${i}`).toBeGreaterThanOrEqual(0)
    recs.push(r)
  }
  return recs
}

function readPolled(core: LogCore, n: number): Read[] {
  const view = new DataView(core.u8.buffer)
  const out: Read[] = []
  for (let i = 0; i < n; i++) {
    const at = core.polledFrame(i)
    const h = core.frameHeadersLength(at)
    const k = core.frameKeyLength(at)
    const v = core.frameValueLength(at)
    const body = at + 32
    out.push({
      offset: core.polledOffset(i),
      ts: core.frameTimestamp(at),
      keyHash: view.getInt32(at + 16, true),
      flags: core.frameFlags(at),
      headers: core.u8.slice(body, body + h),
      key: core.u8.slice(body + h, body + h + k),
      value: core.u8.slice(body + h + k, body + h + k + v),
    })
  }
  return out
}

/** Polls a cursor until it returns 0; throws on a negative status. */
function drain(core: LogCore, slot: number, max = 1000): Read[] {
  const all: Read[] = []
  for (;;) {
    const n = core.poll(slot, max)
    if (n < 0) throw new Error(`poll returned status ${n}`)
    if (n === 0) return all
    all.push(...readPolled(core, n))
  }
}

function readFrom(core: LogCore, p: number, offset: number, max = 1000): Read[] {
  const slot = core.openCursor(p, offset)
  try {
    return drain(core, slot, max)
  } finally {
    core.closeCursor(slot)
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Expects `reads` to be exactly `recs` (same bytes and timestamps) at offsets from `first`. */
function expectRecords(reads: Read[], recs: Rec[], first: number): void {
  expect(reads.map((r) => r.offset)).toEqual(recs.map((_, i) => first + i))
  // collect mismatches first: one expect per field of every record would be slow
  const wrong: string[] = []
  reads.forEach((r, i) => {
    const want = recs[i]!
    const fields: [string, boolean][] = [
      ['ts', r.ts === want.ts],
      ['value', sameBytes(r.value, want.value)],
      ['key', sameBytes(r.key, want.key ?? new Uint8Array(0))],
      ['headers', sameBytes(r.headers, want.headers ?? new Uint8Array(0))],
      ['keyHash', r.keyHash === (want.keyHash ?? 0)],
      ['flags', r.flags === (want.flags ?? 0)],
    ]
    for (const [name, ok] of fields) if (!ok) wrong.push(`${name} @${r.offset}`)
  })
  expect(wrong).toEqual([])
}

function sumBytes(recs: Rec[]): number {
  return recs.reduce((s, r) => s + lengthOf(r), 0)
}

function poolTotal(core: LogCore, partitions: number[]): number {
  return partitions.reduce((s, p) => s + core.segments(p), core.freeSegments())
}

// 4096-byte segments hold 3936 frame bytes: seven 512-byte frames and no eighth.
const SEG = 4096
const MAX_FRAME_4K = 3936
const FRAME = 512
const PER_SEGMENT = 7
const rec512 = (tag: number, ts = tag): Rec => ({ ts, value: valueForFrame(FRAME, tag) })

// ---- tests --------------------------------------------------------------------------------------

describe.each([{ shared: true }, { shared: false }])('LogCore (shared: $shared)', ({ shared }) => {
  const make = (maxBytes: number, segmentBytes = SEG) => LogCore.create({ maxBytes, shared, segmentBytes })

  describe('layout', () => {
    it('sizes the pool and the largest frame from segmentBytes', async () => {
      const core = await make(10 * SEG + 100)
      expect(core.segmentCount).toBe(10)
      expect(core.freeSegments()).toBe(10)
      expect(core.maxFrameBytes).toBe(MAX_FRAME_4K)
      const big = await make(4 * 8192, 8192)
      expect(big.maxFrameBytes).toBe(8192 - 64 - 10 * 16)
      expect(frameLength(0, 0, 0)).toBe(32)
      expect(frameLength(1, 2, 3)).toBe(40)
      expect(frameLength(0, 0, 8)).toBe(40)
      expect(frameLength(0, 0, 9)).toBe(48)
    })
  })

  describe('append and poll', () => {
    it('round-trips timestamps, key hashes, flags, headers, keys and value bytes', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs: Rec[] = [
        { ts: 1_700_000_000_123, value: bytes(1, 10) },
        { ts: 0.5, value: new Uint8Array(0) },
        { ts: -42, value: bytes(3, 7), key: bytes(33, 5), keyHash: -1993445489, flags: FLAG_KEY | FLAG_KEY_BINARY },
        { ts: 3, value: bytes(4, 1), key: new Uint8Array(0), keyHash: 275646681, flags: FLAG_KEY },
        { ts: 4, value: new Uint8Array(0), key: bytes(55, 3), flags: FLAG_KEY | FLAG_NULL_VALUE, keyHash: 971027396 },
        { ts: 5, value: bytes(6, 33), headers: bytes(66, 17) },
        { ts: 6, value: bytes(7, 100), headers: bytes(77, 9), key: bytes(777, 13), keyHash: 0x7fffffff, flags: 0xffff },
        { ts: Number.MAX_SAFE_INTEGER, value: bytes(8, 3000), headers: bytes(88, 300), key: bytes(888, 200) },
      ]
      recs.forEach((r, i) => expect(append(core, p, r)).toBe(i))
      expectRecords(readFrom(core, p, 0), recs, 0)
      expect(core.bytes(p)).toBe(sumBytes(recs))
      expect(core.endOffset(p)).toBe(recs.length)
      expect(core.startOffset(p)).toBe(0)
    })

    it('keeps the padding of a frame zeroed so equal records are equal bytes', async () => {
      const core = await make(4 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      // leave non-zero bytes in the staging area first
      expect(core.stage(p, 1, 0, 0, undefined, undefined, new Uint8Array(100).fill(0xff))).toBe(true)
      core.discardStaged()
      append(core, p, { ts: 1, value: new Uint8Array([1, 2, 3]) })
      const slot = core.openCursor(p, 0)
      expect(core.poll(slot, 10)).toBe(1)
      const at = core.polledFrame(0)
      expect(Array.from(core.u8.slice(at + 35, at + 35 + 5))).toEqual([0, 0, 0, 0, 0])
    })

    it('gives each partition contiguous offsets from 0 and polls them in append order', async () => {
      const core = await make(32 * SEG)
      const ps = [0, 1, 2].map(() => core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false }))
      expect(ps).toEqual([0, 1, 2])
      const want: Rec[][] = [[], [], []]
      for (let i = 0; i < 300; i++) {
        const j = (i * 7) % 3 === 0 ? 0 : i % 2 === 0 ? 1 : 2 // an uneven interleaving
        const r: Rec = { ts: 1000 + i, value: bytes(i, 20 + (i % 90)) }
        expect(append(core, ps[j]!, r)).toBe(want[j]!.length)
        want[j]!.push(r)
      }
      for (const j of [0, 1, 2]) {
        expect(core.endOffset(ps[j]!)).toBe(want[j]!.length)
        expectRecords(readFrom(core, ps[j]!, 0, 13), want[j]!, 0)
      }
    })

    it('appends a batch across partitions in one commit', async () => {
      const core = await make(16 * SEG)
      const ps = [0, 1, 2].map(() => core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false }))
      append(core, ps[1]!, { ts: 1, value: bytes(999, 8) }) // partition 1 starts at offset 1
      const order = [0, 0, 1, 2, 1, 0, 2, 2, 2, 1]
      const recs = order.map((_, i): Rec => ({ ts: 10 + i, value: bytes(100 + i, 5 + i * 3), key: bytes(200 + i, i) }))
      order.forEach((j, i) => expect(core.stage(ps[j]!, recs[i]!.ts, i, FLAG_KEY, undefined, recs[i]!.key, recs[i]!.value)).toBe(true))
      expect(core.stagedCount).toBe(order.length)
      expect(core.commit(50)).toBe(order.length)
      expect(core.stagedCount).toBe(0)
      const next = [0, 1, 0]
      order.forEach((j, i) => expect(core.offsetAt(i), `frame ${i}`).toBe(next[j]!++))
      for (const j of [0, 1, 2]) {
        const mine = order.flatMap((q, i) => (q === j ? [{ ...recs[i]!, keyHash: i, flags: FLAG_KEY }] : []))
        const reads = readFrom(core, ps[j]!, j === 1 ? 1 : 0)
        expectRecords(reads, mine, j === 1 ? 1 : 0)
      }
      expect(core.commit(60)).toBe(0) // nothing staged
    })

    it('stops a batch at the first failing frame and appends nothing after it', async () => {
      const core = await make(16 * SEG)
      const a = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const b = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      expect(core.stage(a, 1, 0, 0, undefined, undefined, bytes(1, 10))).toBe(true)
      expect(core.stage(b, 2, 0, 0, undefined, undefined, bytes(2, 10))).toBe(true)
      // one frame too large: 3944 bytes against a 3936-byte segment
      expect(core.stage(b, 3, 0, 0, undefined, undefined, bytes(3, MAX_FRAME_4K - 31))).toBe(true)
      expect(core.stage(a, 4, 0, 0, undefined, undefined, bytes(4, 10))).toBe(true)
      expect(core.commit(5)).toBe(2)
      expect(core.offsetAt(0)).toBe(0)
      expect(core.offsetAt(1)).toBe(0)
      expect(core.statusAt(2)).toBe(STATUS_TOO_LARGE)
      expect(core.endOffset(a)).toBe(1)
      expect(core.endOffset(b)).toBe(1)
      expectRecords(readFrom(core, a, 0), [{ ts: 1, value: bytes(1, 10) }], 0)
      expectRecords(readFrom(core, b, 0), [{ ts: 2, value: bytes(2, 10) }], 0)
    })

    it('moves a cursor across segment boundaries with any poll size', async () => {
      const core = await make(32 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 400, (i) => ({ ts: i, value: bytes(i, (i * 37) % 250) }))
      expect(core.segments(p)).toBeGreaterThan(5)
      for (const max of [1, 2, 3, 7, 64, 399, 400, 5000]) {
        const slot = core.openCursor(p, 0)
        const reads: Read[] = []
        let short = 0
        for (;;) {
          const n = core.poll(slot, max)
          expect(n).toBeLessThanOrEqual(max)
          if (n === 0) break
          // one poll returns one segment's records, end to end (one epoch vouches for them all)
          for (let i = 1; i < n; i++) expect(core.polledFrame(i)).toBe(core.polledFrame(i - 1) + lengthOf(recs[reads.length + i - 1]))
          if (reads.length + n < recs.length && n < Math.min(max, 4096)) short++
          reads.push(...readPolled(core, n))
          expect(core.cursorOffset(slot)).toBe(reads.length)
        }
        // a poll comes back short only where a segment ends
        expect(short).toBeLessThan(core.segments(p))
        core.closeCursor(slot)
        expectRecords(reads, recs, 0)
      }
    })

    it('stops a poll at the byte budget, after at least one record', async () => {
      const core = await make(8 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      appendMany(core, p, 0, 10, (i) => rec512(i))
      const slot = core.openCursor(p, 0)
      expect(core.poll(slot, 100, 1)).toBe(1)
      expect(core.poll(slot, 100, 2 * FRAME)).toBe(2)
      expect(core.poll(slot, 100, 2 * FRAME + 1)).toBe(3)
      expect(core.cursorOffset(slot)).toBe(6)
      // the segment ends after PER_SEGMENT records: the next poll starts in the next one
      expect(core.poll(slot, 100)).toBe(PER_SEGMENT - 6)
      expect(core.poll(slot, 100, 1)).toBe(1)
      expect(core.cursorOffset(slot)).toBe(PER_SEGMENT + 1)
    })

    it('opens a cursor at any offset and starts exactly there', async () => {
      const core = await make(32 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 300, (i) => ({ ts: i, value: bytes(i, 40 + ((i * 53) % 200)) }))
      for (let offset = 0; offset <= recs.length; offset++) {
        const slot = core.openCursor(p, offset)
        const n = core.poll(slot, 3)
        // fewer than 3 only where the segment ends
        expect(n).toBeGreaterThanOrEqual(Math.min(1, recs.length - offset))
        expect(n).toBeLessThanOrEqual(Math.min(3, recs.length - offset))
        expectRecords(readPolled(core, n), recs.slice(offset, offset + n), offset)
        core.closeCursor(slot)
      }
      // seeking an open cursor backwards and forwards
      const slot = core.openCursor(p, 0)
      for (const offset of [250, 3, 299, 0, 128, 300, 77]) {
        core.seekCursor(slot, offset)
        expect(core.cursorOffset(slot)).toBe(offset)
        const reads = drain(core, slot, 50)
        expectRecords(reads, recs.slice(offset), offset)
      }
    })

    it('a cursor waiting at the end sees records appended later, also across a roll', async () => {
      const core = await make(8 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const slot = core.openCursor(p, 0)
      expect(core.poll(slot, 10)).toBe(0) // empty partition
      const recs: Rec[] = []
      for (let i = 0; i < 4 * PER_SEGMENT; i++) {
        recs.push(...appendMany(core, p, i, i + 1, (t) => rec512(t)))
        expect(core.poll(slot, 10)).toBe(1)
        expectRecords(readPolled(core, 1), [recs[i]!], i)
        expect(core.poll(slot, 10)).toBe(0)
      }
      expect(core.segments(p)).toBe(4)
    })
  })

  describe('byte cap', () => {
    it('never holds more than maxBytes; evicts whole oldest segments and counts them', async () => {
      const core = await make(64 * SEG)
      const maxBytes = 16384
      const p = core.addPartition({ maxBytes, maxAgeMs: 0, reject: false })
      const other = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      appendMany(core, other, 0, 5, (i) => ({ ts: i, value: bytes(i, 10) }))
      const recs: Rec[] = []
      let start = 0
      for (let i = 0; i < 600; i++) {
        const r: Rec = { ts: i, value: bytes(i, (i * 131) % 700) }
        expect(append(core, p, r)).toBe(i)
        recs.push(r)
        const s = core.startOffset(p)
        expect(s).toBeGreaterThanOrEqual(start)
        start = s
        expect(core.bytes(p)).toBeLessThanOrEqual(maxBytes)
        expect(core.bytes(p)).toBe(sumBytes(recs.slice(start)))
        expect(core.evicted(p)).toBe(start)
        expect(core.endOffset(p)).toBe(i + 1)
      }
      expect(start).toBeGreaterThan(400)
      expectRecords(readFrom(core, p, start), recs.slice(start), start)
      // the other partition was not touched
      expect(core.startOffset(other)).toBe(0)
      expect(core.evicted(other)).toBe(0)
      expect(poolTotal(core, [p, other])).toBe(core.segmentCount)
    })

    it('evicts gradually: after an eviction more than maxBytes - segment capacity stays', async () => {
      const core = await make(64 * 8192, 8192)
      const maxBytes = 40000
      const capacity = core.segmentCapacity(maxBytes)
      expect(capacity).toBe(8192 - 64 - 10 * 16) // a quarter (10000) is more than a segment holds
      const p = core.addPartition({ maxBytes, maxAgeMs: 0, reject: false })
      for (let i = 0; i < 1000; i++) {
        append(core, p, { ts: i, value: bytes(i, (i * 97) % 400) })
        expect(core.bytes(p)).toBeLessThanOrEqual(maxBytes)
        if (core.startOffset(p) > 0) expect(core.bytes(p)).toBeGreaterThan(maxBytes - capacity)
      }
      expect(core.segments(p)).toBeGreaterThanOrEqual(4)
    })

    it('a reader below the log start gets OUT_OF_RANGE, then can seek to startOffset', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 3 * PER_SEGMENT * FRAME, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 10, (i) => rec512(i))
      const slot = core.openCursor(p, 0)
      expect(core.poll(slot, 3)).toBe(3) // the cursor now caches a position in the first segment
      recs.push(...appendMany(core, p, 10, 60, (i) => rec512(i)))
      const start = core.startOffset(p)
      expect(start).toBeGreaterThan(3)
      expect(core.poll(slot, 3)).toBe(STATUS_OUT_OF_RANGE)
      expect(core.cursorOffset(slot)).toBe(3)
      expect(core.poll(slot, 3)).toBe(STATUS_OUT_OF_RANGE) // stays out of range until moved
      core.seekCursor(slot, start - 1)
      expect(core.poll(slot, 3)).toBe(STATUS_OUT_OF_RANGE)
      core.seekCursor(slot, start)
      expectRecords(drain(core, slot, 4), recs.slice(start), start)
      const fresh = core.openCursor(p, 0)
      expect(core.poll(fresh, 1)).toBe(STATUS_OUT_OF_RANGE)
    })

    it('a cursor whose cached segment block was recycled is not fooled', async () => {
      // a pool of 3 blocks, so the partition reuses its own blocks over and over
      const core = await make(3 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 5, (i) => rec512(i))
      const slot = core.openCursor(p, 0)
      expect(core.poll(slot, 2)).toBe(2)
      recs.push(...appendMany(core, p, 5, 5 + 3 * PER_SEGMENT, (i) => rec512(i)))
      expect(core.startOffset(p)).toBe(PER_SEGMENT)
      expect(core.poll(slot, 2)).toBe(STATUS_OUT_OF_RANGE)
      core.seekCursor(slot, core.startOffset(p))
      expectRecords(drain(core, slot), recs.slice(PER_SEGMENT), PER_SEGMENT)
    })

    it('a cursor parked at the end follows when retention empties the partition and a block is reused', async () => {
      const core = await make(SEG) // a single block
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 100, reject: false })
      const first = appendMany(core, p, 0, 3, (i) => rec512(i, 0))
      const slot = core.openCursor(p, 0)
      expectRecords(drain(core, slot), first, 0)
      expect(core.retain(1000)).toBe(1)
      expect(core.startOffset(p)).toBe(3)
      expect(core.segments(p)).toBe(0)
      const second = appendMany(core, p, 10, 12, (i) => rec512(i, 1000))
      expectRecords(drain(core, slot), second, 3)
    })
  })

  describe("onFull 'reject'", () => {
    it('refuses with STATUS_FULL at the cap and loses nothing', async () => {
      const core = await make(32 * SEG)
      const maxBytes = 10000
      const p = core.addPartition({ maxBytes, maxAgeMs: 0, reject: true })
      const recs: Rec[] = []
      let refused = 0
      for (let i = 0; i < 100; i++) {
        const r: Rec = { ts: i, value: bytes(i, 150 + (i % 5) * 40) }
        const before = core.bytes(p)
        const result = append(core, p, r)
        if (before + lengthOf(r) > maxBytes) {
          expect(result).toBe(STATUS_FULL)
          refused++
          expect(core.bytes(p)).toBe(before)
        } else {
          expect(result).toBe(recs.length)
          recs.push(r)
        }
        expect(core.bytes(p)).toBeLessThanOrEqual(maxBytes)
        expect(core.startOffset(p)).toBe(0)
        expect(core.evicted(p)).toBe(0)
        expect(core.endOffset(p)).toBe(recs.length)
      }
      expect(refused).toBeGreaterThan(50)
      expectRecords(readFrom(core, p, 0), recs, 0)
    })

    it('still accepts a record that fits in the room left', async () => {
      const core = await make(32 * SEG)
      const maxBytes = 10000
      const p = core.addPartition({ maxBytes, maxAgeMs: 0, reject: true })
      const recs = appendMany(core, p, 0, 19, (i) => rec512(i)) // 9728 bytes
      expect(append(core, p, rec512(19))).toBe(STATUS_FULL)
      const room = maxBytes - core.bytes(p)
      expect(room).toBe(272)
      const fits: Rec = { ts: 19, value: valueForFrame(room, 19) }
      expect(append(core, p, fits)).toBe(19)
      recs.push(fits)
      expect(core.bytes(p)).toBe(maxBytes)
      expect(append(core, p, { ts: 20, value: new Uint8Array(0) })).toBe(STATUS_FULL)
      expectRecords(readFrom(core, p, 0), recs, 0)
    })

    it('a batch stops at the first refused frame; the frames before it are readable', async () => {
      const core = await make(32 * SEG)
      const p = core.addPartition({ maxBytes: 4 * FRAME, maxAgeMs: 0, reject: true })
      const q = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const frames = [p, q, p, p, q, p, p, q].map((part, i) => ({ part, rec: rec512(i) }))
      for (const f of frames) core.stage(f.part, f.rec.ts, 0, 0, undefined, undefined, f.rec.value)
      const n = core.commit(100)
      expect(n).toBe(6) // the fifth frame for p is the first that does not fit
      expect(core.statusAt(6)).toBe(STATUS_FULL)
      expectRecords(readFrom(core, p, 0), frames.slice(0, 6).filter((f) => f.part === p).map((f) => f.rec), 0)
      expectRecords(readFrom(core, q, 0), frames.slice(0, 6).filter((f) => f.part === q).map((f) => f.rec), 0)
      expect(core.endOffset(q)).toBe(2)
    })
  })

  describe('segment pool', () => {
    it('an exhausted pool recycles the partition\'s own oldest segment first', async () => {
      const core = await make(4 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 4 * PER_SEGMENT, (i) => rec512(i))
      expect(core.segments(p)).toBe(4)
      expect(core.freeSegments()).toBe(0)
      expect(core.startOffset(p)).toBe(0)
      recs.push(...appendMany(core, p, recs.length, recs.length + 1, (i) => rec512(i)))
      expect(core.startOffset(p)).toBe(PER_SEGMENT)
      expect(core.evicted(p)).toBe(PER_SEGMENT)
      expect(core.segments(p)).toBe(4)
      expectRecords(readFrom(core, p, PER_SEGMENT), recs.slice(PER_SEGMENT), PER_SEGMENT)
    })

    it('steals the oldest closed segment of another evictable partition', async () => {
      const core = await make(4 * SEG)
      const a = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const b = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const aRecs = appendMany(core, a, 0, 3 * PER_SEGMENT, (i) => rec512(i))
      const bRecs = appendMany(core, b, 100, 100 + PER_SEGMENT, (i) => rec512(i))
      expect(core.freeSegments()).toBe(0)
      expect(core.segments(b)).toBe(1)
      // b's only segment is full: the roll needs a block and b has no closed segment of its own
      bRecs.push(...appendMany(core, b, 200, 201, (i) => rec512(i)))
      expect(core.segments(b)).toBe(2)
      expect(core.startOffset(b)).toBe(0)
      expect(core.segments(a)).toBe(2)
      expect(core.startOffset(a)).toBe(PER_SEGMENT)
      expect(core.evicted(a)).toBe(PER_SEGMENT)
      expectRecords(readFrom(core, a, PER_SEGMENT), aRecs.slice(PER_SEGMENT), PER_SEGMENT)
      expectRecords(readFrom(core, b, 0), bRecs, 0)
      expect(poolTotal(core, [a, b])).toBe(4)
    })

    it('picks the victim whose oldest segment is oldest', async () => {
      const core = await make(5 * SEG)
      const young = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const old = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const c = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      appendMany(core, young, 0, 2 * PER_SEGMENT, (i) => rec512(i, 5000 + i))
      appendMany(core, old, 100, 100 + 2 * PER_SEGMENT, (i) => rec512(i, i))
      appendMany(core, c, 200, 200 + PER_SEGMENT + 1, (i) => rec512(i, 9000 + i))
      expect(core.startOffset(old)).toBe(PER_SEGMENT)
      expect(core.startOffset(young)).toBe(0)
      expect(core.startOffset(c)).toBe(0)
    })

    it('never steals from a reject partition: the append is refused instead', async () => {
      const core = await make(4 * SEG)
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const e = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const rRecs = appendMany(core, r, 0, 3 * PER_SEGMENT, (i) => rec512(i, i))
      const eRecs = appendMany(core, e, 100, 100 + PER_SEGMENT, (i) => rec512(i, 1000 + i))
      expect(core.freeSegments()).toBe(0)
      expect(append(core, e, rec512(999, 2000))).toBe(STATUS_FULL)
      expect(core.startOffset(r)).toBe(0)
      expect(core.evicted(r)).toBe(0)
      expect(core.segments(r)).toBe(3)
      expect(core.endOffset(e)).toBe(PER_SEGMENT)
      expectRecords(readFrom(core, r, 0), rRecs, 0)
      expectRecords(readFrom(core, e, 0), eRecs, 0)
    })

    it('steals from an evictable partition even when a reject partition holds older data', async () => {
      const core = await make(5 * SEG)
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const e1 = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const e2 = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const rRecs = appendMany(core, r, 0, 2 * PER_SEGMENT, (i) => rec512(i, i))
      appendMany(core, e1, 100, 100 + 2 * PER_SEGMENT, (i) => rec512(i, 1000 + i))
      appendMany(core, e2, 200, 200 + PER_SEGMENT + 1, (i) => rec512(i, 2000 + i))
      expect(core.startOffset(r)).toBe(0)
      expect(core.startOffset(e1)).toBe(PER_SEGMENT)
      expectRecords(readFrom(core, r, 0), rRecs, 0)
    })

    it('a reject partition refuses when the pool is exhausted and keeps everything', async () => {
      const core = await make(4 * SEG)
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const recs = appendMany(core, r, 0, 4 * PER_SEGMENT, (i) => rec512(i))
      expect(core.freeSegments()).toBe(0)
      expect(append(core, r, rec512(99))).toBe(STATUS_FULL)
      expect(append(core, r, rec512(100))).toBe(STATUS_FULL)
      expect(core.startOffset(r)).toBe(0)
      expect(core.endOffset(r)).toBe(recs.length)
      expectRecords(readFrom(core, r, 0), recs, 0)
    })

    it('a reject partition takes room from an evictable partition, never from itself', async () => {
      const core = await make(4 * SEG)
      const e = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const eRecs = appendMany(core, e, 0, 3 * PER_SEGMENT, (i) => rec512(i))
      const rRecs = appendMany(core, r, 100, 100 + PER_SEGMENT + 1, (i) => rec512(i))
      expect(core.startOffset(r)).toBe(0)
      expect(core.segments(r)).toBe(2)
      expect(core.startOffset(e)).toBe(PER_SEGMENT)
      expectRecords(readFrom(core, r, 0), rRecs, 0)
      expectRecords(readFrom(core, e, PER_SEGMENT), eRecs.slice(PER_SEGMENT), PER_SEGMENT)
    })

    it('with no closed segment anywhere, the idlest evictable partition gives up its active one', async () => {
      const core = await make(3 * SEG)
      const a = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const b = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const c = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const aRecs = appendMany(core, a, 0, 2, (i) => rec512(i, 500 + i))
      appendMany(core, b, 100, 102, (i) => rec512(i, 10 + i)) // b's newest record is the oldest
      const cRecs = appendMany(core, c, 200, 200 + PER_SEGMENT + 1, (i) => rec512(i, 1000 + i))
      expect(core.segments(b)).toBe(0)
      expect(core.startOffset(b)).toBe(2)
      expect(core.endOffset(b)).toBe(2)
      expect(core.evicted(b)).toBe(2)
      expectRecords(readFrom(core, a, 0), aRecs, 0)
      expectRecords(readFrom(core, c, 0), cRecs, 0)
      // b's offsets continue after it was emptied
      expect(append(core, b, rec512(300, 2000))).toBe(2)
    })

    it('refuses when every block is held by reject partitions', async () => {
      const core = await make(2 * SEG)
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const e = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const rRecs = appendMany(core, r, 0, 2 * PER_SEGMENT, (i) => rec512(i))
      expect(append(core, e, rec512(99))).toBe(STATUS_FULL)
      expect(core.endOffset(e)).toBe(0)
      expect(core.segments(e)).toBe(0)
      expectRecords(readFrom(core, r, 0), rRecs, 0)
    })

    it('a capped partition that must drop its only segment reuses it, taking nothing from others', async () => {
      // The cap forces the partition's single (full) segment out, so its block is about to be
      // free: the append must not take another partition's block, nor fail for want of one.
      const core = await make(2 * SEG)
      const capped = core.addPartition({ maxBytes: 4 * FRAME, maxAgeMs: 0, reject: false })
      const other = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const otherRecs = appendMany(core, other, 0, 2, (i) => rec512(i))
      appendMany(core, capped, 100, 104, (i) => rec512(i))
      expect(core.freeSegments()).toBe(0)
      expect(core.bytes(capped)).toBe(4 * FRAME)
      const next = rec512(104)
      expect(append(core, capped, next)).toBe(4)
      expectRecords(readFrom(core, capped, core.startOffset(capped)), [next], 4)
      expect(core.startOffset(other)).toBe(0)
      expectRecords(readFrom(core, other, 0), otherRecs, 0)
    })

    it('a capped partition alone in a full pool keeps appending by recycling its own segment', async () => {
      const core = await make(SEG)
      const p = core.addPartition({ maxBytes: 4 * FRAME, maxAgeMs: 0, reject: false })
      appendMany(core, p, 0, 4, (i) => rec512(i))
      expect(core.freeSegments()).toBe(0)
      expect(append(core, p, rec512(4))).toBe(4)
      expect(core.startOffset(p)).toBe(4)
      expect(core.bytes(p)).toBe(FRAME)
    })
  })

  describe('reconfiguration', () => {
    it('a lowered byte cap takes effect at the next append', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 20, (i) => rec512(i))
      core.configurePartition(p, { maxBytes: 2000, maxAgeMs: 0, reject: false })
      expect(core.bytes(p)).toBe(20 * FRAME)
      recs.push(...appendMany(core, p, 20, 21, (i) => rec512(i)))
      expect(core.bytes(p)).toBeLessThanOrEqual(2000)
      const start = core.startOffset(p)
      expect(core.evicted(p)).toBe(start)
      expect(core.bytes(p)).toBe(sumBytes(recs.slice(start)))
      expectRecords(readFrom(core, p, start), recs.slice(start), start)
      expect(core.segmentCapacity(2000)).toBe(2000)
      expect(append(core, p, { ts: 1, value: valueForFrame(2008, 1) })).toBe(STATUS_TOO_LARGE)
    })

    it('switching to reject keeps what is there and refuses what does not fit', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = appendMany(core, p, 0, 10, (i) => rec512(i))
      core.configurePartition(p, { maxBytes: 4096, maxAgeMs: 0, reject: true })
      expect(append(core, p, rec512(10))).toBe(STATUS_FULL)
      expect(core.startOffset(p)).toBe(0)
      expectRecords(readFrom(core, p, 0), recs, 0)
    })
  })

  describe('too-large frames', () => {
    it('refuses a frame over the segment limit and leaves the log intact', async () => {
      const core = await make(8 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      expect(core.segmentCapacity(0)).toBe(MAX_FRAME_4K)
      const recs = appendMany(core, p, 0, 3, (i) => rec512(i))
      const bytesBefore = core.bytes(p)
      expect(append(core, p, { ts: 9, value: valueForFrame(MAX_FRAME_4K + 8, 9) })).toBe(STATUS_TOO_LARGE)
      expect(append(core, p, { ts: 9, value: bytes(9, 3000), key: bytes(10, 500), headers: bytes(11, 500) })).toBe(STATUS_TOO_LARGE)
      expect(core.endOffset(p)).toBe(3)
      expect(core.bytes(p)).toBe(bytesBefore)
      expect(core.segments(p)).toBe(1)
      const largest: Rec = { ts: 10, value: valueForFrame(MAX_FRAME_4K, 10) }
      expect(append(core, p, largest)).toBe(3)
      recs.push(largest)
      expect(core.segments(p)).toBe(2)
      expectRecords(readFrom(core, p, 0), recs, 0)
    })

    it('the limit of a capped partition is its segment capacity', async () => {
      const core = await make(8 * SEG)
      const maxBytes = 2000
      const capacity = core.segmentCapacity(maxBytes)
      expect(capacity).toBe(2000)
      const p = core.addPartition({ maxBytes, maxAgeMs: 0, reject: false })
      const ok: Rec = { ts: 1, value: valueForFrame(capacity, 1) }
      expect(append(core, p, ok)).toBe(0)
      expect(append(core, p, { ts: 2, value: valueForFrame(capacity + 8, 2) })).toBe(STATUS_TOO_LARGE)
      expect(core.endOffset(p)).toBe(1)
      expect(core.startOffset(p)).toBe(0)
      expect(core.bytes(p)).toBe(capacity)
      expectRecords(readFrom(core, p, 0), [ok], 0)
      // the next record that fits the capacity replaces the full segment
      const next: Rec = { ts: 3, value: bytes(3, 10) }
      expect(append(core, p, next)).toBe(1)
      expect(core.startOffset(p)).toBe(1)
      expect(core.bytes(p)).toBe(lengthOf(next))
    })

    it('a too-large frame on a reject partition at its cap is TOO_LARGE, not FULL', async () => {
      const core = await make(8 * SEG)
      const p = core.addPartition({ maxBytes: 1024, maxAgeMs: 0, reject: true })
      appendMany(core, p, 0, 2, (i) => rec512(i))
      expect(append(core, p, { ts: 2, value: valueForFrame(1032, 2) })).toBe(STATUS_TOO_LARGE)
      expect(append(core, p, { ts: 2, value: bytes(2, 1) })).toBe(STATUS_FULL)
    })
  })

  describe('age retention', () => {
    it('retain(now) drops whole segments whose newest record is older than maxAgeMs', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 1000, reject: false })
      // three full segments with timestamps 0..6, 100..106, 200..206 and one open at 300
      const recs: Rec[] = []
      for (let s = 0; s < 3; s++) recs.push(...appendMany(core, p, s * 10, s * 10 + PER_SEGMENT, (i) => rec512(i, s * 100 + (i % 10))))
      recs.push(...appendMany(core, p, 30, 31, (i) => rec512(i, 300)))
      expect(core.segments(p)).toBe(4)
      expect(core.retain(1006)).toBe(0) // exactly maxAgeMs old is not expired
      expect(core.startOffset(p)).toBe(0)
      expect(core.retain(1007)).toBe(1)
      expect(core.startOffset(p)).toBe(PER_SEGMENT)
      expect(core.evicted(p)).toBe(PER_SEGMENT)
      expect(core.retain(1207)).toBe(2)
      expect(core.startOffset(p)).toBe(3 * PER_SEGMENT)
      expect(core.bytes(p)).toBe(FRAME)
      expectRecords(readFrom(core, p, core.startOffset(p)), recs.slice(3 * PER_SEGMENT), 3 * PER_SEGMENT)
      expect(core.freeSegments()).toBe(15)
    })

    it('drops the segment being written once all of it expired; offsets continue', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 1000, reject: false })
      appendMany(core, p, 0, 3, (i) => rec512(i, 10 * i))
      const slot = core.openCursor(p, 1)
      expect(core.retain(1020)).toBe(0)
      expect(core.retain(1021)).toBe(1)
      expect(core.startOffset(p)).toBe(3)
      expect(core.endOffset(p)).toBe(3)
      expect(core.segments(p)).toBe(0)
      expect(core.bytes(p)).toBe(0)
      expect(core.evicted(p)).toBe(3)
      expect(core.freeSegments()).toBe(16)
      expect(core.poll(slot, 10)).toBe(STATUS_OUT_OF_RANGE)
      const later = rec512(3, 1100)
      expect(append(core, p, later)).toBe(3)
      core.seekCursor(slot, core.startOffset(p))
      expectRecords(drain(core, slot), [later], 3)
    })

    it('an append rolls the active segment once its first record is older than maxAgeMs', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 1000, reject: false })
      append(core, p, rec512(0, 0), 0)
      append(core, p, rec512(1, 600), 600)
      append(core, p, rec512(2, 1000), 1000) // exactly maxAgeMs: no roll
      expect(core.segments(p)).toBe(1)
      append(core, p, rec512(3, 1200), 1200)
      expect(core.segments(p)).toBe(2)
      append(core, p, rec512(4, 1300), 1300)
      expect(core.segments(p)).toBe(2)
      // the first segment's newest record is 1000: it goes at 2001, the second stays
      expect(core.retain(2001)).toBe(1)
      expect(core.startOffset(p)).toBe(3)
      expect(core.retain(2301)).toBe(1)
      expect(core.startOffset(p)).toBe(5)
      expect(core.segments(p)).toBe(0)
    })

    it('rolls against the append time, not the record timestamps', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 1000, reject: false })
      append(core, p, rec512(0, 0), 0)
      append(core, p, rec512(1, 0), 1001) // old timestamp, late append: rolls
      expect(core.segments(p)).toBe(2)
    })

    it('without maxAgeMs nothing rolls or expires', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const recs = [0, 1e6, 2e6].map((t, i) => {
        const r = rec512(i, t)
        append(core, p, r, t)
        return r
      })
      expect(core.segments(p)).toBe(1)
      expect(core.retain(1e12)).toBe(0)
      expectRecords(readFrom(core, p, 0), recs, 0)
    })

    it('keeps a segment while its newest record is young, even behind older ones', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 1000, reject: false })
      // first segment: old timestamps and one young straggler; second: all old
      // (appended at time 0, so that no append rolls by age)
      for (let i = 0; i < 2 * PER_SEGMENT; i++) expect(append(core, p, rec512(i, i === 3 ? 5000 : i), 0)).toBe(i)
      expect(core.segments(p)).toBe(2)
      expect(core.retain(5500)).toBe(0)
      expect(core.startOffset(p)).toBe(0)
      expect(core.retain(6001)).toBe(2)
      expect(core.startOffset(p)).toBe(2 * PER_SEGMENT)
    })

    it('applies to reject partitions too, and only to partitions with maxAgeMs', async () => {
      const core = await make(16 * SEG)
      const r = core.addPartition({ maxBytes: 0, maxAgeMs: 50, reject: true })
      const keep = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: true })
      const e = core.addPartition({ maxBytes: 0, maxAgeMs: 5000, reject: false })
      for (const p of [r, keep, e]) appendMany(core, p, 0, 3, (i) => rec512(i, i))
      expect(core.retain(100)).toBe(1)
      expect(core.startOffset(r)).toBe(3)
      expect(core.startOffset(keep)).toBe(0)
      expect(core.startOffset(e)).toBe(0)
    })
  })

  describe('offsetForTime', () => {
    /** Kafka's answer over the retained records [start, end). */
    const expected = (ts: number[], start: number, t: number): number => {
      for (let o = start; o < ts.length; o++) if (ts[o]! >= t) return o
      return ts.length
    }

    it('finds the first record at or after a time; before all and after all', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      expect(core.offsetForTime(p, 0)).toBe(0) // empty: the end offset
      const ts = [10, 20, 20, 30, 40]
      ts.forEach((t, i) => append(core, p, { ts: t, value: bytes(i, 4) }))
      expect(core.offsetForTime(p, -Infinity)).toBe(0)
      expect(core.offsetForTime(p, 0)).toBe(0)
      expect(core.offsetForTime(p, 10)).toBe(0)
      expect(core.offsetForTime(p, 10.5)).toBe(1)
      expect(core.offsetForTime(p, 20)).toBe(1)
      expect(core.offsetForTime(p, 21)).toBe(3)
      expect(core.offsetForTime(p, 40)).toBe(4)
      expect(core.offsetForTime(p, 41)).toBe(5)
      expect(core.offsetForTime(p, Infinity)).toBe(5)
    })

    it('non-monotonic timestamps: the first record in offset order with ts >= t', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const ts = [50, 10, 70, 30, 30, 90, 20, 80, 60]
      ts.forEach((t, i) => append(core, p, { ts: t, value: bytes(i, 4) }))
      expect(core.offsetForTime(p, 5)).toBe(0)
      expect(core.offsetForTime(p, 55)).toBe(2)
      expect(core.offsetForTime(p, 75)).toBe(5)
      expect(core.offsetForTime(p, 85)).toBe(5)
      expect(core.offsetForTime(p, 91)).toBe(9)
      for (let t = 0; t <= 100; t++) expect(core.offsetForTime(p, t), `t=${t}`).toBe(expected(ts, 0, t))
    })

    it('matches a scan over many segments and index entries', async () => {
      const core = await make(64 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
      const ts: number[] = []
      let x = 12345
      for (let i = 0; i < 1500; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        // mostly rising with jitter, and a few jumps back in time
        const t = Math.floor(i * 2 + (x % 97) - (i % 250 === 0 ? 400 : 0))
        ts.push(t)
        append(core, p, { ts: t, value: bytes(i, (x >>> 8) % 120) })
      }
      expect(core.segments(p)).toBeGreaterThan(10)
      for (let t = -500; t <= 3200; t += 3) expect(core.offsetForTime(p, t), `t=${t}`).toBe(expected(ts, 0, t))
    })

    it('only counts retained records after eviction', async () => {
      const core = await make(64 * SEG)
      const p = core.addPartition({ maxBytes: 4 * PER_SEGMENT * FRAME, maxAgeMs: 0, reject: false })
      const ts: number[] = []
      // the first segments hold late timestamps, the later ones early ones
      for (let i = 0; i < 200; i++) {
        const t = i < 50 ? 10_000 + i : i
        ts.push(t)
        append(core, p, rec512(i, t))
      }
      const start = core.startOffset(p)
      expect(start).toBeGreaterThan(50)
      for (const t of [-1, 0, 49, 50, 120, 199, 200, 5000, 10_000, 10_049, 10_050]) {
        expect(core.offsetForTime(p, t), `t=${t}`).toBe(expected(ts, start, t))
      }
    })

    it('is the end offset once retention removed everything', async () => {
      const core = await make(16 * SEG)
      const p = core.addPartition({ maxBytes: 0, maxAgeMs: 10, reject: false })
      appendMany(core, p, 0, 5, (i) => rec512(i, 100 + i))
      core.retain(1000)
      expect(core.offsetForTime(p, 0)).toBe(5)
      expect(core.offsetForTime(p, 1e9)).toBe(5)
    })
  })

  describe('topic directory: creating and growing is all or nothing', () => {
    const config = { maxBytes: 0, maxAgeMs: 0, reject: false }
    const makeSmall = (maxPartitions: number, maxTopics = 8) => LogCore.create({ maxBytes: 16 * SEG, shared, segmentBytes: SEG, maxPartitions, maxTopics })
    const statusOf = (fn: () => unknown): number | undefined => {
      try { fn() } catch (error) { return (error as { argument?: string }).argument === 'maxPartitions' ? STATUS_LIMIT : (error as { argument?: string }).argument === 'maxTopics' ? STATUS_TOPIC_LIMIT : -99 }
      return undefined
    }

    it('a topic with more partitions than are left takes none, and a smaller one still fits', async () => {
      const core = await makeSmall(8)
      expect(core.declareTopic('a', 3, config, 0)).toBe(0)
      expect(statusOf(() => core.declareTopic('b', 6, config, 0))).toBe(STATUS_LIMIT)
      expect(core.findTopic('b')).toBe(-1)
      expect(core.topicCount()).toBe(1)
      const c = core.declareTopic('c', 5, config, 0) // exactly the 5 left
      expect(core.topic(c).ids).toEqual([3, 4, 5, 6, 7])
      expect(statusOf(() => core.declareTopic('d', 1, config, 0))).toBe(STATUS_LIMIT)
      // the partitions work
      expect(append(core, core.topic(c).ids[4], { ts: 1, value: new Uint8Array([1]) })).toBe(0)
    })

    it('growing past the table changes nothing, not even retention', async () => {
      const core = await makeSmall(4)
      const t = core.declareTopic('a', 2, config, 0)
      const stamp = core.topicStamp(t)
      expect(statusOf(() => core.configureTopic(t, 5, { maxBytes: 8192, maxAgeMs: 5, reject: true }))).toBe(STATUS_LIMIT)
      expect(core.topicStamp(t)).toBe(stamp)
      expect(core.topic(t)).toMatchObject({ ids: [0, 1], maxBytes: 0, maxAgeMs: 0, reject: false })
      core.configureTopic(t, 4, config)
      expect(core.topic(t).ids).toEqual([0, 1, 2, 3])
    })

    it('a full directory says so (STATUS_TOPIC_LIMIT), not that the partition table is full', async () => {
      const core = await makeSmall(64, 2)
      core.declareTopic('a', 1, config, 0)
      core.declareTopic('b', 1, config, 0)
      expect(statusOf(() => core.declareTopic('c', 1, config, 0))).toBe(STATUS_TOPIC_LIMIT)
      expect(core.declareTopic('a', 1, config, 0)).toBe(0) // finding one still works
    })
  })

  describe('topic directory: dedup window', () => {
    const config = { maxBytes: 0, maxAgeMs: 0, reject: false }
    const makeSmall = (maxPartitions = 8) => LogCore.create({ maxBytes: 16 * SEG, shared, segmentBytes: SEG, maxPartitions })
    const thrown = (fn: () => unknown): errors.BusError => {
      try { fn() } catch (error) { return error as errors.BusError }
      throw new Error('expected an error')
    }
    /** This thread's view of the directory, as a bus has it (another one on the same core plays another thread). */
    const registry = (core: LogCore) => new TopicRegistry(core, realClock, {}, { grew: () => {}, created: () => {} })

    it('is stored with the topic (0 when not given), kept when another declaration finds it, and changed by a configure', async () => {
      const core = await makeSmall()
      const a = core.declareTopic('a', 1, { ...config, dedupWindowMs: 60_000 }, 0)
      const b = core.declareTopic('b', 1, config, 0)
      expect(core.topic(a).dedupWindowMs).toBe(60_000)
      expect(core.topic(b).dedupWindowMs).toBe(0)
      // a declaration that finds the topic changes nothing: its caller compares and configures
      expect(core.declareTopic('a', 1, { ...config, dedupWindowMs: 5 }, 0)).toBe(a)
      expect(core.topic(a).dedupWindowMs).toBe(60_000)
      const stamp = core.topicStamp(a)
      core.configureTopic(a, 2, { ...config, dedupWindowMs: 0.5 })
      expect(core.topicStamp(a)).not.toBe(stamp) // other threads notice
      expect(core.topic(a)).toMatchObject({ dedupWindowMs: 0.5, ids: [0, 2] })
      core.configureTopic(a, 2, config) // a configuration without one turns it off, as retention
      expect(core.topic(a).dedupWindowMs).toBe(0)
      expect(core.topic(b).dedupWindowMs).toBe(0)
    })

    it('stays as it was when a configure cannot grow the topic', async () => {
      const core = await makeSmall(2)
      const t = core.declareTopic('a', 1, { ...config, dedupWindowMs: 100 }, 0)
      expect(() => core.configureTopic(t, 3, { ...config, dedupWindowMs: 200 })).toThrow(errors.InvalidArgumentError)
      expect(core.topic(t).dedupWindowMs).toBe(100)
    })

    it('the core refuses a window that is negative, NaN or infinite, creating and changing nothing', async () => {
      const core = await makeSmall()
      const t = core.declareTopic('a', 1, { ...config, dedupWindowMs: 7 }, 0)
      const x = instantiateCore(core.module, core.memory)
      const at = core.layout.lanesAt + core.lane * core.layout.laneBytes // this thread's staging area, empty
      core.u8.set(new TextEncoder().encode('b'), at)
      for (const window of [-1, -0.5, NaN, Infinity, -Infinity]) {
        expect(x.topicCreate(core.layout.ctl, at, 1, 1, 0, 0, 0, 0, 0, window), `create ${window}`).toBe(STATUS_BAD_ARGUMENT)
        expect(x.topicConfigure(core.layout.ctl, t, 1, 0, 0, 0, 0, window), `configure ${window}`).toBe(STATUS_BAD_ARGUMENT)
      }
      expect(core.topicCount()).toBe(1)
      expect(core.topic(t).dedupWindowMs).toBe(7)
      expect(core.findTopic('b')).toBe(-1)
    })

    it('a declared topic says its window; a redeclaration changes it, and another view picks the change up', async () => {
      const core = await makeSmall()
      const mine = registry(core)
      const topic = mine.declare('orders', { dedupWindowMs: 30_000 })
      expect(topic.dedupWindowMs).toBe(30_000)
      expect(topic.options.dedupWindowMs).toBe(30_000)
      expect(mine.declare('plain', undefined).dedupWindowMs).toBe(0)
      const other = registry(core) // what another thread's bus builds from the same directory
      other.sync()
      const seen = other.byName.get('orders')!
      expect(seen.dedupWindowMs).toBe(30_000)
      expect(seen.options.dedupWindowMs).toBe(30_000)

      expect(mine.declare('orders', { dedupWindowMs: 1500, partitions: 2 })).toBe(topic)
      expect(topic.dedupWindowMs).toBe(1500)
      other.sync()
      expect([seen.dedupWindowMs, seen.options.dedupWindowMs, seen.partitions]).toEqual([1500, 1500, 2])
      other.declare('orders', { partitions: 2 }) // redeclared without a window, like retention: off
      mine.sync()
      expect(topic.dedupWindowMs).toBe(0)
    })

    it('a topic created by publishing takes the defaults', async () => {
      const core = await makeSmall()
      const mine = new TopicRegistry(core, realClock, { topicDefaults: { dedupWindowMs: 250 } }, { grew: () => {}, created: () => {} })
      let stand = -1
      const topic = mine.writable('auto', (s) => { stand = s.dedupWindowMs })
      expect([stand, topic.dedupWindowMs]).toEqual([250, 250])
    })

    it('a window that is not a finite number >= 0 is refused, naming dedupWindowMs, and the topic keeps its own', async () => {
      const core = await makeSmall()
      const mine = registry(core)
      for (const window of [-1, NaN, Infinity, '10', null]) {
        const error = thrown(() => mine.declare('new', { dedupWindowMs: window as never }))
        expect(error, String(window)).toBeInstanceOf(errors.InvalidArgumentError)
        expect(error).toMatchObject({ argument: 'dedupWindowMs' })
        expect(error.message).toMatch(/dedupWindowMs must be a finite number >= 0/)
      }
      expect(core.findTopic('new')).toBe(-1)
      const topic = mine.declare('kept', { dedupWindowMs: 9 })
      expect(thrown(() => mine.declare('kept', { dedupWindowMs: -9 }))).toMatchObject({ argument: 'dedupWindowMs' })
      expect(topic.dedupWindowMs).toBe(9)
      expect(core.topic(core.findTopic('kept')).dedupWindowMs).toBe(9)
    })
  })
})
