// RabbitMQ behaviour scenarios, as plain data: the one source that both the recorder
// (record.mjs, against a real broker over AMQP) and the replay (replay.ts, on a ringbus bus)
// interpret. Each step that observes something yields one outcome; fixtures/<id>.json holds the
// outcomes the broker gave, in step order.
//
// This file must stay plain data plus types: record.mjs loads it by stripping the types with
// TypeScript's transpileModule, with no imports but type-only ones (which it erases). Queue and
// exchange options are ringbus's own; on the broker a deliveryLimit makes a quorum queue
// (x-queue-type: quorum), the only kind with a limit.
//
// Names: every exchange and queue name is used verbatim on the broker (the recorder deletes
// them before and after each scenario), so they start with the scenario's id to stay apart.
//
// Time: `wait` is logical milliseconds. The recorder sleeps that long in real time; the replay
// advances its manual clock by the same amount. TTLs are 100-600 ms and every look is at least
// ~100 ms of logical time away from any expiry on either side, because the recorder's real time
// also runs during publishes and its pause before each get/drain (record.mjs: SETTLE_MS).

import type { ExchangeType, QueueOptions } from '../../src/types.js'

export type { ExchangeType, QueueOptions }

/**
 * A header or binding-argument value. `null` is AMQP's void (in a binding: "header present").
 * `{ $amqp, value }` forces an AMQP number type on the wire (a JS number is sent by amqplib as
 * the smallest signed integer type that holds it, or a double); the replay passes `value`.
 */
export type HeaderValue = string | number | boolean | null | { $amqp: AmqpNumberType; value: number }
export type AmqpNumberType = 'byte' | 'short' | 'int' | 'long' | 'float' | 'double'

export interface PublishStep {
  op: 'publish'
  exchange: string
  routingKey: string
  value: string
  headers?: Record<string, HeaderValue>
  priority?: number
  expirationMs?: number
  correlationId?: string
  replyTo?: string
  mandatory?: boolean
  messageId?: string
}

/** What to do with a delivery taken by `get`. `hold` keeps it unacknowledged under the name `as`. */
export type Settle = 'ack' | 'nack-requeue' | 'nack' | 'reject' | 'reject-requeue'

export type Step =
  | { op: 'exchange'; name: string; type: ExchangeType; alternateExchange?: string }
  | { op: 'queue'; name: string; options?: QueueOptions }
  | { op: 'bind' | 'unbind'; exchange: string; queue: string; pattern?: string; arguments?: Record<string, HeaderValue> }
  | { op: 'bind' | 'unbind'; exchange: string; toExchange: string; pattern?: string }
  | PublishStep
  /** One basic.get; outcome: the delivery, or `{ empty: true }`. Then settles it, or holds it as `as`. */
  | { op: 'get'; queue: string; then: Settle | 'hold'; as?: string }
  /** Settles a delivery held by an earlier get. No outcome. */
  | { op: 'settle'; ref: string; action: Settle }
  /** basic.get until empty, acking each; outcome: the deliveries (or only their bodies). */
  | { op: 'drain'; queue: string; bodies?: boolean }
  | { op: 'wait'; ms: number }
  /**
   * Closes the channel the gets were made on: every held delivery goes back to its queue.
   * The replay nacks (requeue) the held deliveries, latest first.
   */
  | { op: 'closeChannel' }
  /**
   * Competing consumers: `consumers` consumers with `prefetch` each attach to `queue` (in order),
   * then `count` messages 'm0'..'m{count-1}' are published to it through the default exchange.
   * Rounds: let deliveries arrive, note which consumer holds which message, then each consumer in
   * turn acks everything it holds (consumer 0 first). Outcome: per round, per consumer, the
   * message indexes it got.
   */
  | { op: 'consume'; queue: string; consumers: number; prefetch: number; count: number }

export interface Scenario {
  id: string
  title: string
  steps: Step[]
}

/** The observable outcomes, in the shape fixtures store them. */
export interface DeliveryRecord {
  body: string
  exchange: string
  routingKey: string
  redelivered: boolean
  /** Only when the message carries a priority property. */
  priority?: number
  /** Only when non-empty; x-death `time` values are replaced by TIME_PLACEHOLDER. */
  headers?: Record<string, unknown>
  correlationId?: string
  replyTo?: string
  messageId?: string
}

export type Outcome =
  | { step: number; op: 'publish'; confirm: 'ack' | 'nack'; returned: boolean }
  | { step: number; op: 'get'; queue: string; delivery: DeliveryRecord | null }
  | { step: number; op: 'drain'; queue: string; deliveries: Array<DeliveryRecord | string> }
  | { step: number; op: 'consume'; queue: string; rounds: number[][][] }

export interface Fixture {
  scenario: string
  title: string
  recordedWith: { broker: string; client: string }
  normalised: string
  outcomes: Outcome[]
}

export const TIME_PLACEHOLDER = '<time>'

// ---- helpers that build steps (plain functions, so the data stays readable) ----

