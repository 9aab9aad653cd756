// Where recent routing keys went, per exchange. A message without headers goes wherever the
// routing tables send its key, so until a thread changes a table (the core's route version moves)
// the same key reaches the same queues and topics: the walk through the bindings is made once per
// key instead of once per message. Bounded per exchange, emptied whenever any table changes, and
// left alone for a while by an exchange whose keys rarely come back (keeping them would cost more
// than it saves).
import type { Routes } from '../core/routes.js'
import type { SendResult } from '../types.js'

/** Where a message goes: its destination codes, and send()'s result once every one took it. */
export interface Route {
  readonly codes: Int32Array
  /** Kept for the next message with this key (only then is `result` worth making). */
  readonly kept: boolean
  /** Filled in by the router the first time every destination took a message (frozen). */
  result: SendResult | undefined
}

/** Keys kept per exchange; past that its cache starts again empty. */
const MAX_KEYS = 8192
/** Messages an exchange routes without the cache after filling it with keys that mostly did not come back. */
const BYPASS = 8 * MAX_KEYS

interface ExchangeRoutes {
  readonly id: number
  readonly byKey: Map<string, Route>
  /** Lookups that found their key since the cache was last emptied. */
  hits: number
  /** Messages still to route without the cache. */
  bypass: number
}

export class RouteCache {
  private readonly exchanges = new Map<number, ExchangeRoutes>()
  private version = -1

  constructor(private readonly routes: Routes) {}

  /** The route of a message without headers sent to `exchange` with `key` (shared: its codes are not to be changed). */
  route(exchange: number, key: string): Route {
    // read before routing: a change made meanwhile moves it, so what is stored below is dropped at the next call
    const version = this.routes.version
    if (version !== this.version) {
      for (const e of this.exchanges.values()) this.empty(e)
      this.version = version
    }
    let e = this.last
    if (e === undefined || e.id !== exchange) {
      e = this.exchanges.get(exchange)
      if (e === undefined) this.exchanges.set(exchange, (e = { id: exchange, byKey: new Map(), hits: 0, bypass: 0 }))
      this.last = e
    }
    if (e.bypass > 0) {
      e.bypass--
      return once(this.routes, exchange, key)
    }
    const known = e.byKey.get(key)
    if (known !== undefined) {
      e.hits++
      return known
    }
    if (e.byKey.size >= MAX_KEYS) {
      // full: unless most lookups since it was emptied found their key, do without it for a while
      const worth = e.hits >= e.byKey.size
      this.empty(e)
      if (!worth) {
        e.bypass = BYPASS
        return once(this.routes, exchange, key)
      }
    }
    const route = kept(this.routes, exchange, key)
    e.byKey.set(key, route)
    return route
  }

  /** The exchange asked for last (sends come in runs to one exchange). */
  private last: ExchangeRoutes | undefined


  private empty(e: ExchangeRoutes): void {
    e.byKey.clear()
    e.hits = 0
  }
}

// The route of a message without headers, found by walking the bindings: to keep, or for this
// message only. Two allocation sites on purpose: the routes kept live long and V8 may then place
// what its site makes straight in the old generation, which routes of one message must not share.
function kept(routes: Routes, exchange: number, key: string): Route {
  return { codes: routes.route(exchange, key).slice(), kept: true, result: undefined }
}

function once(routes: Routes, exchange: number, key: string): Route {
  return { codes: routes.route(exchange, key).slice(), kept: false, result: undefined }
}
