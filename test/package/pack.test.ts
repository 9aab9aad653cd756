// What `npm publish` would ship, checked on the packed tarball: the files a user needs and no
// others, every path the package refers to present, source maps that do not point at missing
// sources, and the package.json and types judged by publint and arethetypeswrong.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core'
import { publint } from 'publint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pack, type Packed } from './pack.js'

let packed: Packed
beforeAll(async () => { packed = await pack() }, 120_000)
afterAll(() => packed?.remove())

const read = (path: string) => readFileSync(join(packed.dir, 'package', path), 'utf8')

describe('the packed package', () => {
  it('holds dist, both wasm builds (as files and inline), README, LICENSE and the docs', () => {
    for (const file of [
      'package.json', 'README.md', 'LICENSE', 'docs/api.md', 'docs/semantics.md', 'docs/inspector.md', 'docs/inspector.png',
      'dist/index.js', 'dist/index.d.ts', 'dist/core/load.js', 'dist/errors.d.ts',
      'build/ringbus.wasm', 'build/ringbus.unshared.wasm',
      'build/ringbus.inline.js', 'build/ringbus.inline.d.ts', 'build/ringbus.unshared.inline.js', 'build/ringbus.unshared.inline.d.ts',
    ]) expect(packed.files).toContain(file)
    expect(read('LICENSE')).toMatch(/^MIT License/)
  })

  it('holds nothing else: no sources, tests, benchmarks, scripts or build leftovers', () => {
    const unexpected = packed.files.filter((file) => !(
      ['package.json', 'README.md', 'LICENSE'].includes(file) ||
      /^dist\/.+\.(js|d\.ts|js\.map)$/.test(file) ||
      /^build\/[\w.]+\.(wasm|inline\.js|inline\.d\.ts)$/.test(file) ||
      /^docs\/[\w-]+\.(md|png)$/.test(file)
    ))
    expect(unexpected).toEqual([])
    expect(packed.files.filter((file) => /^(src|assembly|test|bench|scripts|demo)\/|\.wat$|tsconfig|vitest|asconfig/.test(file))).toEqual([])
  })

  it('has every file its exports and its modules point to', () => {
    const pkg = JSON.parse(read('package.json')) as { main: string; types: string; exports: Record<string, string | Record<string, string>> }
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((t) => typeof t === 'string' ? [t] : Object.values(t))]
    const missing = targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !packed.files.includes(t))
    // relative imports, static and dynamic, of every module and declaration file
    for (const file of packed.files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const dir = file.slice(0, file.lastIndexOf('/') + 1)
      for (const [, specifier] of read(file).matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)'/g)) {
        const target = new URL(specifier, `file:///${dir}`).pathname.slice(1)
        const candidates = target.endsWith('.js') ? [target, target.replace(/\.js$/, '.d.ts')] : [target]
        if (!candidates.some((c) => packed.files.includes(c))) missing.push(`${target} (imported by ${file})`)
      }
    }
    expect(missing).toEqual([])
    // the inline builds are what load.ts imports
    expect(read('dist/core/load.js')).toContain("import('../../build/ringbus.inline.js')")
  })

  it('has source maps that carry their sources, since src/ is not published', () => {
    const maps = packed.files.filter((file) => file.endsWith('.js.map'))
    expect(maps.length).toBeGreaterThan(10)
    const dangling = maps.filter((file) => {
      const map = JSON.parse(read(file)) as { sources: string[]; sourcesContent?: Array<string | null> }
      return map.sources.length === 0 || map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some((s) => typeof s !== 'string')
    })
    expect(dangling).toEqual([])
  })

  it('passes publint with no errors, warnings or suggestions', async () => {
    const tarball = readFileSync(packed.tarball)
    const { messages } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) as ArrayBuffer }, level: 'suggestion' })
    expect(messages).toEqual([])
  }, 60_000)

  it('resolves with types for node16 (ESM) and bundler resolution (arethetypeswrong, esm-only profile)', async () => {
    // The esm-only profile: the package is ESM only ("type": "module", no require condition), so
    // node16-cjs (a CommonJS importer under TypeScript's model) and node10 (which ignores
    // exports) are not checked. ./wasm and ./wasm/unshared are not modules but the .wasm files,
    // for users who serve the core themselves: TypeScript resolves no types for them by design.
    const result = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(packed.tarball))), { excludeEntrypoints: ['./wasm', './wasm/unshared'] })
    expect(result.types).not.toBe(false)
    if (result.types === false) return
    expect(Object.keys(result.entrypoints)).toEqual(['.', './inspector', './package.json'])
    const ignored = ['node10', 'node16-cjs']
    const problems = result.problems.filter((p) => !('resolutionKind' in p) || !ignored.includes(p.resolutionKind))
    expect(problems).toEqual([])
    // the checked resolutions did resolve, to the package's declarations
    for (const kind of ['node16-esm', 'bundler'] as const) {
      expect(result.entrypoints['.'].resolutions[kind].resolution?.fileName).toMatch(/dist\/index\.d\.ts$/)
      expect(result.entrypoints['./inspector'].resolutions[kind].resolution?.fileName).toMatch(/dist\/inspector\/index\.d\.ts$/)
    }
  }, 60_000)
})
