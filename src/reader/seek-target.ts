// What a seek may ask for, checked the same way for every kind of reader (one over this thread's
// log and the copying transport's RemoteReader), before the reader changes anything.
import { InvalidArgumentError } from '../errors.js'
import type { SeekTarget } from '../types.js'

/** A checked seek: an offset (in one partition, or all) or a timestamp (all partitions). */
export interface CheckedSeek {
  byTime: boolean
  /** The offset, or the timestamp when byTime. */
  value: number
  /** The one partition to move; undefined for all. */
  partition: number | undefined
}

export function checkSeekTarget(target: SeekTarget): CheckedSeek {
  if (typeof target !== 'object' || target === null) throw new InvalidArgumentError('seek takes { partition?, offset } or { timestamp }', { argument: 'target' })
  const byTime = 'timestamp' in target
  const value = byTime ? target.timestamp : target.offset
  if (typeof value !== 'number' || !Number.isFinite(value) || (!byTime && (!Number.isInteger(value) || value < 0))) {
    throw new InvalidArgumentError(`seek needs a ${byTime ? 'finite timestamp' : 'non-negative integer offset'}, got ${String(value)}`, { argument: byTime ? 'timestamp' : 'offset' })
  }
  const partition = byTime ? undefined : target.partition
  // no partition is held by a name that is not a number; the copying transport must also be
  // able to send what it was given
  if (partition !== undefined && typeof partition !== 'number') throw noPartition(partition)
  return { byTime, value, partition }
}

export const noPartition = (partition: unknown): InvalidArgumentError =>
  new InvalidArgumentError(`this reader holds no partition ${String(partition)}`, { argument: 'partition' })
