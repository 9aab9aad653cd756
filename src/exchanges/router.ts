// Exchanges as one thread's bus sees them: declaring, binding, and sending. The routing table is
// in the core (src/core/routes.ts), shared by every thread; the router resolves names, asks the
// core where a message goes and hands it to each queue and topic once.
import type { Clock } from '../clock.js'
import type { LogCore } from '../core/log.js'
import { ROUTE_DEST_ID_MASK, ROUTE_DEST_QUEUE, ROUTE_DEST_SHIFT } from '../core/abi.js'
import { NameIds } from '../core/name-ids.js'
import { encodeHeaderTable, type Destination } from '../core/routes.js'
import { sureEncodedSize } from '../codec/codecs.js'
import { InvalidArgumentError, UnknownExchangeError, UnroutableError } from '../errors.js'
import type { Publisher } from '../publish/publisher.js'
import { isAutomaticCycle } from '../queues/dead-letter.js'
import { checkMessageHeaders, encodeValue, sendProperties } from '../queues/envelope.js'
import { valueOf, type DeadLetter, type Outgoing, type Queues } from '../queues/queues.js'
import type { TopicRegistry } from '../topic/registry.js'
import type { Tracing } from '../tracing/tracing.js'
import type { Binding, ExchangeOptions, ExchangeType, HeaderValue, SendOptions, SendResult } from '../types.js'
import { checkBinding, type CheckedBinding } from './binding-spec.js'
import { RouteCache, type Route } from './route-cache.js'

const TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers']
/** The exchanges every RabbitMQ broker has; ringbus declares them when first named. */
const PREDECLARED: Record<string, ExchangeType> = { 'amq.direct': 'direct', 'amq.fanout': 'fanout', 'amq.topic': 'topic', 'amq.headers': 'headers', 'amq.match': 'headers' }
const MAX_KEY = 255
const textEncoder = new TextEncoder()

export interface RouterHost {
  readonly core: LogCore
  readonly clock: Clock
  readonly queues: Queues
  readonly publisher: Publisher
  readonly registry: TopicRegistry
  /** Where OpenTelemetry is on: adds the active span's trace context to the headers. */
  readonly tracing?: Tracing
}

export class Router {
  /** Messages no queue or topic took (dropped, or returned to a mandatory sender). */
  unroutable = 0

  /** Routes of messages without headers, by exchange and key. */
  private readonly cache: RouteCache

  constructor(private readonly host: RouterHost) {
    this.cache = new RouteCache(host.core.routes)
  }

  private get core(): LogCore { return this.host.core }

  exchange(name: string, options: ExchangeOptions | undefined): { exchange: string; type: ExchangeType } {
    const { type, alternate } = checkExchange(name, options)
    this.core.routes.declare(name, type, alternate)
    return { exchange: name, type }
  }

  /** Ids of exchanges found: an exchange is never deleted, so its id stays its own. */
  private readonly ids = new NameIds((name) => this.lookup(name))

  /** The exchange's id; UnknownExchangeError unless declared (or predeclared). */
  private exchangeId(name: string): number {
    return this.ids.get(name)
  }

  private lookup(name: string): number {
    const found = this.core.routes.find(name)
    if (found !== undefined) return found.id
    const predeclared = PREDECLARED[name]
    if (predeclared !== undefined) return this.core.routes.declare(name, predeclared)
    throw new UnknownExchangeError(`no exchange is named ${JSON.stringify(name)}; declare it with bus.exchange() first`, { exchange: name })
  }

  bind(binding: Binding): boolean {
    const b = this.resolve(binding)
    return this.core.routes.bind(b.source, b.destination, b.pattern, b.args)
  }

  unbind(binding: Binding): boolean {
    const b = this.resolve(binding)
    return this.core.routes.unbind(b.source, b.destination, b.pattern, b.args)
  }

