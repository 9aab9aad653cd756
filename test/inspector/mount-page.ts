// The page of the mountInspector test, bundled by esbuild as a browser app would be: a bus made
// in the page, the fixture's contents, and the inspector mounted into #app.
import { createBus } from '../../src/index.js'
import { mountInspector } from '../../src/inspector/browser.js'
import { populate } from './fixture.js'

const bus = await createBus({ wasm: new URL('/ringbus.unshared.wasm', location.href) })
await populate(bus)
const unmount = mountInspector(bus, document.getElementById('app')!)

/** What the test drives from outside. */
const inspected = {
  figures: () => ({ stats: bus.stats(), queueStats: bus.queueStats() }),
  publish: (count: number) => { for (let i = 0; i < count; i++) bus.publish('payments', { i }) },
  close: () => bus.close(),
  unmount,
  /** The error mountInspector throws for these arguments, as { name, argument }. */
  refusal: (what: 'bus' | 'element' | 'options' | 'intervalMs') => {
    try {
      if (what === 'bus') mountInspector({} as never, document.body)
      else if (what === 'element') mountInspector(bus, null as never)
      else if (what === 'options') mountInspector(bus, document.body, 'fast' as never)
      else mountInspector(bus, document.body, { intervalMs: -1 })
      return undefined
    } catch (error) {
      return { name: (error as Error).name, argument: (error as { argument?: string }).argument }
    }
  },
}
Object.assign(window, { inspected })
export type Inspected = typeof inspected
