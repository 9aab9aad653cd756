// Model-based property test of the copying transport's protocol: random sequences of what a
// worker does (publish, publishBatch, subscribe to a topic or a pattern from any position, seek,
// pause, resume, close, idle) run against a bus on a copying handle and against a plain model of
// two partitioned topics.
// Both ends of the port live in this thread (the protocol is the same as across threads), so a
// sequence runs in milliseconds. Deliveries only happen while the test awaits idle(), so at each
// idle every open subscription must have delivered exactly the model's records since the last one:
// per partition, in offset order, from its position (after seeks) to the end, nothing while paused
// or closed; and position() must agree with the model. This covers batching, the credit limit
// (small maxPollRecords), seek epochs dropping batches in flight, and pause/resume.
// The seed is fixed so that runs are reproducible; FC_SEED=<n> and FC_RUNS=<n> explore more.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { attachBus, createBus, type Bus, type Subscription, type WorkerBus } from '../../src/index.js'

type Start = 'earliest' | 'latest' | { offset: number; partition?: number }
type Cmd =
  | { t: 'publish'; topic: number; p: number }
  | { t: 'batch'; topic: number; ps: number[] }
  | { t: 'subscribe'; target: string; from: Start; max: number }
  | { t: 'seek'; s: number; offset: number; partition: number | undefined }
  | { t: 'pause' | 'resume' | 'close'; s: number }
  | { t: 'idle' }

const PARTITIONS = 3
/** Two topics; a subscription reads one of them or both (the pattern '*'). */
const TOPICS = ['a', 'b']

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('publish' as const), topic: fc.nat(1), p: fc.nat(PARTITIONS - 1) }), weight: 6 },
  { arbitrary: fc.record({ t: fc.constant('batch' as const), topic: fc.nat(1), ps: fc.array(fc.nat(PARTITIONS - 1), { minLength: 1, maxLength: 40 }) }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('subscribe' as const),
      target: fc.constantFrom('a', 'b', '*'),
      from: fc.oneof(
        fc.constantFrom<Start>('earliest', 'latest'),
        fc.record({ offset: fc.nat(30) }),
        fc.record({ offset: fc.nat(30), partition: fc.nat(PARTITIONS - 1) }),
      ),
      max: fc.constantFrom(1, 3, 256), // small polls make many batches: the credit limit is reached
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ t: fc.constant('seek' as const), s: fc.nat(5), offset: fc.nat(40), partition: fc.option(fc.nat(PARTITIONS - 1), { nil: undefined }) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constantFrom('pause' as const, 'resume' as const, 'close' as const), s: fc.nat(5) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('idle' as const) }), weight: 3 },
)

interface ModelSub {
  sub: Subscription
  topics: string[]
  /** Next offset to deliver, per topic and partition. */
  next: Record<string, number[]>
  paused: boolean
  closed: boolean
  /** What the handler got since the last idle: [topic, partition, offset, value]. */
  got: Array<[string, number, number, number]>
}

const open: Array<Bus | WorkerBus> = []
afterEach(async () => {
  for (const bus of open.splice(0).reverse()) await bus.close()
})

