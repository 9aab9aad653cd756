// What a queue message carries besides its value, and how it is written into the frame that
// holds it in the queue's log: the routing key as the frame's key, the value as msgpack, and
// the AMQP properties in the frame's header area (a flags byte, the exchange, the properties
// present, and the headers as msgpack). Any thread reads it back from the log alone.
import { Packr } from 'msgpackr'
import { FAITHFUL_MSGPACK, msgpackRangeCodec, type EncodedRange, type RangeCodec } from '../codec/codecs.js'
import { sharedMsgpackCodec } from '../codec/shared-structures.js'
import { INTERNAL_PREFIX } from '../core/directory.js'
import type { LogCore } from '../core/log.js'
import { CodecError, InvalidArgumentError } from '../errors.js'
import type { HeaderValue } from '../types.js'

/**
 * Headers are read by whichever thread consumes the message, so their msgpack carries no record
 * structures that only the writer's codec knows: plain objects travel as maps.
 */
const packr = new Packr({ ...FAITHFUL_MSGPACK, useRecords: false, mapsAsObjects: true, structures: undefined })

/**
 * The codec of queue values: msgpack as topics have it (Maps, typed arrays, class instances
 * refused), with record structures; on a shared bus the structures live in the log (one internal
 * topic for every queue), so that any thread decodes what any thread sent.
 */
export function queueValueCodec(core: LogCore): RangeCodec {
  if (!core.shared) return msgpackRangeCodec()
  const index = core.declareTopic(`${INTERNAL_PREFIX}queues`, 1, { maxBytes: 0, maxAgeMs: 0, reject: false }, 0)
  return sharedMsgpackCodec(core, index)
}
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

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

// the flags byte: which properties follow the exchange, in this order
const HEADERS = 1
const CORRELATION_ID = 2
const REPLY_TO = 4
const MESSAGE_ID = 8
const EXPIRATION = 16
const PRIORITY = 32

const STRINGS = [[CORRELATION_ID, 'correlationId'], [REPLY_TO, 'replyTo'], [MESSAGE_ID, 'messageId']] as const

/** The properties of a message with none but its exchange, by exchange: most messages. */
const bare = new Map<string, Uint8Array>()
const bareProperties = new Map<string, Properties>()
/** The last of them asked for, and its bytes: sends come in runs to one exchange. */
let lastBare: Properties = Object.freeze({ exchange: '', headers: undefined })
let lastBareBytes: Uint8Array | undefined

/**
 * The properties of a message sent to `exchange` with these options: for most messages (no
 * headers, no other property) one frozen object per exchange, shared, instead of one each.
 */
export function sendProperties(exchange: string, headers: Record<string, HeaderValue> | undefined,
  o: { correlationId?: string; replyTo?: string; messageId?: string; expirationMs?: number; priority?: number }): Properties {
  if (headers === undefined && o.correlationId === undefined && o.replyTo === undefined && o.messageId === undefined && o.expirationMs === undefined &&
    o.priority === undefined) {
    if (exchange === lastBare.exchange) return lastBare
    let p = bareProperties.get(exchange)
    if (p === undefined) {
      p = Object.freeze({ exchange, headers: undefined })
      if (bareProperties.size < 256) bareProperties.set(exchange, p)
    }
    lastBareBytes = undefined
    return (lastBare = p)
  }
  return { exchange, headers, correlationId: o.correlationId, replyTo: o.replyTo, messageId: o.messageId, expirationMs: o.expirationMs, priority: o.priority }
}

