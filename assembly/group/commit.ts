// Commit words: per group and partition, the committed offset and the generation the partition
// is assigned for, in one i64 (see src/core/abi/group.ts). Every change is one
// atomic operation on the word, so there is no lock to take or to recover, and a reader never
// sees an offset apart from the generation it was written beside.
import { CTL_COMMITS, CTL_GROUP_COUNT, CTL_MAX_PARTITIONS, CTL_PARTITION_COUNT } from '../../src/core/abi/control'
import { COMMIT_GENERATION_BITS, COMMIT_OFFSET_BITS, COMMIT_SIZE } from '../../src/core/abi/group'
import { STATUS_BAD_ARGUMENT, STATUS_FENCED, STATUS_OK } from '../../src/core/abi/status'
import { acas64, aload32, aload64, astore64 } from '../sync'

const OFFSET_MASK: i64 = (<i64>1 << COMMIT_OFFSET_BITS) - 1
const GENERATION_MASK: u32 = (1 << COMMIT_GENERATION_BITS) - 1

/** Address of the word, or 0 (never valid) when the group or the partition does not exist. */
function commitWord(ctl: usize, group: i32, p: i32): usize {
  if (group < 0 || <u32>group >= aload32(ctl + CTL_GROUP_COUNT) || p < 0 || <u32>p >= aload32(ctl + CTL_PARTITION_COUNT)) return 0
  return <usize>load<u32>(ctl, CTL_COMMITS) + (<usize>group * <usize>load<u32>(ctl, CTL_MAX_PARTITIONS) + <usize>p) * COMMIT_SIZE
}

/** An offset the word can hold: an integer whose successor fits in the offset bits. */
function validOffset(offset: f64): bool {
  return offset >= 0 && offset < <f64>OFFSET_MASK && Math.floor(offset) == offset
}

// @ts-ignore: decorator
@inline function encode(generation: u32, offsetPlusOne: i64): i64 {
  return (<i64>(generation & GENERATION_MASK) << COMMIT_OFFSET_BITS) | offsetPlusOne
}

// @ts-ignore: decorator
@inline function generationOf(word: i64): u32 {
  return <u32>(<u64>word >> COMMIT_OFFSET_BITS)
}

/** The committed offset (the next one to read), -1 when nothing is committed, or a status. */
export function commitLoad(ctl: usize, group: i32, p: i32): f64 {
  const word = commitWord(ctl, group, p)
  if (word == 0) return STATUS_BAD_ARGUMENT
  return <f64>((aload64(word) & OFFSET_MASK) - 1)
}

/** The generation the word is fenced at, or a status. */
export function commitGeneration(ctl: usize, group: i32, p: i32): i32 {
  const word = commitWord(ctl, group, p)
  return word == 0 ? STATUS_BAD_ARGUMENT : <i32>generationOf(aload64(word))
}

/**
 * Commits `offset` for a member assigned the partition in `generation`: written only while the
 * word holds that generation, else STATUS_FENCED and nothing changes.
 */
export function commitStore(ctl: usize, group: i32, p: i32, generation: u32, offset: f64): i32 {
  const word = commitWord(ctl, group, p)
  if (word == 0 || !validOffset(offset)) return STATUS_BAD_ARGUMENT
  const next = encode(generation, <i64>offset + 1)
  let held: i64
  do {
    held = aload64(word)
    if (generationOf(held) != (generation & GENERATION_MASK)) return STATUS_FENCED
    // the exchange fails only when the word changed since: look at its generation again
  } while (acas64(word, held, next) != held)
  return STATUS_OK
}

/** Fences the word at `generation` (the partition was assigned for it), keeping the offset. */
export function commitFence(ctl: usize, group: i32, p: i32, generation: u32): i32 {
  const word = commitWord(ctl, group, p)
  if (word == 0) return STATUS_BAD_ARGUMENT
  let held: i64
  do {
    held = aload64(word)
  } while (acas64(word, held, encode(generation, held & OFFSET_MASK)) != held)
  return STATUS_OK
}

/**
 * Sets the offset where nothing is committed yet, keeping the generation (a group's start
 * position, fixed when a member subscribes): STATUS_OK, or STATUS_FENCED when a commit was there
 * first and nothing changed.
 */
export function commitInit(ctl: usize, group: i32, p: i32, offset: f64): i32 {
  const word = commitWord(ctl, group, p)
  if (word == 0 || !validOffset(offset)) return STATUS_BAD_ARGUMENT
  let held: i64
  do {
    held = aload64(word)
    if ((held & OFFSET_MASK) != 0) return STATUS_FENCED
  } while (acas64(word, held, held | (<i64>offset + 1)) != held)
  return STATUS_OK
}

/** Sets generation and offset whatever the word held (a group's seek or reset); offset -1: none. */
export function commitReset(ctl: usize, group: i32, p: i32, generation: u32, offset: f64): i32 {
  const word = commitWord(ctl, group, p)
  if (word == 0 || (offset != -1 && !validOffset(offset))) return STATUS_BAD_ARGUMENT
  astore64(word, encode(generation, <i64>offset + 1))
  return STATUS_OK
}
