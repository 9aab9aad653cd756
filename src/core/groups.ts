// Consumer groups as the host sees them (entries and commit words: src/core/abi/group.ts): the
// group directory every thread shares, by name and index, and each group's committed offsets,
// fenced by the generation of the assignment they are committed under.
import {
  COMMIT_OFFSET_BITS, CTL_GROUP_COUNT, CTL_PARTITION_COUNT, GROUP_MAX_NAME, GROUP_NAME, GROUP_NAME_LENGTH, GROUP_SIZE,
  STATUS_FENCED,
} from './abi.js'
import { CTL, type CoreMemory } from './memory.js'
import type { Staging } from './staging.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

/** Offsets a commit word holds: its offset bits hold the offset plus one. */
const OFFSET_LIMIT = 2 ** COMMIT_OFFSET_BITS - 1

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

export class Groups {
  constructor(private readonly mem: CoreMemory, private readonly staging: Staging) {}

  /** Index of the group, created unless `create` is false (then -1 when there is none). */
  index(name: string, create: boolean): number {
    const bytes = textEncoder.encode(name)
    if (bytes.length < 1 || bytes.length > GROUP_MAX_NAME) {
      throw new InvalidArgumentError(`a group name takes 1 to ${GROUP_MAX_NAME} UTF-8 bytes, got ${bytes.length}`, { argument: 'group' })
    }
    const at = this.staging.place(bytes)
    // a group that exists is found without the group lock, even while a creator holds it
    const found = this.mem.x.groupFind(CTL, at, bytes.length)
    if (found >= 0 || !create) return found
    const g = this.mem.x.groupCreate(CTL, at, bytes.length)
    if (g < 0) throw statusError(g, { group: name })
    return g
  }

  count(): number {
    return Atomics.load(this.mem.i32, (CTL + CTL_GROUP_COUNT) >> 2)
  }

  name(g: number): string {
    this.check(g)
    const at = this.mem.layout.groups + g * GROUP_SIZE
    return textDecoder.decode(this.mem.u8.slice(at + GROUP_NAME, at + GROUP_NAME + this.mem.u32[(at + GROUP_NAME_LENGTH) >> 2]))
  }

  /** The committed offset (the next one to read), or -1 when nothing is committed. */
  committed(g: number, p: number): number {
    this.word(g, p)
    return this.mem.x.commitLoad(CTL, g, p)
  }

  /** The generation the word is fenced at, mod 65536. */
  generation(g: number, p: number): number {
    this.word(g, p)
    return this.mem.x.commitGeneration(CTL, g, p)
  }

  /** Commits for a member assigned the partition in `generation`; false when fenced (nothing written). */
  commit(g: number, p: number, generation: number, offset: number): boolean {
    this.word(g, p)
    checkGeneration(generation)
    checkOffset(offset, false)
    const status = this.mem.x.commitStore(CTL, g, p, generation, offset)
    if (status === STATUS_FENCED) return false
    if (status < 0) throw statusError(status, { group: g, partition: p, offset })
    return true
  }

  fence(g: number, p: number, generation: number): void {
    this.word(g, p)
    checkGeneration(generation)
    const status = this.mem.x.commitFence(CTL, g, p, generation)
    if (status < 0) throw statusError(status, { group: g, partition: p })
  }

  /** Sets the offset unless something is committed already; false then. */
  init(g: number, p: number, offset: number): boolean {
    this.word(g, p)
    checkOffset(offset, false)
    const status = this.mem.x.commitInit(CTL, g, p, offset)
    if (status === STATUS_FENCED) return false
    if (status < 0) throw statusError(status, { group: g, partition: p, offset })
    return true
  }

  reset(g: number, p: number, generation: number, offset: number): void {
    this.word(g, p)
    checkGeneration(generation)
    checkOffset(offset, true)
    const status = this.mem.x.commitReset(CTL, g, p, generation, offset)
    if (status < 0) throw statusError(status, { group: g, partition: p, offset })
  }

  /** Only groups every thread can see (created, published) have an index. */
  private check(g: number): void {
    if (!Number.isInteger(g) || g < 0 || g >= this.count()) throw new InvalidArgumentError(`no group has index ${g}`, { argument: 'group' })
  }

  /**
   * A commit word exists for every group and partition id in use. The core checks the same and
   * refuses with a bare status; checked here first to say which argument is wrong.
   */
  private word(g: number, p: number): void {
    this.check(g)
    if (!Number.isInteger(p) || p < 0 || p >= Atomics.load(this.mem.i32, (CTL + CTL_PARTITION_COUNT) >> 2)) {
      throw new InvalidArgumentError(`no partition has id ${p}`, { argument: 'partition' })
    }
  }
}

/** Any non-negative integer: the word keeps it mod 65536, as the core's u32 parameter keeps it mod 2^32. */
function checkGeneration(generation: number): void {
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new InvalidArgumentError(`a generation is a non-negative integer, got ${generation}`, { argument: 'generation' })
  }
}

function checkOffset(offset: number, noneAllowed: boolean): void {
  if (!Number.isInteger(offset) || offset >= OFFSET_LIMIT || (offset < 0 && !(noneAllowed && offset === -1))) {
    throw new InvalidArgumentError(`a committed offset is an integer from 0 to 2^${COMMIT_OFFSET_BITS} - 2${noneAllowed ? ', or -1 for none' : ''}, got ${offset}`, { argument: 'offset' })
  }
}
