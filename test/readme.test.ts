// Every example in the README and in docs/*.md runs here, against the source. A
// `console.log(...) // text` line must print exactly `text`.
//
// In each Markdown file:
// - a ```ts block, or a ```js block that does not start with a file name comment, is an example:
//   it runs as a module of its own (`from 'ringbus'` and `from 'ringbus/inspector'` import the source);
// - a ```js block that starts with `// name.mjs` is a file the file's examples load (a worker
//   script): it runs as plain JavaScript in its own thread, so it imports the built package.
// Each Markdown file's examples and files are written to a directory of their own.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { format } from 'node:util'
import { describe, expect, it, vi } from 'vitest'

const root = new URL('../', import.meta.url)
const entry = fileURLToPath(new URL('src/index.ts', root))
const inspector = fileURLToPath(new URL('src/inspector/index.ts', root))
const built = new URL('dist/index.js', root).href

interface Example { lang: 'ts' | 'js'; code: string }
interface Extracted { examples: Example[]; files: Array<{ name: string; code: string }> }

/** The runnable examples and the loaded files of one Markdown text. */
export function extract(markdown: string): Extracted {
  const examples: Example[] = []
  const files: Extracted['files'] = []
  for (const m of markdown.matchAll(/```(ts|js)\n([\s\S]*?)```/g)) {
    const lang = m[1] as 'ts' | 'js'
    const code = m[2]
    const file = lang === 'js' ? /^\/\/ ([\w.-]+\.mjs)\n/.exec(code) : null
    if (file !== null) files.push({ name: file[1], code: code.slice(file[0].length) })
    else examples.push({ lang, code })
  }
  return { examples, files }
}

const sources = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]

for (const source of sources) {
  const { examples, files } = extract(readFileSync(new URL(source, root), 'utf8'))
  const label = source === 'README.md' ? 'README' : source
  const dir = new URL(`.readme/${source.replace(/\.md$/, '').replace(/\//g, '-')}/`, import.meta.url)

  describe(`${label} examples`, () => {
    it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(2))

    examples.forEach(({ lang, code }, i) => {
      it(`example ${i + 1} runs and prints what its comments say`, async () => {
        const expected = [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((m) => m[1].trim())
        mkdirSync(dir, { recursive: true })
        for (const f of files) writeFileSync(new URL(f.name, dir), f.code.replaceAll("from 'ringbus'", `from ${JSON.stringify(built)}`))
        const file = new URL(`example-${i + 1}.${lang === 'ts' ? 'ts' : 'mjs'}`, dir)
        writeFileSync(file, code.replaceAll("from 'ringbus'", `from ${JSON.stringify(entry)}`).replaceAll("from 'ringbus/inspector'", `from ${JSON.stringify(inspector)}`))
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
}
