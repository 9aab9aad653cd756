// A property over everything a caller can hand the public API: topic names (legal and not),
// keys, headers, values, publish options and topic options, right and wrong. Every step either
// works, and then what it appended replays equal from a fresh reader, or throws a typed error
// and leaves the log as it was: the same topics, the same end offsets, no 'topic.created'.
import fc from 'fast-check'
import { describe, expect } from 'vitest'
import { errors, manualClock, type Bus, type RecordMetadata } from '../../src/index.js'
import { onlyWhere, useBuses } from './helpers.js'

const newBus = useBuses()

// ---- inputs -------------------------------------------------------------------------------------

const legalName = fc.constantFrom('a', 'b.c', 'x-y_z.0', '__proto__', 'constructor', 'toString', 'hasOwnProperty')
const illegalName = fc.constantFrom('', 'a b', 'a*', 'a.#', 'x'.repeat(250), '__ringbus.x', 'ü', '..')
const topicName = fc.oneof({ weight: 5, arbitrary: legalName }, { weight: 1, arbitrary: illegalName })

const text = fc.string({ maxLength: 12 })
const bytes = fc.uint8Array({ maxLength: 12 })
const badString = fc.constantFrom('lone \ud800', '\udfff')
const key = fc.oneof(text, bytes, badString, fc.integer(), fc.constant(null), fc.constant({}), fc.boolean())

const headerName = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString'))
const headers = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(headerName, fc.oneof(text, bytes), { maxKeys: 3 }) },
  fc.dictionary(headerName, fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined), fc.constant({ a: 'b' }), badString), { minKeys: 1, maxKeys: 2 }),
  fc.constant(new Map([['h', 'v']])), fc.constant(new Map()), fc.array(text, { maxLength: 2 }),
  fc.constant(Object.assign(Object.create(null), { h: 'v' })), fc.constant(new (class Headers { h = 'v' })()),
  fc.constant(null), fc.constant('h=v'),
)

class Point { x = 1 }
const oddValue = fc.constantFrom<unknown>(
  Symbol('s'), () => 1, { handler() {} }, new Point(), [new Point()], new (class extends Map {})(), JSON.parse('{"__proto__": 1}'),
  new Map<unknown, unknown>([[{ id: 2 }, 'x'], [1, 'one'], ['1', 'uno']]), new Set([1, 'a', null]), new Date(0), new Date(Number.NaN),
  2n ** 70n, -5n, new Float64Array([1.5, Number.NaN]), new Int32Array([-1]), new ArrayBuffer(3), new Error('e'), /re/g,
  Object.assign(Object.create(null), { a: 1 }), [1, , 3], 'x'.repeat(9000),
)
const value = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 4, withMap: true, withSet: true, withDate: true, withTypedArray: true, withBigInt: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }) },
  { weight: 2, arbitrary: oddValue },
  { weight: 1, arbitrary: bytes },
)

const goodHeaders = fc.dictionary(fc.string({ maxLength: 6 }).filter((h) => h !== '__proto__'), fc.oneof(text, bytes), { maxKeys: 3 })
const goodOptions = fc.record({ key: fc.oneof(text, bytes), headers: goodHeaders, partition: fc.constant(0), timestamp: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })) }, { requiredKeys: [] })
const publishOptions = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: goodOptions },
  { weight: 3, arbitrary: fc.record({
    key, headers,
    partition: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.constant(0.5), fc.constant('1')),
    timestamp: fc.oneof(fc.integer(), fc.double(), fc.constant('5')),
    messageId: text,
    priority: fc.integer({ min: 0, max: 9 }), // an AMQP option this version does not have
  }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.constant('options') },
)

const topicOptions = fc.oneof(
  fc.constant(undefined),
  fc.record({
    partitions: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, -1, 1.5, 300, '2')),
    retention: fc.record({ maxBytes: fc.oneof(fc.integer({ min: 64, max: 100_000 }), fc.constantFrom(0, 10, -1)), maxAgeMs: fc.constantFrom(0, 60_000, -5) }, { requiredKeys: [] }),
    onFull: fc.constantFrom('evict', 'reject', 'drop'),
    codec: fc.constantFrom('msgpack', 'raw', 'yaml', 'toString'),
    compact: fc.boolean(),
    dedupWindowMs: fc.nat(),
  }, { requiredKeys: [] }),
)

type Step =
  | { op: 'topic'; name: string; options: unknown }
  | { op: 'publish'; name: string; value: unknown; options: unknown }
  | { op: 'batch'; name: string; records: unknown }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ op: fc.constant('topic' as const), name: topicName, options: topicOptions }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('publish' as const), name: topicName, value, options: publishOptions }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('batch' as const), name: topicName,
      records: fc.oneof(fc.array(fc.oneof(fc.tuple(value, publishOptions).map(([v, o]) => (typeof o === 'object' ? { ...o, value: v } : { value: v })), fc.constant(null)), { maxLength: 3 }), fc.constant('records')),
    }),
  },
)

