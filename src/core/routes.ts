// RabbitMQ's exchanges and bindings as the host sees them (core: assembly/route/, layout:
// src/core/abi/route.ts): exchanges declared by name, bindings from an exchange to a queue, a
// topic or another exchange, and routing a message to the destinations its bindings reach, on
// tables every thread shares. The wrapper validates its input and turns statuses into typed
// errors; route() is the hot path and allocates nothing for an ASCII key.
import { pack } from 'msgpackr'
import {
  LANE_OUT_BYTES, ROUTE_COUNT_BINDINGS, ROUTE_COUNT_BYTES, ROUTE_COUNT_EXCHANGES, ROUTE_DEST_EXCHANGE, ROUTE_DEST_ID_MASK, ROUTE_DEST_QUEUE,
  ROUTE_DEST_SHIFT, ROUTE_DEST_TOPIC, ROUTE_DIRECT, ROUTE_FANOUT, ROUTE_HEADERS, ROUTE_HT_ENTRIES, ROUTE_INFO_ALT_LENGTH, ROUTE_INFO_NAME,
  ROUTE_INFO_NAME_LENGTH, ROUTE_INFO_TYPE, ROUTE_LIST_CODE, ROUTE_LIST_KEY, ROUTE_LIST_KEY_LENGTH, ROUTE_LIST_MODE, ROUTE_MATCH_ALL,
  ROUTE_MATCH_ALL_WITH_X, ROUTE_MATCH_ANY, ROUTE_MATCH_ANY_WITH_X, ROUTE_MATCH_NONE, ROUTE_MAX_KEY, ROUTE_MAX_NAME, ROUTE_TOPIC,
  ROUTE_VALUE_BOOLEAN, ROUTE_VALUE_BYTES, ROUTE_VALUE_NUMBER, ROUTE_VALUE_PACKED, ROUTE_VALUE_STRING, ROUTE_VALUE_VOID,
  ROUTE_VERSION, STATUS_ROUTE_TOO_MANY, STATUS_ROUTE_UNKNOWN_EXCHANGE,
} from './abi.js'
import type { Lane } from './lanes.js'
import { CTL, type CoreMemory } from './memory.js'
import type { Staging } from './staging.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers'
export type HeadersMatch = 'all' | 'any' | 'all-with-x' | 'any-with-x'
export interface Destination { kind: 'queue' | 'topic' | 'exchange'; id: number }
export interface BindingArgs { match: HeadersMatch; table: Uint8Array }
export interface BindingInfo { destination: Destination; key: string; match?: HeadersMatch }
export interface ExchangeInfo { id: number; type: ExchangeType; alternate: string | undefined }

const TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers']
const TYPE_CODES: Record<ExchangeType, number> = { direct: ROUTE_DIRECT, fanout: ROUTE_FANOUT, topic: ROUTE_TOPIC, headers: ROUTE_HEADERS }
const MATCHES: readonly HeadersMatch[] = ['all', 'any', 'all-with-x', 'any-with-x']
const MATCH_CODES: Record<HeadersMatch, number> = {
  all: ROUTE_MATCH_ALL, any: ROUTE_MATCH_ANY, 'all-with-x': ROUTE_MATCH_ALL_WITH_X, 'any-with-x': ROUTE_MATCH_ANY_WITH_X,
}
const KINDS: ReadonlyArray<Destination['kind']> = ['queue', 'topic', 'exchange']
const KIND_CODES: Record<Destination['kind'], number> = { queue: ROUTE_DEST_QUEUE, topic: ROUTE_DEST_TOPIC, exchange: ROUTE_DEST_EXCHANGE }
/** Most destinations one route returns: the lane's output buffer in i32 codes. */
export const ROUTE_MAX_DESTINATIONS = LANE_OUT_BYTES >> 2
/**
 * Bytes at the far end of the staging area a key is written to: a key of at most 255 UTF-16
 * units is at most 765 UTF-8 bytes (longer ones are rejected before encoding).
 */
const KEY_AREA = 1024

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()

