// Dead-lettering as RabbitMQ does it: the x-death history the bus keeps in a message's headers
// (newest first, one entry per queue and reason, with a count), the x-first-death-* and
// x-last-death-* headers, and the rule that drops a dead letter going round a cycle of queues
// with no rejection in it.
import type { DeadReason } from '../core/queues.js'
import type { HeaderValue } from '../types.js'

/** One entry of the x-death header. */
export interface DeathEntry {
  queue: string
  reason: DeadReason
  count: number
  /** The exchange the message had been published to when it died. */
  exchange: string
  /** The routing keys it had been published with. */
  'routing-keys': string[]
  /** When it first died this way, by the bus clock (ms). */
  time: number
  /** The per-message TTL it had, when it expired with one. */
  'original-expiration'?: string
}

export interface Death {
  queue: string
  reason: DeadReason
  exchange: string
  routingKey: string
  time: number
  expirationMs?: number
}

const isEntry = (e: unknown): e is DeathEntry => typeof e === 'object' && e !== null && typeof (e as DeathEntry).queue === 'string' && typeof (e as DeathEntry).reason === 'string'

/**
 * The headers of the dead letter: the (queue, reason) entry counted up and moved to the front, or
 * a new one; x-first-death-* set once, x-last-death-* every time.
 */
export function recordDeath(headers: Record<string, HeaderValue> | undefined, death: Death): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = { ...headers }
  const before = Array.isArray(out['x-death']) ? (out['x-death'] as unknown[]).filter(isEntry) : []
  const at = before.findIndex((e) => e.queue === death.queue && e.reason === death.reason)
  let entry: DeathEntry
  if (at >= 0) {
    entry = { ...before[at], count: (typeof before[at].count === 'number' ? before[at].count : 0) + 1 }
    before.splice(at, 1)
  } else {
    entry = { count: 1, exchange: death.exchange, queue: death.queue, reason: death.reason, 'routing-keys': [death.routingKey], time: death.time }
    if (death.expirationMs !== undefined) entry['original-expiration'] = String(death.expirationMs)
  }
  out['x-death'] = [entry, ...before]
  if (out['x-first-death-queue'] === undefined) {
    out['x-first-death-exchange'] = death.exchange
    out['x-first-death-queue'] = death.queue
    out['x-first-death-reason'] = death.reason
  }
  out['x-last-death-exchange'] = death.exchange
  out['x-last-death-queue'] = death.queue
  out['x-last-death-reason'] = death.reason
  return out
}

/**
 * Whether delivering a dead letter (with its new x-death) to `queue` would close a cycle with no
 * rejection in it: the history back to the queue's last death there is all automatic (expired,
 * maxlen, delivery_limit). RabbitMQ drops such a copy.
 */
export function isAutomaticCycle(headers: Record<string, HeaderValue>, queue: string): boolean {
  const deaths = Array.isArray(headers['x-death']) ? (headers['x-death'] as unknown[]).filter(isEntry) : []
  const at = deaths.findIndex((e) => e.queue === queue)
  if (at < 0) return false
  return deaths.slice(0, at + 1).every((e) => e.reason !== 'rejected')
}
