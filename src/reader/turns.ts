// Long deliveries share the thread: a reader that has been handing over records for SLICE_MS (a
// replay, a flood) lets the event loop run (timers, messages, I/O) before it goes on, the way a
// Kafka consumer's application runs between polls. Measured in real time, whatever the bus clock.
export const SLICE_MS = 10

/** Runs `fn` in a later turn of the event loop, after pending timers and messages. */
export const nextTurn = (fn: () => void): void => {
  ;(globalThis.setImmediate ?? setTimeout)(fn)
}

/** Runs `fn` after `ms` of real time (a partition another thread holds for now); never keeps a process alive. */
export const retryLater = (fn: () => void, ms: number): void => {
  const handle = setTimeout(fn, ms)
  ;(handle as { unref?: () => void }).unref?.()
}

/**
 * Pauses between tries at something another thread holds past any critical section (it
 * stalled, or died and is released once its exit is noticed): each try spins a while, so the
 * pauses grow, from 10 ms to 1 s, and leave the event loop time to notice.
 */
export class BusyBackoff {
  private pause = 10

  /** The pause before the next try (ms), doubling each time. */
  next(): number {
    const pause = this.pause
    this.pause = Math.min(pause * 2, 1000)
    return pause
  }

  /** A try went through. */
  reset(): void {
    this.pause = 10
  }
}
