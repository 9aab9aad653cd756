// What subscribe(), on() and consume() look like to users, written once for every kind of bus:
// a reader in this thread over the log (Reader) and one fed by another thread (the copying
// transport's RemoteReader) present the same Subscription and listener semantics.
import { asyncDispose, dispose } from '../dispose.js'
import { InvalidArgumentError } from '../errors.js'
import type { Delivered } from '../topic/topic.js'
import type { EventEmitter } from 'eventemitter3'
import type { BusEvents, Matching, Message, SeekTarget, Subscribable, SubscribeOptions, TopicMap } from '../types.js'
import { consumeReader } from './consume.js'
import type { ReaderOptions } from './reader.js'

/** Stops a listener added with on()/once(); also a Disposable. */
export type Unsubscribe = (() => void) & Disposable

export interface Subscription extends AsyncDisposable {
  pause(): void
  resume(): void
  /** Moves the reader: one partition (or all) to an offset, or all to the first record at or after a time. */
  seek(target: SeekTarget): void
  /** The partitions this reader holds now. */
  assignments(): Array<{ topic: string; partition: number }>
  /** The next offset this reader will hand to its handler, per partition. */
  position(topic: string, partition?: number): number | undefined
  /**
   * Commits what a consumer group member has handled, or with `message` the position after it
   * (for `autoCommit: false`). Rejects when the partition is no longer this member's (a
   * rebalance moved it). Independent readers have no committed offsets: for them it throws
   * InvalidArgumentError at once.
   * @example await sub.commit()
   */
  commit(message?: { topic: string; partition: number; offset: number }): Promise<void>
  close(): Promise<void>
  readonly closed: boolean
}

export interface ConsumeOptions extends SubscribeOptions {
  /** Records buffered ahead of the loop before the reader pauses (default 1024). */
  highWaterMark?: number
}

/** Reading: subscriptions, the async iterator and EventEmitter-style listeners. */
export interface ReadingApi<T extends TopicMap> {
  /**
   * An independent reader of a topic or AMQP pattern (`order.*`, `order.#`): it receives every
   * record from its start position on. Async handlers are awaited, one record at a time.
   * @example
   * const sub = bus.subscribe('order.*', (msg) => console.log(msg.topic, msg.value), { from: 'earliest' })
   */
  subscribe<P extends Subscribable<T>>(target: P, handler: (message: Message<T, Matching<T, P>>) => unknown, options?: SubscribeOptions): Subscription
  /**
   * The records of a topic or pattern as an async iterator; `break` or aborting the signal ends
   * the loop without throwing.
   * @example for await (const msg of bus.consume('order.placed', { from: 'earliest', signal })) {}
   */
  consume<P extends Subscribable<T>>(target: P, options?: ConsumeOptions): AsyncIterableIterator<Message<T, Matching<T, P>>> & AsyncDisposable
  /**
   * A live listener (from 'latest', no group): fn(value, message). Returns a function that
   * removes it, also usable with `using`.
   * @example const off = bus.on('order.placed', (order) => send(order.userId)); off()
   */
  on<P extends Subscribable<T>>(target: P, fn: (value: Message<T, Matching<T, P>>['value'], message: Message<T, Matching<T, P>>) => unknown): Unsubscribe
  /**
   * Like on(), removed after the first record.
   * @example bus.once('order.shipped', (value) => resolve(value))
   */
  once<P extends Subscribable<T>>(target: P, fn: (value: Message<T, Matching<T, P>>['value'], message: Message<T, Matching<T, P>>) => unknown): Unsubscribe
  /**
   * Removes listeners added with on()/once() for this target and function.
   * @example bus.off('order.placed', listener)
   */
  off<P extends Subscribable<T>>(target: P, fn: Function): void
}

/** What both kinds of reader offer. */
export interface ReaderLike {
  /**
   * Commits what a group member handled (or the position after `message`); absent on an
   * independent reader. A copying worker's member answers once the creating thread committed.
   */
  commit?(message?: { topic: string; partition: number; offset: number }): void | Promise<void>
  /** Resolves once a group member left its group (after close). */
  readonly left?: Promise<void>
  pause(): void
  resume(): void
  seek(target: SeekTarget): void
  assignments(): Array<{ topic: string; partition: number }>
  position(topic: string, partition: number): number | undefined
  close(): void
  readonly paused: boolean
  readonly closed: boolean
  /** Runs `fn` once when the reader closes (at once if it has); several parties may watch. */
  onClose(fn: () => void): void
}

