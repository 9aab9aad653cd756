// Readers that retention overtakes while they read: however often it happens, a reader resets,
// reports exactly what it lost in 'skipped' events and goes on; every offset is delivered intact
// or counted, never both, never out of order, and nothing escapes the delivery loop. Another
// writer is simulated by appending straight to the core at the worst moments (during a poll).
import { describe, expect } from 'vitest'
import type { Bus, SkippedEvent } from '../../src/index.js'
import { onlyWhere, SMALL, useBuses } from './helpers.js'

const newBus = useBuses()

/** A raw value that names its own offset and fills `size` bytes with a pattern of it. */
function valueFor(offset: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  new DataView(bytes.buffer).setUint32(0, offset, true)
  for (let i = 4; i < size; i++) bytes[i] = (offset * 31 + i) & 0xff
  return bytes
}

function intact(offset: number, value: Uint8Array): boolean {
  if (value.length < 4 || new DataView(value.buffer, value.byteOffset).getUint32(0, true) !== offset) return false
  for (let i = 4; i < value.length; i++) if (value[i] !== ((offset * 31 + i) & 0xff)) return false
  return true
}

/** Appends `count` records to partition 0 of `topic` as another thread would: past the bus, so it remembers nothing. */
function appendBehindTheBus(bus: Bus<any>, topic: string, count: number, size: number): void {
  const core = bus.core
  const id = core.topic(core.findTopic(topic)).ids[0]
  for (let i = 0; i < count; i++) {
    const offset = core.endOffset(id)
    expect(core.stage(id, 0, 0, 0, undefined, undefined, valueFor(offset, size))).toBe(true)
    expect(core.commit(0)).toBe(1)
  }
}

/** Checks that deliveries and skipped ranges cover [start, end) exactly once, in order. */
function expectCoverage(delivered: Array<{ offset: number; ok: boolean }>, skipped: SkippedEvent[], start: number, end: number): void {
  const marks = new Array<number>(end).fill(0).fill(1, 0, start)
  let last = -1
  for (const d of delivered) {
    expect(d.ok, `record ${d.offset} intact`).toBe(true)
    expect(d.offset, 'offsets only go up').toBeGreaterThan(last)
    last = d.offset
    marks[d.offset]++
  }
  for (const e of skipped) {
    expect(e.count).toBe(e.to - e.from)
    for (let o = e.from; o < e.to; o++) marks[o]++
  }
  expect(marks.findIndex((n) => n !== 1), 'every offset delivered or skipped exactly once').toBe(-1)
}

/** A bus with a raw topic 'r' capped at one block, `records` records in it, and what it reports. */
async function overtakenBus(records: number): Promise<{ bus: Bus<any>; skipped: SkippedEvent[]; errors: unknown[] }> {
  const bus = await newBus(SMALL)
  bus.topic('r', { codec: 'raw', retention: { maxBytes: 4096 } })
  appendBehindTheBus(bus, 'r', records, 100)
  const skipped: SkippedEvent[] = []
  const errors: unknown[] = []
  bus.events.on('skipped', (e) => skipped.push(e))
  bus.events.on('error', (e) => errors.push(e.error))
  return { bus, skipped, errors }
}

describe('a reader overtaken by retention', () => {
  onlyWhere('core')('resets as often as retention moves under it, with exact skipped counts, and never throws out of delivery', async () => {
    const { bus, skipped, errors } = await overtakenBus(100)
    // before each of the next polls another writer pushes the reader's position out of the log
    const poll = bus.core.poll.bind(bus.core)
    let races = 0
    bus.core.poll = (slot, max, maxBytes) => {
      if (races++ < 5) appendBehindTheBus(bus, 'r', 60, 100)
      return poll(slot, max, maxBytes)
    }
    const delivered: Array<{ offset: number; ok: boolean }> = []
    const start = bus.stats().r.partitions[0].startOffset
    bus.subscribe('r', (msg) => { delivered.push({ offset: msg.offset, ok: intact(msg.offset, msg.value as Uint8Array) }) }, { from: 'earliest' })
    await bus.idle()
    expect(races).toBeGreaterThan(5)
    expect(errors).toEqual([])
    expect(skipped.length).toBeGreaterThan(2)
    const end = bus.stats().r.partitions[0].endOffset
    expect(end).toBe(400)
    expectCoverage(delivered, skipped, start, end)
    expect(delivered.at(-1)!.offset).toBe(end - 1)
    expect(bus.stats().r.skipped).toBe(skipped.reduce((n, e) => n + e.count, 0))
  })

  onlyWhere('shared')('notices a segment recycled while its frames were being read (the segment seqlock) and reports it as skipped', async () => {
    const { bus, skipped, errors } = await overtakenBus(30)
    // between the core's poll and the check of what was copied, another writer recycles the
    // very segment the poll returned (rewriting it with other records)
    const core = bus.core as unknown as { x: Record<string, Function> }
    const exports = core.x
    let races = 0
    core.x = {
      ...exports,
      logPoll: (...args: number[]) => {
        const n = exports.logPoll(...args)
        if (n > 0 && races < 3) {
          races++
          appendBehindTheBus(bus, 'r', 60, 100)
        }
        return n
      },
    }
    const delivered: Array<{ offset: number; ok: boolean }> = []
    const start = bus.stats().r.partitions[0].startOffset
    bus.subscribe('r', (msg) => { delivered.push({ offset: msg.offset, ok: intact(msg.offset, msg.value as Uint8Array) }) }, { from: 'earliest', maxPollRecords: 4 })
    await bus.idle()
    expect(races).toBe(3)
    expect(errors).toEqual([])
    expect(skipped.length).toBeGreaterThanOrEqual(3)
    expectCoverage(delivered, skipped, start, bus.stats().r.partitions[0].endOffset)
  })
})
