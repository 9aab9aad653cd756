// Queues as the host sees them (the core: assembly/queue/queue.ts; layout: src/core/abi/queue.ts):
// RabbitMQ queues on a log partition each, with the delivery state of every message in the
// core's memory, so that consumers in any thread claim, ack and requeue atomically. This layer
// validates arguments, passes bytes through the lane and turns statuses into typed errors; it
// decodes no message (the bus above reads a message's frame from partition(id) at its offset).
import {
  DEAD_RECORD_SIZE, DELIVERY_COUNT, DELIVERY_PRIORITY, DELIVERY_REDELIVERED, DELIVERY_SIZE, INFO_DELIVERY_LIMIT, INFO_EXPIRES,
  INFO_DEAD_LETTER, INFO_DEAD_LETTER_LENGTH, INFO_FLAGS, QUEUE_VERSION, INFO_MAX_LENGTH, INFO_MAX_PRIORITY, INFO_NAME, INFO_PARTITION, INFO_TTL, LANE_OUT_BYTES,
  OVERFLOW_DROP_HEAD, OVERFLOW_REJECT, OVERFLOW_REJECT_DLX, QF_DEAD_LETTER, QF_DELIVERY_LIMIT, QF_MAX_LENGTH, QF_OVERFLOW,
  QUEUE_MAX_NAME, QUEUE_MAX_PRIORITY, QUEUE_TABLE, Q_ASSIGNED, Q_DEAD, Q_DELAYED, Q_READY, Q_STATE, Q_UNACKED, STATS_CONSUMERS, STATS_DEAD, STATS_DELAYED, STATS_MESSAGES, STATS_READY, STATS_UNACKED,
  STATUS_QUEUE_PRECONDITION, STATUS_QUEUE_REFUSED, TABLE_SLOTS, TABLE_USED, DEAD_REJECTED, DEAD_EXPIRED, DEAD_MAXLEN, DEAD_DELIVERY_LIMIT,
} from './abi.js'
import type { Lane } from './lanes.js'
import { CTL, type CoreMemory } from './memory.js'
import type { Staging } from './staging.js'
import { NameIds } from './name-ids.js'
import { statusError } from './status.js'
import { InvalidArgumentError } from '../errors.js'

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx'
export type DeadReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit'

/**
 * A queue's configuration (RabbitMQ's queue arguments). Declaring a queue again takes an equal
 * configuration only. `messageTtlMs` is kept to compare: the host computes each message's
 * expiresAt itself (enqueue time + the smaller of the queue's and the message's TTL).
 */
export interface QueueConfig {
  /** READY messages at most (x-max-length); undefined = no limit; 0 is a limit. */
  maxLength?: number
  overflow: Overflow
  messageTtlMs?: number
  /** Delete the queue after it was unused this long (x-expires; > 0); see expireUnused. */
  expiresMs?: number
  /** 1..255 for a priority queue (x-max-priority), 0 for none. */
  maxPriority: number
  /**
   * Returns a message may have (quorum queues' x-delivery-limit): one returned (nack with
   * requeue, or its consumer went away) after more than `deliveryLimit` deliveries is dead
   * (delivery_limit) instead of ready, as rabbit_fifo does. undefined = no limit.
   */
  deliveryLimit?: number
  /** The queue has a dead-letter exchange: dead messages wait for takeDead, else they are dropped. */
  deadLetter: boolean
  /** Where dead letters go, kept with the queue so that every thread can dead-letter (needs deadLetter). */
  deadLetterExchange?: string
  /** Their routing key (default: the message's own). */
  deadLetterRoutingKey?: string
}

export interface Delivered {
  offset: number
  deliveryCount: number
  redelivered: boolean
  priority: number
}

export interface QueueStats {
  ready: number
  delayed: number
  /** In a consumer's mailbox or received and not settled. */
  unacked: number
  /** Dead and not settled yet (waiting for takeDead or being dead-lettered). */
  dead: number
  consumers: number
  messages: number
}

