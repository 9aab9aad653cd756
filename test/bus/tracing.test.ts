// OpenTelemetry on every transport: a span active where a record is published or a message
// sent travels with it as a W3C traceparent header, and the handler that receives it runs with
// that span as its parent (topics, group members and queue consumers alike).
import * as api from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Headers, Message, QueueDelivery, TopicMap } from '../../src/index.js'
import { activeSpan, inSpan, installContextManager, spanContext, traceparentOf } from '../tracing/context.js'
import { deferred, useBuses } from './helpers.js'

const newBus = useBuses()
/**
 * Node imports the optional peer by itself; a page's bundle cannot import it by a name known only
 * at run time, so there it is given (as docs/api.md tells browser apps to).
 */
const traced = typeof window === 'undefined' ? {} : { tracing: api }
let uninstall: () => void
beforeAll(() => { uninstall = installContextManager() })
afterAll(() => uninstall())

/** What a handler saw: the message's headers and the span active while it ran. */
interface Seen { headers: Readonly<Record<string, unknown>>; parent: ReturnType<typeof activeSpan> }

function seeing<M extends { headers: Readonly<Record<string, unknown>> }>() {
  const seen = deferred<Seen>()
  return { seen: seen.promise, handler: (m: M) => { seen.resolve({ headers: m.headers, parent: activeSpan() }) } }
}

describe('tracing: the trace context travels with records and messages', () => {
  it('publish in a span: the subscriber gets traceparent and runs as a child of that span', async () => {
    const bus = await newBus(traced)
    bus.topic('orders')
    const { seen, handler } = seeing<Message<TopicMap, string>>()
    bus.subscribe('orders', handler)
    const span = spanContext()
    inSpan(span, () => bus.publish('orders', { id: 1 }))
    const { headers, parent } = await seen
    expect(headers.traceparent).toBe(traceparentOf(span))
    expect(parent).toMatchObject({ traceId: span.traceId, spanId: span.spanId, traceFlags: span.traceFlags, isRemote: true })
  })

  it('tracestate travels too, and a group member runs in the context', async () => {
    const bus = await newBus(traced)
    bus.topic('orders')
    const { seen, handler } = seeing<Message<TopicMap, string>>()
    bus.subscribe('orders', handler, { group: 'billing' })
    await bus.idle()
    const span = spanContext('vendor=abc')
    inSpan(span, () => bus.publish('orders', { id: 1 }, { headers: { tenant: 't1' } }))
    const { headers, parent } = await seen
    expect(headers).toMatchObject({ tenant: 't1', traceparent: traceparentOf(span), tracestate: 'vendor=abc' })
    expect(parent?.spanId).toBe(span.spanId)
    expect(parent?.traceState?.serialize()).toBe('vendor=abc')
  })

  it('send in a span: the queue consumer gets traceparent and runs as a child of that span', async () => {
    const bus = await newBus(traced)
    bus.queue('jobs')
    const { seen, handler } = seeing<QueueDelivery>()
    bus.consumeQueue('jobs', (d) => { handler(d); d.ack() })
    const span = spanContext()
    inSpan(span, () => bus.send('', 'jobs', { id: 1 }))
    const { headers, parent } = await seen
    expect(headers.traceparent).toBe(traceparentOf(span))
    expect(parent?.traceId).toBe(span.traceId)
  })

  it('a request carries the requester\'s span to the replier', async () => {
    const bus = await newBus(traced)
    bus.queue('rpc')
    bus.reply('rpc', (value: number) => ({ value, parent: activeSpan()?.spanId }))
    const span = spanContext()
    const answer = await inSpan(span, () => bus.request<{ value: number; parent: string }>('rpc', 7, { timeoutMs: 5000 }))
    expect(answer).toEqual({ value: 7, parent: span.spanId })
  })

  it('a traceparent the publisher set is kept, and the caller\'s headers object is not changed', async () => {
    const bus = await newBus(traced)
    bus.topic('orders')
    const { seen, handler } = seeing<Message<TopicMap, string>>()
    bus.subscribe('orders', handler)
    const own = spanContext()
    const headers: Headers = { traceparent: traceparentOf(own) }
    inSpan(spanContext(), () => bus.publish('orders', 1, { headers }))
    expect((await seen).headers.traceparent).toBe(traceparentOf(own))
    expect(headers).toEqual({ traceparent: traceparentOf(own) })

    const given = { tenant: 't1' }
    bus.queue('jobs')
    const queued = seeing<QueueDelivery>()
    bus.consumeQueue('jobs', (d) => { queued.handler(d); d.ack() })
    inSpan(spanContext(), () => bus.send('', 'jobs', 1, { headers: given }))
    expect((await queued.seen).headers.traceparent).toBeDefined()
    expect(given).toEqual({ tenant: 't1' })
  })

  it('no active span: no header is added and handlers run in the context they had', async () => {
    const bus = await newBus(traced)
    bus.topic('orders')
    bus.queue('jobs')
    const topic = seeing<Message<TopicMap, string>>()
    const queue = seeing<QueueDelivery>()
    bus.subscribe('orders', topic.handler)
    bus.consumeQueue('jobs', (d) => { queue.handler(d); d.ack() })
    bus.publish('orders', 1)
    bus.send('', 'jobs', 1)
    for (const { headers, parent } of [await topic.seen, await queue.seen]) {
      expect(headers.traceparent).toBeUndefined()
      expect(parent).toBeUndefined()
    }
  })

  it('tracing: false adds nothing, even in a span', async () => {
    const bus = await newBus({ tracing: false })
    bus.topic('orders')
    const { seen, handler } = seeing<Message<TopicMap, string>>()
    bus.subscribe('orders', handler)
    inSpan(spanContext(), () => bus.publish('orders', 1))
    expect((await seen).headers.traceparent).toBeUndefined()
  })
})
