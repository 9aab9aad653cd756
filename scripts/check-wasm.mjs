// Build check: the core must own no memory. Data segments would be re-copied by every thread
// that instantiates the module over the shared memory, and the managed runtime is not
// thread-safe, so either one in the compiled text fails the build.
import { readFileSync } from 'node:fs'

let failed = false
for (const file of ['build/ringbus.wat', 'build/ringbus.unshared.wat']) {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
  for (const [needle, why] of [['(data', 'a data segment (static data)'], ['~lib/rt/', 'the managed runtime']]) {
    if (text.includes(needle)) {
      console.error(`${file}: contains ${why} ('${needle}'); the core must allocate nothing`)
      failed = true
    }
  }
}
const shared = readFileSync(new URL('../build/ringbus.wat', import.meta.url), 'utf8')
if (!shared.includes('shared)') || !shared.includes('.atomic.')) {
  console.error('build/ringbus.wat: memory is not shared or the build has no atomics (threads not enabled)')
  failed = true
}
if (failed) process.exit(1)
console.log('wasm check: no data segments, no managed runtime; the shared build imports shared memory and uses atomics')
