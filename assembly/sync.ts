// Spin locks on words of shared memory. Critical sections are a few hundred instructions
// (one frame copy at most), so spinning beats parking; Atomics.wait is not allowed on a
// browser main thread anyway.

export function lockAcquire(addr: usize): void {
  while (atomic.cmpxchg<i32>(addr, 0, 1) != 0) {
    // spin: the holder is inside a short, non-blocking critical section
  }
}

/** Takes the lock only if it is free now; used when the caller already holds another lock. */
export function lockTry(addr: usize): bool {
  return atomic.cmpxchg<i32>(addr, 0, 1) == 0
}

export function lockRelease(addr: usize): void {
  atomic.store<i32>(addr, 0)
}