const ex = (name: string, type: ExchangeType, alternateExchange?: string): Step =>
  alternateExchange === undefined ? { op: 'exchange', name, type } : { op: 'exchange', name, type, alternateExchange }
const q = (name: string, options?: QueueOptions): Step => (options === undefined ? { op: 'queue', name } : { op: 'queue', name, options })
const bind = (exchange: string, queue: string, pattern?: string): Step =>
  pattern === undefined ? { op: 'bind', exchange, queue } : { op: 'bind', exchange, queue, pattern }
const bindH = (exchange: string, queue: string, args: Record<string, HeaderValue>): Step => ({ op: 'bind', exchange, queue, arguments: args })
const bindX = (exchange: string, toExchange: string, pattern?: string): Step =>
  pattern === undefined ? { op: 'bind', exchange, toExchange } : { op: 'bind', exchange, toExchange, pattern }
const pub = (exchange: string, routingKey: string, value: string, extra: Omit<PublishStep, 'op' | 'exchange' | 'routingKey' | 'value'> = {}): Step =>
  ({ op: 'publish', exchange, routingKey, value, ...extra })
const get = (queue: string, then: Settle | 'hold' = 'ack', as?: string): Step => (as === undefined ? { op: 'get', queue, then } : { op: 'get', queue, then, as })
const settle = (ref: string, action: Settle): Step => ({ op: 'settle', ref, action })
const drain = (queue: string, bodies = false): Step => (bodies ? { op: 'drain', queue, bodies } : { op: 'drain', queue })
const wait = (ms: number): Step => ({ op: 'wait', ms })
const drainAll = (queues: string[]): Step[] => queues.map((name) => drain(name, true))

// ---- 1-4: routing by exchange type ----

const direct: Scenario = {
  id: 'direct',
  title: 'Direct exchange: several queues on one key, a key nobody bound; the default exchange routes by queue name',
  steps: [
    ex('direct.x', 'direct'),
    q('direct.q1'), q('direct.q2'), q('direct.q3'),
    bind('direct.x', 'direct.q1', 'k'), bind('direct.x', 'direct.q2', 'k'), bind('direct.x', 'direct.q3', 'other'),
    // the same queue bound twice with the same key still gets one copy
    bind('direct.x', 'direct.q3', 'k2'), bind('direct.x', 'direct.q3', 'k2'),
    pub('direct.x', 'k', 'to-k'),
    pub('direct.x', 'other', 'to-other'),
    pub('direct.x', 'K', 'case-differs'),
    pub('direct.x', 'nobody', 'unbound-key'),
    pub('direct.x', 'k2', 'to-k2'),
    pub('', 'direct.q2', 'default-exchange'),
    pub('', 'direct.nosuchqueue', 'default-exchange-no-queue'),
    pub('direct.x', 'direct.q1', 'queue-name-on-direct'),
    drain('direct.q1'), drain('direct.q2'), drain('direct.q3'),
    { op: 'unbind', exchange: 'direct.x', queue: 'direct.q1', pattern: 'k' },
    pub('direct.x', 'k', 'after-unbind'),
    ...drainAll(['direct.q1', 'direct.q2', 'direct.q3']),
  ],
}

const fanout: Scenario = {
  id: 'fanout',
  title: 'Fanout exchange ignores the routing key and the binding pattern',
  steps: [
    ex('fanout.x', 'fanout'),
    q('fanout.q1'), q('fanout.q2'),
    bind('fanout.x', 'fanout.q1'), bind('fanout.x', 'fanout.q2', 'some-pattern'),
    pub('fanout.x', '', 'empty-key'),
    pub('fanout.x', 'anything.at.all', 'dotted-key'),
    pub('fanout.x', 'some-pattern', 'key-equals-pattern'),
    drain('fanout.q1'),
    ...drainAll(['fanout.q2']),
    { op: 'unbind', exchange: 'fanout.x', queue: 'fanout.q2', pattern: 'some-pattern' },
    pub('fanout.x', 'x', 'after-unbind'),
    ...drainAll(['fanout.q1', 'fanout.q2']),
  ],
}

const topicPatterns: Array<[string, string]> = [
  ['topic.hash', '#'],
  ['topic.star', '*'],
  ['topic.a_hash', 'a.#'],
  ['topic.hash_b', '#.b'],
  ['topic.a_star_b', 'a.*.b'],
  ['topic.a_hash_b', 'a.#.b'],
  ['topic.star_star', '*.*'],
  ['topic.emptypattern', ''],
  ['topic.a_empty_b', 'a..b'],
  ['topic.hash_hash', '#.#'],
  ['topic.star_hash', '*.#'],
  ['topic.literal', 'a.b'],
]
const topicKeys = ['', 'a', 'b', 'a.b', 'a.x.b', 'a..b', 'a.b.c', 'x.b', '.', 'a.', '.b', 'a.x.y.b', 'c', 'A.b']

