// What a queue message carries besides its value, and how it is written into the frame that
// holds it in the queue's log: the routing key as the frame's key, the value as msgpack, and
// the AMQP properties (exchange, headers, correlation id, reply-to, ...) as one msgpack map in
// the frame's header area. Any thread reads it back from the log alone.
import { Packr } from 'msgpackr'
import { FAITHFUL_MSGPACK } from '../codec/codecs.js'
import { CodecError, InvalidArgumentError } from '../errors.js'
import type { HeaderValue } from '../types.js'

/**
 * Queue messages are read by whichever thread consumes them, so their msgpack carries no record
 * structures that only the writer's codec knows: plain objects travel as maps (a Map value
 * arrives as a plain object).
 */
const packr = new Packr({ ...FAITHFUL_MSGPACK, useRecords: false, mapsAsObjects: true, structures: undefined })

/** The AMQP properties of a message as the bus keeps them. */
export interface Properties {
  /** The exchange it was last published to ('' for the default exchange). */
  exchange: string
  headers: Record<string, HeaderValue> | undefined
  correlationId?: string
  replyTo?: string
  messageId?: string
  /** The per-message TTL it was sent with, in ms. */
  expirationMs?: number
  /** The priority it was sent with. */
  priority?: number
}

// short keys: they are written with every message
interface Wire { x: string; h?: Record<string, HeaderValue>; c?: string; r?: string; m?: string; e?: number; p?: number }

export function encodeProperties(p: Properties): Uint8Array {
  const wire: Wire = { x: p.exchange }
  if (p.headers !== undefined) wire.h = p.headers
  if (p.correlationId !== undefined) wire.c = p.correlationId
  if (p.replyTo !== undefined) wire.r = p.replyTo
  if (p.messageId !== undefined) wire.m = p.messageId
  if (p.expirationMs !== undefined) wire.e = p.expirationMs
  if (p.priority !== undefined) wire.p = p.priority
  return packr.pack(wire)
}

export function decodeProperties(bytes: Uint8Array): Properties {
  const w = packr.unpack(bytes) as Wire
  return { exchange: w.x, headers: w.h, correlationId: w.c, replyTo: w.r, messageId: w.m, expirationMs: w.e, priority: w.p }
}

export function encodeValue(value: unknown, where: { queue?: string; exchange?: string }): Uint8Array {
  try {
    return packr.pack(value)
  } catch (cause) {
    throw new CodecError(`the message cannot be encoded as msgpack: ${(cause as Error).message}`, { ...where, cause })
  }
}

export const decodeValue = (bytes: Uint8Array): unknown => packr.unpack(bytes)

/** Headers as given to send(): a plain object; its values are encoded with the message. */
export function checkMessageHeaders(headers: unknown, where: { exchange: string }): Record<string, HeaderValue> | undefined {
  if (headers === undefined) return undefined
  const prototype = typeof headers === 'object' && headers !== null ? Object.getPrototypeOf(headers) : undefined
  if (prototype !== Object.prototype && prototype !== null) {
    throw new InvalidArgumentError('headers must be a plain object', { ...where, argument: 'headers' })
  }
  return headers as Record<string, HeaderValue>
}
