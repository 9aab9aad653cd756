// Zero-configuration loading, as a new user meets it: the app in test/apps/app/ imports
// `ringbus` by its package name from the packed tarball, runs in Node, and is bundled with
// esbuild and with Vite (no plugin, no wasm option) and opened in headless Chromium, on a page
// under a strict Content-Security-Policy and on a cross-origin-isolated one, where its bus gets
// shared memory. Each page must show what Node printed and log no error, load only the inline
// build its memory needs, and fetch no .wasm file. Timeouts are generous: bundling and a browser
// share two cores with the rest of the suite.
import { execFile } from 'node:child_process'
import { cpSync, createReadStream, mkdirSync, renameSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build as esbuild } from 'esbuild'
import { chromium, type Browser } from 'playwright'
import { build as viteBuild } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pack, type Packed } from '../package/pack.js'

const run = promisify(execFile)

interface Orders { memory: 'shared' | 'plain'; seen: string[] }

let packed: Packed | undefined
let app: string
let site: string
let server: Server
let origin: string
let browser: Browser

// The page may compile WebAssembly, and load scripts from its own origin only: no eval, no
// inline script, no data: or blob: URLs, no fetch elsewhere.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' }

/** Static files of `site`; a page asked for with `?isolated` is served cross-origin isolated. */
function serve(): Promise<Server> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end()
    let file = normalize(join(site, decodeURIComponent(url.pathname)))
    if (!file.startsWith(site)) return void res.writeHead(403).end()
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html')
      statSync(file)
    } catch {
      return void res.writeHead(404).end()
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP, ...(url.searchParams.has('isolated') ? ISOLATED : {}) })
    createReadStream(file).pipe(res)
  })
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)))
}

beforeAll(async () => {
  packed = await pack()
  app = join(packed.dir, 'app')
  site = join(app, 'dist')
  cpSync(fileURLToPath(new URL('./app/', import.meta.url)), app, { recursive: true })
  mkdirSync(join(app, 'node_modules'))
  renameSync(join(packed.dir, 'package'), join(app, 'node_modules/ringbus'))
  server = await serve()
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  if (server) await new Promise((resolve) => server.close(resolve))
  packed?.remove()
})

/** What a page showed, whether it was cross-origin isolated, what went wrong, the paths it loaded. */
interface Visit { result: string; isolated: boolean; problems: string[]; loaded: string[] }

/** Opens a page, waits (bounded) for the app to write its result, and notes what went wrong. */
async function visit(path: string): Promise<Visit> {
  const page = await browser.newPage()
  const problems: string[] = []
  const loaded: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`) })
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
    loaded.push(new URL(r.url()).pathname)
  })
  try {
    await page.goto(`${origin}${path}`)
    await page.waitForFunction(() => document.querySelector('#result')?.textContent !== 'running', null, { timeout: 60_000 })
    return { result: (await page.textContent('#result')) ?? '', isolated: await page.evaluate(() => crossOriginIsolated), problems, loaded }
  } finally {
    await page.close()
  }
}

// the chunks both bundlers make of build/ringbus.inline.js and build/ringbus.unshared.inline.js
const inlineBuild = { shared: /\/ringbus\.inline-[\w-]+\.js$/, plain: /\/ringbus\.unshared\.inline-[\w-]+\.js$/ }

/** The page showed the orders Node printed, on the memory it should have, from the one build it needs. */
function expectOrders(visit: Visit, memory: Orders['memory'], inNode: Orders) {
  expect(visit.problems).toEqual([])
  expect(visit.isolated).toBe(memory === 'shared')
  expect(JSON.parse(visit.result) as Orders).toEqual({ ...inNode, memory })
  const other = memory === 'shared' ? 'plain' : 'shared'
  expect(visit.loaded.filter((p) => inlineBuild[memory].test(p))).toHaveLength(1)
  expect(visit.loaded.filter((p) => inlineBuild[other].test(p))).toEqual([])
  expect(visit.loaded.filter((p) => p.endsWith('.wasm'))).toEqual([])
}

describe('an app importing ringbus by its package name', () => {
  let inNode: Orders

  it('runs in Node', async () => {
    const { stdout } = await run(process.execPath, ['node.js'], { cwd: app })
    inNode = JSON.parse(stdout) as Orders
    expect(inNode.memory).toBe('shared')
    expect(inNode.seen.map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['1 tea', '2 cake', '3 jam', '4 scones'])
    // two partitions, each read from offset 0 up
    const offsets = new Map<string, number[]>()
    for (const s of inNode.seen) {
      const [partition, offset] = s.split('@')[1].split('/')
      offsets.set(partition, [...(offsets.get(partition) ?? []), Number(offset)].sort())
    }
    for (const list of offsets.values()) expect(list).toEqual(list.map((_, i) => i))
  }, 60_000)

  it('bundled by esbuild, loads in Chromium with no configuration', async () => {
    const result = await esbuild({
      entryPoints: ['main.js'], absWorkingDir: app, bundle: true, format: 'esm', splitting: true, platform: 'browser',
      outdir: 'dist/esbuild', entryNames: '[name]', chunkNames: '[name]-[hash]', metafile: true, logLevel: 'silent',
    })
    cpSync(join(app, 'index.html'), join(site, 'esbuild/index.html'))
    // the packed copy was bundled, both builds split off
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs).toContain('node_modules/ringbus/dist/index.js')
    expect(inputs).toContain('node_modules/ringbus/build/ringbus.inline.js')
    expect(inputs).toContain('node_modules/ringbus/build/ringbus.unshared.inline.js')

    expectOrders(await visit('/esbuild/'), 'plain', inNode)
    expectOrders(await visit('/esbuild/?isolated'), 'shared', inNode)
  }, 120_000)

  it('built by Vite, loads in Chromium with no configuration', async () => {
    await viteBuild({ root: app, base: './', configFile: false, logLevel: 'silent', build: { outDir: 'dist/vite', emptyOutDir: true } })
    expectOrders(await visit('/vite/'), 'plain', inNode)
    expectOrders(await visit('/vite/?isolated'), 'shared', inNode)
  }, 120_000)
})
