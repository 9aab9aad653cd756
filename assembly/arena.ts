// The arena allocator (layout: src/core/abi/arena.ts). Power-of-two size classes with a free
// list each and a bump pointer behind them; no coalescing, so a block given back serves the next
// request of its class. Callers hold the lock of the region the arena belongs to.
import { ARENA_BUMP, ARENA_CLASSES, ARENA_FREE, ARENA_HEADER, ARENA_LIMIT, ARENA_MIN_BLOCK, ARENA_USED } from '../src/core/abi/arena'

/** Makes `bytes` bytes at `arena` (a multiple of 16) an empty arena. */
export function arenaInit(arena: usize, bytes: u32): void {
  memory.fill(arena, 0, ARENA_HEADER)
  store<u32>(arena, bytes > <u32>ARENA_HEADER ? (bytes - <u32>ARENA_HEADER) & ~15 : 0, ARENA_LIMIT)
}

/** The size class of a request: blocks of ARENA_MIN_BLOCK << class bytes; -1 when none is big enough. */
// @ts-ignore: decorator
@inline function classOf(size: u32): i32 {
  if (size <= <u32>ARENA_MIN_BLOCK) return 0
  const c = <i32>(32 - clz<u32>(size - 1)) - 4
  return c < ARENA_CLASSES ? c : -1
}

/** Bytes of the block a request of `size` bytes gets. */
export function arenaBlockSize(size: u32): u32 {
  const c = classOf(size)
  return c < 0 ? 0 : <u32>ARENA_MIN_BLOCK << c
}

/** A zeroed block of at least `size` bytes (size > 0), or 0 when the arena has no room. */
export function arenaAlloc(arena: usize, size: u32): usize {
  const c = classOf(size)
  if (c < 0 || size == 0) return 0
  const block = <u32>ARENA_MIN_BLOCK << c
  const head = arena + ARENA_FREE + (<usize>c << 2)
  let at = <usize>load<u32>(head)
  if (at != 0) {
    store<u32>(head, load<u32>(at))
  } else {
    const bump = load<u32>(arena, ARENA_BUMP)
    if (<u64>bump + block > <u64>load<u32>(arena, ARENA_LIMIT)) return 0
    store<u32>(arena, bump + block, ARENA_BUMP)
    at = arena + ARENA_HEADER + bump
  }
  memory.fill(at, 0, block)
  store<u32>(arena, load<u32>(arena, ARENA_USED) + block, ARENA_USED)
  return at
}

/** Takes back a block arenaAlloc gave for a request of `size` bytes. */
export function arenaFree(arena: usize, at: usize, size: u32): void {
  const c = classOf(size)
  if (at == 0 || c < 0) return
  const head = arena + ARENA_FREE + (<usize>c << 2)
  store<u32>(at, load<u32>(head))
  store<u32>(head, <u32>at)
  store<u32>(arena, load<u32>(arena, ARENA_USED) - (<u32>ARENA_MIN_BLOCK << c), ARENA_USED)
}

/** Bytes handed out and not taken back. */
export function arenaUsed(arena: usize): u32 {
  return load<u32>(arena, ARENA_USED)
}