const topic: Scenario = {
  id: 'topic',
  title: 'Topic exchange: which of a dozen patterns (#, *, a.#, #.b, empty pattern, empty words) receive which keys',
  steps: [
    ex('topic.x', 'topic'),
    ...topicPatterns.flatMap(([queue, pattern]) => [q(queue), bind('topic.x', queue, pattern)]),
    ...topicKeys.map((key) => pub('topic.x', key, `key=${key}`)),
    ...drainAll(topicPatterns.map(([queue]) => queue)),
  ],
}

const headerBindings: Array<[string, Record<string, HeaderValue>]> = [
  ['headers.all', { 'x-match': 'all', color: 'red', size: 1 }],
  ['headers.any', { 'x-match': 'any', color: 'red', size: 1 }],
  ['headers.default', { color: 'red' }],
  ['headers.present', { 'x-match': 'all', color: null }],
  ['headers.str1', { 'x-match': 'all', n: '1' }],
  ['headers.num1', { 'x-match': 'all', n: 1 }],
  ['headers.num1000', { 'x-match': 'all', n: 1000 }],
  ['headers.float', { 'x-match': 'all', n: 1.5 }],
  ['headers.bool', { 'x-match': 'all', flag: true }],
  ['headers.x_all', { 'x-match': 'all', 'x-tag': 'v' }],
  ['headers.x_any', { 'x-match': 'any', 'x-tag': 'v', color: 'blue' }],
  ['headers.x_allx', { 'x-match': 'all-with-x', 'x-tag': 'v' }],
  ['headers.x_anyx', { 'x-match': 'any-with-x', 'x-tag': 'v', color: 'blue' }],
  ['headers.empty_all', { 'x-match': 'all' }],
  ['headers.empty_any', { 'x-match': 'any' }],
  ['headers.empty_allx', { 'x-match': 'all-with-x' }],
  ['headers.empty_anyx', { 'x-match': 'any-with-x' }],
]
const headerMessages: Array<Record<string, HeaderValue> | undefined> = [
  { color: 'red', size: 1 },
  { color: 'red' },
  { size: 1 },
  { color: 'blue' },
  { color: 'red', size: 1, extra: 'z' },
  { color: 'red', size: '1' },
  { color: null },
  { n: 1 },
  { n: '1' },
  { n: 1000 },
  { n: 1.5 },
  { n: true },
  { flag: true },
  { flag: 'true' },
  { flag: 1 },
  { 'x-tag': 'v' },
  { 'x-tag': 'v', color: 'red' },
  {},
  undefined,
  { Color: 'red' },
]

const headers: Scenario = {
  id: 'headers',
  title: 'Headers exchange: all / any / all-with-x / any-with-x, void (presence) args, 1 vs "1", booleans, x- headers, bindings with no args',
  steps: [
    ex('headers.x', 'headers'),
    ...headerBindings.flatMap(([queue, args]) => [q(queue), bindH('headers.x', queue, args)]),
    ...headerMessages.map((h, i) => (h === undefined ? pub('headers.x', 'ignored', `msg${i}:no-headers`) : pub('headers.x', 'ignored', `msg${i}:${JSON.stringify(h)}`, { headers: h }))),
    ...drainAll(headerBindings.map(([queue]) => queue)),
  ],
}

const headersAmqpTypes: Scenario = {
  id: 'headers-amqp-types',
  // the broker compares numbers by value across AMQP's integer and float types, so a bus with one
  // number type reproduces this; the replay sends `value` plainly
  title: 'Headers exchange and AMQP number types: an integer binding value matches the same number sent as another integer width or as a float',
  steps: [
    ex('htypes.x', 'headers'),
    q('htypes.byte1'), bindH('htypes.x', 'htypes.byte1', { 'x-match': 'all', n: 1 }),
    q('htypes.long1'), bindH('htypes.x', 'htypes.long1', { 'x-match': 'all', n: { $amqp: 'long', value: 1 } }),
    q('htypes.double1'), bindH('htypes.x', 'htypes.double1', { 'x-match': 'all', n: { $amqp: 'double', value: 1 } }),
    q('htypes.double1_5'), bindH('htypes.x', 'htypes.double1_5', { 'x-match': 'all', n: 1.5 }),
    q('htypes.float1_5'), bindH('htypes.x', 'htypes.float1_5', { 'x-match': 'all', n: { $amqp: 'float', value: 1.5 } }),
    q('htypes.any_byte1'), bindH('htypes.x', 'htypes.any_byte1', { 'x-match': 'any', n: 1 }),
    pub('htypes.x', '', 'byte 1', { headers: { n: 1 } }),
    pub('htypes.x', '', 'short 1', { headers: { n: { $amqp: 'short', value: 1 } } }),
    pub('htypes.x', '', 'int 1', { headers: { n: { $amqp: 'int', value: 1 } } }),
    pub('htypes.x', '', 'long 1', { headers: { n: { $amqp: 'long', value: 1 } } }),
    pub('htypes.x', '', 'double 1.0', { headers: { n: { $amqp: 'double', value: 1 } } }),
    pub('htypes.x', '', 'float 1.0', { headers: { n: { $amqp: 'float', value: 1 } } }),
    pub('htypes.x', '', 'double 1.5', { headers: { n: 1.5 } }),
    pub('htypes.x', '', 'float 1.5', { headers: { n: { $amqp: 'float', value: 1.5 } } }),
    ...drainAll(['htypes.byte1', 'htypes.long1', 'htypes.double1', 'htypes.double1_5', 'htypes.float1_5', 'htypes.any_byte1']),
  ],
}

