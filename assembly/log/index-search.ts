// Sparse segment index (one entry per INDEX_INTERVAL bytes of frames, like Kafka's .index and
// .timeindex in one): binary search to the nearest entry, then a short scan over frames.
import { CTL_BLOCK_SIZE } from '../../src/core/abi/control'
import { FRAME_DELTA, FRAME_LENGTH, FRAME_TIMESTAMP } from '../../src/core/abi/frame'
import {
  IDX_DELTA, IDX_MAX_TIMESTAMP, IDX_POSITION, IDX_SIZE, SEG_HEADER, SEG_INDEX_COUNT, SEG_TAIL,
} from '../../src/core/abi/segment'
import { aload32 } from '../sync'

// @ts-ignore: decorator
@inline export function indexEntry(ctl: usize, seg: usize, i: u32): usize {
  return seg + <usize>load<u32>(ctl, CTL_BLOCK_SIZE) - <usize>(i + 1) * IDX_SIZE
}

export function indexAdd(ctl: usize, seg: usize, delta: u32, position: u32, maxTimestamp: f64): void {
  const i = load<u32>(seg, SEG_INDEX_COUNT)
  const e = indexEntry(ctl, seg, i)
  store<u32>(e, delta, IDX_DELTA)
  store<u32>(e, position, IDX_POSITION)
  store<f64>(e, maxTimestamp, IDX_MAX_TIMESTAMP)
  store<u32>(seg, i + 1, SEG_INDEX_COUNT)
}

/**
 * Where to start scanning for a key: the position of the last index entry whose key is below
 * `key` (`byTime`: the running max timestamp, strictly below; else the offset delta, at or
 * below), or the segment's first frame. Entries are ordered by both keys.
 */
function indexBefore(ctl: usize, seg: usize, key: f64, byTime: bool): usize {
  let lo: i32 = 0
  let hi: i32 = <i32>load<u32>(seg, SEG_INDEX_COUNT) - 1
  let found: i32 = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const e = indexEntry(ctl, seg, mid)
    const below = byTime ? load<f64>(e, IDX_MAX_TIMESTAMP) < key : <f64>load<u32>(e, IDX_DELTA) <= key
    if (below) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return seg + (found < 0 ? <usize>SEG_HEADER : <usize>load<u32>(indexEntry(ctl, seg, found), IDX_POSITION))
}

/** Address of the first frame in the segment whose offset delta is >= `delta` (or the tail). */
export function indexSeekDelta(ctl: usize, seg: usize, delta: u32): usize {
  // entry 0 is always the segment's first frame
  let pos = indexBefore(ctl, seg, <f64>delta, false)
  const end = seg + <usize>aload32(seg + SEG_TAIL)
  while (pos < end && load<u32>(pos, FRAME_DELTA) < delta) pos += load<u32>(pos, FRAME_LENGTH)
  return pos
}

/**
 * Address of the frame to start a timestamp scan from: just after the last indexed record whose
 * running max timestamp is still below `ts`; every record before that point is older than `ts`.
 */
export function indexSeekTime(ctl: usize, seg: usize, ts: f64): usize {
  return indexBefore(ctl, seg, ts, true)
}

/** First frame at or after `pos` in the segment with timestamp >= ts, or 0 if there is none. */
export function scanTime(seg: usize, pos: usize, ts: f64): usize {
  const end = seg + <usize>aload32(seg + SEG_TAIL)
  while (pos < end) {
    if (load<f64>(pos, FRAME_TIMESTAMP) >= ts) return pos
    pos += load<u32>(pos, FRAME_LENGTH)
  }
  return 0
}
