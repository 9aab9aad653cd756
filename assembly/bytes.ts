// Byte runs in memory: the one comparison the name tables (topics, groups, dedup ids) share.

/** Whether the `length` bytes at `a` and at `b` are the same. */
export function bytesEqual(a: usize, b: usize, length: i32): bool {
  for (let i = 0; i < length; i++) {
    if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false
  }
  return true
}
