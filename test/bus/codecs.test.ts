import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errors, jsonCodec, msgpackCodec, rawCodec, type Codec, type HandlerErrorEvent } from '../../src/index.js'
import { collect, onlyWhere, replay, useBuses, utf8 } from './helpers.js'

const newBus = useBuses()

const key = fc.string({ unit: 'grapheme', maxLength: 8 }).filter((k) => k !== '__proto__')
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x))

/** Values msgpack (msgpackr with moreTypes) must bring back deep-equal. */
const msgpackValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 20 }), fc.integer(), fc.maxSafeInteger(), finite, fc.boolean(), fc.constant(null),
    fc.constant(undefined), fc.date({ noInvalidDate: true }), fc.uint8Array({ maxLength: 24 }),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
})).node

/** Values JSON brings back deep-equal. */
const jsonValue = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.integer(), finite, fc.boolean(), fc.constant(null)),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
})).node

describe('msgpack (default codec)', () => {
  it('replays Dates, nested objects, Uint8Arrays, null tombstones and undefined deep-equal', async () => {
    const bus = await newBus()
    const published = [
      { orderId: 'o-1', at: new Date(1_700_000_000_123), lines: [{ sku: 'a', qty: 2, price: 9.99 }], meta: { tags: ['x', 'y'], nested: { deep: { deeper: [1, [2, [3]]] } } } },
      new Date(0),
      new Uint8Array([0, 1, 2, 253, 254, 255]),
      { bytes: new Uint8Array([7, 8, 9]), empty: new Uint8Array(0) },
      null,
      undefined,
      [null, undefined, 0, '', false],
      'ünïcödé 🎉',
      -1.5,
      2 ** 53 - 1,
      -(2 ** 31),
      true,
      {},
      [],
    ]
    for (const v of published) bus.publish('t', v)
    const got = await replay(bus, 't')
    expect(got.map((m) => m.value)).toEqual(published)
    expect(got[1].value).toBeInstanceOf(Date)
    expect(got[2].value).toBeInstanceOf(Uint8Array)
    expect((got[3].value as { bytes: unknown }).bytes).toBeInstanceOf(Uint8Array)
    expect(got[4].value).toBeNull()
    expect(got[5].value).toBeUndefined()
    expect(bus.stats().t.codec).toBe('msgpack')
  })

  it('undefined topics replay undefined', async () => {
    const bus = await newBus<{ tick: undefined }>()
    bus.emit('tick')
    bus.publish('tick', undefined)
    bus.publish('tick')
    const got = await replay(bus, 'tick')
    expect(got.map((m) => m.value)).toEqual([undefined, undefined, undefined])
  })

  onlyWhere('syncAppend')('property: any value replays deep-equal', async () => {
    const bus = await newBus()
    await fc.assert(
      fc.asyncProperty(fc.array(msgpackValue, { minLength: 1, maxLength: 10 }), async (values) => {
        const offsets = values.map((v) => bus.publish('m', v).offset)
        const got = collect(bus, 'm', { from: { offset: offsets[0] } })
        await bus.idle()
        await got.sub.close()
        expect(got.map((m) => m.offset)).toEqual(offsets)
        expect(got.map((m) => m.value)).toEqual(values)
      }),
      { numRuns: 150 },
    )
  })

  onlyWhere('syncAppend')('replays Maps (keys of any type), Sets, BigInts, typed arrays and errors equal, also to late readers', async () => {
    const bus = await newBus()
    const published = [
      { byId: new Map<unknown, string>([[{ id: 2 }, 'x']]) },
      new Map<unknown, string>([[1, 'one'], ['1', 'uno']]),
      new Map([['a', new Set([1, 'b'])]]),
      [new Map(), new Set(), { m: new Map([[new Date(3), [1n]]]) }],
      { big: 2n ** 70n, small: -12n, f32: new Float32Array([1.5]), i16: new Int16Array([-1, 2]) },
      Object.assign(Object.create(null), { a: 1 }), // replays as a plain object: deep-equal
      new TypeError('boom'),
      { constructor: 'a key named constructor', toString: 'and toString' },
    ]
    for (const v of published) expect(bus.publish('m', v).offset).toBeGreaterThanOrEqual(0)
    const got = await replay(bus, 'm')
    expect(got.map((m) => m.value)).toEqual(published)
    expect(got[1].value).toBeInstanceOf(Map)
    expect([...(got[1].value as Map<unknown, string>).keys()]).toEqual([1, '1'])
    expect((got[0].value as { byId: Map<unknown, string> }).byId.get([...(got[0].value as { byId: Map<unknown, string> }).byId.keys()][0])).toBe('x')
  })

  onlyWhere('syncRefusals')('refuses at publish, with a CodecError, what it could not replay equal', async () => {
    const bus = await newBus()
    class Point { constructor(readonly x = 1) {} }
    class Registry extends Map {}
    const refused: Array<[unknown, RegExp]> = [
      [new Point(), /Point instance would replay as a plain object/],
      [{ nested: [new Registry()] }, /Registry instance/],
      [new Number(3), /Number instance/],
      [() => 1, /function cannot be encoded/],
      [{ handler() {} }, /function cannot be encoded/],
      [JSON.parse('{"__proto__": 1}'), /__proto__/],
      [Symbol('s'), /symbol/],
    ]
    const events: string[] = []
    bus.events.on('topic.created', (e) => events.push(e.topic))
    bus.topic('m')
    for (const [value, message] of refused) {
      const error = (() => { try { bus.publish('m', value) } catch (e) { return e } })()
      expect(error, String(message)).toBeInstanceOf(errors.CodecError)
      expect((error as Error).message).toMatch(message)
    }
    expect(bus.stats().m.partitions[0].endOffset).toBe(0)
    // a class with toJSON says how to encode it
    class Money { constructor(readonly cents: number) {} toJSON() { return { cents: this.cents } } }
    bus.publish('m', new Money(5))
    expect((await replay(bus, 'm')).map((m) => m.value)).toEqual([{ cents: 5 }])
  })

  it('keeps many different object shapes apart on one topic (record structures)', async () => {
    const bus = await newBus()
    const published: Array<Record<string, number>> = []
    for (let i = 0; i < 300; i++) {
      const shape: Record<string, number> = {}
      for (let j = 0; j <= i % 7; j++) shape[`k${i}_${j}`] = i * 10 + j
      published.push(shape)
      bus.publish('shapes', shape)
    }
    // the same shapes again, after the structure table filled up
    for (let i = 0; i < 300; i++) bus.publish('shapes', { ...published[i] })
    const got = await replay(bus, 'shapes')
    expect(got.map((m) => m.value)).toEqual([...published, ...published])
  })

  it('decodes records older than the same-thread cache from the log', async () => {
    const bus = await newBus()
    const slow = collect(bus, 't')
    slow.sub.pause()
    const published = Array.from({ length: 5000 }, (_, i) => ({ i, at: new Date(i), bytes: new Uint8Array([i & 255]) }))
    for (const v of published) bus.publish('t', v)
    slow.sub.resume()
    await bus.idle()
    expect(slow.map((m) => m.value)).toEqual(published)
  })
})

