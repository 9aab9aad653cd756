import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { collect, onlyWhere, SMALL, type AnyMessage, useBuses } from './helpers.js'

const newBus = useBuses()

/** AMQP topic matching, written out plainly: `*` one word, `#` zero or more, words split on '.'. */
function amqp(pattern: string[], words: string[]): boolean {
  if (pattern.length === 0) return words.length === 0
  const [head, ...rest] = pattern
  if (head === '#') return amqp(rest, words) || (words.length > 0 && amqp(pattern, words.slice(1)))
  return words.length > 0 && (head === '*' || head === words[0]) && amqp(rest, words.slice(1))
}
const matches = (pattern: string, topic: string) => amqp(pattern.split('.'), topic.split('.'))

const topicsOf = (got: AnyMessage[]) => [...new Set(got.map((m) => m.topic))].sort()

const TOPICS = ['order', 'order.placed', 'order.shipped', 'order.placed.eu', 'orders.placed', 'x.order.placed', 'audit', 'a.b.c', 'a.c', 'a.b.b.c', 'a..c']

async function delivered(pattern: string): Promise<string[]> {
  const bus = await newBus(SMALL)
  const got = collect(bus, pattern)
  for (const t of TOPICS) bus.publish(t, t)
  await bus.idle()
  await bus.close()
  return topicsOf(got)
}

