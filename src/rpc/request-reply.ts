// Request/reply over queues, RabbitMQ's RPC pattern: a request carries replyTo (this thread's
// reply queue) and a correlation id; the replier answers to that queue with the same id; the
// requester matches the answer to its pending promise, or rejects it when the time is up. Written
// once for every transport: the host says how this thread consumes, declares and sends.
import type { Clock } from '../clock.js'
import { BusError, InvalidArgumentError, RequestTimeoutError } from '../errors.js'
import type { ConsumeQueueOptions, QueueConsumer, QueueDelivery, RequestOptions, SendOptions } from '../types.js'

/** Header a replier sets when its handler failed; the requester rejects with its text. */
export const ERROR_HEADER = 'x-ringbus-error'
export const DEFAULT_TIMEOUT = 30_000

export interface RpcHost {
  readonly clock: Clock
  /** Declares and consumes (noAck) this thread's reply queue; it is deleted when `end` is called or the thread goes away. */
  replyQueue(name: string, handler: (delivery: QueueDelivery) => unknown): { end(): void }
  /** A consumer of `queue`, declared first if it does not exist. */
  replier(queue: string, handler: (delivery: QueueDelivery) => unknown, options: ConsumeQueueOptions): QueueConsumer
  /**
   * Sends; what is refused throws, or (a copying worker's send, refused later in the creating
   * thread) comes to `refused`. Returns a function that forgets `refused`, when there is one.
   */
  send(exchange: string, routingKey: string, value: unknown, options: SendOptions, refused?: (error: Error) => void): (() => void) | undefined
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  /** Stops the timer and forgets the send's refusal callback. */
  done(): void
}

let threadSequence = 0

export class RequestReply {
  private replyQueue: string | undefined
  private replies: { end(): void } | undefined
  private readonly pending = new Map<string, Pending>()
  private next = 0
  private readonly prefix = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}.${threadSequence++}`

  constructor(private readonly host: RpcHost) {}

  /** This thread's reply queue, declared and consumed on first use. */
  private replyTo(): string {
    if (this.replyQueue !== undefined) return this.replyQueue
    const name = `ringbus.reply.${this.prefix}`
    this.replies = this.host.replyQueue(name, (d) => this.answered(d))
    return (this.replyQueue = name)
  }

  private answered(d: QueueDelivery): void {
    const pending = d.correlationId === undefined ? undefined : this.pending.get(d.correlationId)
    if (pending === undefined) return // late (timed out) or not ours
    this.pending.delete(d.correlationId!)
    pending.done()
    const error = d.headers[ERROR_HEADER]
    if (typeof error === 'string') pending.reject(new BusError(`the replier failed: ${error}`, { queue: d.queue, correlationId: d.correlationId }))
    else pending.resolve(d.value)
  }

  request(queue: string, value: unknown, options: RequestOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`, { queue, argument: 'timeoutMs' })
    const replyTo = this.replyTo()
    const correlationId = `${this.prefix}.${this.next++}`
    return new Promise((resolve, reject) => {
      let forget: (() => void) | undefined
      const fail = (error: Error): void => {
        const pending = this.pending.get(correlationId)
        if (pending === undefined) return
        this.pending.delete(correlationId)
        pending.done()
        reject(error)
      }
      const cancelTimer = this.host.clock.setTimer(() => {
        fail(new RequestTimeoutError(`no reply to the request to ${JSON.stringify(queue)} within ${timeoutMs} ms`, { queue, correlationId, timeoutMs }))
      }, timeoutMs)
      this.pending.set(correlationId, { resolve, reject, done: () => { cancelTimer(); forget?.() } })
      try {
        forget = this.host.send(options?.exchange ?? '', queue, value, { correlationId, replyTo, headers: options?.headers, mandatory: true }, fail)
      } catch (error) {
        fail(error as Error)
      }
    })
  }

  /** Answers every request on `queue` (declared if missing) with what `handler` returns (or its failure). */
  reply(queue: string, handler: (value: unknown, delivery: QueueDelivery) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    if (typeof handler !== 'function') throw new InvalidArgumentError('reply needs a handler function', { queue, argument: 'handler' })
    return this.host.replier(queue, async (d) => {
      let result: unknown
      let failure: string | undefined
      try {
        result = await handler(d.value, d)
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error)
      }
      if (d.replyTo !== undefined) {
        this.host.send('', d.replyTo, failure === undefined ? result : undefined, {
          correlationId: d.correlationId, headers: failure === undefined ? undefined : { [ERROR_HEADER]: failure },
        })
      }
      d.ack()
    }, options ?? {})
  }

  /** The bus closed: every request waiting rejects, and the reply queue goes. */
  close(): void {
    for (const [id, pending] of this.pending) {
      pending.done()
      pending.reject(new BusError('the bus closed before the reply came', { correlationId: id }))
    }
    this.pending.clear()
    this.replies?.end()
  }
}
