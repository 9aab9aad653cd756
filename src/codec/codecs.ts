// Value codecs. msgpack (msgpackr, with shared record structures per topic) is the default;
// json, raw bytes and user codecs share one small interface.
import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE, clearSource, unpack } from 'msgpackr'
import { TOPIC_CODEC_CUSTOM, TOPIC_CODEC_JSON, TOPIC_CODEC_MSGPACK, TOPIC_CODEC_RAW, TOPIC_CODEC_REF } from '../core/abi.js'
import { InvalidArgumentError } from '../errors.js'

export interface Codec<V = unknown> {
  readonly name: string
  /** Values are kept as objects by the publishing thread instead of being encoded (codec 'ref'). */
  readonly byReference?: boolean
  encode(value: V): Uint8Array
  /**
   * Optional: like encode, but the bytes may be overwritten by the next call (they are copied
   * into the log at once). Saves an allocation per record.
   */
  encodeTransient?(value: V): Uint8Array
  /** Gets a copy of the record's bytes that it may keep (log memory itself is recycled). */
  decode(bytes: Uint8Array): V
  /** Optional fast path: decode bytes [start, end) of `source` without making a view. */
  decodeRange?(source: Uint8Array, start: number, end: number): V
}

export type CodecOption = 'msgpack' | 'json' | 'raw' | 'ref' | Codec

/**
 * An encoding where the codec wrote it: bytes [start, end) of `bytes`. The object is reused by the
 * next call, the bytes are not: later encodings write after them, as they do after pack()'s.
 */
export interface EncodedRange {
  bytes: Uint8Array
  start: number
  end: number
}

/** A codec that also encodes without making a view of its output (the built-in msgpack). */
export interface RangeCodec extends Codec {
  encodeRange(value: unknown): EncodedRange
}

const getPrototype = Object.getPrototypeOf

/**
 * msgpackr calls this for every object it writes as a record (useRecords). It keeps the codec to
 * values that replay equal: an instance of a class would come back as a plain object (msgpack
 * keeps no classes), and an own `__proto__` key comes back renamed (msgpackr guards against
 * prototype pollution), so both are refused at publish. One comparison for a plain object.
 */
function plainObjectsOnly(object: object): boolean {
  if (object.constructor !== Object) {
    // null-prototype objects and plain objects of another realm replay as plain objects: equal
    const prototype = getPrototype(object)
    if (prototype !== null && getPrototype(prototype) !== null) {
      const name = typeof prototype.constructor === 'function' && prototype.constructor.name !== '' ? prototype.constructor.name : 'class'
      throw new TypeError(`a ${name} instance would replay as a plain object (msgpack keeps no classes): publish a plain object, a Map, Set, Date, Error, RegExp or typed array, or give ${name} a toJSON()`)
    }
  }
  if (Object.hasOwn(object, '__proto__')) throw new TypeError('an object with an own "__proto__" key cannot replay (msgpackr renames the key); use a Map')
  return true
}

function noFunctions(): never {
  throw new TypeError('a function cannot be encoded')
}

/**
 * msgpackr options under which whatever pack() accepts unpacks equal. Every plain object is a
 * record (a structure id and its values), so msgpack maps are free to stand for Maps, which then
 * replay as Maps with keys of any type (mapsAsObjects would turn them into objects with string
 * keys, or fail on object keys). Functions and class instances are refused instead of being
 * written as nothing or as plain objects. Not preserved: -0 replays as 0 and array holes as
 * undefined, which deep equality treats alike.
 */
export const FAITHFUL_MSGPACK = { copyBuffers: true, moreTypes: true, maxSharedStructures: 64, useRecords: plainObjectsOnly, writeFunction: noFunctions } as const

/** Values sureEncodedSize looks at, at most: past that it is not sure (encoding finds out). */
const SURE_VALUES = 64

/**
 * An upper bound of the bytes FAITHFUL_MSGPACK encodes `value` in, when it certainly encodes it,
 * judged without encoding: a string, number, boolean, null or undefined, or a plain object or
 * array of at most SURE_VALUES such values, nested or not (own properties; `__proto__` refused,
 * as plainObjectsOnly does). -1 says nothing either way: encode it to find out. A getter that
 * returns another kind of value the next time it is read makes the judgement wrong.
 */
export function sureEncodedSize(value: unknown): number {
  sureBudget = SURE_VALUES
  return sureSize(value)
}

