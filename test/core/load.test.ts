// loadCore: the inline builds by default, and every override of the `wasm` option (a URL read
// from disk or over HTTP, bytes, a compiled Module, a { shared, unshared } pair), with a typed
// WasmLoadError for a URL that cannot be read or does not hold the core, and for bytes that are
// not (valid) WebAssembly.
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadCore } from '../../src/core/load.js'
import { createBus, errors } from '../../src/index.js'

const sharedFile = new URL('../../build/ringbus.wasm', import.meta.url)
const unsharedFile = new URL('../../build/ringbus.unshared.wasm', import.meta.url)
const sharedBytes = new Uint8Array(readFileSync(sharedFile))
const unsharedBytes = new Uint8Array(readFileSync(unsharedFile))

/** Which build a module is: only the shared one links to a shared memory, only the plain one to a plain memory. */
function buildOf(module: WebAssembly.Module): 'shared' | 'unshared' {
  const links = (shared: boolean) => {
    try {
      new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared } as WebAssembly.MemoryDescriptor) } })
      return true
    } catch (error) {
      expect(error).toBeInstanceOf(WebAssembly.LinkError)
      return false
    }
  }
  const [shared, unshared] = [links(true), links(false)]
  expect(shared).not.toBe(unshared)
  return shared ? 'shared' : 'unshared'
}

async function loadError(promise: Promise<unknown>): Promise<errors.WasmLoadError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(errors.WasmLoadError)
  return error as errors.WasmLoadError
}

describe('the inline builds (the default)', () => {
  it('loads the build for each memory, with no file and no fetch, once per thread', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    try {
      const shared = await loadCore(true)
      const unshared = await loadCore(false)
      expect(buildOf(shared)).toBe('shared')
      expect(buildOf(unshared)).toBe('unshared')
      expect(await loadCore(true)).toBe(shared)
      expect(await loadCore(false)).toBe(unshared)
      expect(fetchSpy).not.toHaveBeenCalled()
    } finally {
      fetchSpy.mockRestore()
    }
  })

  it('carries the same bytes as build/*.wasm', async () => {
    for (const [name, file] of [['ringbus.inline', sharedBytes], ['ringbus.unshared.inline', unsharedBytes]] as const) {
      const { base64 } = (await import(`../../build/${name}.js`)) as { base64: string }
      expect(new Uint8Array(Buffer.from(base64, 'base64'))).toEqual(file)
    }
  })
})