  private resolve(binding: Binding) {
    const b = checkBindingInput(binding)
    const source = this.exchangeId(b.exchange)
    const { kind, name } = b.destination
    let id: number
    if (kind === 'queue') id = this.host.queues.id(name)
    else if (kind === 'exchange') {
      if (name === '') throw new InvalidArgumentError('nothing binds to the default exchange', { exchange: b.exchange, argument: 'toExchange' })
      id = this.exchangeId(name)
    } else id = this.host.registry.writable(name).index
    return { source, destination: { kind, id } as Destination, pattern: b.pattern, args: b.args }
  }

  /** Every binding to a deleted queue goes with it. */
  unbindQueue(id: number): void {
    this.core.routes.unbindAll({ kind: 'queue', id })
  }

  /**
   * Routes one message from `exchange` and puts it into every queue and topic it reaches, once
   * each. Mandatory and unroutable: UnroutableError, and nothing was put anywhere.
   */
  send(exchange: string, routingKey: string, value: unknown, options: SendOptions | undefined): SendResult {
    const o = checkSend(exchange, routingKey, options)
    const headers = this.host.tracing?.inject(o.headers) ?? o.headers
    const properties = sendProperties(exchange, headers, o)
    // the default exchange's one queue, if there is one
    const queue = exchange === '' ? this.host.queues.find(routingKey) : -1
    // a small value that certainly encodes is encoded when a queue's log needs it: a consumer it
    // goes to straight takes it as it is; not worth asking where it cannot (a shared bus, or a
    // queue of the default exchange without such a consumer)
    const straight = exchange === '' ? this.host.queues.takesStraight(queue) : !this.core.shared
    const sure = straight ? sureEncodedSize(value) : -1
    const encoded = sure >= 0 && sure <= DEFER_MAX ? undefined : encodeValue(this.host.queues.codec, value, 'exchange', exchange)
    // every field from the start: fields added on the way would change the object's shape per send
    const message: Outgoing & { value: unknown } = {
      routingKey, properties, valueBytes: encoded?.bytes, valueStart: encoded?.start ?? 0, valueEnd: encoded?.end ?? 0,
      valueSize: encoded === undefined ? sure : encoded.end - encoded.start, delayMs: o.delayMs ?? 0, value,
      propertyBytes: undefined, frameAt: undefined, placedAt: undefined, placement: undefined,
    }
    let result: SendResult
    if (exchange === '') {
      result = queue < 0 ? NOTHING_ROUTED : this.host.queues.enqueue(queue, message, this.host.clock.now()) ? this.routedTo(routingKey) : { routed: [], refused: [routingKey] }
    } else {
      result = this.deliver(this.destinations(exchange, routingKey, properties.headers), message, undefined)
    }
    if (result.routed.length === 0 && result.refused.length === 0) {
      this.unroutable++
      if (o.mandatory === true) {
        throw new UnroutableError(`no queue or topic is bound to take a message sent to ${exchange === '' ? 'the default exchange' : `exchange ${JSON.stringify(exchange)}`} with routing key ${JSON.stringify(routingKey)}`,
          { exchange, routingKey })
      }
    }
    return result
  }

  /** The result of a message that went to `name` alone (one frozen object per name: most sends). */
  private routedTo(name: string): SendResult {
    const last = this.lastRouted
    if (last !== undefined && last.routed[0] === name) return last
    let result = this.routedResults.get(name)
    if (result === undefined) {
      result = Object.freeze({ routed: Object.freeze([name]), refused: NONE })
      if (this.routedResults.size < MAX_SHARED_RESULTS) this.routedResults.set(name, result)
    }
    return (this.lastRouted = result)
  }

  private lastRouted: SendResult | undefined
  private readonly routedResults = new Map<string, SendResult>()

  /** A dead letter: routed from its queue's dead-letter exchange, dropped where that is missing or the copy would go round an automatic cycle. */
  deadLetter(exchange: string, letter: DeadLetter): void {
    if (exchange !== '' && !this.ids.has(exchange) && this.core.routes.find(exchange) === undefined && PREDECLARED[exchange] === undefined) return
    const skip = (queue: string) => isAutomaticCycle(letter.properties.headers!, queue)
    const result = this.deliver(this.destinations(exchange, letter.routingKey, letter.properties.headers), letter, skip)
    if (result.routed.length === 0 && result.refused.length === 0) this.unroutable++
  }

