// bind() and unbind() arguments as users write them, checked: the source exchange, exactly one
// destination (queue, exchange or Kafka-style topic), the pattern, and for headers exchanges the
// x-match mode and the header table the binding matches.
import type { HeadersMatch } from '../core/routes.js'
import { encodeHeaderTable } from '../core/routes.js'
import { InvalidArgumentError } from '../errors.js'
import type { Binding, HeaderValue } from '../types.js'

const MATCHES: readonly HeadersMatch[] = ['all', 'any', 'all-with-x', 'any-with-x']

export interface CheckedBinding {
  exchange: string
  destination: { kind: 'queue' | 'exchange' | 'topic'; name: string }
  pattern: string
  /** Binding arguments (headers exchanges): x-match apart, the rest as the core's header table. */
  args: { match: HeadersMatch; table: Uint8Array } | undefined
}

export function checkBinding(binding: Binding): CheckedBinding {
  if (typeof binding !== 'object' || binding === null) throw new InvalidArgumentError('bind takes { exchange, queue | toExchange | topic, pattern?, arguments? }', { argument: 'binding' })
  const b = binding as { exchange?: unknown; queue?: unknown; toExchange?: unknown; topic?: unknown; pattern?: unknown; arguments?: unknown }
  if (typeof b.exchange !== 'string') throw new InvalidArgumentError('a binding needs the source exchange name', { argument: 'exchange' })
  const given = (['queue', 'toExchange', 'topic'] as const).filter((k) => b[k] !== undefined)
  if (given.length !== 1) {
    throw new InvalidArgumentError(`a binding has exactly one destination (queue, toExchange or topic), got ${given.length === 0 ? 'none' : given.join(' and ')}`, { exchange: b.exchange, argument: 'binding' })
  }
  const key = given[0]
  const name = b[key]
  if (typeof name !== 'string') throw new InvalidArgumentError(`${key} must be a name`, { exchange: b.exchange, argument: key })
  const pattern = b.pattern ?? ''
  if (typeof pattern !== 'string') throw new InvalidArgumentError('pattern must be a string', { exchange: b.exchange, argument: 'pattern' })
  return {
    exchange: b.exchange,
    destination: { kind: key === 'toExchange' ? 'exchange' : key, name },
    pattern,
    args: bindingArguments(b.exchange, b.arguments),
  }
}

/** x-match (RabbitMQ's default 'all') and the other arguments as a header table. */
function bindingArguments(exchange: string, args: unknown): CheckedBinding['args'] {
  if (args === undefined) return undefined
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new InvalidArgumentError('binding arguments must be a plain object', { exchange, argument: 'arguments' })
  const { 'x-match': match = 'all', ...rest } = args as Record<string, HeaderValue>
  if (!MATCHES.includes(match as HeadersMatch)) {
    throw new InvalidArgumentError(`x-match must be one of ${MATCHES.join(', ')}, got ${JSON.stringify(match)}`, { exchange, argument: 'arguments' })
  }
  return { match: match as HeadersMatch, table: encodeHeaderTable(rest) }
}
