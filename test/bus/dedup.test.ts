// Idempotent publish: a messageId repeated on a topic with a dedup window is not appended again,
// and the repeat gets the coordinates of the record it repeats.
import { describe, expect } from 'vitest'
import { errors, manualClock } from '../../src/index.js'
import { onlyWhere, useBuses } from './helpers.js'
import { it as everywhere } from 'vitest'

const newBus = useBuses()
const it = onlyWhere('syncAppend')
const end = (bus: { stats(): Record<string, { partitions: Array<{ endOffset: number }> }> }, topic: string) =>
  bus.stats()[topic].partitions.reduce((sum, p) => sum + p.endOffset, 0)

describe('idempotent publish', () => {
  it('a repeat within the window is not appended and returns the original coordinates', async () => {
    const clock = manualClock(1_000)
    const bus = await newBus({ clock })
    bus.topic('payments', { partitions: 3, dedupWindowMs: 60_000 })
    const first = bus.publish('payments', { amount: 5 }, { messageId: 'pay-1', key: 'alice' })
    clock.advance(59_999)
    const again = bus.publish('payments', { amount: 5 }, { messageId: 'pay-1', key: 'alice' })
    expect(again).toEqual(first)
    expect(end(bus, 'payments')).toBe(1)
    clock.advance(1)
    const later = bus.publish('payments', { amount: 5 }, { messageId: 'pay-1', key: 'alice' })
    expect(later.offset).toBe(first.offset + 1)
    expect(end(bus, 'payments')).toBe(2)
  })

  it('ids are per topic; a topic without a window ignores them', async () => {
    const bus = await newBus()
    bus.topic('a', { dedupWindowMs: 1000 })
    bus.topic('b', { dedupWindowMs: 1000 })
    bus.topic('plain')
    bus.publish('a', 1, { messageId: 'm' })
    bus.publish('b', 1, { messageId: 'm' })
    bus.publish('plain', 1, { messageId: 'm' })
    bus.publish('plain', 1, { messageId: 'm' })
    expect([end(bus, 'a'), end(bus, 'b'), end(bus, 'plain')]).toEqual([1, 1, 2])
  })

  it('publishBatch skips repeats of earlier publishes and within the batch', async () => {
    const bus = await newBus()
    bus.topic('t', { dedupWindowMs: 1000 })
    const before = bus.publish('t', 'x', { messageId: 'x' })
    const results = bus.publishBatch('t', [
      { value: 'x', messageId: 'x' }, { value: 'y', messageId: 'y' }, { value: 'y again', messageId: 'y' }, { value: 'no id' },
    ])
    expect(results.map((r) => r.offset)).toEqual([before.offset, 1, 1, 2])
    expect(end(bus, 't')).toBe(3)
  })

  it('a record the log refused leaves its messageId free to publish again', async () => {
    const bus = await newBus({ maxBytes: 256 * 1024, segmentBytes: 4096 })
    bus.topic('full', { dedupWindowMs: 1000, onFull: 'reject', retention: { maxBytes: 8192 } })
    let n = 0
    expect(() => { for (;;) bus.publish('full', new Array(40).fill(n++)) }).toThrow(errors.BackPressureError)
    const late = new Array(40).fill(n)
    expect(() => bus.publish('full', late, { messageId: 'late' })).toThrow(errors.BackPressureError)
    // not 'pending' and no coordinates of a record that is not there: the claim was let go
    expect(() => bus.publish('full', late, { messageId: 'late' })).toThrow(errors.BackPressureError)
  })

  everywhere('works from any thread: a copying worker\'s messageId reaches the log too', async () => {
    const bus = await newBus()
    bus.topic('t', { dedupWindowMs: 60_000 })
    bus.publish('t', 1, { messageId: 'once' })
    bus.publish('t', 1, { messageId: 'once' })
    await bus.flush()
    expect(end(bus, 't')).toBe(1)
  })

  it('claims fit beside a full staging area: a batch of records that fill it exactly goes in whole', async () => {
    const bus = await newBus({ maxBytes: 256 * 1024, segmentBytes: 4096 })
    bus.topic('raw', { codec: 'raw', dedupWindowMs: 1000 })
    const records = Array.from({ length: 24 }, (_, i) => ({ value: new Uint8Array(473).fill(i), messageId: `id-${i}` }))
    expect(bus.publishBatch('raw', records).map((r) => r.offset)).toEqual(records.map((_, i) => i))
    expect(bus.publishBatch('raw', records).map((r) => r.offset)).toEqual(records.map((_, i) => i))
    expect(end(bus, 'raw')).toBe(24)
  })

  it('checks messageId', async () => {
    const bus = await newBus()
    bus.topic('t', { dedupWindowMs: 1000 })
    for (const messageId of ['', 42, 'lone \ud800', 'x'.repeat(129)]) {
      expect(() => bus.publish('t', 1, { messageId } as never), String(messageId)).toThrow(errors.InvalidArgumentError)
    }
    expect(end(bus, 't')).toBe(0)
  })
})