/** The i32 code of a destination: kind << 24 | id. */
export function encodeDestination(destination: Destination): number {
  if (destination === null || typeof destination !== 'object') {
    throw new InvalidArgumentError(`a destination is { kind, id }, got ${String(destination)}`, { argument: 'destination' })
  }
  const kind = KIND_CODES[destination.kind]
  if (kind === undefined || !Object.hasOwn(KIND_CODES, destination.kind)) {
    throw new InvalidArgumentError(`a destination's kind is 'queue', 'topic' or 'exchange', got ${String(destination.kind)}`, { argument: 'destination' })
  }
  const id = destination.id
  if (!Number.isInteger(id) || id < 0 || id > ROUTE_DEST_ID_MASK) {
    throw new InvalidArgumentError(`a destination's id is an integer from 0 to ${ROUTE_DEST_ID_MASK}, got ${String(id)}`, { argument: 'destination' })
  }
  return (kind << ROUTE_DEST_SHIFT) | id
}

export function decodeDestination(code: number): Destination {
  return { kind: KINDS[code >>> ROUTE_DEST_SHIFT] ?? 'queue', id: code & ROUTE_DEST_ID_MASK }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/**
 * The canonical header table of `table` (layout: src/core/abi/route.ts), for message headers and
 * headers-exchange binding args alike: entries sorted by key bytes; null/undefined void, strings
 * UTF-8, numbers f64 (-0 as 0), booleans one byte, Uint8Arrays as they are, anything else
 * msgpack. Equal tables give equal bytes, and two values match when type and bytes are equal.
 */
export function encodeHeaderTable(table: Record<string, unknown>): Uint8Array {
  if (table === null || typeof table !== 'object' || Array.isArray(table) || table instanceof Uint8Array) {
    throw new InvalidArgumentError(`a header table is a plain object, got ${Array.isArray(table) ? 'an array' : String(table)}`, { argument: 'headers' })
  }
  const entries: Array<{ key: Uint8Array; type: number; value: Uint8Array }> = []
  let size = ROUTE_HT_ENTRIES
  for (const name of Object.keys(table)) {
    if (!wellFormed(name)) throw new InvalidArgumentError('a header name is not well-formed UTF-16 (a lone surrogate)', { argument: 'headers', header: name })
    const key = textEncoder.encode(name)
    if (key.length > 0xffff) throw new InvalidArgumentError(`a header name takes at most 65535 UTF-8 bytes, got ${key.length}`, { argument: 'headers' })
    const v = table[name]
    let type: number
    let value: Uint8Array
    if (v === null || v === undefined) {
      type = ROUTE_VALUE_VOID
      value = new Uint8Array(0)
    } else if (typeof v === 'string') {
      if (!wellFormed(v)) throw new InvalidArgumentError(`header ${name} is not well-formed UTF-16 (a lone surrogate)`, { argument: 'headers', header: name })
      type = ROUTE_VALUE_STRING
      value = textEncoder.encode(v)
    } else if (typeof v === 'number') {
      type = ROUTE_VALUE_NUMBER
      value = new Uint8Array(8)
      new DataView(value.buffer).setFloat64(0, v === 0 ? 0 : v, true)
    } else if (typeof v === 'boolean') {
      type = ROUTE_VALUE_BOOLEAN
      value = Uint8Array.of(v ? 1 : 0)
    } else if (v instanceof Uint8Array) {
      type = ROUTE_VALUE_BYTES
      value = v
    } else {
      type = ROUTE_VALUE_PACKED
      value = pack(v)
    }
    entries.push({ key, type, value })
    size += 2 + key.length + 1 + 4 + value.length
  }
  entries.sort((a, b) => compareBytes(a.key, b.key))
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, entries.length, true)
  let at = ROUTE_HT_ENTRIES
  for (const { key, type, value } of entries) {
    view.setUint16(at, key.length, true)
    out.set(key, at + 2)
    at += 2 + key.length
    out[at] = type
    view.setUint32(at + 1, value.length, true)
    out.set(value, at + 5)
    at += 5 + value.length
  }
  return out
}

export class Routes {
  private readonly result = new Int32Array(ROUTE_MAX_DESTINATIONS)
  /** result.subarray(0, n) for each n returned so far: route() returns one of these. */
  private readonly views: Int32Array[] = []
  /** Where a key is written for the core: the far end of the staging area. */
  private readonly keyAt: number

  /** Index in the memory's Int32Array of the region's version word. */
  private readonly versionIndex: number

