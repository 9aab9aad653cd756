// The part of the codec tests that reaches into Node itself (node:v8 and node:vm give it a
// garbage collector to call): it runs in Node only (see vitest.config.ts).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createBus } from '../../src/index.js'
import { replay } from './helpers.js'

describe('msgpack (default codec), in Node', () => {
  it('a closed bus leaves msgpackr no view of its memory (which would stay resident)', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    // a plain core decodes in place, so msgpackr's last source is a view of the whole memory
    const memory = await (async () => {
      const bus = await createBus({ shared: false, maxBytes: 1 << 20 })
      bus.publish('m', { a: 1 })
      expect((await replay(bus, 'm')).map((m) => m.value)).toEqual([{ a: 1 }])
      const ref = new WeakRef(bus.core.memory.buffer)
      await bus.close()
      return ref
    })()
    for (let i = 0; i < 5 && memory.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve)) // WeakRefs are kept for the current job
      gc()
    }
    expect(memory.deref()).toBeUndefined()
  })
})
