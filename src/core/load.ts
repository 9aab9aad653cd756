// Finds and compiles the core's WebAssembly module once per thread. One override point, the
// `source` argument, serves Node, browsers and bundlers: a URL, the bytes, or a compiled Module.

export type WasmSource = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module

const builds = {
  shared: new URL('../../build/ringbus.wasm', import.meta.url),
  unshared: new URL('../../build/ringbus.unshared.wasm', import.meta.url),
}
const compiled = new Map<string, Promise<WebAssembly.Module>>()

async function readUrl(url: URL): Promise<Uint8Array | Response> {
  if (url.protocol === 'file:') {
    // Node 20's fetch cannot read file: URLs; the specifier is a variable so bundlers leave it be
    const fsModule = 'node:fs/promises'
    const fs = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises')
    return new Uint8Array(await fs.readFile(url))
  }
  return fetch(url)
}

async function compileFrom(source: URL | string | ArrayBuffer | Uint8Array): Promise<WebAssembly.Module> {
  if (typeof source !== 'string' && !(source instanceof URL)) return WebAssembly.compile(source as BufferSource)
  const body = await readUrl(typeof source === 'string' ? new URL(source, import.meta.url) : source)
  if (body instanceof Uint8Array) return WebAssembly.compile(body as BufferSource)
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(body.clone())
    } catch {
      // servers that send the wrong MIME type: fall back to compiling the bytes
    }
  }
  return WebAssembly.compile(await body.arrayBuffer())
}

/** The compiled core, shared-memory or plain build; compiled once per thread and source. */
export function loadCore(shared: boolean, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source)
  const from = source ?? (shared ? builds.shared : builds.unshared)
  const key = typeof from === 'string' || from instanceof URL ? String(from) : ''
  if (key === '') return compileFrom(from)
  let module = compiled.get(key)
  if (!module) {
    module = compileFrom(from)
    module.catch(() => compiled.delete(key))
    compiled.set(key, module)
  }
  return module
}
