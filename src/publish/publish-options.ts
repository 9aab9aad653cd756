// What publish options may be: one check, one set of messages, for every transport (a bus over
// the log and the copying RemoteBus, which must refuse bad input at once, before it crosses the
// port). Encoding them is the publisher's business; this only says whether they are acceptable.
import { checkHeaders, illFormed, wellFormed } from '../codec/codecs.js'
import { InvalidArgumentError } from '../errors.js'
import type { Headers, Key, PublishOptions } from '../types.js'

/** Publish options after the check; `timestamp` filled in. */
export interface CheckedPublish {
  key: Key | undefined
  headers: Headers | undefined
  /** At least one header is set (an empty object travels as no headers). */
  hasHeaders: boolean
  /** The partition asked for, if any; whether the topic has it is the partitioner's to say. */
  partition: number | undefined
  timestamp: number
  /** Idempotent publish: a repeat within the topic's dedup window is not appended again. */
  messageId: string | undefined
}

const uncheckedPublish = (): CheckedPublish => ({ key: undefined, headers: undefined, hasHeaders: false, partition: undefined, timestamp: 0, messageId: undefined })

/**
 * Checks the options of one record published to `topic`. `into` is written and returned: the
 * publisher reuses one per record on its hot path instead of allocating.
 */
export function checkPublishOptions(topic: string, options: PublishOptions | undefined, now: number, into: CheckedPublish = uncheckedPublish()): CheckedPublish {
  into.key = into.headers = into.partition = into.messageId = undefined
  into.hasHeaders = false
  into.timestamp = now
  if (options === undefined) return into
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('publish options must be an object', { topic, argument: 'options' })
  const { key, headers, partition, timestamp, messageId } = options
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId.length === 0 || !wellFormed(messageId))) {
    throw new InvalidArgumentError(`messageId must be a non-empty, well-formed string, got ${typeof messageId === 'string' ? JSON.stringify(messageId) : typeof messageId}`, { topic, argument: 'messageId' })
  }
  if (key !== undefined) {
    if (typeof key === 'string') {
      if (!wellFormed(key)) throw illFormed(topic, 'key')
    } else if (!(key instanceof Uint8Array)) {
      throw new InvalidArgumentError(`key must be a string or Uint8Array, got ${typeof key}`, { topic, argument: 'key' })
    }
  }
  const hasHeaders = headers !== undefined && checkHeaders(topic, headers)
  if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) {
    throw new InvalidArgumentError(`partition must be a non-negative integer, got ${String(partition)}`, { topic, argument: 'partition' })
  }
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp))) {
    throw new InvalidArgumentError(`timestamp must be a finite number of ms, got ${String(timestamp)}`, { topic, argument: 'timestamp' })
  }
  into.key = key
  into.headers = headers
  into.hasHeaders = hasHeaders
  into.partition = partition
  into.timestamp = timestamp ?? now
  into.messageId = messageId
  return into
}
