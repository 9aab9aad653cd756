// Staging: appends are written as whole frames into this thread's staging area and committed
// many at a time with one core call. Owns the staging area and the results of the last commit;
// its far end also holds bytes a core call reads (a topic name, a key to hash).
import { APPEND_MAX, FRAME_ALIGN, FRAME_FLAGS, FRAME_HEADER, FRAME_KEY_HASH, FRAME_KEY_LENGTH, FRAME_TIMESTAMP, FRAME_VALUE_LENGTH } from './abi.js'
import type { Lane } from './lanes.js'
import { align } from './layout.js'
import { CTL, type CoreMemory } from './memory.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

/** Bytes a frame takes: header, headers, key and value, padded to FRAME_ALIGN. */
export const frameLength = (headers: number, key: number, value: number): number =>
  align(FRAME_HEADER + headers + key + value, FRAME_ALIGN)

const textEncoder = new TextEncoder()

export class Staging {
  private write = 0
  private staged = 0
  /** Writes at the far end so far: a frame from placeFrame is intact while this is unchanged. */
  private farWrites = 0

  constructor(private readonly mem: CoreMemory, private readonly lane: Lane) {}

  /** Writes a frame into the staging area; false when it does not fit (commit, then retry). */
  stage(partition: number, timestamp: number, keyHash: number, flags: number,
    headers: Uint8Array | undefined, key: Uint8Array | undefined, value: Uint8Array): boolean {
    const h = headers === undefined ? 0 : headers.length
    const k = key === undefined ? 0 : key.length
    const v = value.length
    const length = frameLength(h, k, v)
    const at = this.lane.staging + this.write
    if (at + length > this.lane.stagingEnd || this.staged === APPEND_MAX) return false
    this.writeFrame(at, length, partition, timestamp, keyHash, flags, headers, key, value, 0, v)
    this.write += length
    this.staged++
    return true
  }

  /**
   * Writes one frame at the staging area's far end (where place() puts arguments), for a core
   * call that appends a single frame itself (a queue publish); returns its address. The staged
   * frames are left alone; the next write at the far end overwrites it (see farWriteCount). A
   * string key is written as UTF-8 straight into the frame. The value is bytes [start, end) of `value`.
   */
  placeFrame(timestamp: number, keyHash: number, flags: number, headers: Uint8Array | undefined, key: Uint8Array | string | undefined,
    value: Uint8Array, start: number, end: number): number {
    if (typeof key === 'string' && !isAscii(key)) key = textEncoder.encode(key)
    const h = headers === undefined ? 0 : headers.length
    const k = key === undefined ? 0 : key.length
    const length = frameLength(h, k, end - start)
    if (length > this.mem.layout.segmentBytes - this.write) throw new InvalidArgumentError('frame too large for the staging area', { argument: 'value', size: length })
    const at = this.lane.stagingEnd - length
    this.farWrites++
    this.writeFrame(at, length, 0, timestamp, keyHash, flags, headers, key, value, start, end)
    return at
  }

  /** Writes `count` numbers (f64) at the far end, where a core call reads them; returns their address. */
  placeNumbers(values: ArrayLike<number>, count: number): number {
    if (count * 8 > this.mem.layout.segmentBytes - this.write) throw new InvalidArgumentError('too many numbers for the staging area', { argument: 'count', size: count * 8 })
    const at = (this.lane.stagingEnd - count * 8) & ~7
    this.farWrites++
    const f64 = this.mem.f64
    for (let i = 0, w = at >> 3; i < count; i++) f64[w + i] = values[i]
    return at
  }

  /** How many times the far end was written: a placed frame is still there while this is unchanged. */
  get farWriteCount(): number {
    return this.farWrites
  }

  /** A caller writes at the far end itself (see farWriteCount). */
  claimFarEnd(): void {
    this.farWrites++
  }

  private writeFrame(at: number, length: number, partition: number, timestamp: number, keyHash: number, flags: number,
    headers: Uint8Array | undefined, key: Uint8Array | string | undefined, value: Uint8Array, start: number, end: number): void {
    const h = headers === undefined ? 0 : headers.length
    const k = key === undefined ? 0 : key.length
    const v = end - start
    const { u8, u32, i32, f64 } = this.mem
    const w = at >> 2
    u32[w] = length
    u32[w + 1] = partition
    f64[(at + FRAME_TIMESTAMP) >> 3] = timestamp
    i32[(at + FRAME_KEY_HASH) >> 2] = keyHash
    u32[(at + FRAME_FLAGS) >> 2] = flags | (h << 16)
    u32[(at + FRAME_KEY_LENGTH) >> 2] = k
    u32[(at + FRAME_VALUE_LENGTH) >> 2] = v
    u32[(at + length - 8) >> 2] = 0 // zero the padding so identical records are identical bytes
    u32[(at + length - 4) >> 2] = 0
    let p = at + FRAME_HEADER
    if (h !== 0) {
      // most headers are a few bytes (the properties of a queue message): no call for those
      if (h <= SMALL_COPY) for (let i = 0; i < h; i++) u8[p + i] = headers![i]
      else u8.set(headers!, p)
      p += h
    }
    if (typeof key === 'string') {
      for (let i = 0; i < k; i++) u8[p + i] = key.charCodeAt(i)
      p += k
    } else if (k !== 0) { u8.set(key!, p); p += k }
    if (start === 0 && end === value.length) {
      if (v !== 0) u8.set(value, p)
    } else if (v <= SMALL_COPY) {
      // part of a larger buffer: a small value byte by byte rather than through a view
      for (let i = 0; i < v; i++) u8[p + i] = value[start + i]
    } else {
      u8.set(value.subarray(start, end), p)
    }
  }

  get count(): number {
    return this.staged
  }

  /**
   * Appends everything staged. Returns how many frames were appended; resultAt(i) gives each
   * one's offset and, for the first one not appended, resultAt(returned) its status.
   */
  commit(now: number): number {
    const count = this.staged
    this.discard()
    return count === 0 ? 0 : this.mem.x.logAppend(CTL, this.lane.staging, count, now, this.lane.out)
  }

  /** Drops staged frames (a batch that failed validation before the commit). */
  discard(): void {
    this.staged = 0
    this.write = 0
  }

  /** The core writes one f64 per frame: the record's offset, or (after the last one appended) a status. */
  resultAt(i: number): number {
    return this.mem.f64[(this.lane.out >> 3) + i]
  }

  /** Appends one value-only record right away (internal topics); returns its offset. */
  appendValue(partition: number, value: Uint8Array): number {
    if (this.staged !== 0) throw new InvalidArgumentError('appendValue while records are staged', { argument: 'partition' })
    this.stage(partition, 0, 0, 0, undefined, undefined, value)
    if (this.commit(0) !== 1) throw statusError(this.resultAt(0), { partition })
    return this.resultAt(0)
  }

  /** Bytes place() can take now (what the staged frames leave of the staging area). */
  get room(): number {
    return this.mem.layout.segmentBytes - this.write
  }

  /** Writes bytes where the core can read them (the staging area's far end); returns their address. */
  place(bytes: Uint8Array): number {
    if (bytes.length > this.mem.layout.segmentBytes - this.write) throw new InvalidArgumentError('argument too large for the staging area', { argument: 'name' })
    const at = this.lane.stagingEnd - bytes.length
    this.farWrites++
    this.mem.u8.set(bytes, at)
    return at
  }

  /** Kafka's murmur2 of the bytes. */
  murmur2(bytes: Uint8Array): number {
    return this.mem.x.murmur2(this.place(bytes), bytes.length)
  }
}

const SMALL_COPY = 64

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false
  return true
}
