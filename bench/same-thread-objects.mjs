// Scenario 1: objects published to one same-thread subscriber, ringbus keeping every record in
// its log, against in-memory emitters that keep nothing. One op = one batch of BATCH messages,
// each a different pre-built object (cycled from a pool), delivered and waited for.
import { createBus, manualClock } from '../dist/index.js'
import { EventEmitter } from 'eventemitter3'
import { eventemitterContender, mqemitterContender } from './harness.mjs'

let sink = 0 // values are touched so the work cannot be optimised away
import mqemitter from 'mqemitter'

const BATCH = 1000
const TOPIC = 'order.placed'

function makeOrders(n) {
  const orders = new Array(n)
  for (let i = 0; i < n; i++) {
    orders[i] = {
      orderId: `ord-${(100000 + i).toString(36)}-${i}`,
      userId: `user-${i % 9973}`,
      total: Math.round(((i * 7919) % 100000) + 99) / 100,
      items: [{ sku: `sku-${i % 503}`, qty: 1 + (i % 4) }, { sku: `sku-${(i * 7) % 503}`, qty: 1 }],
    }
  }
  return orders
}

export default {
  id: 'objects',
  title: 'object publish -> one same-thread subscriber, records retained',
  async prepare(cfg) {
    const poolSize = cfg.quick ? 4096 : 65536 // a power of two: the index wraps with a mask
    const mask = poolSize - 1
    const orders = makeOrders(poolSize)
    // mqemitter routes on a `topic` field of the message itself: pre-build those too, so its
    // loop allocates no more than the others do
    const mqMessages = orders.map((o) => ({ topic: TOPIC, ...o }))
    const maxBytes = cfg.quick ? 1 << 20 : 64 << 20

    // ---- ringbus: log filled to its budget first, so every round runs in the same steady
    // state (each append may evict the oldest segment) instead of the first rounds writing into
    // an empty pool and later ones evicting. Two codecs: msgpack (the default: every record is
    // encoded into the log) and 'ref' (the log keeps offsets and metadata, the values stay
    // objects in this thread)
    // A third, informational contender runs 'ref' on manualClock(): record timestamps then cost
    // nothing, which shows how much of the rate the clock read (Date.now) takes on this machine.
    const ringbuses = []
    for (const [codec, clock] of [['msgpack'], ['ref'], ['ref', 'manual']]) {
      const bus = await createBus({ maxBytes, ...(clock ? { clock: manualClock() } : {}) })
      bus.topic(TOPIC, { codec })
      let prefilled = 0
      while (bus.stats()[TOPIC].partitions[0].evicted === 0) {
        for (let j = 0; j < 4096; j++) bus.publish(TOPIC, orders[(prefilled++) & mask])
      }
      const state = { received: 0, sum: 0, published: 0, i: 0 }
      bus.on(TOPIC, (order) => { state.received++; state.sum += order.total })
      const p = bus.stats()[TOPIC].partitions[0]
      ringbuses.push({ codec, label: clock ? `${codec} manualClock` : codec, goal: !clock, bus, state, prefilled, held: p.endOffset - p.startOffset })
    }

    // ---- eventemitter3

    // ---- mqemitter ('.' as separator so the topic name is the same string)
    const mq = mqemitter({ separator: '.' })
    const mqs = { received: 0, sum: 0, published: 0, i: 0 }
    await new Promise((resolve) => mq.on(TOPIC, (message, cb) => { mqs.received++; mqs.sum += message.total; cb() }, resolve))

    const check = (name, s) => () => {
      if (s.received !== s.published) throw new Error(`${name}: published ${s.published}, delivered ${s.received}`)
    }

    return {
      anchor: 'mqemitter',
      notes: [
        `${BATCH} messages per op, ${poolSize} distinct { orderId, userId, total, items } objects cycled`,
        ...ringbuses.map((r) => `ringbus ${r.label}: createBus({ maxBytes: ${maxBytes / 2 ** 20} MiB${r.goal ? '' : ', clock: manualClock()'} }), codec '${r.codec}', one bus.on() listener, await bus.idle() per batch;` +
          ` log pre-filled until it evicts (${r.held} records held, ${r.prefilled} published) so every round runs at steady state`),
        'eventemitter3: emit() to one listener (synchronous); mqemitter: emit(msg, cb), op ends when all callbacks ran',
      ],
      contenders: [
        ...ringbuses.map(({ label, bus, state }) => ({
          name: `ringbus on() ${label}`,
          async: true,
          messagesPerOp: BATCH,
          fn: async () => {
            let i = state.i
            for (let k = 0; k < BATCH; k++) {
              bus.publish(TOPIC, orders[i])
              i = (i + 1) & mask
            }
            state.i = i
            state.published += BATCH
            await bus.idle()
          },
          verify: check(`ringbus ${label}`, state),
        })),
        eventemitterContender(EventEmitter, TOPIC, orders, BATCH, (order) => { sink += order.total }),
        { ...mqemitterContender(mq, mqMessages, BATCH, mqs), verify: check('mqemitter', mqs) },
      ],
      goals: ringbuses.filter((r) => r.goal).map(({ label }) => ({ label: `ringbus on() ${label} >= 1.5x mqemitter`, contender: `ringbus on() ${label}`, vs: 'mqemitter', atLeast: 1.5 })),
      info: () => Object.fromEntries(ringbuses.map(({ label, bus, prefilled }) => {
        const p = bus.stats()[TOPIC].partitions[0]
        return [label, { recordsHeld: p.endOffset - p.startOffset, evicted: p.evicted, logBytes: p.bytes, segments: p.segments, prefilled }]
      })),
      teardown: async () => {
        for (const { bus } of ringbuses) await bus.close()
        await new Promise((resolve) => mq.close(resolve))
      },
    }
  },
}
