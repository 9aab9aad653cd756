// Consumer groups as the host sees them (entries and commit words: src/core/abi/group.ts): the
// group directory every thread shares, by name and index.
import { CTL_GROUP_COUNT, GROUP_MAX_NAME, GROUP_NAME, GROUP_NAME_LENGTH, GROUP_SIZE } from './abi.js'
import { CTL, type CoreMemory } from './memory.js'
import type { Staging } from './staging.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

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

  /** Only groups every thread can see (created, published) have an index. */
  private check(g: number): void {
    if (!Number.isInteger(g) || g < 0 || g >= this.count()) throw new InvalidArgumentError(`no group has index ${g}`, { argument: 'group' })
  }
}