const REASONS: Record<number, DeadReason> = {
  [DEAD_REJECTED]: 'rejected', [DEAD_EXPIRED]: 'expired', [DEAD_MAXLEN]: 'maxlen', [DEAD_DELIVERY_LIMIT]: 'delivery_limit',
}
const OVERFLOWS: Overflow[] = ['drop-head', 'reject-publish', 'reject-publish-dlx']
const OVERFLOW_CODES: Record<Overflow, number> = { 'drop-head': OVERFLOW_DROP_HEAD, 'reject-publish': OVERFLOW_REJECT, 'reject-publish-dlx': OVERFLOW_REJECT_DLX }
const U32_MAX = 0xffffffff
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
const isTime = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n)

interface QueueMeta {
  name: string
  config: Readonly<QueueConfig>
  partition: number
}

export class QueueCore {
  /** By queue id. */
  private readonly cache: Array<QueueMeta | undefined> = []
  /** Queue ids by name (-1: none), like `cache` valid while no queue comes or goes. */
  private readonly ids = new NameIds((name) => this.lookup(name))
  /** The version the caches below are valid for. */
  private cachedVersion = -1
  /** Most records one receive or takeDead returns (what the lane's output buffer holds). */
  static readonly MAX_BATCH = Math.floor(LANE_OUT_BYTES / DELIVERY_SIZE)
  private readonly delivered: Delivered[] = []

  /** Index in the memory's Int32Array of the queue region's version word. */
  private readonly versionIndex: number

  constructor(private readonly mem: CoreMemory, private readonly staging: Staging, private readonly lane: Lane) {
    this.versionIndex = (mem.layout.queues + QUEUE_VERSION) >> 2
  }

  /**
   * Declares a queue (by any thread; two threads declaring at once get the same one). Returns
   * its id and whether this call created it (with its storage partition). Throws
   * InvalidArgumentError reason 'precondition' when it exists with another configuration.
   */
  declare(name: string, config: QueueConfig, now: number): { id: number; created: boolean } {
    const bytes = this.nameBytes(name)
    const c = this.checkConfig(name, config)
    this.checkTime(now, 'now', name)
    const target = encodeDeadLetter(name, config)
    const both = new Uint8Array(bytes.length + target.length)
    both.set(bytes)
    both.set(target, bytes.length)
    const at = this.staging.place(both)
    const result = this.mem.x.queueDeclare(CTL, at, bytes.length, c.maxPriority, c.flags, c.maxLength, c.deliveryLimit, c.ttl, c.expires, at + bytes.length, target.length, now)
    if (result === STATUS_QUEUE_PRECONDITION) {
      const existing = this.config(this.find(name))
      throw new InvalidArgumentError(`queue ${JSON.stringify(name)} exists with another configuration (PRECONDITION_FAILED, inequivalent arg): ` +
        `declared ${JSON.stringify(existing)}, asked ${JSON.stringify(config)}`, { queue: name, reason: 'precondition', argument: 'config' })
    }
    if (result < 0) throw statusError(result, { queue: name })
    return { id: result >> 1, created: (result & 1) === 1 }
  }

  /** Changes whenever any thread creates or deletes a queue. */
  get version(): number {
    return this.mem.word(this.versionIndex)
  }

  /** Forgets the cached names, ids and configs once any thread created or deleted a queue. */
  private revalidate(): void {
    const version = this.version
    if (version === this.cachedVersion) return
    this.cache.length = 0
    this.ids.clear()
    this.cachedVersion = version
  }

  /** The id of the queue named `name`, -1 when none (cached, like meta, while no queue comes or goes). */
  find(name: string): number {
    this.revalidate()
    return this.ids.get(name)
  }

  private lookup(name: string): number {
    const bytes = this.nameBytes(name)
    const result = this.mem.x.queueFind(CTL, this.staging.place(bytes), bytes.length)
    if (result < -1) throw statusError(result, { queue: name })
    return result
  }

