// Queues in the core: RabbitMQ queue semantics (round-robin, prefetch, requeue at position,
// priorities, TTL at the head, max length, delivery limit, delayed messages, basic.get,
// dead letters, unused-queue expiry) on a log partition per queue. Every single-thread test runs
// on both builds (shared and plain memory).
import { describe, expect, it } from 'vitest'
import { errorOf } from '../expect-error.js'
import { instantiateCore } from '../../src/core/exports.js'
import { LogCore, type QueueConfig } from '../../src/core/log.js'
import { errors } from '../../src/index.js'

const base: QueueConfig = { overflow: 'drop-head', maxPriority: 0, deadLetter: false }
const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe.each([{ shared: true }, { shared: false }])('queues (shared: $shared)', ({ shared }) => {
  const make = (queueBytes?: number) => LogCore.create({ maxBytes: 1 << 20, shared, segmentBytes: 8192, maxPartitions: 64, lanes: 4, queueBytes })

  /** A core and a queue declared on it, with helpers that publish `m<n>` payloads. */
  const setup = async (config: Partial<QueueConfig> = {}, queueBytes?: number) => {
    const core = await make(queueBytes)
    const q = core.queues
    const { id } = q.declare('q', { ...base, ...config }, 0)
    const publish = (n: number, o: { priority?: number; expiresAt?: number; readyAt?: number; now?: number; bytes?: number } = {}) =>
      q.publish(id, q.placeFrame(o.bytes === undefined ? encoder.encode(`m${n}`) : new Uint8Array(o.bytes).fill(n & 0xff)), o.priority ?? 0,
        o.expiresAt ?? Infinity, o.readyAt ?? 0, o.now ?? 0)
    const receive = (c: number, max = 1000) => q.receive(c, max).map((d) => ({ ...d }))
    const offsets = (c: number, max = 1000) => receive(c, max).map((d) => d.offset)
    const payload = (offset: number) => core.readValue(q.partition(id), offset, (b) => decoder.decode(b))
    return { core, q, id, publish, receive, offsets, payload }
  }

  it('declares a queue once: equal config returns it, another config is PRECONDITION_FAILED', async () => {
    const core = await make()
    const q = core.queues
    const config: QueueConfig = { overflow: 'reject-publish', maxLength: 10, messageTtlMs: 500, expiresMs: 60_000, maxPriority: 3, deliveryLimit: 4, deadLetter: true }
    const a = q.declare('orders', config, 0)
    expect(a.created).toBe(true)
    expect(q.declare('orders', { ...config }, 5)).toEqual({ id: a.id, created: false })
    const b = q.declare('other', base, 0)
    expect(b).toEqual({ id: a.id + 1, created: true })
    expect(q.partition(b.id)).not.toBe(q.partition(a.id))
    expect(q.config(a.id)).toEqual(config)
    expect(q.config(b.id)).toEqual(base)
    expect(q.name(a.id)).toBe('orders')
    expect(q.find('orders')).toBe(a.id)
    expect(q.find('nope')).toBe(-1)
    expect(q.queues()).toEqual([{ id: a.id, name: 'orders' }, { id: b.id, name: 'other' }])
    for (const changed of [{ maxLength: 11 }, { maxLength: undefined }, { overflow: 'drop-head' as const }, { messageTtlMs: undefined }, { expiresMs: 1 },
      { maxPriority: 4 }, { deliveryLimit: undefined }, { deadLetter: false }]) {
      const error = errorOf(() => q.declare('orders', { ...config, ...changed }, 0))
      expect(error).toBeInstanceOf(errors.InvalidArgumentError)
      expect(error).toMatchObject({ queue: 'orders', reason: 'precondition' })
    }
    expect(q.config(a.id)).toEqual(config)
  })

  it('names are 1..255 UTF-8 bytes, compared as bytes', async () => {
    const core = await make()
    const q = core.queues
    const longest = 'é'.repeat(127) + 'x' // 255 bytes
    const ids = [longest, 'é'.repeat(127) + 'y', 'a\u0000b', 'a b', 'A'].map((name) => q.declare(name, base, 0).id)
    expect(new Set(ids).size).toBe(5)
    expect(q.name(ids[0])).toBe(longest)
    expect(q.name(ids[2])).toBe('a\u0000b')
    for (const name of ['', 'é'.repeat(128), '\ud800']) expect(() => q.declare(name, base, 0)).toThrow(errors.InvalidArgumentError)
  })

  it('refuses bad input with typed errors and changes nothing', async () => {
    const { q, id, publish } = await setup()
    const bad: Array<Partial<QueueConfig>> = [{ maxPriority: 256 }, { maxPriority: -1 }, { maxPriority: 1.5 }, { overflow: 'x' as never }, { maxLength: -1 },
      { maxLength: 1.5 }, { expiresMs: 0 }, { messageTtlMs: -1 }, { messageTtlMs: Infinity }, { deliveryLimit: 0.5 }, { deadLetter: 1 as never }]
    for (const config of bad) expect(() => q.declare('bad', { ...base, ...config }, 0)).toThrow(errors.InvalidArgumentError)
    expect(q.find('bad')).toBe(-1)
    const frame = q.placeFrame(encoder.encode('x'))
    expect(() => q.publish(id, frame, 256, Infinity, 0, 0)).toThrow(errors.InvalidArgumentError)
    expect(() => q.publish(id, frame, 0, NaN, 0, 0)).toThrow(errors.InvalidArgumentError)
    expect(() => q.publish(id, frame, 0, Infinity, 0, NaN)).toThrow(errors.InvalidArgumentError)
    expect(() => q.publish(7, frame, 0, Infinity, 0, 0)).toThrow(errors.UnknownQueueError)
    expect(() => q.stats(7)).toThrow(errors.UnknownQueueError)
    expect(() => q.consume(id, -1, false, 0)).toThrow(errors.InvalidArgumentError)
    expect(() => q.receive(3, 10)).toThrow(errors.InvalidArgumentError)
    expect(errorOf(() => q.ack(3, 0))).toMatchObject({ argument: 'consumer' })
    expect(() => q.ack(0, -1)).toThrow(errors.InvalidArgumentError)
    expect(q.stats(id).messages).toBe(0)
    expect(publish(0)).toBe(0)
  })

  it('gives messages round-robin to consumers in the order they came', async () => {
    const { q, id, publish, offsets, payload } = await setup()
    const [a, b, c] = [0, 1, 2].map(() => q.consume(id, 0, false, 0))
    for (let i = 0; i < 7; i++) expect(publish(i)).toBe(i)
    expect(offsets(a)).toEqual([0, 3, 6])
    expect(offsets(b)).toEqual([1, 4])
    expect(offsets(c)).toEqual([2, 5])
    expect(payload(4)).toBe('m4')
    expect(q.stats(id)).toEqual({ ready: 0, delayed: 0, unacked: 7, dead: 0, consumers: 3, messages: 7 })
  })

  it('holds prefetch: a consumer is given no more than prefetch unacked messages', async () => {
    const { q, id, publish, offsets } = await setup()
    const a = q.consume(id, 1, false, 0)
    const b = q.consume(id, 3, false, 0)
    for (let i = 0; i < 6; i++) publish(i)
    expect(offsets(a)).toEqual([0])
    expect(offsets(b)).toEqual([1, 2, 3])
    expect(q.stats(id)).toMatchObject({ ready: 2, unacked: 4 })
    expect(offsets(a)).toEqual([])
    q.ack(a, 0)
    expect(offsets(a)).toEqual([4])
    q.ack(b, 2)
    expect(offsets(b)).toEqual([5])
    expect(q.stats(id)).toMatchObject({ ready: 0, unacked: 4 })
  })

  it('a consumer\'s mailbox holds 256 messages: the rest wait ready until it receives', async () => {
    const { q, id, publish, offsets } = await setup()
    const c = q.consume(id, 0, false, 0)
    for (let i = 0; i < 300; i++) publish(i)
    expect(q.stats(id)).toMatchObject({ ready: 44, unacked: 256 })
    expect(offsets(c, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(q.stats(id)).toMatchObject({ ready: 0, unacked: 300 })
    expect(offsets(c)).toEqual(Array.from({ length: 200 }, (_, i) => i + 100))
  })

  it('a requeued message keeps its place: redelivered before later messages, its count up', async () => {
    const { q, id, publish, receive } = await setup()
    for (let i = 0; i < 5; i++) publish(i)
    const c = q.consume(id, 2, false, 0)
    expect(receive(c).map((d) => [d.offset, d.deliveryCount, d.redelivered])).toEqual([[0, 1, false], [1, 1, false]])
    q.nack(c, 1, true, 0)
    q.ack(c, 0)
    expect(receive(c)).toEqual([{ offset: 1, deliveryCount: 2, redelivered: true, priority: 0 }, { offset: 2, deliveryCount: 1, redelivered: false, priority: 0 }])
    // given to another consumer, it is still redelivered
    q.nack(c, 2, true, 0)
    q.cancel(c, 0)
    const d = q.consume(id, 0, false, 0)
    expect(receive(d).map((x) => [x.offset, x.deliveryCount, x.redelivered])).toEqual([[1, 3, true], [2, 2, true], [3, 1, false], [4, 1, false]])
  })

  it('delivers higher priorities first, FIFO within a level; above maxPriority counts as max', async () => {
    const { q, id, publish, receive } = await setup({ maxPriority: 5 })
    const priorities = [0, 3, 9, 5, 3, 1, 255, 0, 5]
    priorities.forEach((priority, i) => publish(i, { priority }))
    const c = q.consume(id, 0, false, 0)
    const got = receive(c)
    expect(got.map((d) => d.offset)).toEqual([2, 3, 6, 8, 1, 4, 5, 0, 7])
    expect(got.map((d) => d.priority)).toEqual([9, 5, 255, 5, 3, 3, 1, 0, 0]) // the message's own priority
  })

  it('a requeued message goes before later ones of its level only; a higher level still comes first', async () => {
    const { q, id, publish, offsets } = await setup({ maxPriority: 2 })
    publish(0, { priority: 1 })
    publish(1, { priority: 1 })
    const c = q.consume(id, 1, false, 0)
    expect(offsets(c)).toEqual([0])
    publish(2, { priority: 2 })
    q.nack(c, 0, true, 0)
    expect(offsets(c)).toEqual([2])
    q.ack(c, 2)
    expect(offsets(c)).toEqual([0])
    q.ack(c, 0)
    expect(offsets(c)).toEqual([1])
  })

  it('ignores priorities on a queue without maxPriority', async () => {
    const { q, id, publish, offsets } = await setup()
    ;[0, 9, 3, 200].forEach((priority, i) => publish(i, { priority }))
    expect(offsets(q.consume(id, 0, false, 0))).toEqual([0, 1, 2, 3])
  })

  it('expires messages only at the head: a short TTL behind a long one waits', async () => {
    const { q, id, publish, offsets } = await setup({ deadLetter: true })
    publish(0, { expiresAt: 1000 })
    publish(1, { expiresAt: 10 })
    publish(2)
    expect(q.tick(id, 0)).toBe(1000) // the head's expiry; the one behind it does not count
    expect(q.tick(id, 500)).toBe(1000)
    expect(q.stats(id)).toMatchObject({ ready: 3, dead: 0 })
    expect(q.tick(id, 1000)).toBe(Infinity)
    expect(q.stats(id)).toMatchObject({ ready: 1, dead: 2 })
    expect(q.takeDead(id, 10)).toEqual([{ offset: 0, reason: 'expired' }, { offset: 1, reason: 'expired' }])
    expect(offsets(q.consume(id, 0, false, 1000))).toEqual([2])
  })

  it('expires per priority level head', async () => {
    const { q, id, publish } = await setup({ maxPriority: 1 })
    publish(0, { priority: 0, expiresAt: 50 })
    publish(1, { priority: 1, expiresAt: 100 })
    expect(q.tick(id, 0)).toBe(50)
    expect(q.tick(id, 60)).toBe(100)
    expect(q.stats(id).ready).toBe(1)
    expect(q.tick(id, 100)).toBe(Infinity)
    expect(q.stats(id).messages).toBe(0)
  })

  it('queue TTL: expires at enqueue + ttl; TTL 0 reaches a waiting consumer but is dropped without one', async () => {
    const { q, id, publish, offsets, core } = await setup({ messageTtlMs: 100 })
    publish(0, { now: 0, expiresAt: 0 + 100 })
    publish(1, { now: 50, expiresAt: 50 + 100 })
    expect(q.tick(id, 99)).toBe(100)
    expect(q.tick(id, 100)).toBe(150)
    expect(q.stats(id).ready).toBe(1)
    expect(q.tick(id, 150)).toBe(Infinity)
    expect(q.stats(id).messages).toBe(0)
    // TTL 0
    const zero = q.declare('zero', { ...base, messageTtlMs: 0 }, 0).id
    const put = (n: number, now: number) => q.publish(zero, q.placeFrame(encoder.encode(`z${n}`)), 0, now, 0, now)
    put(0, 200)
    expect(q.stats(zero).messages).toBe(0)
    const c = q.consume(zero, 0, false, 200)
    put(1, 300)
    expect(offsets(c)).toEqual([1])
    expect(core.endOffset(q.partition(zero))).toBe(2)
  })

  it('max length drop-head drops the oldest ready messages (dead-lettered as maxlen)', async () => {
    const { q, id, publish, offsets } = await setup({ maxLength: 2, deadLetter: true })
    for (let i = 0; i < 4; i++) expect(publish(i)).toBe(i)
    expect(q.stats(id)).toMatchObject({ ready: 2, dead: 2 })
    expect(q.takeDead(id, 10)).toEqual([{ offset: 0, reason: 'maxlen' }, { offset: 1, reason: 'maxlen' }])
    const c = q.consume(id, 1, false, 0)
    expect(offsets(c)).toEqual([2])
    // only READY messages count: the unacked one does not
    publish(4)
    publish(5)
    expect(q.stats(id)).toMatchObject({ ready: 2, unacked: 1 })
    expect(q.takeDead(id, 10)).toEqual([{ offset: 3, reason: 'maxlen' }])
  })

  it('drop-head on a priority queue drops the message it would deliver next (the highest level head), as RabbitMQ does', async () => {
    const { q, id, publish, offsets } = await setup({ maxLength: 2, maxPriority: 2 })
    publish(0, { priority: 0 })
    publish(1, { priority: 2 })
    publish(2, { priority: 1 })
    expect(offsets(q.consume(id, 0, false, 0))).toEqual([2, 0])
  })

  it('max length 0 with drop-head: a waiting consumer still gets the message, else it is dropped', async () => {
    const { q, id, publish, offsets } = await setup({ maxLength: 0 })
    publish(0)
    expect(q.stats(id).messages).toBe(0)
    const c = q.consume(id, 0, false, 0)
    publish(1)
    expect(offsets(c)).toEqual([1])
  })

  it.each(['reject-publish', 'reject-publish-dlx'] as const)('max length %s refuses publishes over it and appends nothing', async (overflow) => {
    const { core, q, id, publish, offsets } = await setup({ maxLength: 2, overflow, deadLetter: true })
    expect(publish(0)).toBe(0)
    expect(publish(1)).toBe(1)
    expect(publish(2)).toBeUndefined()
    expect(core.endOffset(q.partition(id))).toBe(2)
    expect(q.stats(id)).toMatchObject({ ready: 2, dead: 0 })
    // delayed messages do not count, and neither do unacked ones
    expect(publish(3, { readyAt: 100 })).toBe(2)
    const c = q.consume(id, 1, false, 0)
    expect(offsets(c)).toEqual([0])
    expect(publish(4)).toBe(3)
    expect(publish(5)).toBeUndefined()
    expect(q.takeDead(id, 10)).toEqual([])
  })

  it('max length 0 with reject-publish refuses everything', async () => {
    const { q, id, publish } = await setup({ maxLength: 0, overflow: 'reject-publish' })
    q.consume(id, 0, false, 0)
    expect(publish(0)).toBeUndefined()
  })

  it('delivery limit: returned after more than deliveryLimit deliveries, a message is dead (delivery_limit)', async () => {
    const { q, id, publish, receive } = await setup({ deliveryLimit: 2, deadLetter: true })
    publish(0)
    const c = q.consume(id, 0, false, 0)
    for (let delivery = 1; delivery <= 3; delivery++) {
      expect(receive(c).map((d) => d.deliveryCount)).toEqual([delivery])
      q.nack(c, 0, true, 0)
    }
    expect(receive(c)).toEqual([])
    expect(q.takeDead(id, 10)).toEqual([{ offset: 0, reason: 'delivery_limit' }])
    // a consumer that goes away returns its messages too
    const zero = q.declare('zero', { ...base, deliveryLimit: 0, deadLetter: true }, 0).id
    q.publish(zero, q.placeFrame(encoder.encode('z')), 0, Infinity, 0, 0)
    const d = q.consume(zero, 0, false, 0)
    expect(q.receive(d, 10)).toHaveLength(1)
    q.cancel(d, 0)
    expect(q.takeDead(zero, 10)).toEqual([{ offset: 0, reason: 'delivery_limit' }])
    // without a dead-letter exchange the message is just gone
    const drop = q.declare('drop', { ...base, deliveryLimit: 0 }, 0).id
    q.publish(drop, q.placeFrame(encoder.encode('z')), 0, Infinity, 0, 0)
    const e = q.consume(drop, 0, false, 0)
    q.nack(e, q.receive(e, 10)[0].offset, true, 0)
    expect(q.stats(drop).messages).toBe(0)
  })

  it('delayed messages are not delivered before readyAt; tick promotes them and says when', async () => {
    const { q, id, publish, offsets } = await setup()
    publish(0, { readyAt: 100 })
    publish(1)
    const c = q.consume(id, 0, false, 0)
    expect(offsets(c)).toEqual([1])
    expect(q.stats(id)).toMatchObject({ delayed: 1, ready: 0 })
    expect(q.tick(id, 50)).toBe(100)
    expect(offsets(c)).toEqual([])
    publish(2, { readyAt: 70, now: 60 })
    expect(q.tick(id, 60)).toBe(70)
    expect(q.tick(id, 100)).toBe(Infinity)
    expect(offsets(c)).toEqual([0, 2]) // in offset order once ready
    expect(q.stats(id)).toMatchObject({ delayed: 0, unacked: 3 })
  })

  it('get takes the next message for this thread\'s get consumer, outside round-robin', async () => {
    const { q, id, publish, offsets } = await setup()
    for (let i = 0; i < 4; i++) publish(i)
    expect(q.get(id, false, 0)).toMatchObject({ offset: 0, deliveryCount: 1, redelivered: false })
    const second = q.get(id, true, 0)!
    expect(second.offset).toBe(1)
    const first = q.get(id, false, 0)!
    expect(first.offset).toBe(2)
    expect(q.stats(id)).toEqual({ ready: 1, delayed: 0, unacked: 2, dead: 0, consumers: 0, messages: 3 })
    q.ack(first.consumer, 2)
    q.nack(first.consumer, 0, true, 0)
    const c = q.consume(id, 0, false, 0)
    expect(offsets(c)).toEqual([0, 3])
    publish(4)
    expect(offsets(c)).toEqual([4]) // the get consumer is never given any
    expect(q.get(id, false, 0)).toBeUndefined()
  })

  it('a noAck consumer\'s messages are done from its next receive on, and prefetch does not limit it', async () => {
    const { q, id, publish, receive } = await setup()
    const c = q.consume(id, 2, true, 0)
    for (let i = 0; i < 3; i++) publish(i)
    expect(receive(c).map((d) => d.offset)).toEqual([0, 1, 2])
    // still held while the host reads them: the head cannot pass them, no segment is freed under them
    expect(q.stats(id)).toMatchObject({ unacked: 3, messages: 3 })
    expect(errorOf(() => q.ack(c, 0))).toMatchObject({ reason: 'unknown-delivery' })
    expect(receive(c)).toEqual([])
    expect(q.stats(id).messages).toBe(0)
    publish(3)
    expect(receive(c).map((d) => d.offset)).toEqual([3])
    q.cancel(c, 0) // what it received is done, not given back (at most once)
    expect(q.stats(id)).toMatchObject({ ready: 0, unacked: 0, messages: 0 })
  })

  it('acks only what the consumer holds: double ack, unknown offset and another consumer\'s offset fail and change nothing', async () => {
    const { q, id, publish, offsets } = await setup()
    const a = q.consume(id, 0, false, 0)
    const b = q.consume(id, 0, false, 0)
    for (let i = 0; i < 4; i++) publish(i)
    expect(offsets(a)).toEqual([0, 2])
    // 3 is assigned to b but not received yet
    q.ack(a, 0)
    const before = q.stats(id)
    for (const [consumer, offset] of [[a, 0], [a, 1], [a, 99], [b, 2], [b, 3], [a, 3]]) {
      const error = errorOf(() => q.ack(consumer, offset))
      expect(error).toBeInstanceOf(errors.InvalidArgumentError)
      expect(error).toMatchObject({ reason: 'unknown-delivery', consumer, offset })
      expect(() => q.nack(consumer, offset, true, 0)).toThrow(errors.InvalidArgumentError)
    }
    expect(q.stats(id)).toEqual(before)
    q.ack(a, 2)
    expect(offsets(b)).toEqual([1, 3])
  })

  it('ackMany acks a batch under one lock: what the consumer holds, once; the room it frees is filled at once', async () => {
    const { q, id, publish, offsets } = await setup()
    const a = q.consume(id, 3, false, 0)
    const b = q.consume(id, 0, false, 0)
    for (let i = 0; i < 8; i++) publish(i)
    expect(offsets(a)).toEqual([0, 2, 4])
    expect(offsets(b)).toEqual([1, 3, 5, 6, 7])
    // 1 is b's, 9 was never published, 2 comes twice: only 0 and 2 are a's to ack
    expect(q.ackMany(a, [0, 1, 2, 9, 2, 99], 5)).toBe(2)
    expect(q.stats(id)).toMatchObject({ ready: 0, unacked: 6, messages: 6 })
    expect(q.ackMany(a, [0, 2], 2)).toBe(0)
    expect(q.ackMany(b, [1, 3, 5, 6, 7], 5)).toBe(5)
    expect(q.stats(id)).toMatchObject({ unacked: 1, messages: 1 })
    q.cancel(b, 0)
    for (let i = 8; i < 12; i++) publish(i)
    // a holds 4 and has room for 2: the acks refill its mailbox in the same call
    expect(offsets(a)).toEqual([8, 9])
    expect(q.ackMany(a, [4, 8], 2)).toBe(2)
    expect(offsets(a)).toEqual([10, 11])
    expect(q.ackMany(a, [], 0)).toBe(0)
    expect(() => q.ackMany(a, [1], 2)).toThrow(errors.InvalidArgumentError)
    q.cancel(a, 0)
    expect(errorOf(() => q.ackMany(a, [9], 1))).toMatchObject({ argument: 'consumer' })
    // a noAck consumer has nothing to ack
    const n = q.consume(id, 0, true, 0)
    expect(offsets(n)).toEqual([9, 10, 11])
    expect(q.ackMany(n, [9, 10], 2)).toBe(0)
    expect(offsets(n)).toEqual([]) // done from its next receive on
    expect(q.stats(id)).toMatchObject({ ready: 0, unacked: 0, messages: 0 })
  })

  it('cancel gives back the mailbox untouched and the held messages redelivered', async () => {
    const { q, id, publish, receive } = await setup()
    const a = q.consume(id, 0, false, 0)
    for (let i = 0; i < 4; i++) publish(i)
    expect(receive(a, 2).map((d) => d.offset)).toEqual([0, 1])
    q.cancel(a, 0)
    expect(q.stats(id)).toEqual({ ready: 4, delayed: 0, unacked: 0, dead: 0, consumers: 0, messages: 4 })
    expect(() => q.receive(a, 1)).toThrow(errors.InvalidArgumentError)
    const b = q.consume(id, 0, false, 0)
    expect(receive(b).map((d) => [d.offset, d.deliveryCount, d.redelivered])).toEqual([[0, 2, true], [1, 2, true], [2, 1, false], [3, 1, false]])
  })

  it('a consumer that is gone stays gone: its id does not reach the consumer that took its slot', async () => {
    const { q, id, publish, receive } = await setup()
    const a = q.consume(id, 0, false, 0)
    publish(0)
    expect(receive(a).map((d) => d.offset)).toEqual([0])
    q.cancel(a, 0)
    const b = q.consume(id, 0, false, 0) // same slot, a new generation
    expect(b).not.toBe(a)
    expect(receive(b).map((d) => d.offset)).toEqual([0])
    expect(() => q.ack(a, 0)).toThrow(errors.InvalidArgumentError)
    expect(() => q.nack(a, 0, true, 0)).toThrow(errors.InvalidArgumentError)
    expect(() => q.cancel(a, 0)).toThrow(errors.InvalidArgumentError)
    expect(q.stats(id)).toMatchObject({ unacked: 1, consumers: 1 })
    q.ack(b, 0)
  })

  it('dead letters wait for the host with a dead-letter exchange: take, then settle', async () => {
    const { q, id, publish, offsets } = await setup({ deadLetter: true })
    for (let i = 0; i < 3; i++) publish(i)
    const c = q.consume(id, 0, false, 0)
    expect(offsets(c)).toEqual([0, 1, 2])
    q.nack(c, 1, false, 0)
    q.nack(c, 0, false, 0)
    expect(q.stats(id)).toMatchObject({ dead: 2, unacked: 1, messages: 3 })
    expect(q.takeDead(id, 1)).toEqual([{ offset: 0, reason: 'rejected' }])
    expect(q.takeDead(id, 10)).toEqual([{ offset: 1, reason: 'rejected' }])
    expect(q.takeDead(id, 10)).toEqual([]) // claimed already
    q.settleDead(id, 1)
    expect(q.stats(id)).toMatchObject({ dead: 1 })
    expect(errorOf(() => q.settleDead(id, 1))).toMatchObject({ reason: 'unknown-dead-letter' })
    expect(() => q.settleDead(id, 2)).toThrow(errors.InvalidArgumentError)
    q.settleDead(id, 0)
    q.ack(c, 2)
    expect(q.stats(id).messages).toBe(0)
  })

  it('without a dead-letter exchange dead messages are gone at once', async () => {
    const { q, id, publish, offsets } = await setup()
    publish(0)
    const c = q.consume(id, 0, false, 0)
    expect(offsets(c)).toEqual([0])
    q.nack(c, 0, false, 0)
    expect(q.stats(id)).toMatchObject({ dead: 0, messages: 0 })
    expect(q.takeDead(id, 10)).toEqual([])
  })

  it('frees log segments the head passed; an unacked message pins them', async () => {
    const { core, q, id, publish, receive } = await setup()
    const p = q.partition(id)
    const free = core.freeSegments()
    const n = 200
    for (let i = 0; i < n; i++) publish(i, { bytes: 300 })
    const segments = core.segments(p)
    expect(segments).toBeGreaterThan(4)
    expect(core.freeSegments()).toBe(free - segments)
    const c = q.consume(id, 0, false, 0)
    const got = receive(c)
    expect(got).toHaveLength(n)
    for (const d of got.slice(1)) q.ack(c, d.offset) // offset 0 stays unacked
    expect(core.startOffset(p)).toBe(0)
    expect(core.segments(p)).toBe(segments)
    q.ack(c, 0)
    expect(core.segments(p)).toBe(1) // the segment being written stays
    expect(core.startOffset(p)).toBeGreaterThan(0)
    expect(core.freeSegments()).toBe(free - 1)
    // the log goes on
    expect(publish(n)).toBe(n)
    expect(receive(c).map((d) => d.offset)).toEqual([n])
  })

  it('writes small segments while its consumers keep up and full ones once they fall behind or blocks run short', async () => {
    // 64 KiB blocks: a small segment (QUEUE_SMALL_SEGMENT) is a quarter of one
    const core = await LogCore.create({ maxBytes: 64 * 65536, shared, segmentBytes: 65536, maxPartitions: 8, lanes: 2 })
    const q = core.queues
    const { id } = q.declare('q', base, 0)
    const p = q.partition(id)
    const put = (n: number) => q.publish(id, q.placeFrame(new Uint8Array(1000).fill(n & 0xff)), 0, Infinity, 0, 0)!
    const c = q.consume(id, 0, false, 0)
    const payloads: number[] = []
    const take = () => {
      for (const d of q.receive(c, 256)) {
        payloads.push(core.readValue(p, d.offset, (b) => b[0] + b.length * 0x100)!)
        q.ack(c, d.offset)
      }
    }
    // keeping up: each message acked once sent; 40 KB through small segments rolls and frees
    // some (one full segment would still hold them all, and nothing would have been freed)
    for (let i = 0; i < 40; i++) {
      put(i)
      take()
    }
    expect(core.startOffset(p)).toBeGreaterThan(0)
    expect(core.segments(p)).toBe(1)
    // falling behind: 200 KB waiting take a few full segments, not a dozen small ones
    for (let i = 40; i < 240; i++) put(i)
    expect(core.segments(p)).toBeGreaterThanOrEqual(3)
    expect(core.segments(p)).toBeLessThan(8)
    take()
    expect(payloads).toEqual(Array.from({ length: 240 }, (_, i) => (i & 0xff) + 1000 * 0x100))
    expect(core.segments(p)).toBe(1)
    // blocks running short (fewer than a quarter free): full segments, so that no room is lost
    const other = q.declare('other', base, 0).id
    while (core.freeSegments() * 4 >= 64) q.publish(other, q.placeFrame(new Uint8Array(60_000)), 0, Infinity, 0, 0)
    const third = q.declare('third', base, 0).id
    const c3 = q.consume(third, 0, false, 0)
    for (let i = 0; i < 40; i++) {
      q.publish(third, q.placeFrame(new Uint8Array(1000)), 0, Infinity, 0, 0)
      for (const d of q.receive(c3, 10)) q.ack(c3, d.offset)
    }
    expect(core.startOffset(q.partition(third))).toBe(0) // the 40 KB all went into one segment
  })

  it('deletes a queue unused for expiresMs (no consumers, no declare, consume, get or cancel)', async () => {
    const { q, id } = await setup({ expiresMs: 1000 })
    expect(q.expireUnused(id, 999)).toBe(false)
    q.declare('q', { ...base, expiresMs: 1000 }, 500) // redeclaring is use
    expect(q.expireUnused(id, 1400)).toBe(false)
    const c = q.consume(id, 0, false, 1500)
    expect(q.expireUnused(id, 9000)).toBe(false) // it has a consumer
    q.cancel(c, 2000)
    expect(q.expireUnused(id, 2999)).toBe(false)
    q.get(id, false, 2500)
    expect(q.expireUnused(id, 3400)).toBe(false)
    expect(q.expireUnused(id, 3500)).toBe(true)
    expect(q.find('q')).toBe(-1)
    const plain = q.declare('plain', base, 0).id
    expect(q.expireUnused(plain, 1e12)).toBe(false)
  })

  it('a deleted queue\'s slot and partition serve the next queue, which starts at the partition\'s end', async () => {
    const { core, q, id, publish } = await setup()
    const c = q.consume(id, 0, false, 0)
    for (let i = 0; i < 3; i++) publish(i)
    const p = q.partition(id)
    const wake = q.wakeIndex(c)
    const seen = Atomics.load(new Int32Array(core.memory.buffer), wake)
    q.delete(id)
    expect(q.find('q')).toBe(-1)
    expect(() => q.stats(id)).toThrow(errors.UnknownQueueError)
    expect(() => q.receive(c, 1)).toThrow(errors.InvalidArgumentError)
    expect(q.queues()).toEqual([])
    expect(Atomics.load(new Int32Array(core.memory.buffer), wake)).not.toBe(seen) // a waiter wakes up and finds it gone
    const next = q.declare('next', base, 0)
    expect(next).toEqual({ id, created: true })
    expect(q.partition(next.id)).toBe(p)
    expect(core.segments(p)).toBe(0)
    expect(q.publish(next.id, q.placeFrame(encoder.encode('n')), 0, Infinity, 0, 0)).toBe(3)
    expect(q.stats(next.id)).toMatchObject({ ready: 1, messages: 1, consumers: 0 })
    expect(core.readValue(p, 3, (b) => decoder.decode(b))).toBe('n')
  })

  it('bumps a consumer\'s wake word when its empty mailbox gets a message', async () => {
    const { core, q, id, publish, offsets } = await setup()
    const c = q.consume(id, 0, false, 0)
    const words = new Int32Array(core.memory.buffer)
    const index = q.wakeIndex(c)
    const seen = Atomics.load(words, index)
    publish(0)
    const once = Atomics.load(words, index)
    expect(once).not.toBe(seen)
    publish(1) // not empty: not drained since the last wake-up
    expect(Atomics.load(words, index)).toBe(once)
    expect(offsets(c)).toEqual([0, 1])
    publish(2)
    expect(Atomics.load(words, index)).not.toBe(once)
  })

  it('counts the wake-ups it gave consumers of other threads, for the host to pass on', async () => {
    const { core, q, id, publish, offsets } = await setup()
    // a consumer another thread owns: made through an instance of its own, under its own token
    const other = instantiateCore(core.module, core.memory)
    other.syncSetToken(99, 0)
    const theirs = other.queueConsume(core.layout.ctl, id, 0, 0, 0)
    const mine = q.consume(id, 0, false, 0)
    expect(q.takeWakes()).toBe(0)
    publish(0) // round-robin: to theirs, whose mailbox was empty
    expect(q.takeWakes()).toBe(1)
    expect(q.takeWakes()).toBe(0)
    publish(1) // to mine: this thread's own
    publish(2) // to theirs again, not drained since: no wake-up
    expect(q.takeWakes()).toBe(0)
    expect(offsets(mine)).toEqual([1])
    // their messages come back to mine when they cancel; deleting the queue wakes nobody of theirs any more
    expect(other.queueCancel(core.layout.ctl, theirs, 0)).toBe(0)
    expect(q.takeWakes()).toBe(0) // their own call: counted in their instance
    expect(offsets(mine)).toEqual([0, 2])
    const again = other.queueConsume(core.layout.ctl, id, 0, 0, 0)
    expect(again).toBeGreaterThanOrEqual(0)
    q.delete(id) // their consumer is told it is gone
    expect(q.takeWakes()).toBe(1)
  })

  it('out of queue region room: BackPressureError reason queues, and nothing is corrupted', async () => {
    const { q, id, publish, receive } = await setup({}, 65536)
    let published = 0
    let error: unknown
    for (;;) {
      try {
        publish(published)
      } catch (e) {
        error = e
        break
      }
      published++
    }
    expect(error).toBeInstanceOf(errors.BackPressureError)
    expect(error).toMatchObject({ reason: 'queues', queue: 'q' })
    expect(published).toBeGreaterThan(500)
    expect(q.stats(id)).toMatchObject({ ready: published, messages: published })
    // consumers take room too: as many as fit, then the same error
    const consumers: number[] = []
    expect(() => { for (;;) consumers.push(q.consume(id, 1, false, 0)) }).toThrow(expect.objectContaining({ reason: 'queues' }))
    for (const c of consumers) q.cancel(c, 0)
    const c = q.consume(id, 0, false, 0)
    const got: number[] = []
    for (let batch = receive(c); batch.length > 0; batch = receive(c)) {
      for (const d of batch) {
        got.push(d.offset)
        q.ack(c, d.offset)
      }
    }
    expect(got).toEqual(Array.from({ length: published }, (_, i) => i))
    expect(q.stats(id).messages).toBe(0)
    expect(publish(published)).toBe(published)
    expect(receive(c).map((d) => d.offset)).toEqual([published])
  })

  it('publish reports a full log as BackPressureError and a frame too large as RecordTooLargeError', async () => {
    const core = await LogCore.create({ maxBytes: 4 * 8192, shared, segmentBytes: 8192, maxPartitions: 8, lanes: 2 })
    const q = core.queues
    const id = q.declare('q', base, 0).id
    let error: unknown
    for (let i = 0; i < 1000 && error === undefined; i++) {
      try {
        q.publish(id, q.placeFrame(new Uint8Array(1000)), 0, Infinity, 0, 0)
      } catch (e) {
        error = e
      }
    }
    expect(error).toBeInstanceOf(errors.BackPressureError)
    const ready = q.stats(id).ready
    expect(ready).toBe(core.endOffset(q.partition(id)))
    expect(() => q.publish(id, q.placeFrame(new Uint8Array(8000)), 0, Infinity, 0, 0)).toThrow(errors.RecordTooLargeError)
    expect(q.stats(id).ready).toBe(ready)
  })
})
