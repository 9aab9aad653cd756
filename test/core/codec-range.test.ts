// encodeRange, how queue values are encoded: msgpackr's own buffer and the value's bounds in it,
// read before anything else is encoded; the bytes must stay as they were through any later
// encoding, or a message placed again for its next queue would carry another's value.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { msgpackRangeCodec } from '../../src/codec/codecs.js'

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