// ---- 5-6: exchange-to-exchange and alternate exchanges ----

const e2e: Scenario = {
  id: 'exchange-to-exchange',
  title: 'Exchange-to-exchange bindings: a chain, a diamond (one copy per queue), a cycle',
  steps: [
    // chain: chain.a (topic) -> chain.b (direct) -> chain.c (fanout) -> queue
    ex('e2e.chain.a', 'topic'), ex('e2e.chain.b', 'direct'), ex('e2e.chain.c', 'fanout'),
    q('e2e.chain.q'),
    bindX('e2e.chain.a', 'e2e.chain.b', 'k.#'), bindX('e2e.chain.b', 'e2e.chain.c', 'k.1'), bind('e2e.chain.c', 'e2e.chain.q'),
    pub('e2e.chain.a', 'k.1', 'chain k.1'),
    pub('e2e.chain.a', 'k.2', 'chain k.2 (stops at b)'),
    pub('e2e.chain.a', 'x', 'chain x (stops at a)'),
    drain('e2e.chain.q'),
    // diamond: top fans out to left and right, both route to the same queue, and top also binds it directly
    ex('e2e.dia.top', 'fanout'), ex('e2e.dia.left', 'fanout'), ex('e2e.dia.right', 'fanout'),
    q('e2e.dia.q'), q('e2e.dia.q2'),
    bindX('e2e.dia.top', 'e2e.dia.left'), bindX('e2e.dia.top', 'e2e.dia.right'),
    bind('e2e.dia.left', 'e2e.dia.q'), bind('e2e.dia.right', 'e2e.dia.q'), bind('e2e.dia.top', 'e2e.dia.q'),
    bind('e2e.dia.right', 'e2e.dia.q2'),
    pub('e2e.dia.top', 'any', 'diamond'),
    drain('e2e.dia.q'), drain('e2e.dia.q2'),
    // cycle: one <-> two, both bound to a queue each
    ex('e2e.cyc.one', 'fanout'), ex('e2e.cyc.two', 'fanout'),
    q('e2e.cyc.q1'), q('e2e.cyc.q2'),
    bindX('e2e.cyc.one', 'e2e.cyc.two'), bindX('e2e.cyc.two', 'e2e.cyc.one'),
    bind('e2e.cyc.one', 'e2e.cyc.q1'), bind('e2e.cyc.two', 'e2e.cyc.q2'),
    pub('e2e.cyc.one', 'k', 'cycle via one', { mandatory: true }),
    pub('e2e.cyc.two', 'k', 'cycle via two', { mandatory: true }),
    // an exchange bound to itself
    ex('e2e.self', 'fanout'), bindX('e2e.self', 'e2e.self'),
    pub('e2e.self', 'k', 'self-bound, no queue', { mandatory: true }),
    bind('e2e.self', 'e2e.cyc.q1'),
    pub('e2e.self', 'k', 'self-bound, with queue', { mandatory: true }),
    drain('e2e.cyc.q1'), drain('e2e.cyc.q2'),
    // unbinding an exchange-to-exchange binding
    { op: 'unbind', exchange: 'e2e.chain.a', toExchange: 'e2e.chain.b', pattern: 'k.#' },
    pub('e2e.chain.a', 'k.1', 'after e2e unbind', { mandatory: true }),
    drain('e2e.chain.q'),
  ],
}

