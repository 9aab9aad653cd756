// A naive reference model of RabbitMQ routing for the routing tests: every binding matched on
// its own (a recursive topic matcher, a plain headers comparison), exchanges walked breadth
// first with a seen set, alternate exchanges by name, as rabbit_exchange:route does.
import type { ExchangeType, HeadersMatch } from '../../src/core/routes.js'

export type Headers = Record<string, string | number | boolean | null>

/** Whether topic pattern `pattern` matches routing key `key` ('' is zero words; '*' one word, '#' any number). */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern === '' ? [] : pattern.split('.')
  const k = key === '' ? [] : key.split('.')
  const memo = new Map<string, boolean>()
  const go = (i: number, j: number): boolean => {
    const id = `${i},${j}`
    const seen = memo.get(id)
    if (seen !== undefined) return seen
    let r: boolean
    if (i === p.length) r = j === k.length
    else if (p[i] === '#') r = go(i + 1, j) || (j < k.length && go(i, j + 1))
    else r = j < k.length && (p[i] === '*' || p[i] === k[j]) && go(i + 1, j + 1)
    memo.set(id, r)
    return r
  }
  return go(0, 0)
}

const same = (a: unknown, b: unknown): boolean => typeof a === typeof b && (a === b || (typeof a === 'number' && a === 0 && b === 0))

export function headersMatch(match: HeadersMatch | undefined, args: Headers | undefined, headers: Headers | undefined): boolean {
  const mode = match ?? 'all'
  const all = mode === 'all' || mode === 'all-with-x'
  const withX = mode.endsWith('-with-x')
  const h = headers ?? {}
  let any = false
  for (const [k, v] of Object.entries(args ?? {})) {
    if (withX ? k === 'x-match' : k.startsWith('x-')) continue
    const ok = Object.hasOwn(h, k) && (v === null || (h[k] !== null && same(v, h[k])))
    if (all && !ok) return false
    if (ok) any = true
  }
  return all ? true : any
}

export interface ModelBinding { source: number; dest: number; key: string; match?: HeadersMatch; args?: Headers }

export class Model {
  readonly exchanges = new Map<number, { name: string; type: ExchangeType; alternate?: string }>()
  readonly bindings: ModelBinding[] = []

  declare(id: number, name: string, type: ExchangeType, alternate?: string): void {
    this.exchanges.set(id, { name, type, alternate })
  }

  private index(b: ModelBinding): number {
    return this.bindings.findIndex((x) => x.source === b.source && x.dest === b.dest && x.key === b.key && x.match === b.match &&
      JSON.stringify(x.args) === JSON.stringify(b.args))
  }

  bind(b: ModelBinding): boolean {
    if (this.index(b) >= 0) return false
    this.bindings.push(b)
    return true
  }

  unbind(b: ModelBinding): boolean {
    const i = this.index(b)
    if (i < 0) return false
    this.bindings.splice(i, 1)
    return true
  }

  unbindAll(dest: number): number {
    const before = this.bindings.length
    this.bindings.splice(0, before, ...this.bindings.filter((b) => b.dest !== dest))
    return before - this.bindings.length
  }

  /** The sorted destination codes (queues and topics) of a message. */
  route(exchange: number, key: string, headers?: Headers): number[] {
    const out = new Set<number>()
    const seen = new Set<number>([exchange])
    const work = this.exchanges.has(exchange) ? [exchange] : []
    const byName = new Map([...this.exchanges].map(([id, x]) => [x.name, id]))
    while (work.length > 0) {
      const id = work.shift()!
      const x = this.exchanges.get(id)!
      let matched = false
      for (const b of this.bindings) {
        if (b.source !== id) continue
        const hit = x.type === 'fanout' || (x.type === 'direct' && b.key === key) || (x.type === 'topic' && topicMatches(b.key, key)) ||
          (x.type === 'headers' && headersMatch(b.match, b.args, headers))
        if (!hit) continue
        matched = true
        if (b.dest >>> 24 === 2) {
          const to = b.dest & 0xffffff
          if (!seen.has(to)) { seen.add(to); if (this.exchanges.has(to)) work.push(to) }
        } else {
          out.add(b.dest)
        }
      }
      if (!matched && x.alternate !== undefined) {
        const alt = byName.get(x.alternate)
        if (alt !== undefined && !seen.has(alt)) { seen.add(alt); work.push(alt) }
      }
    }
    return [...out].sort((a, b) => a - b)
  }
}
