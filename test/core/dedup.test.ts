// The dedup table of idempotent publish in the core: per topic, the messageIds appended within
// the topic's window and the record each became, shared by every thread. A claim either finds
// the record or makes the caller the one thread that appends it. Every single-thread test runs
// against both builds (shared and plain memory); worker threads race on one shared core.
import { describe, expect, it } from 'vitest'
import { errorOf } from '../expect-error.js'
import { nextMessage, useCoreThreads } from '../threads.js'
import {
  CTL_DEDUP_LOCK, DEDUP_CLAIMED, DEDUP_DELETED, DEDUP_EMPTY, DEDUP_READY, DEDUP_SIZE, DEDUP_STATE, STATUS_BAD_ARGUMENT, STATUS_DEDUP_FULL,
  STATUS_DEDUP_PENDING, STATUS_OK,
} from '../../src/core/abi.js'
import { instantiateCore } from '../../src/core/exports.js'
import { LogCore, computeLayout } from '../../src/core/log.js'
import { errors } from '../../src/index.js'

const config = { maxBytes: 0, maxAgeMs: 0, reject: false }
const WINDOW = 60_000


/** A seeded generator, so that a failing sequence can be run again. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const states = (core: LogCore) => Array.from({ length: core.layout.maxDedupEntries }, (_, slot) =>
  new DataView(core.memory.buffer).getUint32(core.layout.dedup + slot * DEDUP_SIZE + DEDUP_STATE, true))

describe.each([{ shared: true }, { shared: false }])('dedup table (shared: $shared)', ({ shared }) => {
  /** A core with topics 'a' (index 0) and 'b' (index 1); `lanes` 2 so that a second handle ("another thread") can attach. */
  const make = async (maxDedupEntries?: number) => {
    const core = await LogCore.create({ maxBytes: 1 << 20, shared, segmentBytes: 8192, maxPartitions: 16, lanes: 2, maxDedupEntries })
    core.declareTopic('a', 2, { ...config, dedupWindowMs: WINDOW }, 0)
    core.declareTopic('b', 1, { ...config, dedupWindowMs: WINDOW }, 0)
    return core
  }

  it('claims a messageId once; once completed, a repeat finds the record it was appended as', async () => {
    const core = await make()
    const first = core.dedupClaim(0, 'order-1', 1000, 1000 + WINDOW)
    expect(first.claimed).toBe(true)
    core.dedupComplete(first.slot, 1, 41, 999.5)
    const repeat = core.dedupClaim(0, 'order-1', 2000, 2000 + WINDOW)
    expect(repeat).toEqual({ slot: first.slot, claimed: false })
    expect(core.dedupRecord(repeat.slot)).toEqual({ partition: 1, offset: 41, timestamp: 999.5 })
    // another id is another claim, and the first is found again after it
    const other = core.dedupClaim(0, 'order-2', 2000, 2000 + WINDOW)
    expect(other.claimed).toBe(true)
    expect(other.slot).not.toBe(first.slot)
    core.dedupComplete(other.slot, 0, 7, -3) // a timestamp may be any finite number
    expect(core.dedupClaim(0, 'order-2', 2001, 2001 + WINDOW)).toEqual({ slot: other.slot, claimed: false })
    expect(core.dedupRecord(other.slot)).toEqual({ partition: 0, offset: 7, timestamp: -3 })
    expect(core.dedupClaim(0, 'order-1', 2002, 2002 + WINDOW).claimed).toBe(false)
    expect(core.dedupRecord(first.slot)).toEqual({ partition: 1, offset: 41, timestamp: 999.5 })
  })

  it('keys ids by topic: the same id in two topics is two records', async () => {
    const core = await make()
    const a = core.dedupClaim(0, 'same', 0, WINDOW)
    const b = core.dedupClaim(1, 'same', 0, WINDOW)
    expect([a.claimed, b.claimed]).toEqual([true, true])
    core.dedupComplete(a.slot, 0, 10, 1)
    core.dedupComplete(b.slot, 0, 20, 2)
    expect(core.dedupClaim(1, 'same', 1, WINDOW)).toEqual({ slot: b.slot, claimed: false })
    expect(core.dedupRecord(b.slot)).toEqual({ partition: 0, offset: 20, timestamp: 2 })
    expect(core.dedupClaim(0, 'same', 1, WINDOW)).toEqual({ slot: a.slot, claimed: false })
    expect(core.dedupRecord(a.slot)).toEqual({ partition: 0, offset: 10, timestamp: 1 })
  })

  it('takes ids of 1 to 128 UTF-8 bytes, compared as bytes', async () => {
    const core = await make()
    const longest = 'é'.repeat(64) // 128 bytes
    const near = 'é'.repeat(63) + 'è' // 128 bytes too, only the last one differs
    const ids = [longest, near, longest.slice(0, 63), 'x'.repeat(128), 'x'.repeat(127), 'X']
    const claims = ids.map((id, i) => {
      const claim = core.dedupClaim(0, id, 0, WINDOW)
      expect(claim.claimed, id).toBe(true)
      core.dedupComplete(claim.slot, 0, i, 0)
      return claim.slot
    })
    expect(new Set(claims).size).toBe(claims.length)
    for (const [i, id] of ids.entries()) {
      const found = core.dedupClaim(0, id, 1, WINDOW)
      expect(found, id).toEqual({ slot: claims[i], claimed: false })
      expect(core.dedupRecord(found.slot).offset).toBe(i)
    }
    for (const id of ['é'.repeat(64) + 'x', 'x'.repeat(129), '', '\ud800', 'a\udc00b', 5, undefined]) {
      const error = errorOf(() => core.dedupClaim(0, id as string, 0, WINDOW))
      expect(error, String(id)).toBeInstanceOf(errors.InvalidArgumentError)
      expect(error).toMatchObject({ argument: 'messageId', topic: 'a' })
    }
    expect(errorOf(() => core.dedupClaim(0, 'x'.repeat(129), 0, WINDOW)).message).toMatch(/1 to 128 UTF-8 bytes, got 129/)
  })

  it('an entry is live until expiresAt; then the id is claimed again and its slot may go to another id', async () => {
    const core = await make(16)
    const first = core.dedupClaim(0, 'm', 0, 100)
    core.dedupComplete(first.slot, 0, 1, 0)
    expect(core.dedupClaim(0, 'm', 99.9, 200).claimed).toBe(false)
    const again = core.dedupClaim(0, 'm', 100, 300) // expiresAt <= now: free
    expect(again.claimed).toBe(true)
    core.dedupComplete(again.slot, 0, 2, 100)
    expect(core.dedupClaim(0, 'm', 299, 400)).toMatchObject({ claimed: false })
    expect(core.dedupRecord(again.slot).offset).toBe(2)

    // a full table of expired entries takes 16 new ids
    const full = await make(16)
    for (let i = 0; i < 16; i++) full.dedupComplete(full.dedupClaim(0, `old-${i}`, 0, 10).slot, 0, i, 0)
    const slots = new Set<number>()
    for (let i = 0; i < 16; i++) {
      const claim = full.dedupClaim(1, `new-${i}`, 10, 20)
      expect(claim.claimed).toBe(true)
      slots.add(claim.slot)
      full.dedupComplete(claim.slot, 0, 100 + i, 10)
    }
    expect(slots.size).toBe(16)
    for (let i = 0; i < 16; i++) expect(full.dedupClaim(1, `new-${i}`, 19, 30).claimed).toBe(false)
    // the old ids are forgotten: claiming one again finds no record, and no room while the new ones live
    expect(errorOf(() => full.dedupClaim(0, 'old-3', 19, 30))).toMatchObject({ reason: 'dedup' })
    expect(full.dedupClaim(0, 'old-3', 20, 30).claimed).toBe(true)
  })

  it('a claim released after a failed append frees the id; the released slot has no record', async () => {
    const core = await make()
    const claim = core.dedupClaim(0, 'retry-me', 0, WINDOW)
    core.dedupRelease(claim.slot)
    expect(errorOf(() => core.dedupComplete(claim.slot, 0, 1, 0))).toMatchObject({ argument: 'slot' })
    expect(errorOf(() => core.dedupRelease(claim.slot))).toMatchObject({ argument: 'slot' })
    expect(errorOf(() => core.dedupRecord(claim.slot))).toMatchObject({ argument: 'slot' })
    const again = core.dedupClaim(0, 'retry-me', 1, WINDOW)
    expect(again.claimed).toBe(true)
    core.dedupComplete(again.slot, 1, 3, 1)
    expect(core.dedupClaim(0, 'retry-me', 2, WINDOW)).toEqual({ slot: again.slot, claimed: false })
  })

  it('a full table says to raise maxDedupEntries (retriable), counts claims as live, and still finds what it holds', async () => {
    const core = await make(16)
    const claims = Array.from({ length: 16 }, (_, i) => core.dedupClaim(i % 2, `id-${i}`, 0, 100))
    expect(claims.every((c) => c.claimed)).toBe(true)
    const error = errorOf(() => core.dedupClaim(0, 'one-more', 0, 100))
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect(error).toMatchObject({ reason: 'dedup', retriable: true, topic: 'a', messageId: 'one-more' })
    expect(error.message).toMatch(/dedup table is full \(topic a\).*raise maxDedupEntries/)
    core.dedupComplete(claims[4].slot, 0, 4, 0)
    expect(core.dedupClaim(0, 'id-4', 1, 100)).toEqual({ slot: claims[4].slot, claimed: false })
    expect(errorOf(() => core.dedupClaim(0, 'one-more', 1, 100))).toMatchObject({ reason: 'dedup' })
    core.dedupRelease(claims[5].slot)
    expect(core.dedupClaim(0, 'one-more', 1, 100)).toEqual({ slot: claims[5].slot, claimed: true })
    // once completed entries expire, there is room again
    expect(errorOf(() => core.dedupClaim(0, 'later', 99, 200))).toMatchObject({ reason: 'dedup' })
    expect(core.dedupClaim(0, 'later', 100, 200)).toEqual({ slot: claims[4].slot, claimed: true })
  })

  it("refuses an id the thread claimed itself and has not settled, naming messageId (a batch repeating it must append it once)", async () => {
    const core = await make()
    const claim = core.dedupClaim(0, 'twice', 0, WINDOW)
    const error = errorOf(() => core.dedupClaim(0, 'twice', 0, WINDOW))
    expect(error).toBeInstanceOf(errors.InvalidArgumentError)
    expect(error).toMatchObject({ argument: 'messageId', messageId: 'twice' })
    core.dedupComplete(claim.slot, 0, 0, 0)
    expect(core.dedupClaim(0, 'twice', 0, WINDOW).claimed).toBe(false)
  })

  it('checks topic, times and slots, naming the argument', async () => {
    const core = await make(16)
    for (const t of [-1, 2, 0.5, NaN]) expect(errorOf(() => core.dedupClaim(t, 'm', 0, 1)), `topic ${t}`).toMatchObject({ argument: 'topic' })
    for (const now of [NaN, Infinity]) expect(errorOf(() => core.dedupClaim(0, 'm', now, 1))).toMatchObject({ argument: 'now' })
    for (const expiresAt of [0, -1, NaN, Infinity]) expect(errorOf(() => core.dedupClaim(0, 'm', 0, expiresAt))).toMatchObject({ argument: 'expiresAt' })
    const calls: Array<[string, (slot: number) => unknown]> = [
      ['dedupRecord', (slot) => core.dedupRecord(slot)],
      ['dedupComplete', (slot) => core.dedupComplete(slot, 0, 0, 0)],
      ['dedupRelease', (slot) => core.dedupRelease(slot)],
    ]
    const claim = core.dedupClaim(0, 'mine', 0, 10)
    for (const [name, call] of calls) {
      for (const slot of [-1, 16, 1.5, NaN]) expect(errorOf(() => call(slot)), `${name} ${slot}`).toMatchObject({ argument: 'slot' })
      // a slot nobody claimed, and (for record) one this thread claimed but its last claim did not find
      const other = (claim.slot + 1) % 16
      expect(errorOf(() => call(other)), `${name} free slot`).toMatchObject({ argument: 'slot' })
    }
    expect(errorOf(() => core.dedupRecord(claim.slot))).toMatchObject({ argument: 'slot' })
    for (const [partition, offset, timestamp, argument] of [
      [-1, 0, 0, 'partition'], [0.5, 0, 0, 'partition'], [0, -1, 0, 'offset'], [0, 1.5, 0, 'offset'], [0, 2 ** 53, 0, 'offset'], [0, 0, NaN, 'timestamp'], [0, 0, Infinity, 'timestamp'],
    ] as const) {
      expect(errorOf(() => core.dedupComplete(claim.slot, partition, offset, timestamp))).toMatchObject({ argument })
    }
    core.dedupComplete(claim.slot, 0, 5, 0) // still claimed: nothing above changed it
    expect(core.dedupClaim(0, 'mine', 1, 10)).toEqual({ slot: claim.slot, claimed: false })
    // a record read is for the last claim only
    core.dedupClaim(0, 'another', 1, 10)
    expect(errorOf(() => core.dedupRecord(claim.slot))).toMatchObject({ argument: 'slot' })
  })

  it('the core checks the same itself, changing nothing for a bad call', async () => {
    const core = await make(16)
    const x = instantiateCore(core.module, core.memory) // another instance over the memory, as a thread has
    x.syncSetToken(1, 0) // the same token as `core`: this thread (which never sleeps on a lock here)
    const ctl = core.layout.ctl
    const id = core.layout.lanesAt + core.lane * core.layout.laneBytes // this thread's staging area, empty
    core.u8.set(new TextEncoder().encode('raw'), id)
    const mine = x.dedupClaim(ctl, 0, id, 3, 0, 10)
    expect(mine & 1).toBe(1)
    const slot = mine >> 1
    const snapshot = () => Buffer.from(core.u8.slice())
    const before = snapshot()
    for (const [topic, length, now, expiresAt] of [[-1, 3, 0, 10], [2, 3, 0, 10], [0, 0, 0, 10], [0, 129, 0, 10], [0, -1, 0, 10], [0, 3, 10, 10], [0, 3, 0, NaN], [0, 3, NaN, 10]]) {
      expect(x.dedupClaim(ctl, topic, id, length, now, expiresAt), `${topic} ${length} ${now} ${expiresAt}`).toBe(STATUS_BAD_ARGUMENT)
    }
    expect(x.dedupClaim(ctl, 0, id, 3, 0, 10)).toBe(STATUS_DEDUP_PENDING)
    for (const bad of [-1, 16, 1 << 30, (slot + 1) % 16]) {
      expect(x.dedupPartition(ctl, bad)).toBe(STATUS_BAD_ARGUMENT)
      expect(x.dedupOffset(ctl, bad)).toBe(STATUS_BAD_ARGUMENT)
      expect(x.dedupTimestamp(ctl, bad)).toBe(STATUS_BAD_ARGUMENT)
      expect(x.dedupComplete(ctl, bad, 0, 0, 0)).toBe(STATUS_BAD_ARGUMENT)
      expect(x.dedupRelease(ctl, bad)).toBe(STATUS_BAD_ARGUMENT)
    }
    for (const [partition, offset, timestamp] of [[-1, 0, 0], [0, -1, 0], [0, 0.5, 0], [0, 2 ** 53 + 2, 0], [0, NaN, 0], [0, 0, NaN]]) {
      expect(x.dedupComplete(ctl, slot, partition, offset, timestamp)).toBe(STATUS_BAD_ARGUMENT)
    }
    expect(x.dedupPartition(ctl, slot)).toBe(STATUS_BAD_ARGUMENT) // claimed, not found
    // another thread's token holds no claim here
    x.syncSetToken(99, 0)
    expect(x.dedupComplete(ctl, slot, 0, 0, 0)).toBe(STATUS_BAD_ARGUMENT)
    expect(x.dedupRelease(ctl, slot)).toBe(STATUS_BAD_ARGUMENT)
    expect(snapshot().equals(before)).toBe(true)
    x.syncSetToken(1, 0)
    expect(x.dedupComplete(ctl, slot, 3, 2 ** 53, -1)).toBe(STATUS_OK)
    expect(x.dedupClaim(ctl, 0, id, 3, 1, 10)).toBe(slot << 1)
    expect([x.dedupPartition(ctl, slot), x.dedupOffset(ctl, slot), x.dedupTimestamp(ctl, slot)]).toEqual([3, 2 ** 53, -1])
    // full: 15 more claims, then none
    for (let i = 0; i < 15; i++) {
      core.u8.set(new TextEncoder().encode(`r${i.toString(16)}`), id)
      expect(x.dedupClaim(ctl, 1, id, 2, 1, 10) & 1).toBe(1)
    }
    core.u8.set(new TextEncoder().encode('zz'), id)
    expect(x.dedupClaim(ctl, 1, id, 2, 1, 10)).toBe(STATUS_DEDUP_FULL)
  })

  it.each([0x5eed, 1, 2])('matches a model of the table through random claims, completions, releases and expiries (seed %i)', async (seed) => {
    const slots = 16
    const core = await make(slots)
    const next = random(seed)
    const empty = () => states(core).filter((state) => state === DEDUP_EMPTY).length
    let emptied = 0 // claims after which more slots were empty than before: trims and sweeps
    type Entry = { state: 'claimed'; slot: number; expiresAt: number } | { state: 'ready'; slot: number; expiresAt: number; record: { partition: number; offset: number; timestamp: number } }
    const model = new Map<string, Entry>()
    const keys = Array.from({ length: 40 }, (_, i) => [i % 2, `k${i}`] as const)
    let now = 0
    let checks = 0
    const live = () => [...model.values()].filter((e) => e.state === 'claimed' || e.expiresAt > now).length
    for (let step = 0; step < 4000; step++) {
      now += Math.floor(next() * 4)
      const roll = next()
      const claimed = [...model.entries()].filter(([, e]) => e.state === 'claimed')
      if (roll < 0.15 && claimed.length > 0) {
        const [key, entry] = claimed[Math.floor(next() * claimed.length)]
        core.dedupRelease(entry.slot)
        model.delete(key)
        continue
      }
      if (roll < 0.45 && claimed.length > 0) {
        const [key, entry] = claimed[Math.floor(next() * claimed.length)]
        const record = { partition: Math.floor(next() * 2), offset: step, timestamp: now }
        core.dedupComplete(entry.slot, record.partition, record.offset, record.timestamp)
        model.set(key, { state: 'ready', slot: entry.slot, expiresAt: entry.expiresAt, record }) // the window runs from the claim
        continue
      }
      const [topic, id] = keys[Math.floor(next() * keys.length)]
      const key = `${topic}/${id}`
      const entry = model.get(key)
      const where = `step ${step}, ${key} at ${now}`
      if (entry?.state === 'claimed') {
        expect(errorOf(() => core.dedupClaim(topic, id, now, now + 1)), where).toMatchObject({ argument: 'messageId' })
      } else if (entry !== undefined && entry.expiresAt > now) {
        expect(core.dedupClaim(topic, id, now, now + 1), where).toEqual({ slot: entry.slot, claimed: false })
        expect(core.dedupRecord(entry.slot), where).toEqual(entry.record)
      } else if (live() === slots) {
        expect(errorOf(() => core.dedupClaim(topic, id, now, now + 1)), where).toMatchObject({ reason: 'dedup' })
      } else {
        const expiresAt = now + 1 + Math.floor(next() * 60)
        const before = empty()
        const claim = core.dedupClaim(topic, id, now, expiresAt)
        expect(claim.claimed, where).toBe(true)
        model.set(key, { state: 'claimed', slot: claim.slot, expiresAt })
        if (empty() > before) emptied++
      }
      checks++
      // no two live keys share a slot
      const used = [...model.values()].filter((e) => e.state === 'claimed' || e.expiresAt > now).map((e) => e.slot)
      expect(new Set(used).size, where).toBe(used.length)
    }
    expect(checks).toBeGreaterThan(2000)
    expect(emptied).toBeGreaterThan(10)
  })

  it('empties free slots again, so that probes stay short once entries expire or are released', async () => {
    const core = await make(16)
    const nonEmpty = () => states(core).filter((state) => state !== DEDUP_EMPTY).length
    // a full table, then everything expired and released: no slot is empty any more
    const claims = Array.from({ length: 16 }, (_, i) => core.dedupClaim(0, `first-${i}`, 0, 10))
    claims.forEach((claim, i) => (i % 2 === 0 ? core.dedupComplete(claim.slot, 0, i, 0) : core.dedupRelease(claim.slot)))
    expect(nonEmpty()).toBe(16)
    // the next claim goes round the table, sweeps it and takes one slot
    const one = core.dedupClaim(1, 'second', 10, 20)
    expect(one.claimed).toBe(true)
    expect(nonEmpty()).toBe(1)

    // a sweep keeps every slot a live entry's run needs: fill again with entries of two lifetimes
    const ids = Array.from({ length: 15 }, (_, i) => `third-${i}`)
    const third = ids.map((id, i) => {
      const claim = core.dedupClaim(i % 2, id, 10, i % 3 === 0 ? 15 : 100)
      core.dedupComplete(claim.slot, 0, 100 + i, 10)
      return claim.slot
    })
    core.dedupComplete(one.slot, 0, 99, 10)
    expect(nonEmpty()).toBe(16)
    // five expired: the claim sweeps, emptying those no run passes through (in a full table, maybe none)
    expect(core.dedupClaim(0, 'fourth', 15, 100).claimed).toBe(true)
    ids.forEach((id, i) => {
      if (i % 3 === 0) return
      expect(core.dedupClaim(i % 2, id, 16, 100), id).toEqual({ slot: third[i], claimed: false })
      expect(core.dedupRecord(third[i]).offset).toBe(100 + i)
    })
    expect(core.dedupClaim(1, 'second', 16, 100).claimed).toBe(false)
  })

  it("another thread's claim of the same id: busy until it settles, then found or claimed", async () => {
    const core = await make()
    const token = 7
    const other = LogCore.attach(core.module, core.memory, core.layout, token) // "another thread"
    const theirs = other.dedupClaim(0, 'contested', 0, WINDOW)
    expect(theirs.claimed).toBe(true)
    // busy once the spin limit is spent (at once in the plain build, where nobody else can run meanwhile)
    const busy = errorOf(() => core.dedupClaim(0, 'contested', 0, WINDOW))
    expect(busy).toBeInstanceOf(errors.BackPressureError)
    expect(busy).toMatchObject({ reason: 'busy', retriable: true })
    expect(core.dedupClaim(0, 'free', 0, WINDOW).claimed).toBe(true) // other ids go on
    other.dedupComplete(theirs.slot, 1, 8, 5)
    expect(core.dedupClaim(0, 'contested', 1, WINDOW)).toEqual({ slot: theirs.slot, claimed: false })
    expect(core.dedupRecord(theirs.slot)).toEqual({ partition: 1, offset: 8, timestamp: 5 })
    // this thread cannot settle the other's claim
    const second = other.dedupClaim(1, 'contested', 0, WINDOW)
    expect(errorOf(() => core.dedupRelease(second.slot))).toMatchObject({ argument: 'slot' })
    other.dedupRelease(second.slot)
    expect(core.dedupClaim(1, 'contested', 0, WINDOW).claimed).toBe(true)
  })

  it('recovery deletes a dead thread\'s claims (the ids are claimed again) and releases the table lock it held', async () => {
    const core = await make()
    const token = 7
    const other = LogCore.attach(core.module, core.memory, core.layout, token)
    const done = other.dedupClaim(0, 'done', 0, WINDOW)
    other.dedupComplete(done.slot, 0, 1, 0)
    const pending = ['p1', 'p2'].map((id) => other.dedupClaim(0, id, 0, WINDOW))
    const mine = core.dedupClaim(0, 'mine', 0, WINDOW)
    const dv = new DataView(core.memory.buffer)
    dv.setUint32(core.layout.ctl + CTL_DEDUP_LOCK, token, true) // it died inside a claim
    const busy = errorOf(() => core.dedupClaim(0, 'x', 0, WINDOW))
    expect(busy).toMatchObject({ reason: 'busy' })

    expect(core.recoverLane(token)).toEqual({ lane: other.lane, released: 3 })
    expect(dv.getUint32(core.layout.ctl + CTL_DEDUP_LOCK, true)).toBe(0)
    const slotState = (slot: number) => dv.getUint32(core.layout.dedup + slot * DEDUP_SIZE + DEDUP_STATE, true)
    expect(pending.map((p) => slotState(p.slot))).toEqual([DEDUP_DELETED, DEDUP_DELETED])
    expect([slotState(done.slot), slotState(mine.slot)]).toEqual([DEDUP_READY, DEDUP_CLAIMED]) // not its to lose
    expect(core.dedupClaim(0, 'p1', 1, WINDOW).claimed).toBe(true)
    expect(core.dedupClaim(0, 'p2', 1, WINDOW).claimed).toBe(true)
    expect(core.dedupClaim(0, 'done', 1, WINDOW).claimed).toBe(false)
    core.dedupComplete(mine.slot, 0, 2, 0)
    expect(core.recoverLane(token)).toEqual({ lane: -1, released: 0 })
  })

  describe('layout', () => {
    it('maxDedupEntries is an integer from 16 to 2^20 (default 4096)', () => {
      expect(computeLayout({ maxBytes: 1 << 20, shared }).maxDedupEntries).toBe(4096)
      for (const maxDedupEntries of [0, 15, 2 ** 20 + 1, 16.5, NaN]) {
        expect(errorOf(() => computeLayout({ maxBytes: 1 << 20, shared, maxDedupEntries }))).toMatchObject({ argument: 'maxDedupEntries' })
      }
      expect(computeLayout({ maxBytes: 1 << 20, shared, maxDedupEntries: 16 }).maxDedupEntries).toBe(16)
      const largest = computeLayout({ maxBytes: 1 << 20, shared, maxDedupEntries: 2 ** 20 })
      expect(largest.laneOwners - largest.dedup).toBeGreaterThanOrEqual(2 ** 20 * DEDUP_SIZE)
    })

    it('the memory that would not fit in 4 GiB says what the dedup table takes', () => {
      const error = errorOf(() => computeLayout({ maxBytes: 4 * 2 ** 30, shared, maxDedupEntries: 2 ** 20 }))
      expect(error).toMatchObject({ argument: 'maxBytes' })
      expect(error.message).toMatch(/the dedup table \(maxDedupEntries\) 176 MiB, the routing region \(routeBytes\) 8 MiB, the queue region \(queueBytes\) 16 MiB and the consumer groups/)
    })
  })
})

