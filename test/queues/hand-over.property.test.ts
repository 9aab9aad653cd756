// Straight hand-over (src/queues/hand-over.ts) against a reference model and against the path it
// skips. Random operations on one queue run on two buses at once: a plain bus, where a message
// sent to the empty queue of a waiting noAck consumer goes straight to it, and a shared bus,
// where every message goes through the queue's log. Operations: sends (some with a TTL of their
// own, which must wait in the queue), a noAck consumer joining or being cancelled (at most one at
// a time), get() while nobody consumes, and turns (await idle()). Some run in the same
// synchronous block as the next one (bursts of sends, then perhaps a cancel), so that cancels and
// sends meet messages not yet run.
//
// The model is a FIFO list: a turn with a consumer delivers all of it, in order; get() takes the
// head; a cancel loses nothing. Both buses must deliver exactly what the model does, in the same
// order, and show the same figures after every turn. At the end a consumer drains the queue.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createBus, type Bus, type QueueConsumer } from '../../src/index.js'

const SEED = Number(process.env.FC_SEED ?? 0x68616e64)
const RUNS = Number(process.env.FC_RUNS ?? 100)

type Op =
  | { kind: 'send'; ttl: boolean; sync: boolean }
  /** Sends in one synchronous block, then (`cancel`) the consumer's cancel in it too. */
  | { kind: 'burst'; ttls: boolean[]; cancel: boolean }
  | { kind: 'consume'; sync: boolean }
  | { kind: 'cancel'; sync: boolean }
  | { kind: 'get' }
  | { kind: 'turn' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('send' as const), ttl: fc.boolean(), sync: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('burst' as const), ttls: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), cancel: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('consume' as const), sync: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), sync: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'get' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'turn' as const }), weight: 2 },
)

/** One bus playing the operations: what it delivered, in order. */
class Side {
  readonly got: number[] = []
  private consumer: QueueConsumer | undefined

  constructor(readonly bus: Bus) {
    bus.queue('q')
  }

  send(n: number, ttl: boolean): void {
    this.bus.send('', 'q', { n }, ttl ? { expirationMs: 3_600_000 } : undefined)
  }

  consume(): void {
    this.consumer = this.bus.consumeQueue('q', (d) => { this.got.push((d.value as { n: number }).n) }, { noAck: true })
  }

  cancel(): Promise<void> {
    const c = this.consumer!
    this.consumer = undefined
    return c.cancel()
  }

  get(): number | undefined {
    return (this.bus.get('q', { noAck: true })?.value as { n: number } | undefined)?.n
  }

  stats(): unknown {
    return this.bus.queueStats().q
  }
}

describe('straight hand-over, against a FIFO model and against the queue\'s log', () => {
  it('delivers what the log would, in the same order, and loses nothing at a cancel', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const sides = [new Side(await createBus()), new Side(await createBus({ shared: true }))]
        try {
          // consumed: what consumers got, in order (get() takes from the queue without a consumer)
          const model = { queue: [] as number[], consumed: [] as number[], consuming: false }
          let next = 0
          let pending: Array<Promise<void>> = []
          // an await lets the turn that sends and consume() asked for run: a consumer takes everything
          const settle = async (): Promise<void> => {
            await Promise.all(pending)
            pending = []
            if (model.consuming) model.consumed.push(...model.queue.splice(0))
          }
          for (const o of ops) {
            switch (o.kind) {
              case 'send': {
                const n = next++
                for (const side of sides) side.send(n, o.ttl)
                model.queue.push(n)
                break
              }
              case 'burst':
                for (const ttl of o.ttls) {
                  const n = next++
                  for (const side of sides) side.send(n, ttl)
                  model.queue.push(n)
                }
                if (o.cancel && model.consuming) {
                  for (const side of sides) pending.push(side.cancel())
                  model.consuming = false
                }
                break
              case 'consume':
                if (model.consuming) continue
                for (const side of sides) side.consume()
                model.consuming = true
                break
              case 'cancel':
                if (!model.consuming) continue
                for (const side of sides) pending.push(side.cancel())
                model.consuming = false
                break
              case 'get': {
                if (model.consuming) continue
                await settle()
                const expected = model.queue.shift()
                for (const side of sides) expect(side.get()).toBe(expected)
                break
              }
              case 'turn':
                await settle()
                for (const side of sides) await side.bus.idle()
                for (const side of sides) expect(side.got).toEqual(model.consumed)
                expect(sides[0].stats()).toEqual(sides[1].stats())
                expect(sides[0].stats()).toMatchObject({ messages: model.queue.length, ready: model.queue.length })
                break
            }
            if (o.kind === 'burst' || ((o.kind === 'send' || o.kind === 'consume' || o.kind === 'cancel') && !o.sync)) await settle()
          }
          // the end: whatever is left, a consumer takes
          await settle()
          if (!model.consuming) for (const side of sides) side.consume()
          for (const side of sides) await side.bus.idle()
          for (const side of sides) expect(side.got).toEqual([...model.consumed, ...model.queue])
          for (const side of sides) expect(side.stats()).toMatchObject({ messages: 0 })
        } finally {
          for (const side of sides) await side.bus.close()
        }
      }),
      { numRuns: RUNS, seed: SEED },
    )
  })
})