let sureBudget = 0

function sureSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length * 3 + 5 // at most 3 UTF-8 bytes per UTF-16 unit, and a header
    case 'number':
      return 9
    case 'boolean':
    case 'undefined':
      return 3
    case 'object': {
      if (value === null) return 1
      if (--sureBudget < 0) return -1
      const prototype = getPrototype(value)
      let size = 8 // an array's header, or a record's (its id, and its structure the first time)
      if (prototype === Array.prototype) {
        const array = value as unknown[]
        if (array.length > sureBudget) return -1
        for (let i = 0; i < array.length; i++) {
          const s = sureSize(array[i])
          if (s < 0) return -1
          size += s
        }
        return size
      }
      if (prototype !== Object.prototype) return -1
      for (const key in value) {
        if (key === '__proto__' || !Object.hasOwn(value, key) || --sureBudget < 0) return -1
        const v = (value as Record<string, unknown>)[key]
        // the usual values without a call
        const s = typeof v === 'number' ? 9 : typeof v === 'string' ? v.length * 3 + 5 : sureSize(v)
        if (s < 0) return -1
        size += key.length * 3 + 5 + s
      }
      return size
    }
    default:
      return -1 // bigint, symbol, function
  }
}

/**
 * msgpackr keeps the last source it decoded from (a view of the whole log memory of a plain
 * core) in module state until the next decode. A closing bus calls this so that its memory can
 * be collected: decoding a tiny buffer replaces that view.
 */
export function releaseDecodeSource(): void {
  unpack(NIL)
  clearSource()
}
const NIL = new Uint8Array([0xc0])

/**
 * msgpackr with a record structure table owned by this codec instance (one per topic): repeated
 * object shapes are written as short record ids, which halves decoding. Decoded binary values
 * are copies, because log memory is recycled. (A shared bus keeps the table in the log instead:
 * shared-structures.ts.)
 */
export function msgpackCodec(): Codec {
  return msgpackRangeCodec()
}

/** msgpackCodec() with encodeRange, for the bus's own use (queue values). */
export function msgpackRangeCodec(): RangeCodec {
  return packrCodec(new Packr({ ...FAITHFUL_MSGPACK, structures: [] }))
}

/** The msgpack codec over a configured Packr (its own structures, or the log's on a shared bus). */
export function packrCodec(packr: Packr): RangeCodec {
  const range: EncodedRange = { bytes: NIL, start: 0, end: 0 }
  return {
    name: 'msgpack',
    encode: (value) => packr.pack(value),
    encodeRange(value) {
      // msgpackr's whole buffer with the value's bounds on it; or, when it has just saved new
      // shared structures, a view of the value alone
      const out = packr.pack(value, REUSE_BUFFER_MODE) as Uint8Array & { start?: number; end?: number }
      range.bytes = out
      range.start = out.start ?? 0
      range.end = out.end ?? out.length
      return range
    },
    encodeTransient: (value) => packr.pack(value, RESET_BUFFER_MODE),
    decode: (bytes) => packr.unpack(bytes),
    decodeRange: (source, start, end) => packr.unpack(source, { start, end }),
  }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

export const jsonCodec: Codec = {
  name: 'json',
  encode(value) {
    const text = JSON.stringify(value)
    if (text !== undefined) return textEncoder.encode(text)
    // JSON has no undefined: it travels as zero bytes; a symbol or function is not JSON at all
    if (value === undefined) return new Uint8Array(0)
    throw new TypeError(`JSON cannot encode a ${typeof value}`)
  },
  decode: (bytes) => (bytes.length === 0 ? undefined : JSON.parse(textDecoder.decode(bytes))),
}

export const rawCodec: Codec<Uint8Array> = {
  name: 'raw',
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`raw codec takes a Uint8Array, got ${value === null ? 'null' : typeof value}`)
    return value
  },
  // decode is handed a fresh copy (see Codec.decode), so it can be returned as is
  decode: (bytes) => bytes,
}

/**
 * No encoding at all: the log keeps each record's offset, timestamp, key and headers, and the
 * publishing thread keeps the value object until retention removes the record. Replay returns
 * the very objects that were published. For in-process use: other threads cannot read the values.
 */