  constructor(private readonly mem: CoreMemory, private readonly staging: Staging, private readonly lane: Lane) {
    this.keyAt = lane.stagingEnd - KEY_AREA
    this.versionIndex = (mem.layout.route + ROUTE_VERSION) >> 2
  }

  /** Changes whenever any thread changes the routing tables: a route found before is good while it stays. */
  get version(): number {
    return this.mem.word(this.versionIndex)
  }

  /**
   * Declares exchange `name` of `type` (with alternate exchange `alternate`, which need not be
   * declared yet), or finds it; returns its id. Throws InvalidArgumentError (reason
   * 'precondition') when it exists with another type or alternate exchange, BackPressureError
   * (reason 'routes') when the routing region is full.
   */
  declare(name: string, type: ExchangeType, alternate?: string): number {
    const nameBytes = this.nameBytes(name, 'name')
    const code = TYPE_CODES[type]
    if (code === undefined || !Object.hasOwn(TYPE_CODES, type)) {
      throw new InvalidArgumentError(`an exchange type is direct, fanout, topic or headers, got ${String(type)}`, { argument: 'type', exchange: name })
    }
    const altBytes = alternate === undefined ? undefined : this.nameBytes(alternate, 'alternate')
    this.room(2 * (ROUTE_MAX_NAME + 1))
    const { u8 } = this.mem
    const at = this.lane.stagingEnd - (ROUTE_MAX_NAME + 1)
    const altAt = at - (ROUTE_MAX_NAME + 1)
    u8.set(nameBytes, at)
    if (altBytes !== undefined) u8.set(altBytes, altAt)
    const id = this.mem.x.routeDeclare(CTL, at, nameBytes.length, code, altAt, altBytes?.length ?? 0)
    if (id < 0) {
      const existing = this.find(name)
      throw statusError(id, { exchange: name, type, alternate, existingType: existing?.type, existingAlternate: existing?.alternate })
    }
    return id
  }

  /** The exchange called `name`, or undefined. */
  find(name: string): ExchangeInfo | undefined {
    const bytes = this.nameBytes(name, 'name')
    this.room(ROUTE_MAX_NAME + 1)
    const at = this.lane.stagingEnd - (ROUTE_MAX_NAME + 1)
    this.mem.u8.set(bytes, at)
    const id = this.mem.x.routeFind(CTL, at, bytes.length)
    if (id === STATUS_ROUTE_UNKNOWN_EXCHANGE) return undefined
    if (id < 0) throw statusError(id, { exchange: name })
    const info = this.info(id)
    return { id, type: info.type, alternate: info.alternate }
  }

  /** The name of exchange `id`; UnknownExchangeError when there is none. */
  name(id: number): string {
    return this.info(id).name
  }

  private info(id: number): { name: string; type: ExchangeType; alternate: string | undefined } {
    this.checkExchange(id, 'exchange')
    const out = this.lane.out
    const written = this.mem.x.routeInfo(CTL, id, out)
    if (written < 0) throw statusError(written, { exchange: id })
    const { u8, u32 } = this.mem
    const length = u32[(out + ROUTE_INFO_NAME_LENGTH) >> 2]!
    const altLength = u32[(out + ROUTE_INFO_ALT_LENGTH) >> 2]!
    const start = out + ROUTE_INFO_NAME
    return {
      type: TYPES[u32[(out + ROUTE_INFO_TYPE) >> 2]!]!,
      name: textDecoder.decode(u8.slice(start, start + length)),
      alternate: altLength === 0 ? undefined : textDecoder.decode(u8.slice(start + length, start + length + altLength)),
    }
  }

  /**
   * Binds exchange `source` to `destination` with binding key `key` (a topic pattern, a direct
   * key; kept but not matched by fanout and headers exchanges) and, for a headers exchange, args
   * (x-match and an encodeHeaderTable table; without args a headers binding matches every
   * message). False when that binding (source, destination, key, args) exists already.
   */
  bind(source: number, destination: Destination, key: string, args?: BindingArgs): boolean {
    return this.binding(source, destination, key, args, true)
  }

  /** Removes the binding bind() would make; false when there was none. */
  unbind(source: number, destination: Destination, key: string, args?: BindingArgs): boolean {
    return this.binding(source, destination, key, args, false)
  }

