import { describe, expectTypeOf, it } from 'vitest'
import {
  attachBus, createBus, errors, type BusApi, type BusHandle, type WorkerBus, type Bus, type Headers, type Key, type Matching, type Message, type RecordMetadata, type SkippedEvent,
  type Subscription, type Unsubscribe,
} from '../src/index.js'

type Placed = { orderId: string; userId: string; total: number }
type Shipped = { orderId: string }
type PlacedEu = { orderId: string; vat: number }
type Topics = {
  'order.placed': Placed
  'order.shipped': Shipped
  'order.placed.eu': PlacedEu
  'user.signup': { email: string }
  tick: undefined
  maybe: number | undefined
}

declare const bus: Bus<Topics>

describe('createBus', () => {
  it('returns a bus typed by the topic map', () => {
    expectTypeOf(createBus<Topics>()).toEqualTypeOf<Promise<Bus<Topics>>>()
    expectTypeOf(createBus<Topics>({ maxBytes: 1 << 20 })).resolves.toHaveProperty('publish')
  })
})

describe('attachBus', () => {
  it('gives a worker the same typed API, whichever transport the handle uses', async () => {
    const handle = {} as BusHandle
    const worker = await attachBus<Topics>(handle)
    expectTypeOf(worker).toEqualTypeOf<WorkerBus<Topics>>()
    expectTypeOf<WorkerBus<Topics>>().toEqualTypeOf<BusApi<Topics>>()
    const api: BusApi<Topics> = bus // a Bus is a BusApi, so code written against BusApi takes either
    expectTypeOf(api.publish('tick')).toEqualTypeOf<RecordMetadata<'tick'>>()
    expectTypeOf(worker.publish('order.shipped', { orderId: 'o' })).toEqualTypeOf<RecordMetadata<'order.shipped'>>()
    // @ts-expect-error the payload is checked against the topic map
    worker.publish('order.shipped', { orderId: 1 })
    worker.subscribe('order.*', (msg) => {
      expectTypeOf(msg.value).toEqualTypeOf<Placed | Shipped>()
    })
    expectTypeOf(worker.flush()).toEqualTypeOf<Promise<void>>()
    expectTypeOf(bus.handle({ transport: 'copy' })).toEqualTypeOf<BusHandle>()
  })
})

describe('publish, publishBatch, emit', () => {
  it('return record metadata naming the topic', () => {
    const rec = bus.publish('order.placed', { orderId: 'o', userId: 'u', total: 1 })
    expectTypeOf(rec).toEqualTypeOf<RecordMetadata<'order.placed'>>()
    expectTypeOf(rec.topic).toEqualTypeOf<'order.placed'>()
    expectTypeOf(rec.partition).toBeNumber()
    expectTypeOf(rec.offset).toBeNumber()
    expectTypeOf(rec.timestamp).toBeNumber()
    expectTypeOf(bus.publishBatch('order.shipped', [{ value: { orderId: 'o' }, key: 'k' }])).toEqualTypeOf<RecordMetadata<'order.shipped'>[]>()
    expectTypeOf(bus.emit('order.shipped', { orderId: 'o' })).toBeBoolean()
  })

  it('check payloads against the topic map', () => {
    bus.publish('order.shipped', { orderId: 'o' }, { key: 'k', partition: 0, headers: { a: 'b', c: new Uint8Array() }, timestamp: 1 })
    bus.publish('order.shipped', { orderId: 'o' }, { key: new Uint8Array([1]) })
    // @ts-expect-error wrong payload shape
    bus.publish('order.shipped', { id: 'o' })
    // @ts-expect-error wrong field type
    bus.publish('order.placed', { orderId: 'o', userId: 'u', total: '1' })
    // @ts-expect-error the value is required for a topic whose payload is not undefined
    bus.publish('order.shipped')
    // @ts-expect-error unknown topic
    bus.publish('order.cancelled', { orderId: 'o' })
    // @ts-expect-error a pattern is not a topic
    bus.publish('order.*', { orderId: 'o' })
    // @ts-expect-error key must be a string or bytes
    bus.publish('order.shipped', { orderId: 'o' }, { key: 1 })
    // @ts-expect-error header values are strings or bytes
    bus.publish('order.shipped', { orderId: 'o' }, { headers: { a: 1 } })
    // @ts-expect-error wrong payload in a batch
    bus.publishBatch('order.shipped', [{ value: { orderId: 1 } }])
    // @ts-expect-error wrong payload for emit
    bus.emit('order.shipped', { orderId: 1 })
    // @ts-expect-error unknown topic for emit
    bus.emit('nope', 1)
  })

  it("topics typed undefined take no value: bus.emit('tick')", () => {
    bus.emit('tick')
    bus.emit('tick', undefined)
    bus.publish('tick')
    bus.publish('maybe')
    bus.publish('maybe', 3)
    bus.emit('maybe')
    // @ts-expect-error tick carries no value
    bus.emit('tick', 5)
    // @ts-expect-error order.placed needs its value
    bus.emit('order.placed')
  })
})