// ---- the log as the public API shows it ------------------------------------------------------------

/** Topic -> end offset per partition. */
function ends(bus: Bus): Map<string, number[]> {
  const out = new Map<string, number[]>()
  const stats = bus.stats()
  for (const name of Object.keys(stats)) out.set(name, stats[name].partitions.map((p) => p.endOffset))
  return out
}

/** -0 travels as 0 (msgpack writes it as the integer 0, as JSON does); everything else replays as is. */
const unsigned = (v: unknown): unknown => (Object.is(v, -0) ? 0 : v)
function normalise(v: unknown, seen = new Set<unknown>()): unknown {
  if (typeof v !== 'object' || v === null || seen.has(v)) return unsigned(v)
  seen.add(v)
  if (Array.isArray(v)) return Array.from(v, (x) => normalise(x, seen))
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalise(k, seen), normalise(x, seen)]))
  if (v instanceof Set) return new Set([...v].map((x) => normalise(x, seen)))
  if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x, seen)]))
  }
  return v
}

/** Reads the records at `at` back with a fresh reader from the log start. */
async function readBack(bus: Bus, name: string, at: RecordMetadata[]) {
  const got = new Map<string, { key: unknown; headers: unknown; value: unknown; timestamp: number }>()
  const sub = bus.subscribe(name, (m) => { got.set(`${m.partition}/${m.offset}`, m) }, { from: 'earliest' })
  await bus.idle()
  await sub.close()
  return at.map((r) => got.get(`${r.partition}/${r.offset}`))
}

interface Sent { value: unknown; key?: unknown; headers?: unknown }

async function expectReplayed(bus: Bus, name: string, metas: RecordMetadata[], sent: Sent[]): Promise<void> {
  const got = await readBack(bus, name, metas)
  for (let i = 0; i < metas.length; i++) {
    const m = got[i]
    expect(m, `record ${metas[i].partition}/${metas[i].offset} replays`).toBeDefined()
    expect(m!.timestamp).toBe(metas[i].timestamp)
    expect(normalise(m!.value)).toEqual(normalise(sent[i].value))
    expect(m!.key).toEqual(sent[i].key)
    expect(m!.headers).toEqual(sent[i].headers ?? {})
  }
}

async function run(bus: Bus, s: Step): Promise<void> {
  const before = ends(bus)
  const created: string[] = []
  const onCreated = (e: { topic: string }) => created.push(e.topic)
  bus.events.on('topic.created', onCreated)
  let metas: RecordMetadata[] = []
  let sent: Sent[] = []
  let failure: unknown
  try {
    if (s.op === 'topic') {
      const info = bus.topic(s.name, s.options as never)
      expect(bus.stats()[s.name].partitions).toHaveLength(info.partitions)
    } else if (s.op === 'publish') {
      metas = [bus.publish(s.name, s.value, s.options as never)]
      sent = [{ value: s.value, ...(typeof s.options === 'object' ? s.options : {}) }]
    } else {
      metas = bus.publishBatch(s.name, s.records as never)
      sent = s.records as Sent[]
    }
  } catch (error) {
    failure = error
  } finally {
    bus.events.off('topic.created', onCreated)
  }
  const after = ends(bus)
  if (failure === undefined) {
    // what went in is exactly what the call returned, and it replays equal
    for (const name of before.keys()) expect(after.has(name), name).toBe(true)
    const grew = [...after.keys()].filter((name) => !before.has(name))
    expect(created).toEqual(grew)
    const appended = [...after].reduce((n, [name, offsets]) => n + offsets.reduce((a, e, p) => a + e - (before.get(name)?.[p] ?? 0), 0), 0)
    expect(appended).toBe(metas.length)
    if (metas.length > 0) await expectReplayed(bus, s.name, metas, sent)
    return
  }
  expect(failure, String(failure)).toBeInstanceOf(errors.BusError)
  const accepted = (failure as errors.BusError).accepted ?? []
  if (accepted.length > 0) {
    // publishBatch refused part way: the records before that are in, and replay equal
    await expectReplayed(bus, s.name, [...accepted], (s as { records: Sent[] }).records.slice(0, accepted.length))
    return
  }
  expect(created).toEqual([])
  expect(after).toEqual(before)
}

describe('any input to the public API', () => {
  onlyWhere('syncAppend')('either works and replays equal, or throws a typed error and leaves the log as it was', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const bus = await newBus({ maxBytes: 1 << 20, segmentBytes: 8192, clock: manualClock(1_000) })
        try {
          for (const s of steps) await run(bus, s)
        } finally {
          await bus.close()
        }
      }),
      { numRuns: 100 },
    )
  })
})
