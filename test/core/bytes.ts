/** Deterministic, distinct bytes: the seed in the first four bytes, then an xorshift stream. */
export function bytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    if (i < 4) { out[i] = (seed >>> (8 * i)) & 0xff; continue }
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}