describe('subscribe, on, once, consume: payload inference', () => {
  it('subscribe gives Message<Topics, K>', () => {
    bus.subscribe('order.placed', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<Message<Topics, 'order.placed'>>()
      expectTypeOf(msg.value).toEqualTypeOf<Placed>()
      expectTypeOf(msg.topic).toEqualTypeOf<'order.placed'>()
      expectTypeOf(msg.partition).toBeNumber()
      expectTypeOf(msg.offset).toBeNumber()
      expectTypeOf(msg.timestamp).toBeNumber()
      expectTypeOf(msg.attempt).toBeNumber()
      expectTypeOf(msg.key).toEqualTypeOf<Key | undefined>()
      expectTypeOf(msg.headers).toEqualTypeOf<Readonly<Headers>>()
    })
    bus.subscribe('tick', (msg) => {
      expectTypeOf(msg.value).toEqualTypeOf<undefined>()
    })
  })

  it('async handlers and options are accepted; the result is a Subscription', () => {
    const sub = bus.subscribe('order.shipped', async (msg) => { expectTypeOf(msg.value.orderId).toBeString() }, {
      from: { offset: 3, partition: 1 }, reset: 'latest', signal: new AbortController().signal,
    })
    expectTypeOf(sub).toEqualTypeOf<Subscription>()
    expectTypeOf(sub.close).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(sub.commit).returns.toEqualTypeOf<Promise<void>>() // as a group member's will be
    expectTypeOf(sub).toMatchTypeOf<AsyncDisposable>()
    expectTypeOf(sub.seek).toBeCallableWith({ timestamp: 5 })
    expectTypeOf(sub.seek).toBeCallableWith({ offset: 5, partition: 0 })
    bus.subscribe('order.shipped', () => {}, { from: 'earliest' })
    bus.subscribe('order.shipped', () => {}, { from: { timestamp: 0 } })
    // @ts-expect-error unknown start position
    bus.subscribe('order.shipped', () => {}, { from: 'middle' })
  })

  it('on/once give (value, message) and return an Unsubscribe that is also Disposable', () => {
    const off = bus.on('order.shipped', (value, msg) => {
      expectTypeOf(value).toEqualTypeOf<Shipped>()
      expectTypeOf(msg.topic).toEqualTypeOf<'order.shipped'>()
    })
    expectTypeOf(off).toEqualTypeOf<Unsubscribe>()
    expectTypeOf(off).toBeCallableWith()
    expectTypeOf(off).toMatchTypeOf<Disposable>()
    bus.once('user.signup', (value) => { expectTypeOf(value).toEqualTypeOf<{ email: string }>() })
    bus.on('tick', (value) => { expectTypeOf(value).toEqualTypeOf<undefined>() })
  })

  it('consume yields typed messages', async () => {
    for await (const msg of bus.consume('order.placed', { from: 'earliest' })) {
      expectTypeOf(msg).toEqualTypeOf<Message<Topics, 'order.placed'>>()
      expectTypeOf(msg.value.total).toBeNumber()
    }
    for await (const msg of bus.consume('order.*')) {
      expectTypeOf(msg.topic).toEqualTypeOf<'order.placed' | 'order.shipped'>()
    }
  })

  it('rejects unknown topics and wrongly typed handlers', () => {
    // @ts-expect-error unknown topic
    bus.subscribe('order.cancelled', () => {})
    // @ts-expect-error unknown topic
    bus.on('nope', () => {})
    // @ts-expect-error unknown topic
    bus.consume('nope')
    // @ts-expect-error the handler expects another payload
    bus.on('order.shipped', (value: { total: number }) => value)
    // @ts-expect-error the handler reads a field the payload does not have
    bus.subscribe('order.shipped', (msg) => msg.value.total.toFixed())
  })
})

