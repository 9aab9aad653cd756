// Exchanges and their bindings for the inspector. Neither stats() nor queueStats() lists them,
// so this reads the routing table of the bus's core directly (the creating thread's bus, or a
// worker's on shared memory): an inspector-only path, not part of the public API.
import type { LogCore } from '../core/log.js'
import type { BindingInfo } from '../core/routes.js'
import { ROUTE_DEST_ID_MASK } from '../core/abi.js'
import { UnknownExchangeError } from '../errors.js'
import type { ExchangeType } from '../types.js'

export interface BindingView {
  /** What the binding leads to: a queue, a topic or another exchange, by name. */
  kind: 'queue' | 'topic' | 'exchange'
  to: string
  /** The binding key (a pattern on topic exchanges; kept but not matched by fanout and headers). */
  key: string
  /** A headers binding's x-match. */
  match?: string
}

export interface ExchangeView {
  name: string
  type: ExchangeType
  alternate?: string
  bindings: BindingView[]
}

/** Every declared exchange with its bindings, by name. */
export function exchangeViews(core: LogCore): ExchangeView[] {
  const routes = core.routes
  const { exchanges } = routes.count()
  const out: ExchangeView[] = []
  // ids are handed out in order and never reused; a thread that died while declaring skipped one
  for (let id = 0; out.length < exchanges && id <= ROUTE_DEST_ID_MASK; id++) {
    let name: string
    try {
      name = routes.name(id)
    } catch (error) {
      if (error instanceof UnknownExchangeError) continue
      throw error
    }
    const info = routes.find(name)!
    const view: ExchangeView = { name, type: info.type, bindings: routes.bindings(id).map((b) => bindingView(core, b)) }
    if (info.alternate !== undefined) view.alternate = info.alternate
    out.push(view)
  }
  return out
}

function bindingView(core: LogCore, binding: BindingInfo): BindingView {
  const { kind, id } = binding.destination
  const to = kind === 'queue' ? core.queues.name(id) : kind === 'topic' ? core.topic(id).name : core.routes.name(id)
  const view: BindingView = { kind, to, key: binding.key }
  if (binding.match !== undefined) view.match = binding.match
  return view
}
