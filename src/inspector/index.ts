// ringbus/inspector in Node: what browsers get, and serveInspector.
export * from './browser.js'
export { serveInspector, type InspectorServer, type ServeOptions } from './serve.js'
