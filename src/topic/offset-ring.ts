// Records a thread keeps by offset so that a reader or consumer in the same thread gets the
// objects themselves instead of decoding them from the log: a ring indexed by offset that can
// double, its fields in parallel arrays (nothing allocated per record). What it keeps and when
// it grows is its user's policy (a topic's recent values, a queue's sent messages).

export class OffsetRing<K, E> {
  private mask = 0
  private offsets = new Float64Array(0)
  private timestamps = new Float64Array(0)
  private values: unknown[] = []
  private keys: Array<K | undefined> = []
  private extras: Array<E | undefined> = []

  /** `size`: a power of two. */
  constructor(size: number) {
    this.allocate(size)
  }

  private allocate(size: number): void {
    this.mask = size - 1
    this.offsets = new Float64Array(size).fill(-1)
    this.timestamps = new Float64Array(size)
    this.values = new Array(size)
    this.keys = new Array(size)
    this.extras = new Array(size)
  }

  get size(): number {
    return this.mask + 1
  }

  /** The offset held in the slot `offset` maps to, or -1. */
  heldAt(offset: number): number {
    return this.offsets[offset & this.mask]
  }

  /** The slot holding `offset`, or -1. */
  find(offset: number): number {
    const i = offset & this.mask
    return this.offsets[i] === offset ? i : -1
  }

  put(offset: number, timestamp: number, value: unknown, key: K | undefined, extra: E | undefined): void {
    const i = offset & this.mask
    this.offsets[i] = offset
    this.timestamps[i] = timestamp
    this.values[i] = value
    this.keys[i] = key
    this.extras[i] = extra
  }

  /** Empties slot i (letting go of what it held). */
  clear(i: number): void {
    this.offsets[i] = -1
    this.values[i] = this.keys[i] = this.extras[i] = undefined
  }

  timestamp(i: number): number { return this.timestamps[i] }
  value(i: number): unknown { return this.values[i] }
  key(i: number): K | undefined { return this.keys[i] }
  extra(i: number): E | undefined { return this.extras[i] }

  /** Doubles the ring, keeping every record it holds. */
  grow(): void {
    const { offsets, timestamps, values, keys, extras } = this
    this.allocate(offsets.length * 2)
    for (let i = 0; i < offsets.length; i++) if (offsets[i] >= 0) this.put(offsets[i], timestamps[i], values[i], keys[i], extras[i])
  }
}
