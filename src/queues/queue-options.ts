// Queue options as users write them, checked and turned into the config the queue core keeps
// (and compares when a queue is declared again: RabbitMQ refuses inequivalent arguments).
import type { QueueConfig } from '../core/queues.js'
import { InvalidArgumentError } from '../errors.js'
import type { ConsumeQueueOptions, QueueOptions } from '../types.js'

const OVERFLOWS = ['drop-head', 'reject-publish', 'reject-publish-dlx'] as const
const KNOWN = new Set(['maxLength', 'overflow', 'messageTtlMs', 'expiresMs', 'maxPriority', 'deliveryLimit', 'deadLetterExchange', 'deadLetterRoutingKey'])

const fail = (queue: string, argument: string, message: string) => new InvalidArgumentError(`queue ${JSON.stringify(queue)}: ${message}`, { queue, argument })

function count(queue: string, options: QueueOptions, name: 'maxLength' | 'messageTtlMs' | 'expiresMs' | 'deliveryLimit', min: number): number | undefined {
  const v = options[name]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw fail(queue, name, `${name} must be an integer of at least ${min}, got ${String(v)}`)
  return v
}

export function checkQueueName(queue: unknown): string {
  if (typeof queue !== 'string') throw new InvalidArgumentError(`a queue name must be a string, got ${typeof queue}`, { argument: 'queue' })
  return queue
}

export function checkQueueOptions(queue: string, options: QueueOptions | undefined): QueueConfig {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null) throw fail(queue, 'options', 'options must be an object')
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw fail(queue, key, `unknown option ${JSON.stringify(key)}`)
  const overflow = options.overflow ?? 'drop-head'
  if (!OVERFLOWS.includes(overflow)) throw fail(queue, 'overflow', `overflow must be one of ${OVERFLOWS.join(', ')}, got ${String(overflow)}`)
  const maxPriority = options.maxPriority ?? 0
  if (!Number.isInteger(maxPriority) || maxPriority < 0 || maxPriority > 255) throw fail(queue, 'maxPriority', `maxPriority must be an integer from 0 (no priorities) to 255, got ${String(maxPriority)}`)
  const { deadLetterExchange, deadLetterRoutingKey } = options
  if (deadLetterExchange !== undefined && typeof deadLetterExchange !== 'string') throw fail(queue, 'deadLetterExchange', 'deadLetterExchange must be a string')
  if (deadLetterRoutingKey !== undefined && typeof deadLetterRoutingKey !== 'string') throw fail(queue, 'deadLetterRoutingKey', 'deadLetterRoutingKey must be a string')
  if (deadLetterRoutingKey !== undefined && deadLetterExchange === undefined) {
    throw fail(queue, 'deadLetterRoutingKey', 'deadLetterRoutingKey needs a deadLetterExchange')
  }
  return {
    maxLength: count(queue, options, 'maxLength', 0),
    overflow,
    messageTtlMs: count(queue, options, 'messageTtlMs', 0),
    expiresMs: count(queue, options, 'expiresMs', 1),
    maxPriority,
    deliveryLimit: count(queue, options, 'deliveryLimit', 1),
    deadLetter: deadLetterExchange !== undefined,
    deadLetterExchange,
    deadLetterRoutingKey,
  }
}

/** consumeQueue()'s handler and options, checked. */
export function checkConsumeOptions(queue: string, handler: unknown, options: ConsumeQueueOptions | undefined): { prefetch: number; noAck: boolean } {
  const prefetch = options?.prefetch ?? 0
  if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 65535) {
    throw new InvalidArgumentError(`prefetch must be an integer from 0 to 65535, got ${String(prefetch)}`, { queue, argument: 'prefetch' })
  }
  if (typeof handler !== 'function') throw new InvalidArgumentError('consumeQueue needs a handler function', { queue, argument: 'handler' })
  return { prefetch, noAck: options?.noAck === true }
}