const alternate: Scenario = {
  id: 'alternate-exchange',
  title: 'Alternate exchanges: unroutable messages go to the AE; AE chains; mandatory with and without an AE; AE and exchange-to-exchange',
  steps: [
    ex('ae.ae2', 'fanout'), q('ae.ae2.q'), bind('ae.ae2', 'ae.ae2.q'),
    ex('ae.ae1', 'direct', 'ae.ae2'), q('ae.ae1.q'), bind('ae.ae1', 'ae.ae1.q', 'only-this'),
    ex('ae.main', 'direct', 'ae.ae1'), q('ae.main.q'), bind('ae.main', 'ae.main.q', 'routed'),
    ex('ae.plain', 'direct'), q('ae.plain.q'), bind('ae.plain', 'ae.plain.q', 'routed'),
    pub('ae.main', 'routed', 'routed normally', { mandatory: true }),
    pub('ae.main', 'only-this', 'unroutable at main, routed by ae1'),
    pub('ae.main', 'nowhere', 'unroutable at main and ae1, fanout ae2 takes it'),
    pub('ae.main', 'nowhere', 'mandatory, taken by the AE chain', { mandatory: true }),
    pub('ae.plain', 'nowhere', 'mandatory, no AE', { mandatory: true }),
    pub('ae.plain', 'nowhere', 'not mandatory, no AE'),
    drain('ae.main.q'), drain('ae.ae1.q'), drain('ae.ae2.q'), drain('ae.plain.q'),
    // an AE whose own routing finds nothing (and has no AE): mandatory message is returned
    ex('ae.deadend', 'direct'), ex('ae.withdeadend', 'direct', 'ae.deadend'),
    pub('ae.withdeadend', 'k', 'AE routes nowhere', { mandatory: true }),
    // an AE that does not exist
    ex('ae.missing', 'direct', 'ae.does-not-exist'),
    pub('ae.missing', 'k', 'AE missing', { mandatory: true }),
    // exchange-to-exchange under an exchange with an AE: src (AE srcae) -> mid (no binding for the key)
    ex('ae.srcae', 'fanout'), q('ae.srcae.q'), bind('ae.srcae', 'ae.srcae.q'),
    ex('ae.midae', 'fanout'), q('ae.midae.q'), bind('ae.midae', 'ae.midae.q'),
    ex('ae.src', 'topic', 'ae.srcae'), ex('ae.mid', 'direct'), ex('ae.mid2', 'direct', 'ae.midae'),
    bindX('ae.src', 'ae.mid', 'to-mid.#'), bindX('ae.src', 'ae.mid2', 'to-mid2.#'),
    q('ae.mid.q'), bind('ae.mid', 'ae.mid.q', 'to-mid.x'),
    pub('ae.src', 'to-mid.x', 'src -> mid -> queue', { mandatory: true }),
    pub('ae.src', 'to-mid.y', 'src matches mid, mid matches nothing, mid has no AE', { mandatory: true }),
    pub('ae.src', 'to-mid2.y', 'src matches mid2, mid2 matches nothing, mid2 has an AE', { mandatory: true }),
    pub('ae.src', 'other', 'src matches nothing', { mandatory: true }),
    drain('ae.mid.q'), drain('ae.srcae.q'), drain('ae.midae.q'),
    // an AE that is reached through e2e: src2 (AE -> ae.mid, which has e2e bindings)
    ex('ae.viae2e', 'direct', 'ae.mid'),
    pub('ae.viae2e', 'to-mid.x', 'unroutable at viae2e, AE mid routes by the same key'),
    drain('ae.mid.q'),
  ],
}

// ---- 7-8: priorities and requeue order ----

const priority: Scenario = {
  id: 'priority',
  title: 'Priority queue (x-max-priority 5): mixed priorities incl. above the max, 0 and none, then get all',
  steps: [
    q('prio.q', { maxPriority: 5 }),
    pub('', 'prio.q', 'p1-a', { priority: 1 }),
    pub('', 'prio.q', 'none-a'),
    pub('', 'prio.q', 'p5-a', { priority: 5 }),
    pub('', 'prio.q', 'p9-a', { priority: 9 }),
    pub('', 'prio.q', 'p0-a', { priority: 0 }),
    pub('', 'prio.q', 'p3-a', { priority: 3 }),
    pub('', 'prio.q', 'p6-a', { priority: 6 }),
    pub('', 'prio.q', 'none-b'),
    pub('', 'prio.q', 'p1-b', { priority: 1 }),
    pub('', 'prio.q', 'p5-b', { priority: 5 }),
    pub('', 'prio.q', 'p3-b', { priority: 3 }),
    drain('prio.q'),
    // a queue without x-max-priority ignores priorities
    q('prio.plain'),
    pub('', 'prio.plain', 'p1', { priority: 1 }),
    pub('', 'prio.plain', 'p9', { priority: 9 }),
    pub('', 'prio.plain', 'none'),
    drain('prio.plain'),
    // requeued high-priority message goes back before lower ones
    pub('', 'prio.q', 'low', { priority: 1 }),
    pub('', 'prio.q', 'high', { priority: 4 }),
    get('prio.q', 'hold', 'h'),
    pub('', 'prio.q', 'higher', { priority: 5 }),
    settle('h', 'nack-requeue'),
    drain('prio.q'),
  ],
}

