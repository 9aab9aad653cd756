// Kafka's partitioner hash: murmur2 exactly as org.apache.kafka.common.utils.Utils.murmur2
// (seed 0x9747b28c, m 0x5bd1e995, r 24, wrapping 32-bit multiplies), so a key lands on the
// same partition number as it would in Kafka.

export function murmur2(ptr: usize, length: i32): i32 {
  const m: i32 = 0x5bd1e995
  let h: i32 = 0x9747b28c ^ length
  const words = length >> 2
  for (let i = 0; i < words; i++) {
    let k = load<i32>(ptr + (<usize>i << 2)) // little-endian, as Java assembles the bytes
    k *= m
    k ^= <i32>(<u32>k >> 24)
    k *= m
    h *= m
    h ^= k
  }
  const rest = ptr + (<usize>length & ~3)
  switch (length & 3) {
    case 3:
      h ^= <i32>load<u8>(rest, 2) << 16
    // falls through
    case 2:
      h ^= <i32>load<u8>(rest, 1) << 8
    // falls through
    case 1:
      h ^= <i32>load<u8>(rest)
      h *= m
  }
  h ^= <i32>(<u32>h >> 13)
  h *= m
  h ^= <i32>(<u32>h >> 15)
  return h
}