  /**
   * Name, configuration and partition of live queue `id`, cached until any thread creates or
   * deletes a queue (the region's version word changes): the hot paths (send, deliver) ask for
   * them with every message.
   */
  private meta(id: number): QueueMeta {
    this.revalidate()
    let meta = this.cache[id]
    if (meta === undefined) {
      const length = this.info(id)
      const at = this.lane.out + INFO_NAME
      meta = { name: textDecoder.decode(this.mem.u8.slice(at, at + length)), config: Object.freeze(this.readConfig()), partition: this.mem.u32[(this.lane.out + INFO_PARTITION) >> 2] }
      this.cache[id] = meta
    }
    return meta
  }

  name(id: number): string {
    return this.meta(id).name
  }

  /** The queue's configuration (frozen: it is shared by every caller until the queue goes). */
  config(id: number): Readonly<QueueConfig> {
    return this.meta(id).config
  }

  private readConfig(): QueueConfig {
    const { u32, f64 } = this.mem
    const out = this.lane.out
    const flags = u32[(out + INFO_FLAGS) >> 2]
    const ttl = f64[(out + INFO_TTL) >> 3]
    const expires = f64[(out + INFO_EXPIRES) >> 3]
    const config: QueueConfig = { overflow: OVERFLOWS[flags & QF_OVERFLOW], maxPriority: u32[(out + INFO_MAX_PRIORITY) >> 2], deadLetter: (flags & QF_DEAD_LETTER) !== 0 }
    if (flags & QF_MAX_LENGTH) config.maxLength = u32[(out + INFO_MAX_LENGTH) >> 2]
    if (ttl >= 0) config.messageTtlMs = ttl
    if (expires >= 0) config.expiresMs = expires
    if (flags & QF_DELIVERY_LIMIT) config.deliveryLimit = u32[(out + INFO_DELIVERY_LIMIT) >> 2]
    const dlLength = u32[(out + INFO_DEAD_LETTER_LENGTH) >> 2]
    if (dlLength > 0) decodeDeadLetter(this.mem.u8.slice(out + INFO_DEAD_LETTER, out + INFO_DEAD_LETTER + dlLength), config)
    return config
  }

  /** The storage partition of the queue: its messages are the records at their offsets. */
  partition(id: number): number {
    return this.meta(id).partition
  }

  /** Every live queue. */
  queues(): Array<{ id: number; name: string }> {
    const count = this.mem.x.queueCount(CTL)
    if (count < 0) throw statusError(count)
    const list: Array<{ id: number; name: string }> = []
    for (let id = 0; id < count; id++) {
      const length = this.mem.x.queueInfo(CTL, id, this.lane.out)
      if (length < 0) continue
      const at = this.lane.out + INFO_NAME
      list.push({ id, name: textDecoder.decode(this.mem.u8.slice(at, at + length)) })
    }
    return list
  }

  /**
   * Writes a frame (the log's format) where publish takes it, at the far end of this thread's
   * staging area, and returns its address; valid until the next place of anything. The value is
   * bytes [start, end) of `value`.
   */
  placeFrame(value: Uint8Array, timestamp = 0, key?: Uint8Array | string, headers?: Uint8Array, keyHash = 0, flags = 0, start = 0, end = value.length): number {
    return this.staging.placeFrame(timestamp, keyHash, flags, headers, key, value, start, end)
  }

  /** Changes whenever a frame placed by placeFrame may have been overwritten. */
  get placement(): number {
    return this.staging.farWriteCount
  }

