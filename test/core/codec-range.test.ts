// encodeRange, how queue values are encoded: msgpackr's own buffer and the value's bounds in it,
// read before anything else is encoded; the bytes must stay as they were through any later
// encoding, or a message placed again for its next queue would carry another's value.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { msgpackRangeCodec, sureEncodedSize } from '../../src/codec/codecs.js'

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 24 })),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'id', 'key'), tie('node'), { maxKeys: 4 })),
})).node

const op = fc.tuple(
  fc.constantFrom('range', 'pack', 'transient'),
  // large values make msgpackr move to a new buffer
  fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 2000, maxLength: 9000 }) }),
)

describe('msgpack encodeRange', () => {
  it("leaves every encoding's bytes as they were through later encodings of any kind", () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const codec = msgpackRangeCodec()
      const kept: Array<{ bytes: Uint8Array; start: number; end: number; value: unknown; copy: Uint8Array }> = []
      for (const [how, v] of ops) {
        if (how === 'range') {
          const r = codec.encodeRange(v)
          kept.push({ bytes: r.bytes, start: r.start, end: r.end, value: v, copy: r.bytes.slice(r.start, r.end) })
        } else if (how === 'pack') codec.encode(v)
        else codec.encodeTransient!(v)
      }
      for (const k of kept) {
        expect(k.bytes.slice(k.start, k.end)).toEqual(k.copy)
        expect(codec.decode(k.copy)).toEqual(k.value)
      }
    }))
  })
})

describe('sureEncodedSize: whether msgpack certainly encodes a value, judged without encoding it', () => {
  const unsure: Array<[string, unknown]> = [
    ['a bigint', 1n], ['a symbol', Symbol('s')], ['a function', () => 1], ['a Map', new Map()], ['a Date', new Date(0)], ['bytes', new Uint8Array(2)],
    ['a class instance', new (class Point { x = 1 })()], ['a null-prototype object', Object.create(null)], ['an own __proto__ key', JSON.parse('{"__proto__": 1}')],
    ['an inherited enumerable key', Object.create({ inherited: 1 })], ['a function inside', { a: [1, { f: () => 1 }] }],
    ['more than 64 values', Array.from({ length: 65 }, (_, i) => i)], ['more than 64 nested', { a: Array.from({ length: 40 }, () => ({ b: 1 })) }],
  ]
  it.each(unsure)('not sure of %s (encoding finds out)', (_, v) => {
    expect(sureEncodedSize(v)).toBe(-1)
  })

  it('sure of what most messages are: primitives, flat and small nested plain objects and arrays', () => {
    for (const v of [1, 'text', true, null, undefined, { id: 1, key: 'a.b' }, { jobId: 'job-1', n: 1, tags: ['a', 'b'], at: { x: 1.5, y: -0 } }, [], {}]) {
      expect([v, sureEncodedSize(v) >= 0]).toEqual([v, true])
    }
  })

  it('when sure, the value encodes, in at most that many bytes', () => {
    const codec = msgpackRangeCodec()
    let sure = 0
    const values = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.anything({ maxDepth: 3, withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true }), value)
    fc.assert(fc.property(values, (v) => {
      const bound = sureEncodedSize(v)
      if (bound < 0) return
      sure++
      const r = codec.encodeRange(v)
      expect(r.end - r.start).toBeLessThanOrEqual(bound)
    }), { numRuns: 500 })
    expect(sure).toBeGreaterThan(100) // the property was not vacuous
  })
})
