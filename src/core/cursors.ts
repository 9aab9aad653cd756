// Cursors and what they read: this thread's reader positions in its lane, polls of one segment
// at a time (copied and validated against the segment's epoch on a shared core: the seqlock of
// src/core/abi/segment.ts), and the header fields and bytes of the frames a poll returned.
import {
  CUR_EPOCH, CUR_NEXT_OFFSET, CUR_PARTITION, CUR_POSITION, CUR_SEGMENT, FRAME_FLAGS, FRAME_HEADER, FRAME_KEY_LENGTH,
  FRAME_TIMESTAMP, FRAME_VALUE_LENGTH, POLL_MAX, POLL_STRIDE, STATUS_OUT_OF_RANGE,
} from './abi.js'
import type { Lane } from './lanes.js'
import { CTL, type CoreMemory } from './memory.js'
import { InvalidArgumentError } from '../errors.js'

/**
 * Where the frames of a poll are read from: the core's memory itself, or (on a shared core) a
 * private copy of them, frame address X at bytes[X - base].
 */
export interface FrameSource {
  readonly bytes: Uint8Array
  readonly base: number
  readonly view: DataView | undefined
}

/** A frame's header fields (one reused object per core: read them before the next call). */
export interface FrameFields {
  flags: number
  headersLength: number
  keyLength: number
  valueLength: number
  timestamp: number
}

export class Cursors {
  private readonly free: number[] = []
  private top = 0
  /** The core's memory itself as a frame source: where a plain core's polls are read. */
  readonly memory: FrameSource
  /** Where the last poll's frames are read from. */
  private polled: FrameSource
  private readonly frameFields: FrameFields = { flags: 0, headersLength: 0, keyLength: 0, valueLength: 0, timestamp: 0 }

  constructor(private readonly mem: CoreMemory, private readonly lane: Lane) {
    this.memory = { bytes: mem.u8, base: 0, view: undefined }
    this.polled = this.memory
  }

  open(partition: number, offset: number): number {
    let slot = this.free.pop()
    if (slot === undefined) {
      const max = this.mem.layout.maxCursors
      if (this.top === max) throw new InvalidArgumentError(`more than ${max} reader positions are open: raise maxCursors`, { argument: 'maxCursors' })
      slot = this.top++
    }
    this.mem.u32[(this.lane.cursor(slot) + CUR_PARTITION) >> 2] = partition
    this.seek(slot, offset)
    return slot
  }

  close(slot: number): void {
    this.free.push(slot)
  }

  /** Moves a cursor; the core finds the segment again on the next poll. */
  seek(slot: number, offset: number): void {
    const at = this.lane.cursor(slot)
    const u32 = this.mem.u32
    u32[(at + CUR_SEGMENT) >> 2] = 0
    u32[(at + CUR_EPOCH) >> 2] = 0
    // i64 little-endian from a safe integer
    u32[(at + CUR_NEXT_OFFSET) >> 2] = offset >>> 0
    u32[(at + CUR_NEXT_OFFSET + 4) >> 2] = Math.floor(offset / 0x100000000)
  }

  offset(slot: number): number {
    const at = (this.lane.cursor(slot) + CUR_NEXT_OFFSET) >> 2
    return this.mem.u32[at] + this.mem.u32[at + 1] * 0x100000000
  }

  /**
   * Reads up to `max` records of one segment at the cursor and moves it past them; returns the
   * count or a negative status. STATUS_OUT_OF_RANGE: retention removed the cursor's offset, also
   * when that happened while this thread was reading (the cursor then stays where it was).
   * `source` says where the frames are. On a shared core that is a private copy, checked
   * against the segment's epoch after it was taken (the segment seqlock): decoders need plain
   * memory (msgpackr's native string extractor throws on a SharedArrayBuffer, browsers'
   * TextDecoder refuses shared views), and another thread may recycle the segment at any time.
   */
  poll(slot: number, max: number, maxBytes: number): number {
    const { mem, lane } = this
    const cursor = lane.cursor(slot)
    const from = mem.shared ? this.offset(slot) : 0
    const n = mem.x.logPoll(CTL, cursor, lane.out, Math.min(max, POLL_MAX), maxBytes)
    if (n <= 0 || !mem.shared) return n
    const start = this.frame(0)
    const bytes = mem.u8.slice(start, mem.u32[(cursor + CUR_POSITION) >> 2])
    if (mem.x.logPollValid(CTL, cursor) === 0) {
      this.seek(slot, from)
      return STATUS_OUT_OF_RANGE
    }
    this.polled = { bytes, base: start, view: new DataView(bytes.buffer) }
    return n
  }

  /** Where the frames of the last successful poll are read from. */
  get source(): FrameSource {
    return this.polled
  }

  /** Frame address of the i-th record of the last poll. */
  frame(i: number): number {
    return this.mem.f64[(this.lane.out >> 3) + i * POLL_STRIDE]
  }

  /** Offset of the i-th record of the last poll. */
  frameOffset(i: number): number {
    return this.mem.f64[(this.lane.out >> 3) + i * POLL_STRIDE + 1]
  }

  /** The header fields of the frame at `frame`, read from `source`. */
  fields(frame: number, source: FrameSource): FrameFields {
    const f = this.frameFields
    const view = source.view
    if (view === undefined) {
      const { u32, f64 } = this.mem
      const word = u32[(frame + FRAME_FLAGS) >> 2]
      f.flags = word & 0xffff
      f.headersLength = word >>> 16
      f.keyLength = u32[(frame + FRAME_KEY_LENGTH) >> 2]
      f.valueLength = u32[(frame + FRAME_VALUE_LENGTH) >> 2]
      f.timestamp = f64[(frame + FRAME_TIMESTAMP) >> 3]
    } else {
      const at = frame - source.base
      const word = view.getUint32(at + FRAME_FLAGS, true)
      f.flags = word & 0xffff
      f.headersLength = word >>> 16
      f.keyLength = view.getUint32(at + FRAME_KEY_LENGTH, true)
      f.valueLength = view.getUint32(at + FRAME_VALUE_LENGTH, true)
      f.timestamp = view.getFloat64(at + FRAME_TIMESTAMP, true)
    }
    return f
  }

  /**
   * Bytes [at, at + length) that a message may keep: a copy with an ArrayBuffer of its own, so
   * that whatever a user does with it (keep it, write to it, transfer its buffer) touches nothing
   * else: not the log, which is recycled, and not another record.
   */
  keep(source: FrameSource, at: number, length: number): Uint8Array {
    return source.bytes.slice(at - source.base, at - source.base + length)
  }

  /**
   * Reads the value bytes of the record at `offset` (a private cursor, opened and closed);
   * undefined when the log no longer holds it.
   */
  readValue<R>(partition: number, offset: number, decode: (bytes: Uint8Array) => R): R | undefined {
    const slot = this.open(partition, offset)
    try {
      if (this.poll(slot, 1, 0x7fffffff) !== 1) return undefined
      const frame = this.frame(0)
      const { headersLength, keyLength, valueLength } = this.fields(frame, this.polled)
      return decode(this.keep(this.polled, frame + FRAME_HEADER + headersLength + keyLength, valueLength))
    } finally {
      this.close(slot)
    }
  }
}