describe('the dedup table across worker threads (shared memory)', () => {
  const start = useCoreThreads(new URL('./fixtures/dedup.mjs', import.meta.url))
  const next = nextMessage

  const shared = async () => {
    const core = await LogCore.create({ maxBytes: 4 << 20, shared: true, segmentBytes: 65536, maxPartitions: 16, maxDedupEntries: 8192 })
    core.declareTopic('orders', 1, { ...config, dedupWindowMs: WINDOW }, 0)
    return core
  }

  type Result = { id: string; claimed: boolean; partition: number; offset: number; timestamp: number }

  it('threads publishing the same ids at once: each id is appended once, and every thread gets its record', async () => {
    const core = await shared()
    const partitionId = core.topic(0).ids[0]
    const ids = Array.from({ length: 400 }, (_, i) => `msg-${i}`)
    const words = new SharedArrayBuffer(4 * (2 + ids.length))
    const done = [0, 1, 2, 3].map(() => next(start(core, 'race', { topic: 0, partitionId, ids, shared: words, window: WINDOW, slowEvery: 8 }), 'done'))
    await new Promise((resolve) => setTimeout(resolve, 200)) // let them all start
    Atomics.store(new Int32Array(words), 0, 1)
    Atomics.notify(new Int32Array(words), 0)
    const threads: Array<{ results: Result[]; again: Result[]; busy: number; waited: number }> = await Promise.all(done)

    const byId = new Map<string, Result[]>()
    for (const { results } of threads) for (const r of results) byId.set(r.id, [...(byId.get(r.id) ?? []), r])
    const problems: string[] = []
    for (const id of ids) {
      const all = byId.get(id) ?? []
      const claimers = all.filter((r) => r.claimed)
      if (all.length < 2) problems.push(`${id}: published ${all.length} times in the race`)
      if (claimers.length !== 1) problems.push(`${id}: ${claimers.length} claimers`)
      const record = claimers[0]
      for (const r of [...all, ...threads.map((t) => t.again.find((a) => a.id === id)!)]) {
        if (r !== record && (r.claimed || r.offset !== record?.offset || r.timestamp !== record.timestamp || r.partition !== 0)) problems.push(`${id}: ${JSON.stringify(r)} is not ${JSON.stringify(record)}`)
      }
    }
    expect(problems.slice(0, 10)).toEqual([])
    // the log holds every id exactly once, at the offset every thread was given
    expect(core.endOffset(partitionId)).toBe(ids.length)
    const cursor = core.openCursor(partitionId, 0)
    const logged = new Map<string, number>()
    for (let n; (n = core.poll(cursor, 1000)) > 0;) {
      for (let i = 0; i < n; i++) {
        const frame = core.polledFrame(i)
        const value = new TextDecoder().decode(core.u8.slice(frame + 32, frame + 32 + core.frameValueLength(frame)))
        expect(logged.has(value), value).toBe(false)
        logged.set(value, core.polledOffset(i))
      }
    }
    core.closeCursor(cursor)
    for (const id of ids) expect(logged.get(id)).toBe(byId.get(id)!.find((r) => r.claimed)!.offset)
    // and this thread finds them too
    const found = core.dedupClaim(0, 'msg-7', Date.now(), Date.now() + WINDOW)
    expect(found.claimed).toBe(false)
    expect(core.dedupRecord(found.slot).offset).toBe(logged.get('msg-7'))
    // claims that waited for another thread's claim to complete (their claimer slept 2 ms on every eighth id)
    expect(threads.reduce((sum, t) => sum + t.waited, 0)).toBeGreaterThan(0)
  })

  it('a thread terminated holding a claim is recovered with its lane: the id is claimed again', async () => {
    const core = await shared()
    const worker = start(core, 'hold', { topic: 0, id: 'stuck', lock: false })
    const { token } = worker
    const { lane, slot } = await next(worker, 'holding')
    await worker.terminate()
    expect(core.dedupClaim(0, 'other', 0, WINDOW).claimed).toBe(true) // other ids never wait for it
    const busy = errorOf(() => core.dedupClaim(0, 'stuck', 0, WINDOW))
    expect(busy).toBeInstanceOf(errors.BackPressureError)
    expect(busy).toMatchObject({ reason: 'busy', retriable: true })
    expect(core.recoverLane(token)).toEqual({ lane, released: 1 })
    expect(states(core)[slot]).toBe(DEDUP_DELETED)
    expect(core.dedupClaim(0, 'stuck', 0, WINDOW)).toMatchObject({ claimed: true })
  })

  it('a thread terminated holding a claim and the table lock: every claim is busy until its lane is recovered', async () => {
    const core = await shared()
    const worker = start(core, 'hold', { topic: 0, id: 'stuck', lock: true })
    const { token } = worker
    const { lane } = await next(worker, 'holding')
    await worker.terminate()
    expect(errorOf(() => core.dedupClaim(0, 'other', 0, WINDOW))).toMatchObject({ reason: 'busy' })
    expect(core.recoverLane(token)).toEqual({ lane, released: 2 })
    expect(new DataView(core.memory.buffer).getUint32(core.layout.ctl + CTL_DEDUP_LOCK, true)).toBe(0)
    expect(core.dedupClaim(0, 'other', 0, WINDOW).claimed).toBe(true)
    expect(core.dedupClaim(0, 'stuck', 0, WINDOW).claimed).toBe(true)
  })

  it("a topic's dedup window is the same in another thread, and a change made there is seen here", async () => {
    const core = await shared()
    const stamp = core.topicStamp(0)
    const { seen, after } = await next(start(core, 'window', { topic: 0, window: 1234.5 }), 'done')
    expect([seen, after]).toEqual([WINDOW, 1234.5])
    expect(core.topicStamp(0)).not.toBe(stamp)
    expect(core.topic(0)).toMatchObject({ dedupWindowMs: 1234.5, maxBytes: 0, maxAgeMs: 0, reject: false })
  })
})
