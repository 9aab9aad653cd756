// Request/reply over queues, RabbitMQ's RPC pattern: a request carries replyTo (this thread's
// reply queue) and a correlation id; the replier answers to that queue with the same id; the
// requester matches the answer to its pending promise, or rejects it when the time is up.
import type { Clock } from '../clock.js'
import { BusError, InvalidArgumentError, RequestTimeoutError } from '../errors.js'
import type { ConsumeQueueOptions, QueueConsumer, QueueDelivery, QueueOptions, RequestOptions, SendOptions, SendResult } from '../types.js'

/** Header a replier sets when its handler failed; the requester rejects with its text. */
export const ERROR_HEADER = 'x-ringbus-error'
export const DEFAULT_TIMEOUT = 30_000

export interface RpcHost {
  readonly clock: Clock
  send(exchange: string, routingKey: string, value: unknown, options: SendOptions): SendResult
  declareQueue(name: string, options: QueueOptions): void
  queueExists(name: string): boolean
  deleteQueue(name: string): void
  consume(queue: string, handler: (d: QueueDelivery) => unknown, options: ConsumeQueueOptions): QueueConsumer
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  cancelTimer(): void
}

let threadSequence = 0

export class RequestReply {
  private replyQueue: string | undefined
  private consumer: QueueConsumer | undefined
  private readonly pending = new Map<string, Pending>()
  private next = 0
  private readonly prefix = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}.${threadSequence++}`

  constructor(private readonly host: RpcHost) {}

  /** This thread's reply queue, declared and consumed on first use. */
  private replies(): string {
    if (this.replyQueue !== undefined) return this.replyQueue
    const name = `ringbus.reply.${this.prefix}`
    this.host.declareQueue(name, {})
    this.consumer = this.host.consume(name, (d) => this.answered(d), { noAck: true })
    return (this.replyQueue = name)
  }

  private answered(d: QueueDelivery): void {
    const pending = d.correlationId === undefined ? undefined : this.pending.get(d.correlationId)
    if (pending === undefined) return // late (timed out) or not ours
    this.pending.delete(d.correlationId!)
    pending.cancelTimer()
    const error = d.headers[ERROR_HEADER]
    if (typeof error === 'string') pending.reject(new BusError(`the replier failed: ${error}`, { queue: d.queue, correlationId: d.correlationId }))
    else pending.resolve(d.value)
  }

  request(queue: string, value: unknown, options: RequestOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`, { queue, argument: 'timeoutMs' })
    const replyTo = this.replies()
    const correlationId = `${this.prefix}.${this.next++}`
    return new Promise((resolve, reject) => {
      const cancelTimer = this.host.clock.setTimer(() => {
        if (!this.pending.delete(correlationId)) return
        reject(new RequestTimeoutError(`no reply to the request to ${JSON.stringify(queue)} within ${timeoutMs} ms`, { queue, correlationId, timeoutMs }))
      }, timeoutMs)
      this.pending.set(correlationId, { resolve, reject, cancelTimer })
      try {
        this.host.send(options?.exchange ?? '', queue, value, { correlationId, replyTo, headers: options?.headers, mandatory: true })
      } catch (error) {
        this.pending.delete(correlationId)
        cancelTimer()
        reject(error)
      }
    })
  }

  /** Answers every request on `queue` with what `handler` returns (or its failure). */
  reply(queue: string, handler: (value: unknown, delivery: QueueDelivery) => unknown, options?: ConsumeQueueOptions): QueueConsumer {
    if (typeof handler !== 'function') throw new InvalidArgumentError('reply needs a handler function', { queue, argument: 'handler' })
    if (!this.host.queueExists(queue)) this.host.declareQueue(queue, {})
    return this.host.consume(queue, async (d) => {
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

  close(): void {
    for (const [id, pending] of this.pending) {
      pending.cancelTimer()
      pending.reject(new BusError('the bus closed before the reply came', { correlationId: id }))
    }
    this.pending.clear()
    if (this.consumer !== undefined) {
      void this.consumer.cancel()
      this.host.deleteQueue(this.replyQueue!)
    }
  }
}