  private binding(source: number, destination: Destination, key: string, args: BindingArgs | undefined, add: boolean): boolean {
    this.checkExchange(source, 'source')
    const dest = encodeDestination(destination)
    let mode = ROUTE_MATCH_NONE
    let table: Uint8Array | undefined
    if (args !== undefined) {
      if (args === null || typeof args !== 'object') throw new InvalidArgumentError(`binding args are { match, table }, got ${String(args)}`, { argument: 'args', exchange: source })
      mode = MATCH_CODES[args.match]
      if (mode === undefined || !Object.hasOwn(MATCH_CODES, args.match)) {
        throw new InvalidArgumentError(`x-match is all, any, all-with-x or any-with-x, got ${String(args.match)}`, { argument: 'args', exchange: source })
      }
      table = args.table
      if (!(table instanceof Uint8Array) || table.length < ROUTE_HT_ENTRIES) {
        throw new InvalidArgumentError('binding args need a table made by encodeHeaderTable', { argument: 'args', exchange: source })
      }
      this.room(KEY_AREA + table.length)
    }
    const length = this.placeKey(key, source)
    const argsAt = this.keyAt - (table?.length ?? 0)
    if (table !== undefined) this.mem.u8.set(table, argsAt)
    const x = this.mem.x
    const result = add
      ? x.routeBind(CTL, source, dest, this.keyAt, length, mode, argsAt, table?.length ?? 0)
      : x.routeUnbind(CTL, source, dest, this.keyAt, length, mode, argsAt, table?.length ?? 0)
    if (result < 0) {
      const exchange = result === STATUS_ROUTE_UNKNOWN_EXCHANGE && destination.kind === 'exchange' && this.exists(source) ? destination.id : source
      throw statusError(result, { exchange, destination, key, argument: result === STATUS_ROUTE_UNKNOWN_EXCHANGE ? (exchange === source ? 'source' : 'destination') : undefined })
    }
    return result === 1
  }

  /** Removes every binding to `destination` (a deleted queue); returns how many there were. */
  unbindAll(destination: Destination): number {
    const result = this.mem.x.routeUnbindAll(CTL, encodeDestination(destination))
    if (result < 0) throw statusError(result, { destination })
    return result
  }

  /**
   * The queue and topic destinations (codes kind << 24 | id, each once) of a message with
   * routing key `key` and `headers` (encodeHeaderTable) published to exchange `exchange`. The
   * returned array is reused by the next call.
   */
  route(exchange: number, key: string, headers?: Uint8Array): Int32Array {
    if (typeof exchange !== 'number' || (exchange | 0) !== exchange || exchange < 0) this.checkExchange(exchange, 'exchange')
    const length = this.placeKey(key, exchange)
    let headersAt = 0
    let headersLength = 0
    if (headers !== undefined) {
      if (!(headers instanceof Uint8Array)) throw new InvalidArgumentError('headers must be a table made by encodeHeaderTable', { argument: 'headers', exchange })
      this.room(KEY_AREA + headers.length)
      headersLength = headers.length
      headersAt = this.keyAt - headersLength
      this.mem.u8.set(headers, headersAt)
    }
    const out = this.lane.out
    const n = this.mem.x.routeRoute(CTL, exchange, this.keyAt, length, headersAt, headersLength, out, ROUTE_MAX_DESTINATIONS)
    if (n < 0) {
      if (n === STATUS_ROUTE_TOO_MANY) {
        throw new InvalidArgumentError(`the message reaches more than ${ROUTE_MAX_DESTINATIONS} destinations, more than one route can return`,
          { argument: 'exchange', exchange, key, max: ROUTE_MAX_DESTINATIONS })
      }
      throw statusError(n, { exchange, key })
    }
    const { i32 } = this.mem
    const result = this.result
    const from = out >> 2
    for (let i = 0; i < n; i++) result[i] = i32[from + i]!
    return this.views[n] ?? (this.views[n] = result.subarray(0, n))
  }