  /** Where a message goes (its codes not to be changed: they may be the route cache's). */
  private destinations(exchange: string, routingKey: string, headers: Record<string, HeaderValue> | undefined): Route {
    if (exchange === '') {
      // dead letters only: send() has a path of its own for the default exchange
      const id = this.host.queues.find(routingKey)
      return { codes: id < 0 ? EMPTY : Int32Array.of(id), kept: false, result: undefined } // kind 'queue' is 0
    }
    const id = this.exchangeId(exchange)
    if (headers === undefined) return this.cache.route(id, routingKey)
    return { codes: this.core.routes.route(id, routingKey, encodeHeaderTable(headers)).slice(), kept: false, result: undefined }
  }

  /**
   * Puts the message into every queue of its route and publishes it to every topic, but into no
   * queue `skip` names. When every destination of a cached route took it the result is the
   * route's own (frozen, made the first time), so that such a send allocates none.
   */
  private deliver(route: Route, message: Outgoing & { value?: unknown }, skip: ((queue: string) => boolean) | undefined): SendResult {
    const { codes } = route
    const now = this.host.clock.now()
    let left: Uint8Array | undefined
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]
      const id = code & ROUTE_DEST_ID_MASK
      if (code >>> ROUTE_DEST_SHIFT === ROUTE_DEST_QUEUE) {
        if (skip !== undefined && skip(this.host.queues.name(id))) (left ??= new Uint8Array(codes.length))[i] = SKIPPED
        else if (!this.host.queues.enqueue(id, message, now)) (left ??= new Uint8Array(codes.length))[i] = REFUSED
      } else {
        if (!('value' in message)) message.value = this.host.queues.codec.decode(valueOf(message))
        this.host.publisher.publish(this.host.registry.at(id).name, message.value, { key: message.routingKey, headers: topicHeaders(message.properties.headers) }, now)
      }
    }
    if (left !== undefined || !route.kept) return this.resultOf(codes, left)
    if (route.result === undefined) {
      const { routed } = this.resultOf(codes, undefined)
      route.result = Object.freeze({ routed: Object.freeze(routed), refused: NONE })
    }
    return route.result
  }

  /** The names of the destinations that took a message and of those that refused it. */
  private resultOf(codes: Int32Array, left: Uint8Array | undefined): { routed: string[]; refused: string[] } {
    const result: { routed: string[]; refused: string[] } = { routed: [], refused: [] }
    for (let i = 0; i < codes.length; i++) {
      const id = codes[i] & ROUTE_DEST_ID_MASK
      const how = left === undefined ? TOOK : left[i]
      if (how === SKIPPED) continue
      const name = codes[i] >>> ROUTE_DEST_SHIFT === ROUTE_DEST_QUEUE ? this.host.queues.name(id) : this.host.registry.at(id).name
      ;(how === REFUSED ? result.refused : result.routed).push(name)
    }
    return result
  }
}

/** What happened to a message at each destination of its route. */
const TOOK = 0
const REFUSED = 1
const SKIPPED = 2
const NONE: readonly string[] = Object.freeze([])
/** What send() returns when nothing took the message. */
export const NOTHING_ROUTED: SendResult = Object.freeze({ routed: NONE, refused: NONE })
const MAX_SHARED_RESULTS = 1024
/** The largest encoded size (as sureEncodedSize bounds it) of a value whose encoding may wait: a frame of it fits any log. */
const DEFER_MAX = 1024
const EMPTY = new Int32Array(0)