describe('wildcard subscriptions (AMQP rules)', () => {
  it("'order.*' matches exactly one word after order", async () => {
    expect(await delivered('order.*')).toEqual(['order.placed', 'order.shipped'])
  })

  it("'order.#' matches zero or more words after order", async () => {
    expect(await delivered('order.#')).toEqual(['order', 'order.placed', 'order.placed.eu', 'order.shipped'])
  })

  it("'#' matches every topic and '*' every one-word topic", async () => {
    expect(await delivered('#')).toEqual([...TOPICS].sort())
    expect(await delivered('*')).toEqual(['audit', 'order'])
  })

  it("'#' and '*' work in any position; empty words count", async () => {
    expect(await delivered('#.placed')).toEqual(['order.placed', 'orders.placed', 'x.order.placed'])
    expect(await delivered('*.placed.#')).toEqual(['order.placed', 'order.placed.eu', 'orders.placed'])
    expect(await delivered('a.#.c')).toEqual(['a..c', 'a.b.b.c', 'a.b.c', 'a.c'])
    expect(await delivered('a.*.c')).toEqual(['a..c', 'a.b.c'])
    expect(await delivered('*.*')).toEqual(['a.c', 'order.placed', 'order.shipped', 'orders.placed'])
    expect(await delivered('#.#')).toEqual([...TOPICS].sort())
  })

  it('messages say which topic they came from', async () => {
    const bus = await newBus()
    const got = collect(bus, 'order.*')
    bus.publish('order.placed', { id: 1 })
    bus.publish('order.shipped', { id: 1 })
    bus.publish('order.placed', { id: 2 })
    await bus.idle()
    expect(got.map((m) => [m.topic, m.offset, m.value])).toEqual(expect.arrayContaining([
      ['order.placed', 0, { id: 1 }], ['order.placed', 1, { id: 2 }], ['order.shipped', 0, { id: 1 }],
    ]))
    expect(got).toHaveLength(3)
    expect(got.filter((m) => m.topic === 'order.placed').map((m) => m.offset)).toEqual([0, 1])
  })

  onlyWhere('assignments')("topics created after subscribing are read from offset 0, even from 'latest'", async () => {
    const bus = await newBus()
    bus.publish('order.old', 'before')
    const got = collect(bus, 'order.*')
    bus.topic('order.declared', { partitions: 3 })
    bus.publish('order.declared', 'd0', { partition: 2 })
    bus.publishBatch('order.batched', [{ value: 'b0' }, { value: 'b1' }])
    bus.publish('order.old', 'after')
    bus.publish('other.topic', 'no')
    await bus.idle()
    expect(got.map((m) => [m.topic, m.partition, m.offset, m.value]).sort()).toEqual([
      ['order.batched', 0, 0, 'b0'], ['order.batched', 0, 1, 'b1'], ['order.declared', 2, 0, 'd0'], ['order.old', 0, 1, 'after'],
    ])
    expect(got.sub.assignments()).toEqual(expect.arrayContaining([
      { topic: 'order.old', partition: 0 }, { topic: 'order.declared', partition: 0 }, { topic: 'order.declared', partition: 1 },
      { topic: 'order.declared', partition: 2 }, { topic: 'order.batched', partition: 0 },
    ]))
    expect(got.sub.assignments()).toHaveLength(5)
  })

  it("existing topics start per 'from'", async () => {
    const bus = await newBus()
    bus.publish('order.a', 1)
    bus.publish('order.b', 2)
    const earliest = collect(bus, 'order.#', { from: 'earliest' })
    const latest = collect(bus, 'order.#')
    bus.publish('order.a', 3)
    await bus.idle()
    expect(earliest.map((m) => m.value).sort()).toEqual([1, 2, 3])
    expect(latest.map((m) => m.value)).toEqual([3])
  })

  it('a topic created after subscribing with records published in the same turn loses none', async () => {
    const bus = await newBus()
    const got = collect(bus, 'burst.#')
    for (let i = 0; i < 50; i++) bus.publish(`burst.t${i % 5}`, i)
    await bus.idle()
    expect(got.map((m) => m.value).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('on(), once() and consume() take patterns too', async () => {
    const bus = await newBus()
    const on: unknown[] = []
    const once: unknown[] = []
    bus.on('evt.*', (v, m) => { on.push([m.topic, v]) })
    bus.once('evt.#', (v) => { once.push(v) })
    const ac = new AbortController()
    const loop = (async () => {
      const seen: string[] = []
      for await (const m of bus.consume('evt.*', { signal: ac.signal })) {
        seen.push(m.topic)
        if (seen.length === 2) ac.abort()
      }
      return seen
    })()
    bus.publish('evt.a', 1)
    bus.publish('evt.b', 2)
    bus.publish('evt.a.deep', 3)
    await bus.idle()
    expect(on.sort()).toEqual([['evt.a', 1], ['evt.b', 2]])
    expect(once).toHaveLength(1)
    expect((await loop).sort()).toEqual(['evt.a', 'evt.b'])
  })

  onlyWhere('liveStats')('a wildcard reader counts as a reader of each topic it matches, and closing releases them', async () => {
    const bus = await newBus()
    bus.topic('m.a')
    bus.topic('m.b')
    bus.topic('n.a')
    const sub = bus.subscribe('m.*', () => {})
    expect([bus.stats()['m.a'].readers, bus.stats()['m.b'].readers, bus.stats()['n.a'].readers]).toEqual([1, 1, 0])
    await sub.close()
    expect([bus.stats()['m.a'].readers, bus.stats()['m.b'].readers]).toEqual([0, 0])
  })

  it('property: a pattern receives exactly the topics AMQP matching selects, existing or created later', async () => {
    const word = fc.constantFrom('a', 'b', 'c', '')
    const topic = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join('.')).filter((t) => t !== '' && t !== '.' && t !== '..')
    const pattern = fc.array(fc.constantFrom('a', 'b', '*', '#', ''), { minLength: 1, maxLength: 4 })
      .map((w) => w.join('.')).filter((p) => p.includes('*') || p.includes('#'))
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(topic, { minLength: 1, maxLength: 8 }), fc.nat(8), pattern, async (topics, split, p) => {
        const bus = await newBus(SMALL)
        const before = topics.slice(0, split)
        const after = topics.slice(split)
        for (const t of before) bus.publish(t, t)
        const got = collect(bus, p, { from: 'earliest' })
        for (const t of after) bus.publish(t, t)
        await bus.idle()
        expect(topicsOf(got)).toEqual(topics.filter((t) => matches(p, t)).sort())
        for (const m of got) expect(m.value).toBe(m.topic)
        await bus.close()
      }),
      { numRuns: 150 },
    )
  })
})
