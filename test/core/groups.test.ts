// The consumer-group storage in the core: a directory of group names every thread resolves to
// the same index, and one commit word per group and partition, fenced by the generation of the
// member's assignment. Every test runs against both builds (shared and plain memory).
import { describe, expect, it } from 'vitest'
import { CTL_GROUP_COUNT, CTL_GROUP_LOCK, GROUP_NAME, GROUP_NAME_LENGTH, GROUP_SIZE } from '../../src/core/abi.js'
import { LogCore, computeLayout } from '../../src/core/log.js'
import { errors } from '../../src/index.js'

const errorOf = (fn: () => unknown): errors.BusError => {
  try {
    fn()
  } catch (error) {
    return error as errors.BusError
  }
  throw new Error('expected an error')
}

describe.each([{ shared: true }, { shared: false }])('consumer groups in the core (shared: $shared)', ({ shared }) => {
  const make = (maxGroups?: number) => LogCore.create({ maxBytes: 1 << 20, shared, segmentBytes: 8192, maxPartitions: 16, maxGroups })

  describe('group directory', () => {
    it('creates groups in order, finds them by name and reads their names back', async () => {
      const core = await make()
      expect(core.groupCount()).toBe(0)
      expect(core.groupIndex('billing', false)).toBe(-1)
      expect(core.groupIndex('billing', true)).toBe(0)
      expect(core.groupIndex('audit', true)).toBe(1)
      expect(core.groupIndex('billing', true)).toBe(0) // the same name is the same group
      expect(core.groupIndex('billing', false)).toBe(0)
      expect(core.groupIndex('audit', false)).toBe(1)
      expect(core.groupIndex('bill', false)).toBe(-1) // a prefix is another name
      expect(core.groupCount()).toBe(2)
      expect([core.groupName(0), core.groupName(1)]).toEqual(['billing', 'audit'])
    })

    it('takes names of up to 200 UTF-8 bytes, counted as bytes', async () => {
      const core = await make()
      const longest = 'é'.repeat(100) // 200 bytes
      expect(core.groupName(core.groupIndex(longest, true))).toBe(longest)
      for (const name of ['é'.repeat(100) + 'x', 'x'.repeat(201), '']) {
        const error = errorOf(() => core.groupIndex(name, true))
        expect(error).toBeInstanceOf(errors.InvalidArgumentError)
        expect(error).toMatchObject({ argument: 'group' })
        expect(errorOf(() => core.groupIndex(name, false))).toBeInstanceOf(errors.InvalidArgumentError)
      }
      expect(core.groupCount()).toBe(1)
    })

    it('a full table says to raise maxGroups, and finding a group still works', async () => {
      const core = await make(2)
      core.groupIndex('a', true)
      core.groupIndex('b', true)
      const error = errorOf(() => core.groupIndex('c', true))
      expect(error).toBeInstanceOf(errors.InvalidArgumentError)
      expect(error.message).toMatch(/group table is full.*raise maxGroups/)
      expect(error).toMatchObject({ argument: 'maxGroups', group: 'c' })
      expect(core.groupIndex('c', false)).toBe(-1)
      expect(core.groupIndex('b', true)).toBe(1)
      expect(core.groupCount()).toBe(2)
    })

    it('names only groups that exist', async () => {
      const core = await make()
      core.groupIndex('a', true)
      for (const index of [-1, 1, 0.5, NaN]) expect(errorOf(() => core.groupName(index))).toMatchObject({ argument: 'group' })
    })
  })

  describe('layout', () => {
    it('maxGroups is an integer from 1 to 4096 (default 64)', async () => {
      expect(computeLayout({ maxBytes: 1 << 20, shared }).maxGroups).toBe(64)
      for (const maxGroups of [0, 4097, 1.5, NaN]) {
        expect(() => computeLayout({ maxBytes: 1 << 20, shared, maxGroups })).toThrow(errors.InvalidArgumentError)
        expect(errorOf(() => computeLayout({ maxBytes: 1 << 20, shared, maxGroups }))).toMatchObject({ argument: 'maxGroups' })
      }
      expect(computeLayout({ maxBytes: 1 << 20, shared, maxGroups: 4096 }).maxGroups).toBe(4096)
    })

    it('names maxGroups when the commit words are what would not fit in 4 GiB', () => {
      const error = errorOf(() => computeLayout({ maxBytes: 1 << 20, shared, maxPartitions: 1 << 17, maxGroups: 4096 }))
      expect(error).toMatchObject({ argument: 'maxGroups' })
      expect(error.message).toMatch(/consumer groups \(maxGroups, a commit word for each of 131072 maxPartitions\) 4097 MiB; lower maxGroups/)
    })
  })
})

describe('a thread that died holding the group lock', () => {
  it('makes creators give up with a busy error until it is recovered; its half-written entry is never found', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    expect(a.groupIndex('first', true)).toBe(0)
    const token = 7
    const b = LogCore.attach(a.module, a.memory, a.layout, token) // "another thread"
    // b died creating 'second': it holds the lock and wrote the name of entry 1, which it never published
    const dv = new DataView(a.memory.buffer)
    const entry = a.layout.groups + GROUP_SIZE
    const name = new TextEncoder().encode('second')
    dv.setUint32(entry + GROUP_NAME_LENGTH, name.length, true)
    a.u8.set(name, entry + GROUP_NAME)
    dv.setUint32(a.layout.ctl + CTL_GROUP_LOCK, token, true)

    expect(a.groupIndex('second', false)).toBe(-1)
    expect(a.groupIndex('first', true)).toBe(0) // a group that exists is found without the lock
    const busy = errorOf(() => a.groupIndex('second', true))
    expect(busy).toBeInstanceOf(errors.BackPressureError)
    expect(busy).toMatchObject({ reason: 'busy', retriable: true })
    expect(a.groupCount()).toBe(1)

    expect(a.recoverLane(token)).toEqual({ lane: b.lane, released: 1 })
    expect(dv.getUint32(a.layout.ctl + CTL_GROUP_LOCK, true)).toBe(0)
    expect(dv.getUint32(a.layout.ctl + CTL_GROUP_COUNT, true)).toBe(1)
    // the entry is written again by the next creator
    expect(a.groupIndex('other', true)).toBe(1)
    expect(a.groupName(1)).toBe('other')
    expect(a.groupIndex('second', true)).toBe(2)
  })

  it('is not released for another token', async () => {
    const a = await LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192 })
    const dv = new DataView(a.memory.buffer)
    dv.setUint32(a.layout.ctl + CTL_GROUP_LOCK, 5, true) // held by token 5, alive
    expect(a.recoverLane(9)).toEqual({ lane: -1, released: 0 })
    expect(dv.getUint32(a.layout.ctl + CTL_GROUP_LOCK, true)).toBe(5)
  })
})