  /** The bindings with `exchange` as their source (newest first), for stats and tests. */
  bindings(exchange: number): BindingInfo[] {
    this.checkExchange(exchange, 'exchange')
    const list: BindingInfo[] = []
    const out = this.lane.out
    const { u8, i32, u32 } = this.mem
    for (;;) {
      const n = this.mem.x.routeBindings(CTL, exchange, list.length, out, LANE_OUT_BYTES)
      if (n < 0) throw statusError(n, { exchange })
      if (n === 0) return list
      let at = out
      for (let i = 0; i < n; i++) {
        const length = u32[(at + ROUTE_LIST_KEY_LENGTH) >> 2]!
        const mode = i32[(at + ROUTE_LIST_MODE) >> 2]!
        const entry: BindingInfo = {
          destination: decodeDestination(i32[(at + ROUTE_LIST_CODE) >> 2]!),
          key: textDecoder.decode(u8.slice(at + ROUTE_LIST_KEY, at + ROUTE_LIST_KEY + length)),
        }
        if (mode >= 0) entry.match = MATCHES[mode]!
        list.push(entry)
        at += ROUTE_LIST_KEY + ((length + 3) & ~3)
      }
    }
  }

  count(): { exchanges: number; bindings: number; bytesUsed: number } {
    const x = this.mem.x
    const bytesUsed = x.routeCount(CTL, ROUTE_COUNT_BYTES)
    if (bytesUsed < 0) throw statusError(bytesUsed)
    return { exchanges: x.routeCount(CTL, ROUTE_COUNT_EXCHANGES), bindings: x.routeCount(CTL, ROUTE_COUNT_BINDINGS), bytesUsed }
  }

  private exists(id: number): boolean {
    return this.mem.x.routeInfo(CTL, id, this.lane.out) >= 0
  }

  private checkExchange(id: number, argument: string): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > ROUTE_DEST_ID_MASK) {
      throw new InvalidArgumentError(`an exchange id is an integer from 0 to ${ROUTE_DEST_ID_MASK}, got ${String(id)}`, { argument, exchange: id })
    }
  }

  private room(bytes: number): void {
    if (this.staging.room < bytes) {
      throw new InvalidArgumentError(`${bytes} bytes do not fit beside the frames staged in this thread's staging area; commit them first`, { argument: 'headers' })
    }
  }

  /** Exchange names: 1 to 255 UTF-8 bytes, well-formed. */
  private nameBytes(name: string, argument: 'name' | 'alternate'): Uint8Array {
    if (typeof name !== 'string') throw new InvalidArgumentError(`an exchange ${argument} must be a string, got ${typeof name}`, { argument })
    if (!wellFormed(name)) throw new InvalidArgumentError(`exchange ${argument} is not well-formed UTF-16 (a lone surrogate)`, { argument, exchange: name })
    const bytes = textEncoder.encode(name)
    if (bytes.length < 1 || bytes.length > ROUTE_MAX_NAME) {
      throw new InvalidArgumentError(`an exchange ${argument} takes 1 to ${ROUTE_MAX_NAME} UTF-8 bytes, got ${bytes.length}`, { argument, exchange: name })
    }
    return bytes
  }

  /** Writes a routing or binding key at keyAt; returns its UTF-8 length. No allocation for ASCII keys. */
  private placeKey(key: string, exchange: number): number {
    if (typeof key !== 'string') throw new InvalidArgumentError(`a routing key must be a string, got ${typeof key}`, { argument: 'key', exchange })
    const units = key.length
    if (units > ROUTE_MAX_KEY) throw this.keyTooLong(key, exchange)
    this.room(KEY_AREA)
    this.staging.claimFarEnd()
    const { u8 } = this.mem
    const at = this.keyAt
    for (let i = 0; i < units; i++) {
      const c = key.charCodeAt(i)
      if (c >= 0x80) return this.placeKeyUtf8(key, exchange)
      u8[at + i] = c
    }
    return units
  }

  private placeKeyUtf8(key: string, exchange: number): number {
    // a lone surrogate would be encoded as U+FFFD, the same bytes as another key
    if (!wellFormed(key)) throw new InvalidArgumentError('a routing key is not well-formed UTF-16 (a lone surrogate)', { argument: 'key', exchange })
    const bytes = textEncoder.encode(key)
    if (bytes.length > ROUTE_MAX_KEY) throw this.keyTooLong(key, exchange)
    this.mem.u8.set(bytes, this.keyAt)
    return bytes.length
  }

  private keyTooLong(key: string, exchange: number): InvalidArgumentError {
    return new InvalidArgumentError(`a routing key takes at most ${ROUTE_MAX_KEY} UTF-8 bytes, got ${textEncoder.encode(key).length}`, { argument: 'key', exchange })
  }
}
