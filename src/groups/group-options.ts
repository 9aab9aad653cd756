// The options of a consumer-group member, checked once and filled in with Kafka-like defaults,
// and the retry delay they imply. Plain data, so that the copying transport can send them.
import { InvalidArgumentError } from '../errors.js'
import { INTERNAL_PREFIX } from '../core/directory.js'
import { validateTopicName } from '../topic/names.js'
import { checkRetryGroup } from './retry-topics.js'
import type { SubscribeOptions } from '../types.js'

export interface GroupOptions {
  group: string
  /** Partitions handled at once by this member (order kept within each). */
  concurrency: number
  /** Attempts in all before a record is dead-lettered (or stops its partition). */
  maxAttempts: number
  initialMs: number
  maxMs: number
  multiplier: number
  jitter: boolean
  /** The dead-letter topic; undefined: `<topic>.dlq`; false: stop the partition and report 'poison'. */
  deadLetter: string | false | undefined
  autoCommit: boolean
  /** How long one attempt may take before it counts as failed (ms of the bus clock). */
  maxPollIntervalMs: number
  /** The assignor's name (a built-in, or a custom one the creating thread was given). */
  assignor: string
  /** Retries go through retry topics instead of holding the partition (non-blocking). */
  retryTopics: boolean
}

const MAX_GROUP_NAME = 200

const positiveInteger = (value: unknown, name: string, fallback: number): number => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || (value as number) < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`, { argument: name })
  return value as number
}

const nonNegative = (value: unknown, name: string, fallback: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${name} must be a finite number >= 0, got ${String(value)}`, { argument: name })
  return value
}

/** Checks the group options of subscribe() (`options.group` is set). */
export function groupOptions(options: SubscribeOptions): GroupOptions {
  const { group, backoff, deadLetter, autoCommit, assignor, retryTopics } = options
  if (typeof group !== 'string' || group.length === 0 || group.length > MAX_GROUP_NAME) {
    throw new InvalidArgumentError(`group must be a non-empty string of at most ${MAX_GROUP_NAME} characters, got ${JSON.stringify(group)}`, { argument: 'group' })
  }
  if (group.startsWith(INTERNAL_PREFIX)) throw new InvalidArgumentError(`group names starting with '${INTERNAL_PREFIX}' are the bus's own`, { argument: 'group' })
  if (backoff !== undefined && (typeof backoff !== 'object' || backoff === null)) throw new InvalidArgumentError('backoff must be an object', { argument: 'backoff' })
  const initialMs = nonNegative(backoff?.initialMs, 'backoff.initialMs', 100)
  const maxMs = nonNegative(backoff?.maxMs, 'backoff.maxMs', 30_000)
  const multiplier = nonNegative(backoff?.multiplier, 'backoff.multiplier', 2)
  if (multiplier < 1) throw new InvalidArgumentError(`backoff.multiplier must be at least 1, got ${multiplier}`, { argument: 'backoff.multiplier' })
  if (backoff?.jitter !== undefined && typeof backoff.jitter !== 'boolean') throw new InvalidArgumentError('backoff.jitter must be a boolean', { argument: 'backoff.jitter' })
  if (deadLetter !== undefined && deadLetter !== false) {
    if (typeof deadLetter !== 'string') throw new InvalidArgumentError(`deadLetter must be a topic name or false, got ${String(deadLetter)}`, { argument: 'deadLetter' })
    validateTopicName(deadLetter)
  }
  if (autoCommit !== undefined && typeof autoCommit !== 'boolean') throw new InvalidArgumentError('autoCommit must be a boolean', { argument: 'autoCommit' })
  if (retryTopics !== undefined && typeof retryTopics !== 'boolean') throw new InvalidArgumentError('retryTopics must be a boolean', { argument: 'retryTopics' })
  if (retryTopics === true) checkRetryGroup(group)
  const assignorName = assignor === undefined ? 'cooperative-sticky' : typeof assignor === 'string' ? assignor : assignor?.name
  if (typeof assignorName !== 'string' || assignorName.length === 0) throw new InvalidArgumentError('assignor must be a name or an object { name, assign }', { argument: 'assignor' })
  return {
    group,
    concurrency: positiveInteger(options.concurrency, 'concurrency', 1),
    maxAttempts: positiveInteger(options.maxAttempts, 'maxAttempts', 3),
    initialMs,
    maxMs,
    multiplier,
    jitter: backoff?.jitter ?? false,
    deadLetter,
    autoCommit: autoCommit ?? true,
    maxPollIntervalMs: positiveInteger(options.maxPollIntervalMs, 'maxPollIntervalMs', 300_000),
    assignor: assignorName,
    retryTopics: retryTopics ?? false,
  }
}

/**
 * How long to wait before attempt `attempt` (2 for the first retry): initialMs, then each retry
 * `multiplier` times longer, capped at maxMs. With jitter, a uniform pick from the upper half of
 * that delay, so that members retrying together spread out but never retry sooner than half.
 */
export function retryDelay(options: GroupOptions, attempt: number, random: () => number = Math.random): number {
  const delay = Math.min(options.maxMs, options.initialMs * options.multiplier ** (attempt - 2))
  return options.jitter ? delay / 2 + random() * (delay / 2) : delay
}