describe('json codec', () => {
  it('replays JSON values deep-equal; null is a tombstone; undefined travels as undefined', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: 'json' })
    const published = [{ a: 1, b: [true, null, 'x'], c: { d: 2.5 } }, 'text', 0, null, undefined, []]
    for (const v of published) bus.publish('j', v)
    const got = await replay(bus, 'j')
    expect(got.map((m) => m.value)).toEqual(published)
    expect(got[3].value).toBeNull()
    expect(bus.stats().j.codec).toBe('json')
  })

  onlyWhere('syncAppend')('property: any JSON value replays deep-equal', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: 'json' })
    await fc.assert(
      fc.asyncProperty(jsonValue, async (value) => {
        const { offset } = bus.publish('j', value)
        const got = collect(bus, 'j', { from: { offset } })
        await bus.idle()
        await got.sub.close()
        expect(got.map((m) => m.value)).toEqual([value])
      }),
      { numRuns: 150 },
    )
  })

  onlyWhere('syncRefusals')('a circular object or a BigInt is a CodecError and leaves the log as it was', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: 'json' })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => bus.publish('j', circular)).toThrow(errors.CodecError)
    expect(() => bus.publish('j', 10n)).toThrow(errors.CodecError)
    expect(bus.stats().j.partitions[0].endOffset).toBe(0)
    expect(bus.publish('j', 1).offset).toBe(0)
  })

  onlyWhere('liveStats')('a Symbol is a CodecError, not silently stored as undefined', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: 'json' })
    expect(() => bus.publish('j', Symbol('s'))).toThrow(errors.CodecError)
    expect(bus.stats().j.partitions[0].endOffset).toBe(0)
  })
})

