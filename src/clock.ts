// Time for the bus: retention ages (and later TTLs, delays, backoff) are measured against an
// injectable clock, so tests can drive time by hand with manualClock().

export interface Clock {
  now(): number
  /** Runs `fn` after `ms` of this clock's time; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void
}

export interface ManualClock extends Clock {
  /** Moves time forward, running every timer that falls due, in time order. */
  advance(ms: number): void
  /** Sets the time (forward only), running due timers like advance(). */
  set(ms: number): void
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, ms)
    // a bus must never keep a Node process alive on its own
    ;(handle as { unref?: () => void }).unref?.()
    return () => clearTimeout(handle)
  },
}

interface Timer { at: number; seq: number; fn: () => void }

/**
 * A clock that only moves when told to.
 * @example
 * const clock = manualClock(1_000)
 * const bus = await createBus({ clock })
 * clock.advance(60_000) // retention that fell due runs now
 */
export function manualClock(startMs = 0): ManualClock {
  let time = startMs
  let seq = 0
  const timers: Timer[] = []
  const set = (target: number): void => {
    if (!(target >= time)) throw new RangeError(`manual clock moves forward only (now ${time}, asked for ${target})`)
    for (;;) {
      let next = -1
      for (let i = 0; i < timers.length; i++) {
        const t = timers[i]
        if (t.at <= target && (next < 0 || t.at < timers[next].at || (t.at === timers[next].at && t.seq < timers[next].seq))) next = i
      }
      if (next < 0) break
      const [due] = timers.splice(next, 1)
      time = due.at
      due.fn()
    }
    time = target
  }
  return {
    now: () => time,
    setTimer(fn, ms) {
      const timer = { at: time + Math.max(0, ms), seq: seq++, fn }
      timers.push(timer)
      return () => {
        const i = timers.indexOf(timer)
        if (i >= 0) timers.splice(i, 1)
      }
    },
    advance: (ms) => set(time + ms),
    set,
  }
}
