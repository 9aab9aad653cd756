// The inspector as a small local web server (Node only): the page, its scripts and uPlot's, the
// latest snapshot as JSON, and a server-sent event stream of snapshots. It binds 127.0.0.1 unless
// told otherwise: what it shows (record values of dead letters among them) is the app's own.
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { InvalidArgumentError } from '../errors.js'
import { intervalOption, startPolling } from './poll.js'
import type { InspectableBus, InspectorSnapshot } from './snapshot.js'

export interface ServeOptions {
  /** Port to listen on (default 0: any free port; the url says which). */
  port?: number
  /** Address to bind (default '127.0.0.1': reachable from this machine only). */
  host?: string
  /** How often to take a snapshot, in ms (default 500). */
  intervalMs?: number
}

export interface InspectorServer {
  /** The page's address, e.g. http://127.0.0.1:4000/ */
  readonly url: string
  /** Stops the snapshots and the server; resolves once it is closed. */
  close(): Promise<void>
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ringbus inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="uplot.css">
<script type="importmap">{"imports":{"uplot":"./uplot.js"}}</script>
<script type="module" src="page.js"></script>
</head>
<body style="margin:0"><div id="inspector"></div></body>
</html>
`

const require = createRequire(import.meta.url)
/** What the server sends besides the page: the compiled page scripts next to this file, and uPlot. */
const FILES: Record<string, { file: () => URL | string; type: string }> = {
  '/page.js': { file: () => new URL('./page.js', import.meta.url), type: 'text/javascript' },
  '/render.js': { file: () => new URL('./render.js', import.meta.url), type: 'text/javascript' },
  '/uplot.js': { file: () => require.resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript' },
  '/uplot.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
}
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/**
 * Serves the inspector of `bus` over HTTP and keeps it live; resolves once it listens. Closing
 * the bus (or calling close) stops it.
 * @example
 * const inspector = await serveInspector(bus, { port: 4000 })
 * console.log(`inspector at ${inspector.url}`)
 */
export async function serveInspector(bus: InspectableBus, options: ServeOptions = {}): Promise<InspectorServer> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('serveInspector options must be an object', { argument: 'options' })
  const { port = 0, host = '127.0.0.1' } = options
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`port must be an integer from 0 to 65535, got ${String(port)}`, { argument: 'port' })
  if (typeof host !== 'string' || host === '') throw new InvalidArgumentError(`host must be an address or host name, got ${String(host)}`, { argument: 'host' })
  const intervalMs = intervalOption(options.intervalMs)

  const streams = new Set<ServerResponse>()
  const send = (event: string, data: string): void => {
    for (const stream of streams) stream.write(`event: ${event}\ndata: ${data}\n\n`)
  }
  let json: string | undefined
  const poller = startPolling(bus, intervalMs, {
    snapshot: (s: InspectorSnapshot) => send('snapshot', (json = JSON.stringify(s))),
    closed: () => {
      send('closed', '')
      void close()
    },
    failed: (error) => send('failed', error instanceof Error ? error.message : String(error)),
  })

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      response.end(error instanceof Error ? error.message : String(error))
    })
  })

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // a page elsewhere must not reach a loopback inspector through a name that resolves here
    if (LOOPBACK.has(host) && !LOOPBACK.has(hostName(request.headers.host))) {
      response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('the inspector answers requests to this machine only')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const path = new URL(request.url ?? '/', 'http://inspector').pathname
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE)
    } else if (path === '/snapshot') {
      if (json === undefined) response.writeHead(503, { 'retry-after': '1' }).end()
      else response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(json)
    } else if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
      streams.add(response)
      response.on('close', () => streams.delete(response))
      if (json !== undefined) response.write(`event: snapshot\ndata: ${json}\n\n`)
    } else if (Object.hasOwn(FILES, path)) {
      const asset = FILES[path]!
      response.writeHead(200, { 'content-type': `${asset.type}; charset=utf-8`, 'cache-control': 'no-cache' }).end(await readFile(asset.file()))
    } else {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found')
    }
  }

  let closing: Promise<void> | undefined
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      poller.stop()
      for (const stream of streams) stream.end()
      streams.clear()
      server.close(() => resolve())
      server.closeAllConnections()
    })
    return closing
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    poller.stop()
    throw error
  }
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`, close }
}

/** The host name of a Host header, without its port. */
function hostName(header: string | undefined): string {
  if (header === undefined) return ''
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d+$/, '')
}