const GROUP_OPTIONS = ['group', 'concurrency', 'maxAttempts', 'backoff', 'deadLetter', 'autoCommit', 'maxPollIntervalMs', 'assignor', 'retryTopics'] as const

/** Checks subscribe options and fills in the defaults; group options without `group` are refused. */
export function readerOptions(options: SubscribeOptions | undefined): ReaderOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('subscribe options must be an object', { argument: 'options' })
  for (const name of GROUP_OPTIONS) {
    if (options && (options as Record<string, unknown>)[name] !== undefined && options.group === undefined) {
      throw new InvalidArgumentError(`option '${name}' belongs to consumer groups; give a group, or omit it for an independent reader`, { argument: name })
    }
  }
  const from = options?.from ?? 'latest'
  const validFrom = from === 'earliest' || from === 'latest' ||
    (typeof from === 'object' && from !== null && (
      ('timestamp' in from && typeof from.timestamp === 'number' && Number.isFinite(from.timestamp)) ||
      ('offset' in from && Number.isInteger(from.offset) && from.offset >= 0 &&
        (from.partition === undefined || (Number.isInteger(from.partition) && from.partition >= 0)))))
  if (!validFrom) throw new InvalidArgumentError(`from must be 'earliest', 'latest', { offset, partition? } or { timestamp }, got ${JSON.stringify(from)}`, { argument: 'from' })
  const reset = options?.reset ?? (from === 'latest' ? 'latest' : 'earliest')
  if (reset !== 'earliest' && reset !== 'latest') throw new InvalidArgumentError(`reset must be 'earliest' or 'latest', got ${String(reset)}`, { argument: 'reset' })
  const maxPollRecords = options?.maxPollRecords ?? 256
  if (!Number.isInteger(maxPollRecords) || maxPollRecords < 1) throw new InvalidArgumentError(`maxPollRecords must be a positive integer, got ${String(maxPollRecords)}`, { argument: 'maxPollRecords' })
  const signal = options?.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' })
  // a copy of just the position: a later change to the caller's object does not move the reader,
  // and nothing else in it has to cross a port (the copying transport sends these options)
  const start = typeof from === 'string' ? from : 'timestamp' in from ? { timestamp: from.timestamp } : { offset: from.offset, partition: from.partition }
  return { from: start, reset, maxPollRecords }
}

export function checkHandler(handler: unknown): void {
  if (typeof handler !== 'function') throw new InvalidArgumentError('subscribe needs a handler function', { argument: 'handler' })
}

export function highWaterMark(options: ConsumeOptions | undefined): number {
  const mark = options?.highWaterMark ?? 1024
  if (!Number.isInteger(mark) || mark < 1) throw new InvalidArgumentError(`highWaterMark must be a positive integer, got ${String(mark)}`, { argument: 'highWaterMark' })
  return mark
}

/**
 * Closes the reader when the signal aborts (at once if it already has). A reader that closes
 * first takes its listener off: one signal may serve many short-lived subscriptions.
 */
export function closeOnAbort(reader: ReaderLike, signal: AbortSignal | undefined): void {
  if (signal === undefined) return
  if (signal.aborted) return reader.close()
  const abort = (): void => reader.close()
  signal.addEventListener('abort', abort, { once: true })
  reader.onClose(() => signal.removeEventListener('abort', abort))
}

