// Dead letters: a record that failed every attempt goes to a dead-letter topic with its key,
// value and headers, plus headers that say where it came from and why it failed, so that it can
// be inspected and redriven (republished to its source) later.
import type { Delivered } from '../topic/topic.js'
import type { Headers } from '../types.js'

/** Header names a dead letter carries (all values are strings). */
export const DLQ_HEADERS = {
  /** The topic the record was read from. */
  topic: 'ringbus.dlq.topic',
  partition: 'ringbus.dlq.partition',
  offset: 'ringbus.dlq.offset',
  /** The record's own timestamp (ms). */
  timestamp: 'ringbus.dlq.timestamp',
  group: 'ringbus.dlq.group',
  /** Attempts made before it was dead-lettered. */
  attempts: 'ringbus.dlq.attempts',
  /** The last attempt's error message. */
  error: 'ringbus.dlq.error',
  /** When it was dead-lettered (ms of the bus clock). */
  time: 'ringbus.dlq.time',
} as const

const MAX_REASON = 1000

/** The default dead-letter topic of a topic. */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`

/** The headers of the dead letter of `message` (its own headers first, then the DLQ ones). */
export function deadLetterHeaders(message: Delivered, group: string, attempts: number, error: unknown, now: number): Headers {
  // the message as a header must be well-formed text of bounded length
  const text = error instanceof Error ? error.message : String(error)
  const reason = (text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}...` : text).replace(/[\uD800-\uDFFF]/gu, '\uFFFD')
  return {
    ...message.headers,
    [DLQ_HEADERS.topic]: message.topic,
    [DLQ_HEADERS.partition]: String(message.partition),
    [DLQ_HEADERS.offset]: String(message.offset),
    [DLQ_HEADERS.timestamp]: String(message.timestamp),
    [DLQ_HEADERS.group]: group,
    [DLQ_HEADERS.attempts]: String(attempts),
    [DLQ_HEADERS.error]: reason,
    [DLQ_HEADERS.time]: String(now),
  }
}