describe('raw codec', () => {
  it('takes Uint8Arrays only and replays the same bytes as fresh copies', async () => {
    const bus = await newBus()
    bus.topic('r', { codec: 'raw' })
    const a = new Uint8Array([1, 2, 3])
    const b = utf8('hello')
    // Node's Buffer, a subclass of Uint8Array (a browser has none: a subclass of its own)
    const c = typeof Buffer === 'function' ? Buffer.from([4, 5]) : new (class extends Uint8Array {})([4, 5])
    bus.publish('r', a)
    bus.publish('r', b)
    bus.publish('r', c)
    bus.publish('r', null)
    bus.publish('r', new Uint8Array(0))
    const first = await replay(bus, 'r')
    expect(first.map((m) => m.value)).toEqual([a, b, new Uint8Array([4, 5]), null, new Uint8Array(0)])
    ;(first[0].value as Uint8Array).fill(0)
    const second = await replay(bus, 'r')
    expect(second[0].value).toEqual(new Uint8Array([1, 2, 3]))
    expect(bus.stats().r.codec).toBe('raw')
  })

  onlyWhere('syncRefusals')('a non-Uint8Array is a CodecError and leaves the log as it was', async () => {
    const bus = await newBus()
    bus.topic('r', { codec: 'raw' })
    bus.publish('r', new Uint8Array([1]))
    for (const bad of ['text', 42, { length: 1 }, [1, 2], new ArrayBuffer(2), new Uint16Array(2), undefined]) {
      expect(() => bus.publish('r', bad), String(bad)).toThrow(errors.CodecError)
    }
    expect(bus.stats().r.partitions[0].endOffset).toBe(1)
    expect(bus.publish('r', new Uint8Array([2])).offset).toBe(1)
    expect((await replay(bus, 'r')).map((m) => m.value)).toEqual([new Uint8Array([1]), new Uint8Array([2])])
  })
})

describe("ref codec (values stay objects in this thread)", () => {
  onlyWhere('plain')('replays the very objects that were published, with keys, headers and timestamps', async () => {
    const bus = await newBus({ shared: false }) // 'ref' is for one thread only
    bus.topic('r', { codec: 'ref', partitions: 2 })
    const values = [{ a: 1 }, [1, 2], new Map([[1, 2]]), 'text', 7, undefined]
    const published = values.map((value, i) => bus.publish('r', value, { key: `k${i}`, headers: { n: String(i) } }))
    const got = await replay(bus, 'r')
    expect(got).toHaveLength(values.length)
    for (const msg of got) {
      const i = published.findIndex((p) => p.partition === msg.partition && p.offset === msg.offset)
      expect(msg.value).toBe(values[i])
      expect(msg.key).toBe(`k${i}`)
      expect(msg.headers).toEqual({ n: String(i) })
      expect(msg.timestamp).toBe(published[i].timestamp)
    }
  })

  onlyWhere('plain')('null is a tombstone; the log holds only frame headers', async () => {
    const bus = await newBus({ shared: false }) // 'ref' is for one thread only
    bus.topic('r', { codec: 'ref' })
    bus.publish('r', null)
    bus.publish('r', { big: 'x'.repeat(10_000) })
    expect((await replay(bus, 'r')).map((m) => m.value === null)).toEqual([true, false])
    expect(bus.stats().r.partitions[0].bytes).toBe(64) // two 32-byte frames, no value bytes
  })

  onlyWhere('plain')('keeps every record the log holds (thousands: the ring grows) and only those', async () => {
    const bus = await newBus({ shared: false }) // 'ref' is for one thread only
    bus.topic('r', { codec: 'ref', retention: { maxBytes: 200_000 } })
    const objects = Array.from({ length: 20_000 }, (_, i) => ({ i }))
    for (const o of objects) bus.publish('r', o)
    const { startOffset, endOffset } = bus.stats().r.partitions[0]
    expect(startOffset).toBeGreaterThan(0)
    expect(endOffset - startOffset).toBeGreaterThan(4096)
    const got = await replay(bus, 'r')
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: endOffset - startOffset }, (_, k) => startOffset + k))
    for (const m of got) expect(m.value).toBe(objects[m.offset])
  })

  onlyWhere('syncRefusals', 'sharedMemory')('a shared bus refuses it: its values could not reach other threads', async () => {
    const bus = await newBus({ shared: true })
    expect(() => bus.topic('r', { codec: 'ref' })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats().r).toBeUndefined()
  })
})