const requeue: Scenario = {
  id: 'requeue-order',
  title: 'Requeue order: nack the middle of three with requeue; basic.reject requeue; closing the channel returns unacked messages',
  steps: [
    q('requeue.q'),
    pub('', 'requeue.q', 'm1'), pub('', 'requeue.q', 'm2'), pub('', 'requeue.q', 'm3'), pub('', 'requeue.q', 'm4'),
    get('requeue.q', 'hold', 'a'), get('requeue.q', 'hold', 'b'), get('requeue.q', 'hold', 'c'),
    settle('b', 'nack-requeue'),
    get('requeue.q', 'hold', 'b2'),
    settle('a', 'ack'), settle('c', 'ack'), settle('b2', 'ack'),
    drain('requeue.q'),
    // reject with requeue, twice, behind an untouched message
    pub('', 'requeue.q', 'r1'), pub('', 'requeue.q', 'r2'), pub('', 'requeue.q', 'r3'),
    get('requeue.q', 'hold', 'r1'), get('requeue.q', 'hold', 'r2'),
    settle('r2', 'reject-requeue'),
    settle('r1', 'reject-requeue'),
    get('requeue.q', 'reject-requeue'),
    drain('requeue.q'),
    // nack without requeue and no DLX: gone
    pub('', 'requeue.q', 'dropped'),
    get('requeue.q', 'nack'),
    get('requeue.q', 'ack'),
    // closing the channel: held deliveries come back, redelivered, in their original order
    pub('', 'requeue.q', 'c1'), pub('', 'requeue.q', 'c2'), pub('', 'requeue.q', 'c3'), pub('', 'requeue.q', 'c4'),
    get('requeue.q', 'hold', 'c1'), get('requeue.q', 'hold', 'c2'), get('requeue.q', 'hold', 'c3'),
    settle('c2', 'ack'),
    pub('', 'requeue.q', 'c5'),
    { op: 'closeChannel' },
    drain('requeue.q'),
  ],
}

// ---- 9-12: dead-lettering, TTL, max length, delivery limit ----

const deadLetter: Scenario = {
  id: 'dead-letter',
  title: 'Dead-letter chains: reject then expire (full x-death), routing key override, a retry loop, a cycle without rejection',
  steps: [
    ex('dlx.X', 'direct'), ex('dlx.Y', 'topic'),
    q('dlx.A', { deadLetterExchange: 'dlx.X' }),
    q('dlx.B', { deadLetterExchange: 'dlx.Y', messageTtlMs: 100 }),
    q('dlx.C'),
    bind('dlx.X', 'dlx.B', 'orig.key'),
    bind('dlx.Y', 'dlx.C', '#'),
    ex('dlx.in', 'direct'), bind('dlx.in', 'dlx.A', 'orig.key'),
    pub('dlx.in', 'orig.key', 'chain', { headers: { app: 'h1' }, messageId: 'id-1', correlationId: 'corr-1' }),
    get('dlx.A', 'reject'),
    wait(300),
    drain('dlx.C'),
    // routing key override: O dead-letters to Z with key 'over', per-message expiration recorded
    ex('dlx.Z', 'direct'),
    q('dlx.O', { deadLetterExchange: 'dlx.Z', deadLetterRoutingKey: 'over' }),
    q('dlx.Zq'), bind('dlx.Z', 'dlx.Zq', 'over'),
    q('dlx.Zorig'), bind('dlx.Z', 'dlx.Zorig', 'dlx.O'),
    pub('', 'dlx.O', 'override-rejected'),
    get('dlx.O', 'nack'),
    pub('', 'dlx.O', 'override-expired', { expirationMs: 100 }),
    wait(300),
    drain('dlx.Zq'), drain('dlx.Zorig', true),
    // dead-lettering to the default exchange, routed by the dead-letter routing key
    q('dlx.D', { deadLetterExchange: '', deadLetterRoutingKey: 'dlx.Dtarget' }), q('dlx.Dtarget'),
    pub('', 'dlx.D', 'to default exchange'),
    get('dlx.D', 'reject'),
    drain('dlx.Dtarget'),
    // retry loop: work rejects to retry (ttl 100), which expires back to work; three rounds
    ex('dlx.retry', 'direct'), ex('dlx.work', 'direct'),
    q('dlx.workq', { deadLetterExchange: 'dlx.retry' }),
    q('dlx.retryq', { deadLetterExchange: 'dlx.work', messageTtlMs: 100 }),
    bind('dlx.work', 'dlx.workq', 'job'), bind('dlx.retry', 'dlx.retryq', 'job'),
    pub('dlx.work', 'job', 'retry me'),
    get('dlx.workq', 'reject'),
    wait(300),
    get('dlx.workq', 'reject'),
    wait(300),
    get('dlx.workq', 'nack'),
    wait(300),
    get('dlx.workq', 'ack'),
    // cycle without rejection: cyc expires to a fanout that routes back to cyc and to an audit queue
    ex('dlx.cycfan', 'fanout'),
    // (TTL 500: had the first expiry put it back, it would still be there at 700)
    q('dlx.cyc', { messageTtlMs: 500, deadLetterExchange: 'dlx.cycfan' }),
    q('dlx.audit'),
    bind('dlx.cycfan', 'dlx.cyc'), bind('dlx.cycfan', 'dlx.audit'),
    pub('', 'dlx.cyc', 'cycling'),
    wait(700),
    get('dlx.cyc', 'ack'),
    drain('dlx.audit'),
    wait(700),
    get('dlx.cyc', 'ack'),
    drain('dlx.audit'),
    // a cycle with a rejection in it is not dropped
    q('dlx.self', { deadLetterExchange: '', deadLetterRoutingKey: 'dlx.self' }),
    pub('', 'dlx.self', 'self-reject'),
    get('dlx.self', 'reject'),
    get('dlx.self', 'reject'),
    get('dlx.self', 'ack'),
    // dead-letter exchange that does not exist: the message is dropped
    q('dlx.nowhere', { deadLetterExchange: 'dlx.does-not-exist' }),
    pub('', 'dlx.nowhere', 'dlx missing'),
    get('dlx.nowhere', 'reject'),
    get('dlx.nowhere', 'ack'),
  ],
}

