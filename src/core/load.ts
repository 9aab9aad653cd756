// Finds and compiles the core's WebAssembly module once per thread. By default the build comes
// from a generated module holding its bytes (scripts/inline-wasm.mjs), imported by a literal
// relative path: every bundler splits it off and loads only the build in use, Node and workers
// need nothing, and no file is fetched. The `wasm` option overrides it: a URL, the bytes or a
// compiled Module, or a `{ shared, unshared }` pair of them so either memory finds its build.
import { InvalidArgumentError, WasmLoadError } from '../errors.js'

/** One build of the core: where to read it from (a URL or URL string), its bytes, or the compiled module. */
export type WasmBuild = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module
/**
 * The `wasm` option: one build, used whichever memory the bus gets, or both builds, of which the
 * one matching the memory is used (shared memory needs `ringbus/wasm`, a plain one
 * `ringbus/wasm/unshared`).
 */
export type WasmSource = WasmBuild | { shared: WasmBuild; unshared: WasmBuild }

const inline = {
  shared: { file: 'build/ringbus.wasm', load: () => import('../../build/ringbus.inline.js') },
  unshared: { file: 'build/ringbus.unshared.wasm', load: () => import('../../build/ringbus.unshared.inline.js') },
}
/** Compilations by URL (and of the inline builds), so that every bus of a thread shares one. */
const compiled = new Map<string, Promise<WebAssembly.Module>>()

/** The compiled core, shared-memory or plain build; compiled once per thread and URL. */
export async function loadCore(shared: boolean, source?: WasmSource): Promise<WebAssembly.Module> {
  const build = pick(shared, source)
  if (build instanceof WebAssembly.Module) return build
  if (build === undefined) {
    const { file, load } = shared ? inline.shared : inline.unshared
    return once(`inline:${file}`, async () => compileBytes(decodeBase64((await importInline(file, load)).base64), `the inline ${file}`))
  }
  if (typeof build === 'string' || build instanceof URL) {
    const url = toUrl(build)
    return once(url.href, () => compileUrl(url))
  }
  return compileBytes(build instanceof Uint8Array ? build : new Uint8Array(build), 'the wasm bytes given')
}

function isBuild(value: unknown): value is WasmBuild {
  return typeof value === 'string' || value instanceof URL || value instanceof ArrayBuffer || value instanceof Uint8Array || value instanceof WebAssembly.Module
}

/** The build for this memory, checked: undefined for the inline default. */
function pick(shared: boolean, source: WasmSource | undefined): WasmBuild | undefined {
  if (source === undefined || isBuild(source)) return source
  // WebAssembly.Module's type is an empty interface, which the pair satisfies: test the value
  const pair = source as { shared?: unknown; unshared?: unknown } | null
  if (typeof pair === 'object' && pair !== null && isBuild(pair.shared) && isBuild(pair.unshared)) return shared ? pair.shared : pair.unshared
  throw new InvalidArgumentError('wasm must be a URL, a URL string, bytes (ArrayBuffer or Uint8Array), a WebAssembly.Module, or { shared, unshared } of those', { argument: 'wasm' })
}

function toUrl(build: URL | string): URL {
  if (build instanceof URL) return build
  try {
    return new URL(build, import.meta.url)
  } catch (error) {
    throw new InvalidArgumentError(`wasm is not a valid URL: ${JSON.stringify(build)}`, { argument: 'wasm', cause: error })
  }
}

function once(key: string, compile: () => Promise<WebAssembly.Module>): Promise<WebAssembly.Module> {
  let module = compiled.get(key)
  if (!module) {
    module = compile()
    // a failure is not remembered: the next bus tries again
    module.catch(() => compiled.delete(key))
    compiled.set(key, module)
  }
  return module
}

async function importInline(file: string, load: () => Promise<{ base64: string }>): Promise<{ base64: string }> {
  try {
    return await load()
  } catch (error) {
    // a chunk the page could not load, or a checkout where `npm run build:wasm` has not run
    throw new WasmLoadError(`could not import the inline ${file}: ${(error as Error).message}`, { reason: 'read', cause: error })
  }
}

function decodeBase64(base64: string): Uint8Array {
  const text = atob(base64)
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return bytes
}

async function compileUrl(url: URL): Promise<WebAssembly.Module> {
  const body = await read(url)
  if (body instanceof Uint8Array) return compileBytes(body, url)
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(body.clone())
    } catch {
      // a server that sends the wrong MIME type, or not wasm at all: the bytes say which
    }
  }
  return compileBytes(new Uint8Array(await body.arrayBuffer()), url)
}

async function read(url: URL): Promise<Uint8Array | Response> {
  try {
    if (url.protocol === 'file:') {
      // Node 20's fetch cannot read file: URLs; the specifier is a variable so bundlers leave it be
      const fsModule = 'node:fs/promises'
      const fs = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises')
      return new Uint8Array(await fs.readFile(url))
    }
    const response = await fetch(url)
    if (response.ok) return response
    throw new WasmLoadError(`fetching ${url.href} answered ${response.status} ${response.statusText}`.trimEnd(), { reason: 'read', url: url.href, status: response.status })
  } catch (error) {
    if (error instanceof WasmLoadError) throw error
    throw new WasmLoadError(`could not read ${url.href}: ${(error as Error).message}`, { reason: 'read', url: url.href, cause: error })
  }
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d] // '\0asm'

/** Compiles bytes `from` a URL (named in the error's context) or described by a phrase. */
async function compileBytes(bytes: Uint8Array, from: URL | string): Promise<WebAssembly.Module> {
  const [what, context] = from instanceof URL ? [from.href, { url: from.href }] : [from, {}]
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) {
    const html = /^\s*</.test(new TextDecoder().decode(bytes.subarray(0, 64)))
    throw new WasmLoadError(`${what} is not WebAssembly (it does not start with '\\0asm'${html ? '; it looks like HTML, a page served in place of the file' : ''})`, { reason: 'not-wasm', ...context })
  }
  try {
    return await WebAssembly.compile(bytes as BufferSource)
  } catch (error) {
    throw new WasmLoadError(`${what} does not compile: ${(error as Error).message}`, { reason: 'compile', ...context, cause: error })
  }
}