/** An exchange declaration's name and options, checked (what only the routing table can refuse aside). */
export function checkExchange(name: string, options: ExchangeOptions | undefined): { type: ExchangeType; alternate: string | undefined } {
  checkExchangeName(name)
  const type = options?.type ?? 'direct'
  if (!TYPES.includes(type)) throw new InvalidArgumentError(`exchange type must be one of ${TYPES.join(', ')}, got ${String(type)}`, { exchange: name, argument: 'type' })
  const alternate = options?.alternateExchange
  if (alternate !== undefined) checkExchangeName(alternate)
  if (name.startsWith('amq.') && PREDECLARED[name] !== type) {
    throw new InvalidArgumentError(`exchange names starting with 'amq.' are reserved (the predeclared ${Object.keys(PREDECLARED).join(', ')})`, { exchange: name, argument: 'exchange' })
  }
  return { type, alternate }
}

/** A binding as given to bind()/unbind(), checked as far as it can be without the routing table. */
export function checkBindingInput(binding: Binding): CheckedBinding {
  const b = checkBinding(binding)
  if (b.exchange === '') throw new InvalidArgumentError('the default exchange binds every queue by its name; it takes no other bindings', { exchange: '', argument: 'exchange' })
  checkKey(b.pattern, b.exchange)
  return b
}

/** send()'s exchange name, routing key and options (headers included), checked. */
export function checkSend(exchange: string, routingKey: string, options: SendOptions | undefined): SendOptions {
  if (typeof exchange !== 'string') throw new InvalidArgumentError('send needs an exchange name (\'\' for the default exchange)', { argument: 'exchange' })
  checkKey(routingKey, exchange)
  const o = checkSendOptions(exchange, options)
  checkMessageHeaders(o.headers, { exchange })
  return o
}

export function checkExchangeName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`an exchange name must be a string, got ${typeof name}`, { argument: 'exchange' })
  if (name === '') throw new InvalidArgumentError('the default exchange \'\' exists already and cannot be declared', { exchange: name, argument: 'exchange' })
  if (textEncoder.encode(name).length > MAX_KEY) throw new InvalidArgumentError(`an exchange name takes at most ${MAX_KEY} UTF-8 bytes`, { exchange: name, argument: 'exchange' })
}

function checkKey(key: unknown, exchange: string): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError(`a routing key must be a string, got ${typeof key}`, { exchange, argument: 'routingKey' })
  if (key.length > MAX_KEY && textEncoder.encode(key).length > MAX_KEY) {
    throw new InvalidArgumentError(`a routing key takes at most ${MAX_KEY} UTF-8 bytes`, { exchange, argument: 'routingKey' })
  }
}

const NO_OPTIONS: SendOptions = Object.freeze({})

function checkSendOptions(exchange: string, options: SendOptions | undefined): SendOptions {
  if (options === undefined) return NO_OPTIONS
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('send options must be an object', { exchange, argument: 'options' })
  const { priority, expirationMs, delayMs, correlationId, replyTo, messageId, mandatory } = options
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 255)) throw new InvalidArgumentError(`priority must be an integer from 0 to 255, got ${String(priority)}`, { exchange, argument: 'priority' })
  for (const [name, v] of [['expirationMs', expirationMs], ['delayMs', delayMs]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new InvalidArgumentError(`${name} must be a number of ms, at least 0, got ${String(v)}`, { exchange, argument: name })
  }
  for (const [name, v] of [['correlationId', correlationId], ['replyTo', replyTo], ['messageId', messageId]] as const) {
    if (v !== undefined && typeof v !== 'string') throw new InvalidArgumentError(`${name} must be a string`, { exchange, argument: name })
  }
  if (mandatory !== undefined && typeof mandatory !== 'boolean') throw new InvalidArgumentError('mandatory must be a boolean', { exchange, argument: 'mandatory' })
  return options
}

/** Topic records carry string or byte headers: other values travel as their JSON text. */
function topicHeaders(headers: Record<string, HeaderValue> | undefined): Record<string, string | Uint8Array> | undefined {
  if (headers === undefined) return undefined
  const out: Record<string, string | Uint8Array> = {}
  for (const [k, v] of Object.entries(headers)) out[k] = typeof v === 'string' || v instanceof Uint8Array ? v : JSON.stringify(v) ?? ''
  return out
}

