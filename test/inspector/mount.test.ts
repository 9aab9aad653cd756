// mountInspector in a browser app: a page bundled by esbuild that makes a bus, fills it and mounts
// the inspector, opened in Chromium; the figures drawn must be the ones the bus reports.
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { until, useChromium } from './helpers.js'
import { FAILURES } from './fixture.js'
import type { Inspected } from './mount-page.js'
import { expected, FIXTURE_BINDINGS, fixtureDeadLetters, shown, type Shown } from './page-reader.js'

declare const inspected: Inspected

let server: Server
let url: string

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL('./mount-page.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false,
  })
  const app = bundle.outputFiles[0]!.contents
  const wasm = await readFile(new URL('../../build/ringbus.unshared.wasm', import.meta.url))
  const html = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="app.js"></script></head><body><div id="app"></div></body></html>'
  server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(html)
    else if (request.url === '/app.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(app)
    else if (request.url === '/ringbus.unshared.wasm') response.writeHead(200, { 'content-type': 'application/wasm' }).end(wasm)
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())))

describe('mountInspector() in Chromium', () => {
  const newPage = useChromium()

  it('draws the figures of the page\'s bus, live, and goes when unmounted', async () => {
    const page = await newPage()
    await page.goto(url)
    await page.waitForSelector('#app[data-snapshot-at] tr[data-dead-letter]')
    const figures = ({ partitions, groups, queues }: Shown) => ({ partitions, groups, queues })
    const want = async () => {
      const { stats, queueStats } = await page.evaluate(() => inspected.figures())
      return expected(stats, queueStats)
    }
    expect(figures(await shown(page))).toEqual(await want())
    const got = await shown(page)
    expect(got.bindings).toEqual(FIXTURE_BINDINGS)
    expect(got.deadLetters).toEqual(fixtureDeadLetters(FAILURES))
    expect(await page.locator('[data-chart=publish] .uplot canvas').count()).toBe(1)

    // live: what the page's bus does next shows up
    await page.evaluate(() => inspected.publish(3))
    await until(async () => (await shown(page)).partitions['payments/0']!.endOffset === 5 + 3, 'the new records to show')
    expect(figures(await shown(page))).toEqual(await want())

    expect(await page.evaluate(() => (['bus', 'element', 'options', 'intervalMs'] as const).map((what) => inspected.refusal(what)))).toEqual([
      { name: 'InvalidArgumentError', argument: 'bus' },
      { name: 'InvalidArgumentError', argument: 'element' },
      { name: 'InvalidArgumentError', argument: 'options' },
      { name: 'InvalidArgumentError', argument: 'intervalMs' },
    ])

    await page.evaluate(() => inspected.close())
    await page.waitForFunction(() => document.querySelector('#app [data-field=status]')?.textContent === 'The bus is closed.')
    await page.evaluate(() => inspected.unmount())
    expect(await page.evaluate(() => ({ children: document.getElementById('app')!.childElementCount, body: document.body.childElementCount }))).toEqual({ children: 0, body: 1 })
    await page.evaluate(() => inspected.unmount()) // again: nothing to do
    expect(page.errors).toEqual([])
  }, 90_000)
})
