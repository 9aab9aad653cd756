// Value codecs. msgpack (msgpackr, with shared record structures per topic) is the default;
// json, raw bytes and user codecs share one small interface.
import { Packr } from 'msgpackr'
import { InvalidArgumentError } from '../errors.js'

export interface Codec<V = unknown> {
  readonly name: string
  encode(value: V): Uint8Array
  decode(bytes: Uint8Array): V
  /** Optional fast path: decode bytes [start, end) of `source` without making a view. */
  decodeRange?(source: Uint8Array, start: number, end: number): V
}

export type CodecOption = 'msgpack' | 'json' | 'raw' | Codec

/**
 * msgpackr with a record structure table owned by this codec instance (one per topic): repeated
 * object shapes are written as short record ids, which halves decoding. Decoded binary values
 * are copies, because log memory is recycled.
 */
export function msgpackCodec(): Codec {
  const packr = new Packr({ structures: [], mapsAsObjects: true, copyBuffers: true, moreTypes: true, maxSharedStructures: 64 })
  return {
    name: 'msgpack',
    encode: (value) => packr.pack(value),
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
    // JSON has no undefined: it travels as zero bytes
    return text === undefined ? new Uint8Array(0) : textEncoder.encode(text)
  },
  decode: (bytes) => (bytes.length === 0 ? undefined : JSON.parse(textDecoder.decode(bytes))),
}

export const rawCodec: Codec<Uint8Array> = {
  name: 'raw',
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`raw codec takes a Uint8Array, got ${value === null ? 'null' : typeof value}`)
    return value
  },
  decode: (bytes) => bytes.slice(),
}

export function resolveCodec(option: CodecOption | undefined): Codec {
  if (option === undefined || option === 'msgpack') return msgpackCodec()
  if (option === 'json') return jsonCodec
  if (option === 'raw') return rawCodec as Codec
  if (typeof option === 'object' && option !== null && typeof option.encode === 'function' && typeof option.decode === 'function') return option
  throw new InvalidArgumentError(`codec must be 'msgpack', 'json', 'raw' or { encode, decode }, got ${String(option)}`, { argument: 'codec' })
}

export function codecName(option: CodecOption | undefined): string {
  return option === undefined ? 'msgpack' : typeof option === 'string' ? option : option.name ?? 'custom'
}

/** Headers travel as one msgpack map of string -> string | Uint8Array. */
const headerPackr = new Packr({ mapsAsObjects: true, copyBuffers: true, useRecords: false })
export const encodeHeaders = (headers: Record<string, string | Uint8Array>): Uint8Array => headerPackr.pack(headers)
export const decodeHeaders = (source: Uint8Array, start: number, end: number): Record<string, string | Uint8Array> =>
  headerPackr.unpack(source, { start, end })
export const encodeText = (text: string): Uint8Array => textEncoder.encode(text)
export const decodeText = (bytes: Uint8Array): string => textDecoder.decode(bytes)
