// The host checks the core module's exports when it instantiates it: a module built from other
// sources (an export renamed, dropped, turned into a global or given other parameters) fails
// at once, naming the export, instead of deep inside a publish. The modules here are written by
// hand: the real module's exports, with one of them changed.
import { describe, expect, it } from 'vitest'
import { LogCore } from '../../src/core/log.js'
import { loadCore } from '../../src/core/load.js'
import { errors } from '../../src/index.js'

const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    const byte = n & 0x7f
    n >>>= 7
    out.push(n === 0 ? byte : byte | 0x80)
  } while (n !== 0)
  return out
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]))
const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content]
const I32 = 0x7f

/** A module exporting empty functions taking `arity` i32 each, and i32 globals. */
function stubModule(functions: Array<[string, number]>, globals: string[] = []): WebAssembly.Module {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map(([, arity]) => [0x60, ...vec(Array.from({ length: arity }, () => [I32])), 0]))),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(6, vec(globals.map(() => [I32, 0x00, 0x41, 0x00, 0x0b]))),
    ...section(7, vec([
      ...functions.map(([fn], i) => [...name(fn), 0x00, ...uleb(i)]),
      ...globals.map((g, i) => [...name(g), 0x03, ...uleb(i)]),
    ])),
    ...section(10, vec(functions.map(() => [2, 0x00, 0x0b]))),
  ]
  return new WebAssembly.Module(new Uint8Array(bytes))
}

/** The real module's functions and their parameter counts. */
async function realExports(): Promise<Array<[string, number]>> {
  const module = await loadCore(false)
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 })
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports
  return Object.entries(exports).map(([fn, f]) => [fn, (f as (...args: number[]) => unknown).length])
}

const create = (wasm: WebAssembly.Module) => LogCore.create({ maxBytes: 1 << 20, shared: false, wasm })

describe('core exports, checked at load', async () => {
  const real = await realExports()

  it('accepts a module with every export the host calls (extra exports are fine)', async () => {
    const core = await create(stubModule([...real, ['somethingElse', 0]]))
    expect(core.lane).toBe(0)
  })

  it('refuses a module missing an export, naming it', async () => {
    const missing = create(stubModule(real.filter(([fn]) => fn !== 'logPollValid')))
    await expect(missing).rejects.toThrow(errors.BusError)
    await expect(missing).rejects.toThrow(/has no export 'logPollValid'/)
    await expect(missing).rejects.toMatchObject({ export: 'logPollValid' })
  })

  it('refuses a module that exports something other than a function under the name', async () => {
    const global = create(stubModule(real.filter(([fn]) => fn !== 'murmur2'), ['murmur2']))
    await expect(global).rejects.toThrow(/exports a global, not a function, as 'murmur2'/)
  })

  it('refuses an export that takes other parameters than the host passes', async () => {
    const reshaped = create(stubModule(real.map(([fn, arity]) => [fn, fn === 'logKeep' ? arity + 1 : arity])))
    await expect(reshaped).rejects.toThrow(/'logKeep' takes 3 parameters, the host passes 2/)
  })
})