const ttl: Scenario = {
  id: 'ttl',
  title: 'TTL: per-queue, per-message, the smaller of both, expiry only at the head, expired messages dead-lettered; queue expiry',
  steps: [
    ex('ttl.dlx', 'fanout'), q('ttl.dead'), bind('ttl.dlx', 'ttl.dead'),
    // per-queue TTL
    q('ttl.queue', { messageTtlMs: 300, deadLetterExchange: 'ttl.dlx' }),
    pub('', 'ttl.queue', 'q-ttl 1'),
    pub('', 'ttl.queue', 'q-ttl 2'),
    wait(50),
    get('ttl.queue', 'ack'),
    wait(450),
    get('ttl.queue', 'ack'),
    drain('ttl.dead'),
    // per-message expiration on a queue without TTL
    q('ttl.msg', { deadLetterExchange: 'ttl.dlx' }),
    pub('', 'ttl.msg', 'exp 100', { expirationMs: 100 }),
    pub('', 'ttl.msg', 'no exp'),
    wait(300),
    drain('ttl.msg'),
    drain('ttl.dead'),
    // the smaller of the two: queue 600, messages 100 and 5000
    q('ttl.min', { messageTtlMs: 600, deadLetterExchange: 'ttl.dlx' }),
    pub('', 'ttl.min', 'exp 100', { expirationMs: 100 }),
    pub('', 'ttl.min', 'exp 5000 (queue 600 wins)', { expirationMs: 5000 }),
    wait(300),
    drain('ttl.dead', true),
    wait(600),
    drain('ttl.dead'),
    drain('ttl.min'),
    // a short-TTL message behind a long-TTL one waits until it reaches the head
    q('ttl.head', { deadLetterExchange: 'ttl.dlx' }),
    pub('', 'ttl.head', 'long 600', { expirationMs: 600 }),
    pub('', 'ttl.head', 'short 100', { expirationMs: 100 }),
    pub('', 'ttl.head', 'none'),
    wait(300),
    drain('ttl.dead', true),
    wait(600),
    drain('ttl.dead', true),
    drain('ttl.head'),
    // expiration 0: delivered only if it can be at once, otherwise expired
    q('ttl.zero', { deadLetterExchange: 'ttl.dlx' }),
    pub('', 'ttl.zero', 'exp 0', { expirationMs: 0 }),
    wait(100),
    get('ttl.zero', 'ack'),
    drain('ttl.dead'),
    // a requeued message keeps its original expiry
    q('ttl.requeue', { messageTtlMs: 400 }),
    pub('', 'ttl.requeue', 'requeued before expiry'),
    wait(100),
    get('ttl.requeue', 'hold', 'r'),
    wait(400),
    settle('r', 'nack-requeue'),
    get('ttl.requeue', 'ack'),
    // queue expiry (x-expires): unused for 200 ms, the queue is gone
    q('ttl.expiring', { expiresMs: 200 }),
    pub('', 'ttl.expiring', 'before expiry', { mandatory: true }),
    wait(600),
    pub('', 'ttl.expiring', 'after expiry', { mandatory: true }),
  ],
}

