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