describe('custom codecs', () => {
  const upper = (): Codec<string> & { encoded: number; decoded: number } => {
    const codec = {
      name: 'upper', encoded: 0, decoded: 0,
      encode(value: string) { codec.encoded++; return utf8(value.toUpperCase()) },
      decode(bytes: Uint8Array) { codec.decoded++; return new TextDecoder().decode(bytes) },
    }
    return codec
  }

  onlyWhere('customCodecs')('encodes on publish and decodes on replay', async () => {
    const bus = await newBus()
    const codec = upper()
    bus.topic('c', { codec: codec as Codec })
    bus.publish('c', 'abc')
    bus.publish('c', 'déf')
    expect(codec.encoded).toBe(2)
    const got = await replay(bus, 'c')
    expect(got.map((m) => m.value)).toEqual(['ABC', 'DÉF'])
    expect(codec.decoded).toBe(2)
    expect(bus.stats().c.codec).toBe('upper')
  })

  onlyWhere('customCodecs')('an encode that throws is a CodecError with the cause; one that returns no bytes is a CodecError', async () => {
    const bus = await newBus()
    const cause = new Error('nope')
    bus.topic('bad', { codec: { name: 'bad', encode: () => { throw cause }, decode: () => 1 } })
    bus.topic('nobytes', { codec: { name: 'nobytes', encode: () => 'str' as unknown as Uint8Array, decode: () => 1 } })
    let error: unknown
    try { bus.publish('bad', 1) } catch (e) { error = e }
    expect(error).toBeInstanceOf(errors.CodecError)
    expect((error as errors.CodecError).cause).toBe(cause)
    expect((error as errors.CodecError).topic).toBe('bad')
    expect(() => bus.publish('nobytes', 1)).toThrow(errors.CodecError)
    expect(bus.stats().bad.partitions[0].endOffset).toBe(0)
    expect(bus.stats().nobytes.partitions[0].endOffset).toBe(0)
  })

  onlyWhere('customCodecs')('a record the codec cannot decode is reported as a CodecError with its offset; the others are delivered', async () => {
    const bus = await newBus()
    bus.topic('c', {
      codec: {
        name: 'picky',
        encode: (v: unknown) => utf8(String(v)),
        decode: (b: Uint8Array) => {
          const s = new TextDecoder().decode(b)
          if (s === 'bad') throw new Error('cannot decode')
          return s
        },
      },
    })
    for (const v of ['a', 'bad', 'c']) bus.publish('c', v)
    const reported: HandlerErrorEvent[] = []
    bus.events.on('error', (e) => reported.push(e))
    const got = await replay(bus, 'c')
    expect(got.map((m) => [m.offset, m.value])).toEqual([[0, 'a'], [2, 'c']])
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ topic: 'c', partition: 0, offset: 1 })
    expect(reported[0].error).toBeInstanceOf(errors.CodecError)
  })

  it('rejects a codec option that is not a codec', async () => {
    const bus = await newBus()
    expect(() => bus.topic('x', { codec: 'yaml' as never })).toThrow(errors.InvalidArgumentError)
    expect(() => bus.topic('y', { codec: { name: 'half', encode: () => new Uint8Array() } as never })).toThrow(errors.InvalidArgumentError)
    expect(bus.stats()).toEqual({})
  })

  onlyWhere('customCodecs')('the exported codecs work as custom codecs too', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: jsonCodec })
    bus.topic('r', { codec: rawCodec as Codec })
    bus.topic('m', { codec: msgpackCodec() })
    bus.publish('j', { a: [1] })
    bus.publish('r', new Uint8Array([1]))
    bus.publish('m', new Date(3))
    expect((await replay(bus, 'j'))[0].value).toEqual({ a: [1] })
    expect((await replay(bus, 'r'))[0].value).toEqual(new Uint8Array([1]))
    expect((await replay(bus, 'm'))[0].value).toEqual(new Date(3))
  })
})

describe('same-thread delivery', () => {
  onlyWhere('sameObjects')('subscribers that keep up receive the published object itself', async () => {
    const bus = await newBus()
    bus.topic('j', { codec: 'json' })
    bus.topic('r', { codec: 'raw' })
    const a = collect(bus, 't')
    const b = collect(bus, 't')
    const j = collect(bus, 'j')
    const r = collect(bus, 'r')
    const seen: unknown[] = []
    bus.on('t', (v) => { seen.push(v) })
    const obj = { at: new Date(1), nested: { list: [1, 2] } }
    const date = new Date(5)
    const bytes = new Uint8Array([1])
    bus.publish('t', obj)
    bus.publish('j', date)
    bus.publish('r', bytes)
    await bus.idle()
    expect(a[0].value).toBe(obj)
    expect(b[0].value).toBe(obj)
    expect(seen[0]).toBe(obj)
    expect(j[0].value).toBe(date)
    expect(r[0].value).toBe(bytes)
  })

  onlyWhere('sameObjects')('the published object is delivered even when published in a batch', async () => {
    const bus = await newBus()
    const got = collect(bus, 't')
    const objs = [{ n: 1 }, { n: 2 }]
    bus.publishBatch('t', objs.map((value) => ({ value })))
    await bus.idle()
    expect(got[0].value).toBe(objs[0])
    expect(got[1].value).toBe(objs[1])
  })
})
