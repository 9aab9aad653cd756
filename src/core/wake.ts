// Wake-ups across threads: a sequence word in the control block that writers bump after a
// commit, and the count of threads waiting on it, so that a writer with no one waiting skips
// the notify.
import { CTL_WAITERS, CTL_WAKE } from './abi.js'
import { CTL, type CoreMemory } from './memory.js'

const WAKE = (CTL + CTL_WAKE) >> 2
const WAITERS = (CTL + CTL_WAITERS) >> 2

export class Wake {
  private readonly i32: Int32Array

  constructor(mem: CoreMemory) {
    this.i32 = mem.i32
  }

  /** Tells threads waiting in wait() that records were committed. */
  notify(): void {
    Atomics.add(this.i32, WAKE, 1)
    if (Atomics.load(this.i32, WAITERS) > 0) Atomics.notify(this.i32, WAKE)
  }

  /** Whether any thread waits now. */
  hasWaiters(): boolean {
    return Atomics.load(this.i32, WAITERS) > 0
  }

  /** The wake sequence now; pass it to wait. */
  sequence(): number {
    return Atomics.load(this.i32, WAKE)
  }

  /** Resolves once another notify() happened after `seen` (without blocking the thread). */
  async wait(seen: number): Promise<void> {
    Atomics.add(this.i32, WAITERS, 1)
    try {
      const result = Atomics.waitAsync(this.i32, WAKE, seen)
      if (result.async) await result.value
    } finally {
      Atomics.sub(this.i32, WAITERS, 1)
    }
  }

  /** Wakes every waiter (for example so that a closing bus stops waiting). */
  wakeAll(): void {
    Atomics.add(this.i32, WAKE, 1)
    Atomics.notify(this.i32, WAKE)
  }
}
