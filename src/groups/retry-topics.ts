// Non-blocking retries (retryTopics: true): a record that fails goes to a retry topic for its next
// attempt instead of holding its partition while it waits, the pattern used with Kafka's retry
// topics and RabbitMQ's TTL + dead-letter exchange. One retry topic per source topic, group and
// attempt number, so that every record in one has the same delay: the group reads each in order
// and waits only for the record at its head to fall due. Records after a failing one are handled
// before its retries: order within the partition is given up for those records.
import { InvalidArgumentError } from '../errors.js'
import { createDelivered, type Delivered } from '../topic/topic.js'
import type { Headers } from '../types.js'

/** Headers a record carries in a retry topic (all values are strings). */
export const RETRY_HEADERS = {
  topic: 'ringbus.retry.topic',
  partition: 'ringbus.retry.partition',
  offset: 'ringbus.retry.offset',
  timestamp: 'ringbus.retry.timestamp',
  /** The attempt this record is for. */
  attempt: 'ringbus.retry.attempt',
  /** When it falls due (ms of the bus clock). */
  due: 'ringbus.retry.due',
} as const

const RETRY_PREFIX = 'ringbus.retry.'
const GROUP_WORD = /^[a-zA-Z0-9_-]+$/
const RETRY_NAME = /^(.+)\.([a-zA-Z0-9_-]+)\.retry-(\d+)$/

/** A group that retries through topics needs a name that fits in a topic name's word. */
export function checkRetryGroup(group: string): void {
  if (!GROUP_WORD.test(group)) {
    throw new InvalidArgumentError(`retryTopics needs a group name of [a-zA-Z0-9_-] (it is part of the retry topics' names), got ${JSON.stringify(group)}`, { argument: 'group' })
  }
}

export const retryTopic = (source: string, group: string, attempt: number): string => `${source}.${group}.retry-${attempt}`

/** A retry topic of some group, by its name. */
export const isRetryTopic = (name: string): boolean => RETRY_NAME.test(name)

/** The source topic and attempt of one of `group`'s retry topics; undefined for any other topic. */
export function parseRetryTopic(name: string, group: string): { source: string; attempt: number } | undefined {
  const match = RETRY_NAME.exec(name)
  return match !== null && match[2] === group ? { source: match[1], attempt: Number(match[3]) } : undefined
}

/** The headers of `message` (as the handler saw it) in the retry topic for `attempt`. */
export function retryHeaders(message: Delivered, attempt: number, due: number): Headers {
  return {
    ...message.headers,
    [RETRY_HEADERS.topic]: message.topic,
    [RETRY_HEADERS.partition]: String(message.partition),
    [RETRY_HEADERS.offset]: String(message.offset),
    [RETRY_HEADERS.timestamp]: String(message.timestamp),
    [RETRY_HEADERS.attempt]: String(attempt),
    [RETRY_HEADERS.due]: String(due),
  }
}

/**
 * A record read from a retry topic as the handler sees it: with its original topic, partition,
 * offset, timestamp and headers, and the attempt it is for; and when it falls due.
 */
export function fromRetryRecord(record: Delivered): { message: Delivered; due: number } {
  const h = record.headers
  const headers: Headers = {}
  for (const [name, value] of Object.entries(h)) if (!name.startsWith(RETRY_PREFIX)) headers[name] = value
  const message = createDelivered(String(h[RETRY_HEADERS.topic]), Number(h[RETRY_HEADERS.partition]), Number(h[RETRY_HEADERS.offset]),
    Number(h[RETRY_HEADERS.timestamp]), record.key, Object.keys(headers).length === 0 ? undefined : headers, record.value)
  message.attempt = Number(h[RETRY_HEADERS.attempt])
  return { message, due: Number(h[RETRY_HEADERS.due]) }
}
