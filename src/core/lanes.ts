// Lanes: each thread's private part of the memory (staging area, output buffer, cursors; see
// src/core/abi/layout.ts). A thread takes a free lane under its lane token, and gives it back,
// or recovery does by that token when the thread died.
import { CUR_SIZE, LANE_OUT_BYTES } from './abi.js'
import type { CoreMemory } from './memory.js'
import { BusError, InvalidArgumentError } from '../errors.js'

export class Lane {
  /** Which lane this thread holds. */
  readonly index: number
  /** Frames staged for the next commit, from `staging` up to `stagingEnd`. */
  readonly staging: number
  readonly stagingEnd: number
  /** Append results and poll output (shared by both: a thread does one at a time). */
  readonly out: number
  /** This lane's cursors, CUR_SIZE bytes each. */
  readonly cursors: number

  constructor(private readonly mem: CoreMemory) {
    const layout = mem.layout
    this.index = take(mem)
    this.staging = layout.lanesAt + this.index * layout.laneBytes
    this.stagingEnd = this.staging + layout.segmentBytes
    this.out = this.stagingEnd
    this.cursors = this.out + LANE_OUT_BYTES
  }

  /** Address of cursor `slot`. */
  cursor(slot: number): number {
    return this.cursors + slot * CUR_SIZE
  }

  /** Gives the lane back for another thread to use. */
  release(): void {
    Atomics.compareExchange(this.mem.i32, (this.mem.layout.laneOwners >> 2) + this.index, this.mem.laneToken, 0)
  }
}

/**
 * Takes a free lane for this thread's token. A token holds at most one lane: when two threads
 * attach with the same token at once, the one with the lower lane keeps it and the other
 * gives its lane back and fails (recovery frees lanes by token, so two would be freed as one).
 */
function take(mem: CoreMemory): number {
  const { i32, laneToken, layout } = mem
  const owners = layout.laneOwners >> 2
  for (let lane = 0; lane < layout.lanes; lane++) {
    if (Atomics.compareExchange(i32, owners + lane, 0, laneToken) !== 0) continue
    for (let other = 0; other < layout.lanes; other++) {
      if (other < lane && Atomics.load(i32, owners + other) === laneToken) {
        Atomics.compareExchange(i32, owners + lane, laneToken, 0)
        throw new BusError('this handle is attached already in another thread: make a new one with bus.handle() for each thread', { argument: 'handle' })
      }
    }
    return lane
  }
  throw new InvalidArgumentError(`all ${layout.lanes} lanes of this bus are in use: one per thread; raise 'lanes'`, { argument: 'lanes' })
}

/** Frees the lane a dead thread held under `token`; returns it, or -1 if it held none. */
export function recoverLane(mem: CoreMemory, token: number): number {
  const owners = mem.layout.laneOwners >> 2
  for (let lane = 0; lane < mem.layout.lanes; lane++) {
    if (Atomics.compareExchange(mem.i32, owners + lane, token, 0) === token) return lane
  }
  return -1
}
