// The consumer-group storage in the core: a directory of group names every thread resolves to
// the same index, and one commit word per group and partition, fenced by the generation of the
// member's assignment. Every test runs against both builds (shared and plain memory).
import { describe, expect, it } from 'vitest'
import { errorOf } from '../expect-error.js'
import { nextMessage, useCoreThreads } from '../threads.js'
import {
  COMMIT_SIZE, CTL_GROUP_COUNT, CTL_GROUP_LOCK, GROUP_NAME, GROUP_NAME_LENGTH, GROUP_SIZE, STATUS_BAD_ARGUMENT, STATUS_FENCED,
  STATUS_OK,
} from '../../src/core/abi.js'
import { instantiateCore } from '../../src/core/exports.js'
import { LogCore, computeLayout } from '../../src/core/log.js'
import { errors } from '../../src/index.js'

const config = { maxBytes: 0, maxAgeMs: 0, reject: false }
const LIMIT = 2 ** 48 - 1 // the first offset a commit word cannot hold


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

  describe('commit words', () => {
    /** A core with groups 'a' and 'b' and partitions 0..2. */
    const setup = async () => {
      const core = await make()
      core.groupIndex('a', true)
      core.groupIndex('b', true)
      for (let i = 0; i < 3; i++) core.addPartition(config)
      return core
    }
    const state = (core: LogCore, g: number, p: number) => [core.committed(g, p), core.commitGeneration(g, p)]

    it('hold nothing at generation 0 until a commit', async () => {
      const core = await setup()
      expect(state(core, 0, 0)).toEqual([-1, 0])
      expect(core.commitOffset(0, 0, 0, 5)).toBe(true)
      expect(state(core, 0, 0)).toEqual([5, 0])
      expect(core.commitOffset(0, 0, 0, 0)).toBe(true) // committing an earlier offset is the member's call
      expect(state(core, 0, 0)).toEqual([0, 0])
      // one word per group and partition
      expect([state(core, 0, 1), state(core, 1, 0)]).toEqual([[-1, 0], [-1, 0]])
    })

    it('a fence keeps the offset and refuses commits of any other generation, writing nothing', async () => {
      const core = await setup()
      expect(core.commitOffset(0, 1, 0, 7)).toBe(true)
      core.fenceCommits(0, 1, 3)
      expect(state(core, 0, 1)).toEqual([7, 3])
      expect(core.commitOffset(0, 1, 0, 9)).toBe(false) // the member that had it in generation 0
      expect(core.commitOffset(0, 1, 4, 9)).toBe(false) // nor a generation not assigned yet
      expect(state(core, 0, 1)).toEqual([7, 3])
      expect(core.commitOffset(0, 1, 3, 9)).toBe(true)
      expect(state(core, 0, 1)).toEqual([9, 3])
      core.fenceCommits(0, 1, 2) // the coordinator says which generation; it need not grow
      expect(core.commitOffset(0, 1, 3, 10)).toBe(false)
      expect(state(core, 0, 1)).toEqual([9, 2])
      // a fence of a word with nothing committed keeps "nothing"
      core.fenceCommits(1, 2, 5)
      expect(state(core, 1, 2)).toEqual([-1, 5])
      expect([state(core, 0, 2), state(core, 1, 1)]).toEqual([[-1, 0], [-1, 0]])
    })

    it('a reset sets both whatever the word held, -1 for nothing committed', async () => {
      const core = await setup()
      core.fenceCommits(1, 0, 8)
      expect(core.commitOffset(1, 0, 8, 40)).toBe(true)
      core.resetCommit(1, 0, 2, -1)
      expect(state(core, 1, 0)).toEqual([-1, 2])
      core.resetCommit(1, 0, 9, 100)
      expect(state(core, 1, 0)).toEqual([100, 9])
      expect(core.commitOffset(1, 0, 2, 1)).toBe(false)
      expect(state(core, 1, 0)).toEqual([100, 9])
    })

    it('an init sets the start offset only where nothing is committed, keeping the generation', async () => {
      const core = await setup()
      core.fenceCommits(1, 0, 4)
      expect(core.initCommit(1, 0, 7)).toBe(true)
      expect(state(core, 1, 0)).toEqual([7, 4])
      expect(core.initCommit(1, 0, 99)).toBe(false)
      expect(core.commitOffset(1, 0, 4, 12)).toBe(true)
      expect(core.initCommit(1, 0, 0)).toBe(false)
      expect(state(core, 1, 0)).toEqual([12, 4])
      expect(errorOf(() => core.initCommit(1, 1, -1))).toMatchObject({ argument: 'offset' })
    })

    it('generations are kept mod 65536', async () => {
      const core = await setup()
      core.fenceCommits(0, 0, 65535)
      expect(core.commitOffset(0, 0, 65535, 1)).toBe(true)
      core.fenceCommits(0, 0, 65536)
      expect(state(core, 0, 0)).toEqual([1, 0])
      expect(core.commitOffset(0, 0, 65535, 2)).toBe(false)
      expect(core.commitOffset(0, 0, 65536, 2)).toBe(true)
      expect(core.commitOffset(0, 0, 0, 3)).toBe(true) // the same generation mod 65536
      core.resetCommit(0, 0, 65536 * 3 + 17, 4)
      expect(state(core, 0, 0)).toEqual([4, 17])
      expect(core.commitOffset(0, 0, 17, 5)).toBe(true)
    })

    it('offsets go up to 2^48 - 2, beside the generation in the same word', async () => {
      const core = await setup()
      core.fenceCommits(1, 2, 0xffff)
      expect(core.commitOffset(1, 2, 0xffff, LIMIT - 1)).toBe(true)
      expect(state(core, 1, 2)).toEqual([LIMIT - 1, 0xffff])
      // the word where src/core/abi/group.ts says: generation high, offset + 1 low
      const word = core.layout.commits + (1 * core.layout.maxPartitions + 2) * COMMIT_SIZE
      expect(new DataView(core.memory.buffer).getBigUint64(word, true)).toBe(0xffffn << 48n | BigInt(LIMIT))
      for (const offset of [LIMIT, 2 ** 53, -1, -2, 1.5, NaN, Infinity]) {
        expect(errorOf(() => core.commitOffset(1, 2, 0xffff, offset)), `commit ${offset}`).toMatchObject({ argument: 'offset' })
      }
      for (const offset of [LIMIT, -2, 0.5]) expect(errorOf(() => core.resetCommit(1, 2, 0, offset)), `reset ${offset}`).toMatchObject({ argument: 'offset' })
      expect(state(core, 1, 2)).toEqual([LIMIT - 1, 0xffff])
      core.resetCommit(1, 2, 1, LIMIT - 1)
      expect(state(core, 1, 2)).toEqual([LIMIT - 1, 1])
      core.fenceCommits(1, 2, 2)
      expect(state(core, 1, 2)).toEqual([LIMIT - 1, 2]) // a fence keeps all 48 bits
    })

    it('exist only for created groups and partitions in use', async () => {
      const core = await setup()
      const calls: Array<[string, (g: number, p: number) => unknown]> = [
        ['committed', (g, p) => core.committed(g, p)],
        ['commitGeneration', (g, p) => core.commitGeneration(g, p)],
        ['commitOffset', (g, p) => core.commitOffset(g, p, 0, 1)],
        ['fenceCommits', (g, p) => core.fenceCommits(g, p, 1)],
        ['resetCommit', (g, p) => core.resetCommit(g, p, 1, 1)],
      ]
      for (const [name, call] of calls) {
        for (const g of [-1, 2, 0.5, NaN]) expect(errorOf(() => call(g, 0)), `${name} group ${g}`).toMatchObject({ argument: 'group' })
        for (const p of [-1, 3, 16, 1.5]) expect(errorOf(() => call(0, p)), `${name} partition ${p}`).toMatchObject({ argument: 'partition' })
      }
      for (const generation of [-1, 0.5, NaN]) {
        expect(errorOf(() => core.commitOffset(0, 0, generation, 1))).toMatchObject({ argument: 'generation' })
        expect(errorOf(() => core.fenceCommits(0, 0, generation))).toMatchObject({ argument: 'generation' })
        expect(errorOf(() => core.resetCommit(0, 0, generation, 1))).toMatchObject({ argument: 'generation' })
      }
      expect(state(core, 0, 0)).toEqual([-1, 0])
    })

    it('the core checks the same itself: a word outside the table is never read or written', async () => {
      const core = await setup()
      const x = instantiateCore(core.module, core.memory) // another instance over the memory, as a thread has
      const ctl = core.layout.ctl
      const snapshot = () => Buffer.from(core.u8.slice()) // compared as bytes: a deep equal of megabytes takes seconds
      const before = snapshot()
      for (const [g, p] of [[-1, 0], [2, 0], [0, -1], [0, 3], [0, 16], [4096, 0]]) {
        expect(x.commitLoad(ctl, g, p)).toBe(STATUS_BAD_ARGUMENT)
        expect(x.commitGeneration(ctl, g, p)).toBe(STATUS_BAD_ARGUMENT)
        expect(x.commitStore(ctl, g, p, 0, 1)).toBe(STATUS_BAD_ARGUMENT)
        expect(x.commitFence(ctl, g, p, 1)).toBe(STATUS_BAD_ARGUMENT)
        expect(x.commitReset(ctl, g, p, 1, 1)).toBe(STATUS_BAD_ARGUMENT)
      }
      for (const offset of [LIMIT, -1, 0.5, NaN]) expect(x.commitStore(ctl, 0, 0, 0, offset)).toBe(STATUS_BAD_ARGUMENT)
      for (const offset of [LIMIT, -2, 0.5, NaN]) expect(x.commitReset(ctl, 0, 0, 0, offset)).toBe(STATUS_BAD_ARGUMENT)
      expect(snapshot().equals(before)).toBe(true)
      expect(x.commitStore(ctl, 0, 0, 1, 1)).toBe(STATUS_FENCED)
      expect(x.commitStore(ctl, 0, 0, 0, 1)).toBe(STATUS_OK)
      expect(x.commitStore(ctl, 0, 0, 0x10000, 2)).toBe(STATUS_OK) // the u32 generation is kept mod 65536
      expect(core.committed(0, 0)).toBe(2)
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

describe('consumer groups across worker threads (shared memory)', () => {
  const start = useCoreThreads(new URL('./fixtures/groups.mjs', import.meta.url))
  const next = nextMessage

  const shared = () => LogCore.create({ maxBytes: 1 << 20, shared: true, segmentBytes: 8192, maxPartitions: 16 })

  it('a group created in a worker is found by the main thread, and two creators racing agree on every index', async () => {
    const core = await shared()
    const one = await next(start(core, 'create', { names: ['orders'] }), 'done')
    expect(one.indices).toEqual([0])
    expect(core.groupIndex('orders', false)).toBe(0)
    expect(core.groupName(0)).toBe('orders')

    const names = Array.from({ length: 40 }, (_, i) => `group-${i}`)
    const [a, b] = await Promise.all([
      next(start(core, 'create', { names }), 'done'),
      next(start(core, 'create', { names: [...names].reverse() }), 'done'),
    ])
    expect(b.indices.reverse()).toEqual(a.indices)
    expect(new Set(a.indices).size).toBe(40)
    expect(core.groupCount()).toBe(41)
    for (const [i, name] of names.entries()) {
      expect(core.groupIndex(name, false)).toBe(a.indices[i])
      expect(core.groupName(a.indices[i])).toBe(name)
    }
  })

  it('fencing, resetting and committing in three threads: every word read holds an offset its fence allows, and stale commits are refused', async () => {
    const core = await shared()
    const group = core.groupIndex('g', true)
    core.addPartition(config)
    const partition = core.addPartition(config) // not the first word of the table
    const flags = new SharedArrayBuffer(12)
    const generations = 400
    const data = { group, partition, flags }
    const reader = next(start(core, 'reader', data), 'done')
    const committer = next(start(core, 'committer', data), 'done')
    const fencer = next(start(core, 'fencer', { ...data, generations }), 'done')
    const [r, c, f] = await Promise.all([reader, committer, fencer])
    expect(r.problems).toEqual([])
    expect(c.problems).toEqual([])
    expect(f.problems).toEqual([])
    expect(r.reads).toBeGreaterThan(0)
    // each generation but the last ended in a refused commit, and each had a commit go through
    expect(c.refused).toBeGreaterThanOrEqual(generations - 1)
    expect(c.committed).toBeGreaterThanOrEqual(generations)
    expect(core.commitGeneration(group, partition)).toBe(generations)
    expect(Math.floor(core.committed(group, partition) / 2 ** 32)).toBe(generations)
    expect(core.commitOffset(group, partition, generations - 1, 1)).toBe(false)
  })

  it('a thread terminated holding the group lock is recovered with its lane; finding groups never waits for it', async () => {
    const core = await shared()
    core.groupIndex('before', true)
    const worker = start(core, 'hold')
    const { token } = worker
    const { lane } = await next(worker, 'holding')
    await worker.terminate()
    expect(core.groupIndex('before', true)).toBe(0)
    expect(core.groupIndex('after', false)).toBe(-1)
    expect(errorOf(() => core.groupIndex('after', true))).toBeInstanceOf(errors.BackPressureError)
    expect(core.recoverLane(token)).toEqual({ lane, released: 1 })
    expect(core.groupIndex('after', true)).toBe(1)
    expect(core.groupName(1)).toBe('after')
  })
})