const maxLength: Scenario = {
  id: 'max-length',
  title: 'x-max-length: drop-head (dead-lettered, maxlen), reject-publish (nack), reject-publish-dlx; unacked messages do not count',
  steps: [
    ex('maxlen.dlx', 'fanout'), q('maxlen.dead'), bind('maxlen.dlx', 'maxlen.dead'),
    q('maxlen.drop', { maxLength: 2, deadLetterExchange: 'maxlen.dlx' }),
    pub('', 'maxlen.drop', 'd1'), pub('', 'maxlen.drop', 'd2'), pub('', 'maxlen.drop', 'd3'), pub('', 'maxlen.drop', 'd4'),
    drain('maxlen.drop', true),
    drain('maxlen.dead'),
    q('maxlen.reject', { maxLength: 2, overflow: 'reject-publish', deadLetterExchange: 'maxlen.dlx' }),
    pub('', 'maxlen.reject', 'r1'), pub('', 'maxlen.reject', 'r2'), pub('', 'maxlen.reject', 'r3', { mandatory: true }),
    drain('maxlen.reject', true),
    drain('maxlen.dead', true),
    q('maxlen.rejectdlx', { maxLength: 2, overflow: 'reject-publish-dlx', deadLetterExchange: 'maxlen.dlx' }),
    pub('', 'maxlen.rejectdlx', 'x1'), pub('', 'maxlen.rejectdlx', 'x2'), pub('', 'maxlen.rejectdlx', 'x3'),
    drain('maxlen.rejectdlx', true),
    drain('maxlen.dead'),
    // fanout to a full reject-publish queue and a free queue: nacked, but the free queue has it
    ex('maxlen.fan', 'fanout'), q('maxlen.free'), q('maxlen.full', { maxLength: 1, overflow: 'reject-publish' }),
    bind('maxlen.fan', 'maxlen.free'), bind('maxlen.fan', 'maxlen.full'),
    pub('maxlen.fan', '', 'f1'), pub('maxlen.fan', '', 'f2'),
    drain('maxlen.free', true), drain('maxlen.full', true),
    // only ready messages count: with one unacked, two more fit
    q('maxlen.unacked', { maxLength: 2, overflow: 'reject-publish' }),
    pub('', 'maxlen.unacked', 'u1'), pub('', 'maxlen.unacked', 'u2'),
    get('maxlen.unacked', 'hold', 'u1'),
    pub('', 'maxlen.unacked', 'u3'),
    pub('', 'maxlen.unacked', 'u4'),
    // requeueing the held one makes three ready messages in a queue of max 2
    settle('u1', 'nack-requeue'),
    pub('', 'maxlen.unacked', 'u5'),
    drain('maxlen.unacked', true),
    // drop-head with a held message: the held one is not dropped
    q('maxlen.drophold', { maxLength: 1, deadLetterExchange: 'maxlen.dlx' }),
    pub('', 'maxlen.drophold', 'h1'),
    get('maxlen.drophold', 'hold', 'h1'),
    pub('', 'maxlen.drophold', 'h2'), pub('', 'maxlen.drophold', 'h3'),
    settle('h1', 'ack'),
    drain('maxlen.drophold', true),
    drain('maxlen.dead', true),
  ],
}

const deliveryLimit: Scenario = {
  id: 'delivery-limit',
  title: 'Delivery limit 2 on a quorum queue with a DLX: nack-requeue until dead-lettered; x-delivery-count and the x-death reason',
  steps: [
    ex('dlimit.dlx', 'fanout'), q('dlimit.dead'), bind('dlimit.dlx', 'dlimit.dead'),
    q('dlimit.q', { deliveryLimit: 2, deadLetterExchange: 'dlimit.dlx' }),
    pub('', 'dlimit.q', 'poison'),
    get('dlimit.q', 'nack-requeue'),
    get('dlimit.q', 'nack-requeue'),
    get('dlimit.q', 'nack-requeue'),
    get('dlimit.q', 'nack-requeue'),
    drain('dlimit.dead'),
    // requeue order on the quorum queue, and reject-requeue counts too
    pub('', 'dlimit.q', 'first'), pub('', 'dlimit.q', 'second'),
    get('dlimit.q', 'reject-requeue'),
    get('dlimit.q', 'hold', 'x'),
    get('dlimit.q', 'hold', 'y'),
    settle('y', 'ack'), settle('x', 'ack'),
    // closing the channel with a held delivery: does it count as a delivery?
    pub('', 'dlimit.q', 'closed-on'),
    get('dlimit.q', 'hold', 'c'),
    { op: 'closeChannel' },
    get('dlimit.q', 'hold', 'c'),
    { op: 'closeChannel' },
    get('dlimit.q', 'hold', 'c'),
    { op: 'closeChannel' },
    get('dlimit.q', 'ack'),
    drain('dlimit.dead'),
  ],
}

// ---- 13-14: competing consumers, request/reply ----

const roundRobin: Scenario = {
  id: 'round-robin',
  title: 'Round-robin among 3 consumers, prefetch 1 and prefetch 2 (which consumer gets which message index)',
  steps: [
    q('rr.p1'), q('rr.p2'),
    { op: 'consume', queue: 'rr.p1', consumers: 3, prefetch: 1, count: 8 },
    { op: 'consume', queue: 'rr.p2', consumers: 3, prefetch: 2, count: 10 },
  ],
}

const requestReply: Scenario = {
  id: 'request-reply',
  title: 'Request/reply: replyTo and correlationId travel with the request and the reply',
  steps: [
    q('rpc.requests'), q('rpc.replies'),
    ex('rpc.x', 'direct'), bind('rpc.x', 'rpc.requests', 'rpc'),
    pub('rpc.x', 'rpc', 'request 1', { replyTo: 'rpc.replies', correlationId: 'corr-1', messageId: 'req-1' }),
    get('rpc.requests', 'ack'),
    pub('', 'rpc.replies', 'reply 1', { correlationId: 'corr-1' }),
    get('rpc.replies', 'ack'),
  ],
}

export const scenarios: Scenario[] = [
  direct, fanout, topic, headers, headersAmqpTypes, e2e, alternate, priority, requeue,
  deadLetter, ttl, maxLength, deliveryLimit, roundRobin, requestReply,
]