describe('wildcards', () => {
  it("'order.*' gives the union of the matching topics, discriminated by msg.topic", () => {
    expectTypeOf<Matching<Topics, 'order.*'>>().toEqualTypeOf<'order.placed' | 'order.shipped'>()
    bus.subscribe('order.*', (msg) => {
      expectTypeOf(msg).toEqualTypeOf<Message<Topics, 'order.placed'> | Message<Topics, 'order.shipped'>>()
      expectTypeOf(msg.topic).toEqualTypeOf<'order.placed' | 'order.shipped'>()
      expectTypeOf(msg.value).toEqualTypeOf<Placed | Shipped>()
      if (msg.topic === 'order.placed') {
        expectTypeOf(msg.value).toEqualTypeOf<Placed>()
        expectTypeOf(msg.value.total).toBeNumber()
      } else {
        expectTypeOf(msg.topic).toEqualTypeOf<'order.shipped'>()
        expectTypeOf(msg.value).toEqualTypeOf<Shipped>()
      }
    })
  })

  it("'order.#' matches zero or more words", () => {
    expectTypeOf<Matching<Topics, 'order.#'>>().toEqualTypeOf<'order.placed' | 'order.shipped' | 'order.placed.eu'>()
    bus.on('order.#', (value, msg) => {
      expectTypeOf(value).toEqualTypeOf<Placed | Shipped | PlacedEu>()
      if (msg.topic === 'order.placed.eu') expectTypeOf(msg.value.vat).toBeNumber()
    })
  })

  it("'#', '*' and patterns in other positions", () => {
    expectTypeOf<Matching<Topics, '#'>>().toEqualTypeOf<keyof Topics>()
    expectTypeOf<Matching<Topics, '*'>>().toEqualTypeOf<'tick' | 'maybe'>()
    expectTypeOf<Matching<Topics, '*.placed'>>().toEqualTypeOf<'order.placed'>()
    expectTypeOf<Matching<Topics, '#.eu'>>().toEqualTypeOf<'order.placed.eu'>()
    expectTypeOf<Matching<Topics, '*.*'>>().toEqualTypeOf<'order.placed' | 'order.shipped' | 'user.signup'>()
    expectTypeOf<Matching<Topics, 'order.placed'>>().toEqualTypeOf<'order.placed'>()
  })
})

describe('untyped bus', () => {
  it('takes any topic and any value', () => {
    const any = null as unknown as Bus
    any.publish('whatever', { a: 1 })
    any.publish('whatever', 1)
    any.subscribe('x.*', (msg) => {
      expectTypeOf(msg.topic).toBeString()
      expectTypeOf(msg.value).toBeUnknown()
    })
  })
})

describe('events and errors', () => {
  it('bus.events is typed', () => {
    bus.events.on('skipped', (e) => {
      expectTypeOf(e).toEqualTypeOf<SkippedEvent>()
      expectTypeOf(e.count).toBeNumber()
    })
    bus.events.on('error', (e) => {
      expectTypeOf(e.topic).toBeString()
      expectTypeOf(e.offset).toBeNumber()
      expectTypeOf(e.error).toBeUnknown()
    })
  })

  it('errors carry their context', () => {
    const e = new errors.RecordTooLargeError('x', { size: 1, max: 0 })
    expectTypeOf(e.size).toBeNumber()
    expectTypeOf(e.max).toBeNumber()
    expectTypeOf(e).toMatchTypeOf<errors.BusError>()
    expectTypeOf(new errors.BackPressureError('x').retriable).toBeBoolean()
    expectTypeOf(new errors.BackPressureError('x').topic).toEqualTypeOf<string | undefined>()
    expectTypeOf(new errors.BackPressureError('x').accepted).toEqualTypeOf<ReadonlyArray<RecordMetadata> | undefined>()
  })
})