  /**
   * Appends the frame the host wrote at `frameAt` (placeFrame) to the queue and enqueues it:
   * `priority` 0..255 (above the queue's max counts as max), expiring at `expiresAt`
   * (Infinity: never), deliverable from `readyAt` (delayed until then). Returns its offset, or
   * undefined when the queue is at its max length with overflow reject-publish(-dlx) (nothing
   * appended; with -dlx the host dead-letters the message itself). Throws BackPressureError
   * (log full; reason 'queues': no room for its state), RecordTooLargeError, UnknownQueueError.
   */
  publish(id: number, frameAt: number, priority: number, expiresAt: number, readyAt: number, now: number): number | undefined {
    this.checkId(id)
    if (!Number.isInteger(frameAt) || frameAt <= 0 || frameAt % 8 !== 0) throw new InvalidArgumentError(`frameAt must be a frame address, got ${frameAt}`, { argument: 'frameAt' })
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) throw new InvalidArgumentError(`priority must be an integer from 0 to 255, got ${priority}`, { argument: 'priority' })
    if (typeof expiresAt !== 'number' || Number.isNaN(expiresAt)) throw new InvalidArgumentError(`expiresAt must be a time in ms or Infinity, got ${String(expiresAt)}`, { argument: 'expiresAt' })
    if (typeof readyAt !== 'number' || Number.isNaN(readyAt)) throw new InvalidArgumentError(`readyAt must be a time in ms, got ${String(readyAt)}`, { argument: 'readyAt' })
    this.checkTime(now, 'now')
    const result = this.mem.x.queuePublish(CTL, id, frameAt, priority, expiresAt, readyAt, now)
    if (result === STATUS_QUEUE_REFUSED) return undefined
    if (result < 0) {
      const size = this.mem.u32[frameAt >> 2]
      throw statusError(result, { queue: this.safeName(id), size, max: this.mem.layout.segmentBytes })
    }
    return result
  }

  /** Expires heads, promotes due delayed messages, dispatches; returns when anything next falls due (Infinity: nothing will). */
  tick(id: number, now: number): number {
    this.checkId(id)
    this.checkTime(now, 'now')
    return this.check(this.mem.x.queueTick(CTL, id, now), id)
  }

  /**
   * Adds a consumer of the queue owned by this thread; returns its id. It is given messages
   * (round-robin among the queue's consumers) while it holds fewer than `prefetch` (0:
   * unlimited) and its mailbox has room; receive takes them; wait on wakeIndex for more.
   */
  consume(id: number, prefetch: number, noAck: boolean, now: number): number {
    this.checkId(id)
    if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 0x7fffffff) throw new InvalidArgumentError(`prefetch must be a non-negative integer, got ${prefetch}`, { argument: 'prefetch' })
    this.checkTime(now, 'now')
    return this.check(this.mem.x.queueConsume(CTL, id, prefetch, noAck ? 1 : 0, now), id)
  }

  /**
   * How many times this thread's calls since it last asked woke a consumer of another thread (its
   * empty mailbox got a message, or it was cancelled): that thread may be waiting to be told.
   */
  takeWakes(): number {
    return this.mem.x.queueTakeWakes()
  }

  /**
   * Index into an Int32Array of the core's memory of the consumer's wake word: the core bumps it
   * (and notifies) when its mailbox gets a message while empty, and when it is cancelled or its
   * queue deleted. Read it, receive, and Atomics.waitAsync on the value read if nothing came.
   */
  wakeIndex(consumer: number): number {
    this.checkConsumer(consumer)
    return this.check(this.mem.x.queueWake(CTL, consumer), undefined, consumer) >> 2
  }

  /**
   * Takes up to `max` messages from this thread's consumer's mailbox (now unacked, or done for a
   * noAck consumer). The array and its objects are reused by the next receive: read them first.
   */
  receive(consumer: number, max: number): Delivered[] {
    this.checkConsumer(consumer)
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`max must be a positive integer, got ${max}`, { argument: 'max' })
    const n = this.check(this.mem.x.queueReceive(CTL, consumer, this.lane.out, Math.min(max, QueueCore.MAX_BATCH)), undefined, consumer)
    const list = this.delivered
    for (let i = list.length; i < n; i++) list.push({ offset: 0, deliveryCount: 0, redelivered: false, priority: 0 })
    list.length = n
    for (let i = 0; i < n; i++) this.readDelivery(this.lane.out + i * DELIVERY_SIZE, list[i])
    return list
  }

  /** basic.get: the next deliverable message for this thread's get consumer (ack it with that consumer), or undefined. */
  get(id: number, noAck: boolean, now: number): (Delivered & { consumer: number }) | undefined {
    this.checkId(id)
    this.checkTime(now, 'now')
    const result = this.check(this.mem.x.queueGet(CTL, id, noAck ? 1 : 0, now, this.lane.out), id)
    if (result === 0) return undefined
    const d = { offset: 0, deliveryCount: 0, redelivered: false, priority: 0, consumer: result - 1 }
    this.readDelivery(this.lane.out, d)
    return d
  }

  /** Acks a message this thread's consumer holds; InvalidArgumentError reason 'unknown-delivery' when it does not. */
  ack(consumer: number, offset: number): void {
    this.checkConsumer(consumer)
    this.checkOffset(offset)
    this.check(this.mem.x.queueAck(CTL, consumer, offset), undefined, consumer, offset)
  }

  /**
   * Acks the first `count` of `offsets`, messages this thread's consumer holds, with one core
   * call; returns how many it held (an offset it does not hold is left alone).
   */
  ackMany(consumer: number, offsets: ArrayLike<number>, count: number): number {
    this.checkConsumer(consumer)
    if (!Number.isInteger(count) || count < 0 || count > offsets.length) throw new InvalidArgumentError(`count must be an integer from 0 to ${offsets.length}, got ${count}`, { argument: 'count' })
    if (count === 0) return 0
    return this.check(this.mem.x.queueAckMany(CTL, consumer, this.staging.placeNumbers(offsets, count), count), undefined, consumer)
  }

  /** Nacks a held message: requeued at its place (redelivered), or dead (rejected) without requeue. */
  nack(consumer: number, offset: number, requeue: boolean, now: number): void {
    this.checkConsumer(consumer)
    this.checkOffset(offset)
    this.checkTime(now, 'now')
    this.check(this.mem.x.queueNack(CTL, consumer, offset, requeue ? 1 : 0, now), undefined, consumer, offset)
  }

  /** Cancels this thread's consumer: what its mailbox held is ready again as it was, what it held is redelivered. */
  cancel(consumer: number, now = 0): void {
    this.checkConsumer(consumer)
    this.checkTime(now, 'now')
    this.check(this.mem.x.queueCancel(CTL, consumer, now), undefined, consumer)
  }

  /** Claims up to `max` dead messages for this thread to dead-letter; settleDead each once republished. */
  takeDead(id: number, max: number): Array<{ offset: number; reason: DeadReason }> {
    this.checkId(id)
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`max must be a positive integer, got ${max}`, { argument: 'max' })
    const n = this.check(this.mem.x.queueTakeDead(CTL, id, Math.min(max, QueueCore.MAX_BATCH), this.lane.out), id)
    const { f64, u32 } = this.mem
    const list: Array<{ offset: number; reason: DeadReason }> = []
    for (let i = 0; i < n; i++) {
      const at = this.lane.out + i * DEAD_RECORD_SIZE
      list.push({ offset: f64[at >> 3], reason: REASONS[u32[(at + 8) >> 2]] })
    }
    return list
  }

  /** A dead message this thread took was republished: it is done. */
  settleDead(id: number, offset: number): void {
    this.checkId(id)
    this.checkOffset(offset)
    this.check(this.mem.x.queueSettle(CTL, id, offset), id, undefined, offset)
  }

  /** Deletes the queue when it has expiresMs and had no consumers and no use for that long; true when deleted. */
  expireUnused(id: number, now: number): boolean {
    this.checkId(id)
    this.checkTime(now, 'now')
    return this.check(this.mem.x.queueExpireUnused(CTL, id, now), id) === 1
  }

  /** Deletes the queue, its messages and consumers (their wake words are notified). */
  delete(id: number): void {
    this.checkId(id)
    this.check(this.mem.x.queueDelete(CTL, id), id)
  }

  stats(id: number): QueueStats {
    this.readStats(id)
    const u32 = this.mem.u32
    const w = this.lane.out >> 2
    return {
      ready: u32[w + STATS_READY / 4], delayed: u32[w + STATS_DELAYED / 4], unacked: u32[w + STATS_UNACKED / 4],
      dead: u32[w + STATS_DEAD / 4], consumers: u32[w + STATS_CONSUMERS / 4], messages: u32[w + STATS_MESSAGES / 4],
    }
  }

  /** How many messages the queue holds in any state (stats().messages, without the object). */
  holds(id: number): number {
    if (!this.mem.shared) {
      // no other thread changes them: the queue's counters, read where the core keeps them, without a call
      const u32 = this.mem.u32
      const table = u32[(this.mem.layout.queues + QUEUE_TABLE) >> 2]
      const q = table !== 0 && id >= 0 && id < u32[(table + TABLE_USED) >> 2] ? u32[(table + TABLE_SLOTS + id * 4) >> 2] : 0
      if (q !== 0 && u32[(q + Q_STATE) >> 2] === 1) {
        return u32[(q + Q_READY) >> 2] + u32[(q + Q_DELAYED) >> 2] + u32[(q + Q_ASSIGNED) >> 2] + u32[(q + Q_UNACKED) >> 2] + u32[(q + Q_DEAD) >> 2]
      }
    }
    this.readStats(id)
    return this.mem.u32[(this.lane.out + STATS_MESSAGES) >> 2]
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** The queue's figures into the lane's output buffer. */
  private readStats(id: number): void {
    this.checkId(id)
    this.check(this.mem.x.queueStats(CTL, id, this.lane.out), id)
  }

  private readDelivery(at: number, d: Delivered): void {
    const { f64, u32, u8 } = this.mem
    d.offset = f64[at >> 3]
    d.deliveryCount = u32[(at + DELIVERY_COUNT) >> 2]
    d.redelivered = u8[at + DELIVERY_REDELIVERED] !== 0
    d.priority = u8[at + DELIVERY_PRIORITY]
  }

  /** The queue's info in the lane's output buffer; returns the name length. */
  private info(id: number): number {
    this.checkId(id)
    return this.check(this.mem.x.queueInfo(CTL, id, this.lane.out), id)
  }

  private safeName(id: number): string | number {
    const length = this.mem.x.queueInfo(CTL, id, this.lane.out)
    if (length < 0) return id
    const at = this.lane.out + INFO_NAME
    return textDecoder.decode(this.mem.u8.slice(at, at + length))
  }

  private check(result: number, id?: number, consumer?: number, offset?: number): number {
    if (result >= 0) return result
    const context: Record<string, unknown> = {}
    if (id !== undefined) context.queue = this.safeName(id)
    if (consumer !== undefined) context.consumer = consumer
    if (offset !== undefined) context.offset = offset
    throw statusError(result, context)
  }

  private nameBytes(name: string): Uint8Array {
    if (typeof name !== 'string') throw new InvalidArgumentError(`a queue name must be a string, got ${typeof name}`, { argument: 'name' })
    if (!wellFormed(name)) throw new InvalidArgumentError('queue name is not well-formed UTF-16 (a lone surrogate)', { argument: 'name', queue: name })
    const bytes = textEncoder.encode(name)
    if (bytes.length < 1 || bytes.length > QUEUE_MAX_NAME) {
      throw new InvalidArgumentError(`a queue name takes 1 to ${QUEUE_MAX_NAME} UTF-8 bytes, got ${bytes.length}`, { argument: 'name', queue: name })
    }
    return bytes
  }

  private checkConfig(queue: string, config: QueueConfig): { maxPriority: number; flags: number; maxLength: number; deliveryLimit: number; ttl: number; expires: number } {
    const bad = (argument: string, message: string) => new InvalidArgumentError(`queue ${JSON.stringify(queue)}: ${message}`, { queue, argument })
    if (typeof config !== 'object' || config === null) throw bad('config', 'config must be an object')
    const { maxLength, overflow, messageTtlMs, expiresMs, maxPriority, deliveryLimit, deadLetter } = config
    if (!(overflow in OVERFLOW_CODES)) throw bad('overflow', `overflow must be one of ${OVERFLOWS.join(', ')}, got ${String(overflow)}`)
    if (!Number.isInteger(maxPriority) || maxPriority < 0 || maxPriority > QUEUE_MAX_PRIORITY) throw bad('maxPriority', `maxPriority must be an integer from 0 to ${QUEUE_MAX_PRIORITY}, got ${maxPriority}`)
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0 || maxLength >= U32_MAX)) throw bad('maxLength', `maxLength must be a non-negative integer, got ${maxLength}`)
    if (deliveryLimit !== undefined && (!Number.isInteger(deliveryLimit) || deliveryLimit < 0 || deliveryLimit >= U32_MAX)) throw bad('deliveryLimit', `deliveryLimit must be a non-negative integer, got ${deliveryLimit}`)
    if (messageTtlMs !== undefined && (!isTime(messageTtlMs) || messageTtlMs < 0)) throw bad('messageTtlMs', `messageTtlMs must be a non-negative number of ms, got ${messageTtlMs}`)
    if (expiresMs !== undefined && (!isTime(expiresMs) || expiresMs <= 0)) throw bad('expiresMs', `expiresMs must be a positive number of ms, got ${expiresMs}`)
    if (typeof deadLetter !== 'boolean') throw bad('deadLetter', `deadLetter must be a boolean, got ${typeof deadLetter}`)
    const flags = OVERFLOW_CODES[overflow] | (deadLetter ? QF_DEAD_LETTER : 0) | (maxLength !== undefined ? QF_MAX_LENGTH : 0) | (deliveryLimit !== undefined ? QF_DELIVERY_LIMIT : 0)
    return { maxPriority, flags, maxLength: maxLength ?? 0, deliveryLimit: deliveryLimit ?? 0, ttl: messageTtlMs ?? -1, expires: expiresMs ?? -1 }
  }

  private checkTime(now: number, argument: string, queue?: string): void {
    if (!isTime(now)) throw new InvalidArgumentError(`${argument} must be a finite number of ms, got ${String(now)}`, { argument, queue })
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new InvalidArgumentError(`a queue id must be a non-negative integer, got ${id}`, { argument: 'id' })
  }

  private checkConsumer(consumer: number): void {
    if (!Number.isInteger(consumer) || consumer < 0 || consumer > 0x7fffffff) throw new InvalidArgumentError(`a consumer id must be a non-negative integer, got ${consumer}`, { argument: 'consumer' })
  }

  private checkOffset(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset must be a non-negative integer, got ${offset}`, { argument: 'offset' })
  }
}

/**
 * The dead-letter target as the queue entry keeps it: the exchange's length (a byte) and UTF-8
 * bytes, then, with a routing key, its length (a byte) and bytes. Empty without an exchange.
 */
function encodeDeadLetter(queue: string, config: QueueConfig): Uint8Array {
  const { deadLetterExchange: exchange, deadLetterRoutingKey: key } = config
  if (exchange === undefined) {
    if (key !== undefined) throw new InvalidArgumentError(`queue ${JSON.stringify(queue)}: deadLetterRoutingKey needs a deadLetterExchange`, { queue, argument: 'deadLetterRoutingKey' })
    return new Uint8Array(0)
  }
  const x = textEncoder.encode(exchange)
  const k = key === undefined ? undefined : textEncoder.encode(key)
  for (const [argument, bytes] of [['deadLetterExchange', x], ['deadLetterRoutingKey', k]] as const) {
    if (bytes !== undefined && bytes.length > 255) throw new InvalidArgumentError(`queue ${JSON.stringify(queue)}: ${argument} takes at most 255 UTF-8 bytes`, { queue, argument })
  }
  const out = new Uint8Array(1 + x.length + (k === undefined ? 0 : 1 + k.length))
  out[0] = x.length
  out.set(x, 1)
  if (k !== undefined) {
    out[1 + x.length] = k.length
    out.set(k, 2 + x.length)
  }
  return out
}

function decodeDeadLetter(bytes: Uint8Array, config: QueueConfig): void {
  const x = bytes[0]
  config.deadLetterExchange = textDecoder.decode(bytes.subarray(1, 1 + x))
  if (bytes.length > 1 + x) config.deadLetterRoutingKey = textDecoder.decode(bytes.subarray(2 + x, 2 + x + bytes[1 + x]))
}