export function encodeProperties(p: Properties): Uint8Array {
  if (p.headers === undefined && p.correlationId === undefined && p.replyTo === undefined && p.messageId === undefined && p.expirationMs === undefined &&
    p.priority === undefined) {
    if (p === lastBare && lastBareBytes !== undefined) return lastBareBytes
    let bytes = bare.get(p.exchange)
    if (bytes === undefined) {
      const exchange = textEncoder.encode(p.exchange)
      bytes = new Uint8Array(2 + exchange.length)
      bytes[1] = exchange.length
      bytes.set(exchange, 2)
      if (bare.size < 256) bare.set(p.exchange, bytes)
    }
    if (p === lastBare) lastBareBytes = bytes
    return bytes
  }
  const exchange = textEncoder.encode(p.exchange)
  const strings = STRINGS.map(([, name]) => (p[name] === undefined ? undefined : textEncoder.encode(p[name])))
  const headers = p.headers === undefined ? undefined : packr.pack(p.headers)
  let flags = 0
  let length = 2 + exchange.length
  strings.forEach((bytes, i) => {
    if (bytes === undefined) return
    if (bytes.length > 0xffff) throw new InvalidArgumentError(`${STRINGS[i][1]} takes at most 65535 UTF-8 bytes`, { exchange: p.exchange, argument: STRINGS[i][1] })
    flags |= STRINGS[i][0]
    length += 2 + bytes.length
  })
  if (p.expirationMs !== undefined) { flags |= EXPIRATION; length += 8 }
  if (p.priority !== undefined) { flags |= PRIORITY; length += 1 }
  if (headers !== undefined) { flags |= HEADERS; length += headers.length }
  const out = new Uint8Array(length)
  out[0] = flags
  out[1] = exchange.length
  out.set(exchange, 2)
  let at = 2 + exchange.length
  for (const bytes of strings) {
    if (bytes === undefined) continue
    out[at] = bytes.length >>> 8
    out[at + 1] = bytes.length & 0xff
    out.set(bytes, at + 2)
    at += 2 + bytes.length
  }
  if (p.expirationMs !== undefined) {
    new DataView(out.buffer).setFloat64(at, p.expirationMs, true)
    at += 8
  }
  if (p.priority !== undefined) out[at++] = p.priority
  if (headers !== undefined) out.set(headers, at)
  return out
}

/** Short strings repeat (exchange names, routing keys): the last one decoded per call site is kept. */
export class StringCache {
  private bytes = new Uint8Array(0)
  private text = ''

  decode(source: Uint8Array, start: number, end: number): string {
    const length = end - start
    if (length === 0) return ''
    const last = this.bytes
    if (last.length === length) {
      let same = true
      for (let i = 0; i < length; i++) if (last[i] !== source[start + i]) { same = false; break }
      if (same) return this.text
    }
    this.bytes = source.slice(start, end)
    this.text = textDecoder.decode(this.bytes)
    return this.text
  }
}

const exchanges = new StringCache()

/** The properties written by encodeProperties at source[start, end). */
export function decodeProperties(source: Uint8Array, start: number, end: number): Properties {
  const flags = source[start]
  let at = start + 2 + source[start + 1]
  const p: Properties = { exchange: exchanges.decode(source, start + 2, at), headers: undefined }
  if (flags === 0) return p
  for (const [flag, name] of STRINGS) {
    if ((flags & flag) === 0) continue
    const length = (source[at] << 8) | source[at + 1]
    p[name] = textDecoder.decode(source.subarray(at + 2, at + 2 + length))
    at += 2 + length
  }
  if (flags & EXPIRATION) {
    p.expirationMs = new DataView(source.buffer, source.byteOffset).getFloat64(at, true)
    at += 8
  }
  if (flags & PRIORITY) p.priority = source[at++]
  if (flags & HEADERS) p.headers = packr.unpack(source, { start: at, end }) as Record<string, HeaderValue>
  return p
}

/**
 * The value encoded where the codec wrote it (no copy, no view made): later encodings leave those
 * bytes alone, but the range object is the codec's and is reused by its next call.
 */
export function encodeValue(codec: RangeCodec, value: unknown, where: 'queue' | 'exchange', name: string): EncodedRange {
  try {
    return codec.encodeRange(value)
  } catch (cause) {
    throw new CodecError(`the message cannot be encoded as msgpack: ${(cause as Error).message}`, { [where]: name, cause })
  }
}

/** Headers as given to send(): a plain object; its values are encoded with the message. */
export function checkMessageHeaders(headers: unknown, where: { exchange: string }): Record<string, HeaderValue> | undefined {
  if (headers === undefined) return undefined
  const prototype = typeof headers === 'object' && headers !== null ? Object.getPrototypeOf(headers) : undefined
  if (prototype !== Object.prototype && prototype !== null) {
    throw new InvalidArgumentError('headers must be a plain object', { ...where, argument: 'headers' })
  }
  return headers as Record<string, HeaderValue>
}
