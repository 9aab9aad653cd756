// serveInspector over HTTP, and its page in Chromium against a bus with known contents: the page
// must show the figures the bus reports. Runs the built package (the page's scripts are the
// compiled ones the server sends).
import { isDeepStrictEqual } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { createBus, type Bus } from '../../dist/index.js'
import { serveInspector, type InspectorServer } from '../../dist/inspector/index.js'
import { until, useChromium } from './helpers.js'
import { FAILURES, populate } from './fixture.js'
import { expected, FIXTURE_BINDINGS, fixtureDeadLetters, shown, type Shown } from './page-reader.js'

const buses: Bus[] = []
const servers: InspectorServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
  for (const bus of buses.splice(0)) await bus.close()
})
async function newBus(): Promise<Bus> {
  const bus = await createBus()
  buses.push(bus)
  return bus
}
async function serve(bus: Bus, options?: Parameters<typeof serveInspector>[1]): Promise<InspectorServer> {
  const server = await serveInspector(bus, options)
  servers.push(server)
  return server
}

describe('serveInspector()', () => {
  it('serves the page, uPlot, the latest snapshot and a stream of snapshots on 127.0.0.1', async () => {
    const bus = await newBus()
    bus.topic('t', { partitions: 2 })
    bus.publish('t', 'x', { partition: 1 })
    const server = await serve(bus, { intervalMs: 50 })
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const page = await fetch(server.url)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('<script type="module" src="page.js">')
    for (const [path, type] of [['page.js', 'text/javascript'], ['render.js', 'text/javascript'], ['uplot.js', 'text/javascript'], ['uplot.css', 'text/css']]) {
      const response = await fetch(new URL(path!, server.url))
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type')).toContain(type)
    }
    expect(await (await fetch(new URL('uplot.js', server.url))).text()).toContain('export { uPlot as default }')
    expect((await fetch(new URL('nothing', server.url))).status).toBe(404)
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405)

    await until(async () => (await fetch(new URL('snapshot', server.url))).status === 200, 'the first snapshot')
    const snap = await (await fetch(new URL('snapshot', server.url))).json()
    expect(snap.topics[0].partitions).toEqual(bus.stats().t!.partitions)

    // the stream: a snapshot at once, then the next ones as the bus changes
    const events = await fetch(new URL('events', server.url))
    expect(events.headers.get('content-type')).toBe('text/event-stream')
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const nextSnapshot = async (): Promise<any> => {
      for (;;) {
        const end = text.indexOf('\n\n')
        if (end >= 0) {
          const event = text.slice(0, end)
          text = text.slice(end + 2)
          expect(event.startsWith('event: snapshot\ndata: ')).toBe(true)
          return JSON.parse(event.slice('event: snapshot\ndata: '.length))
        }
        const { value, done } = await reader.read()
        if (done) throw new Error('the stream ended')
        text += value
      }
    }
    expect((await nextSnapshot()).topics[0].partitions[1].endOffset).toBe(1)
    bus.publish('t', 'y', { partition: 1 })
    for (let s = await nextSnapshot(); s.topics[0].partitions[1].endOffset !== 2; s = await nextSnapshot());
    await reader.cancel()
  })

  it('answers requests to this machine by loopback names only', async () => {
    const server = await serve(await newBus())
    const { port } = new URL(server.url)
    const { request } = await import('node:http')
    const status = (host: string) => new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', headers: { host } }, (response) => { response.resume(); resolve(response.statusCode!) }).on('error', reject).end()
    })
    expect(await status(`localhost:${port}`)).toBe(200)
    expect(await status(`127.0.0.1:${port}`)).toBe(200)
    expect(await status(`evil.example:${port}`)).toBe(403)
  })

  it('stops when the bus closes, and when closed', async () => {
    const bus = await newBus()
    const server = await serve(bus, { intervalMs: 20 })
    const events = await fetch(new URL('events', server.url))
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
    await bus.close()
    let text = ''
    // the stream ends when the server closes it
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value
    expect(text).toContain('event: closed\n')
    await expect(fetch(server.url)).rejects.toThrow()
    await server.close() // again: nothing more to do

    const other = await serve(await newBus())
    await other.close()
    await expect(fetch(other.url)).rejects.toThrow()
  })

  it('refuses bad options and what is not a bus with typed errors', async () => {
    const bus = await newBus()
    for (const [options, argument] of [[{ port: -1 }, 'port'], [{ port: 1.5 }, 'port'], [{ port: 70000 }, 'port'], [{ port: '80' }, 'port'],
      [{ host: '' }, 'host'], [{ host: 7 }, 'host'], [{ intervalMs: 0 }, 'intervalMs'], [{ intervalMs: Number.NaN }, 'intervalMs'], [null, 'options']] as const) {
      await expect(serveInspector(bus, options as never), JSON.stringify(options)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument })
    }
    await expect(serveInspector({} as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'bus' })
  })
})