async function run(cmds: Cmd[]): Promise<void> {
  const owner = await createBus({ maxBytes: 4 * 1024 * 1024 })
  open.push(owner)
  for (const topic of TOPICS) owner.topic(topic, { partitions: PARTITIONS })
  const worker = await attachBus(owner.handle({ transport: 'copy' }))
  open.push(worker)
  const log: Record<string, number[][]> = Object.fromEntries(TOPICS.map((topic) => [topic, Array.from({ length: PARTITIONS }, () => [])]))
  const subs: ModelSub[] = []
  let seq = 0
  const clamp = (topic: string, p: number, offset: number) => Math.min(offset, log[topic][p].length) // nothing is evicted: the start is 0
  const sorted = (xs: Array<[string, number, number, number]>) => [...xs].sort((x, y) => x[0].localeCompare(y[0]) || x[1] - y[1] || x[2] - y[2])

  const check = (): void => {
    for (const [i, s] of subs.entries()) {
      const expected: Array<[string, number, number, number]> = []
      if (!s.paused && !s.closed) {
        for (const topic of s.topics) {
          for (let p = 0; p < PARTITIONS; p++) {
            for (let o = s.next[topic][p]; o < log[topic][p].length; o++) expected.push([topic, p, o, log[topic][p][o]])
            s.next[topic][p] = log[topic][p].length
          }
        }
      }
      // order is per partition: the handler's own sequence, per partition, must be in offset order
      for (const topic of s.topics) {
        for (let p = 0; p < PARTITIONS; p++) {
          const offsets = s.got.filter((g) => g[0] === topic && g[1] === p).map((g) => g[2])
          expect(offsets, `sub ${i} ${topic}/${p} in order`).toEqual([...offsets].sort((a, b) => a - b))
        }
      }
      expect(sorted(s.got), `sub ${i} delivered`).toEqual(sorted(expected))
      s.got = []
      if (s.closed) continue
      for (const topic of s.topics) for (let p = 0; p < PARTITIONS; p++) expect(s.sub.position(topic, p), `sub ${i} position ${topic}/${p}`).toBe(s.next[topic][p])
    }
  }

  for (const cmd of cmds) {
    switch (cmd.t) {
      case 'publish': {
        const topic = TOPICS[cmd.topic]
        worker.publish(topic, seq, { partition: cmd.p })
        log[topic][cmd.p].push(seq++)
        break
      }
      case 'batch': {
        const topic = TOPICS[cmd.topic]
        const records = cmd.ps.map((p) => {
          const value = seq++
          log[topic][p].push(value)
          return { value, partition: p }
        })
        worker.publishBatch(topic, records)
        break
      }
      case 'subscribe': {
        const from = cmd.from
        const topics = cmd.target === '*' ? TOPICS : [cmd.target]
        const next = Object.fromEntries(topics.map((topic) => [topic, log[topic].map((records, p) =>
          from === 'earliest' ? 0
            : from === 'latest' ? records.length
              : from.partition !== undefined && from.partition !== p ? records.length
                : clamp(topic, p, from.offset))]))
        const s: ModelSub = { sub: undefined as never, topics, next, paused: false, closed: false, got: [] }
        s.sub = worker.subscribe(cmd.target, (msg) => { s.got.push([msg.topic, msg.partition, msg.offset, msg.value as number]) }, { from, maxPollRecords: cmd.max })
        subs.push(s)
        break
      }
      case 'seek': {
        const s = subs[cmd.s % Math.max(subs.length, 1)]
        if (s === undefined || s.closed) break
        s.sub.seek(cmd.partition === undefined ? { offset: cmd.offset } : { offset: cmd.offset, partition: cmd.partition })
        for (const topic of s.topics) {
          for (let p = 0; p < PARTITIONS; p++) if (cmd.partition === undefined || cmd.partition === p) s.next[topic][p] = clamp(topic, p, cmd.offset)
        }
        break
      }
      case 'pause':
      case 'resume':
      case 'close': {
        const s = subs[cmd.s % Math.max(subs.length, 1)]
        if (s === undefined || s.closed) break
        if (cmd.t === 'close') await s.sub.close()
        else s.sub[cmd.t]()
        if (cmd.t === 'pause') s.paused = true
        if (cmd.t === 'resume') s.paused = false
        if (cmd.t === 'close') s.closed = true
        break
      }
      case 'idle':
        await worker.idle()
        check()
        break
    }
  }
  await worker.idle()
  check()
  // what the worker published is what the log holds
  for (const topic of TOPICS) expect(owner.stats()[topic].partitions.map((p) => p.endOffset)).toEqual(log[topic].map((records) => records.length))
}

describe('copying transport against a model of the log', () => {
  it('delivers exactly the model\'s records to every subscription, through seeks, pauses and small polls', async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 40 }), async (cmds) => {
      try {
        await run(cmds)
      } finally {
        for (const bus of open.splice(0).reverse()) await bus.close()
      }
    }), { seed: Number(process.env.FC_SEED ?? 20261126), numRuns: Number(process.env.FC_RUNS ?? 300), timeout: 10_000 })
  })
})
