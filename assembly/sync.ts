// Atomics and spin locks on words of memory. The shared build (threads enabled) uses real
// atomics; the plain build, which only ever runs in one thread, compiles the same code to
// ordinary loads and stores (ASC_FEATURE_THREADS is a compile-time constant).
// Critical sections are a few hundred instructions (one frame copy at most), so a waiting thread
// spins first. It sleeps (memory.atomic.wait32) only once the holder has kept the lock for
// longer than a critical section takes: then the holder is most likely not running (more
// threads than cores, and the scheduler took its core), and spinning on would only keep it off
// the core longer. A browser's main thread may not block, so it always spins.
import { CTL_LOCK_SLEEPERS } from '../src/core/abi/control'
import { LAYOUT_CTL } from '../src/core/abi/layout'
import { LOCK_SLEEP_NS, LOCK_SLEEP_TRIES, LOCK_SPIN_LIMIT, LOCK_SPINS_BEFORE_SLEEP } from '../src/core/abi/status'

// @ts-ignore: decorator
@inline export function aload32(addr: usize): u32 {
  return ASC_FEATURE_THREADS ? atomic.load<u32>(addr) : load<u32>(addr)
}

// @ts-ignore: decorator
@inline export function astore32(addr: usize, value: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(addr, value)
  else store<u32>(addr, value)
}

// @ts-ignore: decorator
@inline export function aload64(addr: usize): i64 {
  return ASC_FEATURE_THREADS ? atomic.load<i64>(addr) : load<i64>(addr)
}

// @ts-ignore: decorator
@inline export function astore64(addr: usize, value: i64): void {
  if (ASC_FEATURE_THREADS) atomic.store<i64>(addr, value)
  else store<i64>(addr, value)
}

/** Adds and returns the previous value. */
// @ts-ignore: decorator
@inline export function aadd32(addr: usize, delta: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.add<u32>(addr, delta)
  const before = load<u32>(addr)
  store<u32>(addr, before + delta)
  return before
}

/** Sets the word to `replacement` if it holds `expected`; returns what it held. */
// @ts-ignore: decorator
@inline export function acas32(addr: usize, expected: u32, replacement: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<u32>(addr, expected, replacement)
  const held = load<u32>(addr)
  if (held == expected) store<u32>(addr, replacement)
  return held
}

/** acas32 on a 64-bit word, whose address must be a multiple of 8 (i64 atomics trap otherwise). */
// @ts-ignore: decorator
@inline export function acas64(addr: usize, expected: i64, replacement: i64): i64 {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<i64>(addr, expected, replacement)
  const held = load<i64>(addr)
  if (held == expected) store<i64>(addr, replacement)
  return held
}

/**
 * The lane token of the thread running this instance: the one piece of per-thread state, kept in
 * a wasm global (each thread has its own instance). Locks hold it, so that when a thread dies
 * holding one, logRecover can tell which locks were its.
 */
let laneToken: u32 = 1
/** This thread may block in memory.atomic.wait32 (shared memory, and not a browser's main thread). */
let mayBlock = false

export function syncSetToken(token: u32, block: i32): void {
  laneToken = token == 0 ? 1 : token
  mayBlock = ASC_FEATURE_THREADS && block != 0
}

/** This thread's lane token, for what it holds outside a lock word (a claimed dedup entry). */
// @ts-ignore: decorator
@inline export function syncToken(): u32 {
  return laneToken
}

/**
 * Takes the lock, spinning while another thread holds it: holders are inside short, non-blocking
 * critical sections. A thread that may block sleeps on the lock word after every
 * LOCK_SPINS_BEFORE_SLEEP failed tries, until the holder lets go or LOCK_SLEEP_NS pass. Gives up
 * (false) after LOCK_SPIN_LIMIT tries with no sign of life from the lock, a sleep that lasted its
 * whole time counting as LOCK_SLEEP_TRIES of them; a release that cut a sleep short is such a
 * sign, and the count starts again (a lock that keeps changing hands is alive, however long this
 * thread keeps losing it). Giving up only happens when the holder stalled or died inside the
 * core: a thread that waited for ever could be the very one that would notice the death and
 * recover the lock.
 */
export function lockAcquire(addr: usize): bool {
  let spins: u32 = 0
  for (let tries: u32 = 0; tries < <u32>LOCK_SPIN_LIMIT; tries++) {
    // a swap per try: spinning on reads and swapping only when the word looks free measured
    // slower (waiting consumers then win the lock from the thread that feeds their queue)
    const held = acas32(addr, 0, laneToken)
    if (held == 0) return true
    if (mayBlock && ++spins >= <u32>LOCK_SPINS_BEFORE_SLEEP) {
      if (sleepOn(addr, held)) tries = 0
      else tries += <u32>LOCK_SLEEP_TRIES
      spins = 0
    }
  }
  return false
}

/**
 * Sleeps until the lock at `addr`, held by `held`, is released (lockRelease wakes one sleeper of a
 * lock when any thread sleeps on some lock) or LOCK_SLEEP_NS pass: a release nobody announced (a
 * lock recovered from a dead thread) is noticed then. False when it slept the whole time; true
 * when a release woke it or the word no longer held `held` (the lock changed hands meanwhile).
 */
function sleepOn(addr: usize, held: u32): bool {
  if (ASC_FEATURE_THREADS) {
    const sleepers = <usize>LAYOUT_CTL + CTL_LOCK_SLEEPERS
    // counted before the wait reads the word again: a release after that read sees the count and
    // wakes us; one before it changed the word, and the wait returns at once
    atomic.add<u32>(sleepers, 1)
    const woke = memory.atomic.wait32(addr, <i32>held, LOCK_SLEEP_NS) != AtomicWaitResult.TIMED_OUT
    atomic.sub<u32>(sleepers, 1)
    return woke
  }
  return true
}

/** Takes a lock whose sections are a handful of stores (the block pool): waits for as long as it takes. */
export function lockAcquireShort(addr: usize): void {
  while (acas32(addr, 0, laneToken) != 0) {
    // spin
  }
}

/** Takes the lock only if it is free now; used when the caller already holds another lock. */
export function lockTry(addr: usize): bool {
  return acas32(addr, 0, laneToken) == 0
}

export function lockRelease(addr: usize): void {
  astore32(addr, 0)
  if (ASC_FEATURE_THREADS) {
    if (atomic.load<u32>(<usize>LAYOUT_CTL + CTL_LOCK_SLEEPERS) != 0) atomic.notify(addr, 1)
  }
}