describe('the served page in Chromium', () => {
  const newPage = useChromium()

  it('shows the figures stats() and queueStats() report, live, and draws the rate charts', async () => {
    const bus = await newBus()
    await populate(bus)
    const server = await serve(bus)
    const page = await newPage()
    await page.goto(server.url)
    await page.waitForSelector('#inspector[data-snapshot-at] tr[data-dead-letter]')

    // a little traffic, until the charts have a few points of it (one snapshot every 500 ms)
    let n = 0
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) bus.publish('orders', { id: 100 + n++, total: 1 }, { key: `user-${n % 7}` })
      bus.send('shop', 'order.placed', { n })
    }, 100)
    try {
      // the first snapshot has no rates yet, so its history has no series for the topic
      const busy = async () => (((await fetch(new URL('snapshot', server.url)).then((r) => r.json())).history.publish.orders ?? []) as number[]).filter((v) => v > 0).length
      await until(async () => (await busy()) >= 8, 'eight points of orders published')
    } finally {
      clearInterval(traffic)
    }
    // the page catches up with the bus, which stands still now
    const want = () => expected(bus.stats(), bus.queueStats())
    const figures = ({ partitions, groups, queues }: Shown) => ({ partitions, groups, queues })
    await until(async () => isDeepStrictEqual(figures(await shown(page)), want()), 'the page to show the bus as it is')
    const got = await shown(page)
    expect(figures(got)).toEqual(want())
    expect(Object.keys(got.partitions)).toHaveLength(3 + 1 + 1 + 1) // orders, payments, jobs, jobs.dlq
    expect(got.groups['billing/orders/0']!.lag + got.groups['billing/orders/1']!.lag + got.groups['billing/orders/2']!.lag).toBe(7 + n)
    expect(got.queues.shipping).toMatchObject({ unacked: 1 })
    expect(got.bindings).toEqual(FIXTURE_BINDINGS)
    expect(got.deadLetters).toEqual(fixtureDeadLetters(FAILURES))
    expect(Object.keys(got.deadLetters)).toHaveLength(bus.stats().jobs!.deadLetters)
    // each chart is a uPlot canvas with a series per topic
    for (const kind of ['publish', 'deliver']) {
      expect(await page.locator(`[data-chart=${kind}] .uplot canvas`).count()).toBe(1)
      expect(await page.locator(`[data-chart=${kind}] .ri-legend > span`).count()).toBe(4)
    }
    expect(await page.textContent('[data-field=status]')).toBe('Live.')
    expect(page.errors).toEqual([])
    // saved on every run where a reviewer can look at it; RINGBUS_SCREENSHOT=1 replaces the
    // README's picture (docs/inspector.png) with it
    const shot = process.env.RINGBUS_SCREENSHOT === '1' ? '../../docs/inspector.png' : '../../.scratch/inspector.png'
    await page.screenshot({ path: new URL(shot, import.meta.url).pathname, fullPage: true })

    await bus.close()
    await page.waitForFunction(() => document.querySelector('[data-field=status]')?.textContent === 'The bus is closed.')
  }, 90_000)
})
