// Every ```ts block of the README runs here, against the source. A `console.log(...) // text`
// line must print exactly `text`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { format } from 'node:util'
import { describe, expect, it, vi } from 'vitest'

const root = new URL('../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
const entry = fileURLToPath(new URL('src/index.ts', root))
// ```js blocks that start with `// name.mjs` are files the examples load (worker scripts): they
// run as plain JavaScript in their own thread, so they import the built package
const files = [...readme.matchAll(/```js\n\/\/ ([\w.-]+\.mjs)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1], code: m[2] }))
const built = new URL('dist/index.js', root).href

describe('README examples', () => {
  it('has examples', () => expect(blocks.length).toBeGreaterThanOrEqual(2))

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs and prints what its comments say`, async () => {
      const expected = [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((m) => m[1].trim())
      const dir = new URL('.readme/', import.meta.url)
      mkdirSync(dir, { recursive: true })
      for (const f of files) writeFileSync(new URL(f.name, dir), f.code.replaceAll("from 'ringbus'", `from ${JSON.stringify(built)}`))
      const file = new URL(`example-${i + 1}.ts`, dir)
      writeFileSync(file, code.replaceAll("from 'ringbus'", `from ${JSON.stringify(entry)}`))
      const printed: string[] = []
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { printed.push(format(...args)) })
      try {
        await import(/* @vite-ignore */ `${file.href}?run=${Date.now()}`)
      } finally {
        spy.mockRestore()
      }
      expect(printed).toEqual(expected)
    })
  })
})
