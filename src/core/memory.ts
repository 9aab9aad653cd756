// One thread's access to the core: typed views of the memory every thread shares, and this
// thread's instance of the module. Each structure module (lanes, staging, cursors, directory,
// wake-ups, partitions) reads and calls through it.
import { LAYOUT_CTL } from './abi.js'
import { instantiateCore, type CoreExports } from './exports.js'
import type { CoreLayout } from './layout.js'

/** The control block's address, the first argument of every core call. */
export const CTL = LAYOUT_CTL

export class CoreMemory {
  /** The memory is a SharedArrayBuffer: other threads may use this core. */
  readonly shared: boolean
  // the memory is sized once and never grown, so these views stay valid
  readonly u8: Uint8Array
  readonly u32: Uint32Array
  readonly i32: Int32Array
  readonly f64: Float64Array
  /** This thread's instance (checked against the host's list at load); tests wrap an export to stage a race. */
  x: CoreExports

  /** `laneToken` marks everything this thread holds (its lane, its locks) so recovery can find it. */
  constructor(module: WebAssembly.Module, readonly memory: WebAssembly.Memory, readonly layout: CoreLayout, readonly laneToken: number) {
    const buffer = memory.buffer
    this.shared = typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer
    this.u8 = new Uint8Array(buffer)
    this.u32 = new Uint32Array(buffer)
    this.i32 = new Int32Array(buffer)
    this.f64 = new Float64Array(buffer)
    this.x = instantiateCore(module, memory)
  }

  /**
   * The i32 word at `index` (of i32), which other threads may change: read atomically on shared
   * memory; plainly otherwise, where only this thread writes it (Atomics.load is a call, 6 ns).
   */
  word(index: number): number {
    return this.shared ? Atomics.load(this.i32, index) : this.i32[index]
  }
}