describe('a URL', () => {
  let server: Server
  let base: string
  const hits = new Map<string, number>()

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/'
      const n = (hits.get(path) ?? 0) + 1
      hits.set(path, n)
      if (path === '/ringbus.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(sharedBytes)
      else if (path === '/wrong-type.wasm') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(unsharedBytes)
      else if (path === '/spa/ringbus.wasm') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>')
      else if (path === '/later.wasm' && n > 1) res.writeHead(200, { 'content-type': 'application/wasm' }).end(unsharedBytes)
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('is fetched and compiled once, as a URL or a string, whatever MIME type the server sends', async () => {
    const module = await loadCore(true, new URL(`${base}/ringbus.wasm`))
    expect(buildOf(module)).toBe('shared')
    expect(await loadCore(true, `${base}/ringbus.wasm`)).toBe(module)
    expect(hits.get('/ringbus.wasm')).toBe(1)
    expect(buildOf(await loadCore(false, `${base}/wrong-type.wasm`))).toBe('unshared')
  })

  it('answering an error status rejects with a WasmLoadError carrying url and status, not a CompileError', async () => {
    const error = await loadError(loadCore(false, `${base}/build/ringbus.wasm`))
    expect(error).toMatchObject({ reason: 'read', url: `${base}/build/ringbus.wasm`, status: 404 })
    expect(error.message).toContain('404')
  })

  it('answering a page instead of the file rejects with a not-wasm WasmLoadError that says so', async () => {
    const error = await loadError(loadCore(false, `${base}/spa/ringbus.wasm`))
    expect(error).toMatchObject({ reason: 'not-wasm', url: `${base}/spa/ringbus.wasm` })
    expect(error.message).toMatch(/not WebAssembly.*HTML/)
  })

  it('that failed is tried again by the next bus', async () => {
    await loadError(loadCore(false, `${base}/later.wasm`))
    expect(buildOf(await loadCore(false, `${base}/later.wasm`))).toBe('unshared')
    expect(hits.get('/later.wasm')).toBe(2)
  })

  it('that cannot be reached, or a file that is not there, rejects with a WasmLoadError with the cause', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/ringbus.wasm`
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const unreachable = await loadError(loadCore(false, url))
    expect(unreachable).toMatchObject({ reason: 'read', url })
    expect(unreachable.status).toBeUndefined()
    expect(unreachable.cause).toBeInstanceOf(Error)

    const missing = new URL('../../build/missing.wasm', import.meta.url)
    const error = await loadError(loadCore(false, missing))
    expect(error).toMatchObject({ reason: 'read', url: missing.href })
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT')
  })

  it('on disk (file:) is read without fetch', async () => {
    expect(buildOf(await loadCore(true, sharedFile))).toBe('shared')
  })
})

describe('bytes and modules', () => {
  it('compiles bytes (Uint8Array or ArrayBuffer) and passes a compiled Module through', async () => {
    expect(buildOf(await loadCore(false, unsharedBytes))).toBe('unshared')
    expect(buildOf(await loadCore(true, sharedBytes.slice().buffer))).toBe('shared')
    const module = new WebAssembly.Module(unsharedBytes)
    expect(await loadCore(false, module)).toBe(module)
  })

  it('that are not WebAssembly reject with a not-wasm WasmLoadError', async () => {
    const error = await loadError(loadCore(false, new TextEncoder().encode('console.log(1)')))
    expect(error).toMatchObject({ reason: 'not-wasm' })
    expect(error.url).toBeUndefined()
    expect(error.message).not.toContain('HTML')
  })

  it('that start like WebAssembly but do not compile reject with a compile WasmLoadError with the CompileError as cause', async () => {
    const broken = unsharedBytes.slice(0, 100)
    const error = await loadError(loadCore(false, broken))
    expect(error).toMatchObject({ reason: 'compile' })
    expect(error.cause).toBeInstanceOf(WebAssembly.CompileError)
  })
})

describe('the wasm option', () => {
  const pair = { shared: sharedFile, unshared: unsharedBytes }

  it('as a { shared, unshared } pair gives each memory its build', async () => {
    expect(buildOf(await loadCore(true, pair))).toBe('shared')
    expect(buildOf(await loadCore(false, pair))).toBe('unshared')
    for (const shared of [true, false]) {
      const bus = await createBus<{ t: { n: number } }>({ shared, wasm: pair })
      const seen: number[] = []
      bus.on('t', (v) => { seen.push(v.n) })
      bus.publish('t', { n: 1 })
      await bus.idle()
      expect(seen).toEqual([1])
      expect(bus.handle().kind).toBe(shared ? 'ringbus/shared' : 'ringbus/copy')
      await bus.close()
    }
  })

  it('as a pair keeps the fallback to a plain memory where shared memory is unavailable', async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined)
    try {
      const bus = await createBus({ shared: true, wasm: pair })
      expect(bus.handle().kind).toBe('ringbus/copy')
      await bus.close()
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('as a single build for the other kind of memory is refused with a memory WasmLoadError, not a LinkError', async () => {
    for (const [shared, wasm] of [[false, sharedBytes], [true, unsharedBytes]] as const) {
      const error = await createBus({ shared, wasm }).then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(errors.WasmLoadError)
      expect(error).toMatchObject({ reason: 'memory', argument: 'wasm' })
      expect((error as Error).message).toContain(shared ? 'shared memory' : 'plain memory')
      expect((error as Error).cause).toBeInstanceOf(WebAssembly.LinkError)
    }
  })

  it.each([
    ['a number', 42],
    ['a pair without its unshared build', { shared: sharedFile }],
    ['a pair with a build of the wrong type', { shared: sharedFile, unshared: 7 }],
    ['an invalid URL string', 'http://['],
  ])('as %s is refused with an InvalidArgumentError naming it', async (_, wasm) => {
    const error = await createBus({ wasm: wasm as never }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(errors.InvalidArgumentError)
    expect(error).toMatchObject({ argument: 'wasm' })
  })
})