/** The user's view of a reader. */
export function subscription(reader: ReaderLike): Subscription {
  return {
    pause: () => reader.pause(),
    resume: () => reader.resume(),
    seek: (target) => reader.seek(target),
    assignments: () => reader.assignments(),
    position: (topic, partition = 0) => reader.position(topic, partition),
    commit: (message) => {
      if (reader.commit === undefined) throw new InvalidArgumentError('an independent reader has no committed offsets; subscribe with a group to commit', { argument: 'group' })
      try {
        return Promise.resolve(reader.commit(message))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    close: async () => { reader.close(); await reader.left },
    [asyncDispose]: async () => { reader.close(); await reader.left },
    get closed() { return reader.closed },
  }
}

/**
 * on()/once()/off(): EventEmitter-style listeners, each a reader from 'latest'. Listeners are
 * not awaited, but a rejected promise is still reported.
 */
export class Listeners {
  private readonly byFn = new Map<Function, Map<string, ReaderLike[]>>()

  constructor(
    private readonly open: (target: string, handler: (message: Delivered) => void) => ReaderLike,
    private readonly report: (error: unknown, message: Delivered) => void,
  ) {}

  add(target: string, fn: (value: unknown, message: Delivered) => unknown, once: boolean): Unsubscribe {
    if (typeof fn !== 'function') throw new InvalidArgumentError('on needs a listener function', { argument: 'fn' })
    let byTarget = this.byFn.get(fn)
    if (byTarget === undefined) this.byFn.set(fn, (byTarget = new Map()))
    let list = byTarget.get(target)
    if (list === undefined) byTarget.set(target, (list = []))
    const remove = (): void => {
      const i = list!.indexOf(reader)
      if (i >= 0) list!.splice(i, 1)
      reader.close()
    }
    const reader = this.open(target, (message) => {
      if (once) remove()
      const result = fn(message.value, message)
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (error: unknown) => this.report(error, message))
      }
    })
    list.push(reader)
    return Object.assign(remove, { [dispose]: remove })
  }

  remove(target: string, fn: Function): void {
    const readers = this.byFn.get(fn)?.get(target)
    for (const reader of readers?.splice(0) ?? []) reader.close()
  }
}

/**
 * The reading half of the typed API (ReadingApi, where its members are documented), shared by Bus
 * (this thread's log) and RemoteBus (a copying worker): each opens readers its own way, and
 * reports failed listeners its own way.
 */
export abstract class ReadingSurface<T extends TopicMap> implements ReadingApi<T> {
  private readonly listeners = new Listeners((target, handler) => this.openReader(target, handler, undefined), (error, message) => this.report(error, message))

  protected abstract openReader(target: string, handler: (message: Delivered) => unknown, options: SubscribeOptions | undefined): ReaderLike

  /** Lifecycle events: a failure is reported here as 'error'. */
  abstract readonly events: EventEmitter<BusEvents>

  /** A handler (or a record) failed: 'error' on events, or the console when nobody listens. */
  report(error: unknown, where: { topic: string; partition: number; offset: number }): void {
    const event = { error, topic: where.topic, partition: where.partition, offset: where.offset }
    if (this.events.listenerCount('error') > 0) this.events.emit('error', event)
    else console.error(`ringbus: failed on ${where.topic}/${where.partition}@${where.offset} (listen on bus.events 'error' to handle this)`, error)
  }

  subscribe<P extends Subscribable<T>>(target: P, handler: (message: Message<T, Matching<T, P>>) => unknown, options?: SubscribeOptions): Subscription {
    checkHandler(handler)
    return subscription(this.openReader(target, handler as (message: Delivered) => unknown, options))
  }

  consume<P extends Subscribable<T>>(target: P, options?: ConsumeOptions): AsyncIterableIterator<Message<T, Matching<T, P>>> & AsyncDisposable {
    const mark = highWaterMark(options)
    return consumeReader((push) => this.openReader(target, push, options), mark, options?.group !== undefined) as AsyncIterableIterator<Message<T, Matching<T, P>>> & AsyncDisposable
  }

  on<P extends Subscribable<T>>(target: P, fn: (value: Message<T, Matching<T, P>>['value'], message: Message<T, Matching<T, P>>) => unknown): Unsubscribe {
    return this.listeners.add(target, fn as (value: unknown, message: Delivered) => unknown, false)
  }

  once<P extends Subscribable<T>>(target: P, fn: (value: Message<T, Matching<T, P>>['value'], message: Message<T, Matching<T, P>>) => unknown): Unsubscribe {
    return this.listeners.add(target, fn as (value: unknown, message: Delivered) => unknown, true)
  }

  off<P extends Subscribable<T>>(target: P, fn: Function): void {
    this.listeners.remove(target, fn)
  }
}