export const refCodec: Codec = {
  name: 'ref',
  byReference: true,
  encode: () => new Uint8Array(0),
  decode() {
    throw new TypeError('a ref topic keeps its values in the publishing thread, which no longer holds this one')
  },
}

const BUILT_IN: Record<string, number> = { msgpack: TOPIC_CODEC_MSGPACK, json: TOPIC_CODEC_JSON, raw: TOPIC_CODEC_RAW, ref: TOPIC_CODEC_REF }
const isCodec = (option: unknown): option is Codec =>
  typeof option === 'object' && option !== null && typeof (option as Codec).encode === 'function' && typeof (option as Codec).decode === 'function'

/** The codec's id in the topic directory (all threads agree on it); throws on a bad option. */
export function codecId(option: CodecOption | undefined): number {
  if (option === undefined) return TOPIC_CODEC_MSGPACK
  if (typeof option === 'string' && Object.hasOwn(BUILT_IN, option)) return BUILT_IN[option]
  if (isCodec(option)) return TOPIC_CODEC_CUSTOM
  throw new InvalidArgumentError(`codec must be 'msgpack', 'json', 'raw', 'ref' or { encode, decode }, got ${String(option)}`, { argument: 'codec' })
}

/** The built-in codec option for a directory id (undefined for a custom codec). */
export function codecOption(id: number): CodecOption | undefined {
  return Object.keys(BUILT_IN).find((name) => BUILT_IN[name] === id) as CodecOption | undefined
}

/** A codec instance for one topic. */
export function resolveCodec(option: CodecOption | undefined): Codec {
  codecId(option)
  if (option === undefined || option === 'msgpack') return msgpackCodec()
  if (option === 'json') return jsonCodec
  if (option === 'raw') return rawCodec as Codec
  if (option === 'ref') return refCodec
  return option as Codec
}

export function codecName(option: CodecOption | undefined): string {
  return option === undefined ? 'msgpack' : typeof option === 'string' ? option : option.name ?? 'custom'
}

/**
 * A string UTF-8 can carry: no lone surrogate, which encoding would turn into U+FFFD (keys and
 * headers would then replay as other strings than were published).
 */
export const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()

export const illFormed = (topic: string, argument: string): InvalidArgumentError =>
  new InvalidArgumentError(`${argument} holds a lone UTF-16 surrogate, which UTF-8 cannot carry (it would replay as U+FFFD)`, { topic, argument })

/**
 * Checks publish headers: a plain object (no Map, array or class instance, whose entries would not
 * travel) of string -> string | Uint8Array. Returns whether there is any header; throws
 * InvalidArgumentError.
 */
export function checkHeaders(topic: string, headers: unknown): boolean {
  const prototype = typeof headers === 'object' && headers !== null ? getPrototype(headers) : undefined
  if (prototype !== Object.prototype && prototype !== null) {
    const what = prototype === undefined ? (headers === null ? 'null' : typeof headers) : Array.isArray(headers) ? 'an array' : `a ${prototype.constructor?.name ?? 'class'}`
    throw new InvalidArgumentError(`headers must be a plain object of string -> string | Uint8Array, got ${what}`, { topic, argument: 'headers' })
  }
  let any = false
  for (const name in headers as object) {
    const v = (headers as Record<string, unknown>)[name]
    if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
      throw new InvalidArgumentError(`header ${name} must be a string or Uint8Array, got ${v === null ? 'null' : typeof v}`, { topic, argument: 'headers' })
    }
    // msgpackr renames this key when it decodes (its guard against prototype pollution)
    if (name === '__proto__') throw new InvalidArgumentError('a header cannot be named __proto__', { topic, argument: 'headers' })
    if (!wellFormed(name) || (typeof v === 'string' && !wellFormed(v))) throw illFormed(topic, 'headers')
    any = true
  }
  return any
}

/** Headers travel as one msgpack map of string -> string | Uint8Array. */
const headerPackr = new Packr({ mapsAsObjects: true, copyBuffers: true, useRecords: false })
export const encodeHeaders = (headers: Record<string, string | Uint8Array>): Uint8Array => headerPackr.pack(headers)
export const decodeHeaders = (source: Uint8Array, start: number, end: number): Record<string, string | Uint8Array> =>
  headerPackr.unpack(source, { start, end })
export const encodeText = (text: string): Uint8Array => textEncoder.encode(text)
export const decodeText = (bytes: Uint8Array): string => textDecoder.decode(bytes)
