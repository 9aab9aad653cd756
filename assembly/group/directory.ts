// The group directory: consumer-group names -> indices, in shared memory, so every thread
// resolves a group name to the same commit words. Creating takes the group lock; finding reads
// ready entries without it.
import { CTL_GROUPS, CTL_GROUP_COUNT, CTL_GROUP_LOCK, CTL_MAX_GROUPS } from '../../src/core/abi/control'
import { GROUP_MAX_NAME, GROUP_NAME, GROUP_NAME_LENGTH, GROUP_SIZE, GROUP_STATE } from '../../src/core/abi/group'
import { STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_GROUP_LIMIT } from '../../src/core/abi/status'
import { bytesEqual } from '../bytes'
import { aload32, astore32, lockAcquire, lockRelease } from '../sync'

// @ts-ignore: decorator
@inline function groupEntry(ctl: usize, g: i32): usize {
  return <usize>load<u32>(ctl, CTL_GROUPS) + <usize>g * GROUP_SIZE
}

function sameName(entry: usize, name: usize, length: i32): bool {
  return load<u32>(entry, GROUP_NAME_LENGTH) == <u32>length && bytesEqual(entry + GROUP_NAME, name, length)
}

/** Index of the group with this name, or -1. */
export function groupFind(ctl: usize, name: usize, length: i32): i32 {
  const count = <i32>aload32(ctl + CTL_GROUP_COUNT)
  for (let g = 0; g < count; g++) {
    const entry = groupEntry(ctl, g)
    if (aload32(entry + GROUP_STATE) == 1 && sameName(entry, name, length)) return g
  }
  return -1
}

/** Finds or creates the group (any thread may); returns its index or a status. */
export function groupCreate(ctl: usize, name: usize, length: i32): i32 {
  if (length < 1 || length > GROUP_MAX_NAME) return STATUS_BAD_ARGUMENT
  if (!lockAcquire(ctl + CTL_GROUP_LOCK)) return STATUS_BUSY
  let g = groupFind(ctl, name, length)
  if (g < 0) {
    g = <i32>load<u32>(ctl, CTL_GROUP_COUNT)
    if (<u32>g >= load<u32>(ctl, CTL_MAX_GROUPS)) {
      lockRelease(ctl + CTL_GROUP_LOCK)
      return STATUS_GROUP_LIMIT
    }
    // an entry a dead creator left half-written is past the count: written again from scratch
    const entry = groupEntry(ctl, g)
    memory.fill(entry, 0, GROUP_SIZE)
    store<u32>(entry, <u32>length, GROUP_NAME_LENGTH)
    memory.copy(entry + GROUP_NAME, name, <usize>length)
    astore32(entry + GROUP_STATE, 1)
    astore32(ctl + CTL_GROUP_COUNT, <u32>g + 1)
  }
  lockRelease(ctl + CTL_GROUP_LOCK)
  return g
}
