// Exchanges and queues (RabbitMQ's model). Topic routing: a topic exchange with 10,000 bindings
// (mixed `*` and `#`) against mqemitter with 10,000 wildcard subscriptions of the same patterns,
// the same keys, every match delivered to a callback. Queues: send -> deliver -> ack with
// prefetch 100 in one thread (the goal: at least 1 M messages/s).
import { Worker } from 'node:worker_threads'
import mqemitter from 'mqemitter'
import { createBus } from '../dist/index.js'
import { mqemitterContender } from './harness.mjs'

const BINDINGS = 10_000
const QUEUES = 64
const BATCH = 1000

/** A seeded generator, so both contenders get the same patterns and keys. */
function random(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/**
 * 3-word patterns over a vocabulary of 100: 60% literal, 30% with one `*`, 10% two words then
 * `#`. Each key instantiates a random pattern (wildcards filled in), so every message matches
 * something, and on average a little more than one binding: the cost measured is routing among
 * 10,000 bindings, not copying into dozens of queues.
 */
function workload() {
  const next = random(7)
  const word = () => `w${Math.floor(next() * 100)}`
  const patterns = Array.from({ length: BINDINGS }, () => {
    const r = next()
    const w = [word(), word(), word()]
    if (r < 0.3) w[Math.floor(next() * 3)] = '*'
    else if (r < 0.4) w[2] = '#'
    return w.join('.')
  })
  const key = () => patterns[Math.floor(next() * BINDINGS)].split('.')
    .map((x) => (x === '*' ? word() : x === '#' ? `${word()}.${word()}` : x)).join('.')
  const keys = Array.from({ length: 4096 }, key)
  // ringbus keeps the routes of recent keys (8,192 per exchange): keys that never repeat within
  // that many measure the routing itself
  const fresh = Array.from({ length: 1 << 18 }, key)
  return { patterns, keys, fresh }
}

/** A contender that sends BATCH messages per op to exchange 'routes' of `bus`, cycling through `keys` (a power of two of them) and `values`. */
function sending(name, bus, keys, values) {
  const mask = keys.length - 1
  let i = 0
  return {
    name,
    async: true,
    messagesPerOp: BATCH,
    fn: async () => {
      for (let k = 0; k < BATCH; k++) {
        bus.send('routes', keys[i], values[i])
        i = (i + 1) & mask
      }
      await bus.idle()
    },
  }
}

export const topicRouting = {
  id: 'broker-routing',
  title: `topic exchange, ${BINDINGS} bindings (mixed * and #) into ${QUEUES} queues, vs mqemitter with ${BINDINGS} wildcard subscriptions`,
  async prepare() {
    const { patterns, keys, fresh } = workload()
    const rb = { received: 0 }
    const routed = async (options) => {
      const bus = await createBus({ maxBytes: 64 << 20, maxPartitions: 2048, ...options })
      bus.exchange('routes', { type: 'topic' })
      for (let q = 0; q < QUEUES; q++) {
        bus.queue(`q${q}`)
        bus.consumeQueue(`q${q}`, () => { rb.received++ }, { noAck: true })
      }
      patterns.forEach((p, i) => bus.bind({ exchange: 'routes', queue: `q${i % QUEUES}`, pattern: p }))
      return bus
    }
    const bus = await routed({})
    // a bus of its own: keys that never repeat fill an exchange's route cache, and then it stops
    // using it for a while, which must not fall on the contender whose keys repeat
    const freshBus = await routed({})
    // on a shared bus other threads could take from the queues: every message goes through the queue's log
    const sharedBus = await routed({ shared: true })

    const mq = mqemitter({ separator: '.', wildcardOne: '*', wildcardSome: '#' })
    const ms = { received: 0 }
    // mqemitter calls every matching subscription; ringbus delivers once per queue: give mqemitter
    // one listener per (queue, pattern) as well, and count distinct queues per message on both sides
    await Promise.all(patterns.map((p) => new Promise((resolve) => mq.on(p, (message, cb) => { ms.received++; cb() }, resolve))))
    const values = keys.map((key, i) => ({ id: i, key }))
    const freshValues = fresh.map((key, i) => ({ id: i, key }))
    const mqMessages = keys.map((topic, i) => ({ topic, id: i }))
    return {
      anchor: 'mqemitter',
      notes: [
        `${BATCH} messages per op; patterns of 3 words over 100 (60% literal, 30% one '*', 10% 'a.b.#'), keys instantiate a random pattern (about 1.4 matching queues per message)`,
        `ringbus: bus.send('routes', key, { id, key }) into ${QUEUES} queues, one noAck consumer each, await bus.idle() per op (routing, enqueue, delivery); ` +
          'the 4,096 keys repeat, so their routes are found once each and kept (the route cache); "keys not repeated" cycles 262,144 keys, so that every route is a walk through the bindings',
        'on the plain bus a message for an empty queue goes straight to its waiting noAck consumer, as RabbitMQ pushes it; "shared bus" is the same on a bus in shared memory, where every message is written into its queue\'s log and read back (what ack consumers and other threads\' consumers get)',
        'mqemitter: emit({ topic, id }, cb) to 10,000 wildcard subscriptions; op ends when every emit called back',
      ],
      contenders: [
        sending('ringbus topic exchange', bus, keys, values),
        sending('ringbus topic exchange, keys not repeated', freshBus, fresh, freshValues),
        sending('ringbus topic exchange, shared bus', sharedBus, keys, values),
        mqemitterContender(mq, mqMessages, BATCH),
      ],
      goals: [{ label: 'topic exchange >= 2x mqemitter', contender: 'ringbus topic exchange', vs: 'mqemitter', atLeast: 2 }],
      teardown: async () => {
        for (const each of [bus, freshBus, sharedBus]) await each.close()
      },
    }
  },
}

export const queueAck = {
  id: 'broker-queue',
  title: 'queue send -> deliver -> ack, prefetch 100, one thread',
  async prepare() {
    const bus = await createBus({ maxBytes: 64 << 20 })
    bus.queue('work')
    const state = { acked: 0, sent: 0 }
    bus.consumeQueue('work', (d) => { state.acked++; d.ack() }, { prefetch: 100 })
    const values = Array.from({ length: 4096 }, (_, i) => ({ jobId: `job-${i}`, n: i }))
    let i = 0
    return {
      anchor: 'ringbus queue (prefetch 100)',
      notes: [`${BATCH} distinct small objects per op through the default exchange, one consumer acking each delivery, await bus.idle() per op; goal: 1 M messages/s`],
      contenders: [{
        name: 'ringbus queue (prefetch 100)',
        async: true,
        messagesPerOp: BATCH,
        fn: async () => {
          for (let k = 0; k < BATCH; k++) {
            bus.send('', 'work', values[i])
            i = (i + 1) & 4095
          }
          state.sent += BATCH
          await bus.idle()
        },
        verify: () => {
          if (state.acked !== state.sent) throw new Error(`queue: sent ${state.sent}, acked ${state.acked}`)
        },
      }],
      goals: [{ label: 'queue >= 1 M messages/s', contender: 'ringbus queue (prefetch 100)', messagesPerSec: 1e6 }],
      teardown: () => bus.close(),
    }
  },
}

const fixture = new URL('./fixtures/fanout-worker.mjs', import.meta.url)

/**
 * The workers' counts as they report them; `reached(target)` resolves once they add up to it.
 * A queue shares messages unevenly, so a worker may report nothing during an op: its last count
 * stands.
 */
function tally(workers) {
  const counts = workers.map(() => 0)
  let waiting
  const total = () => counts.reduce((a, b) => a + b, 0)
  workers.forEach((w, i) => w.on('message', (m) => {
    if (m.type !== 'count') return
    counts[i] = m.count
    if (waiting !== undefined && total() >= waiting.target) {
      const { resolve } = waiting
      waiting = undefined
      resolve()
    }
  }))
  return {
    reached: (target) => (total() >= target ? Promise.resolve() : new Promise((resolve) => { waiting = { target, resolve } })),
  }
}

export const queueWorkers = {
  id: 'broker-queue-workers',
  title: 'queue send -> deliver -> ack, prefetch 100, consumers in 2 worker threads (shared memory)',
  async prepare() {
    const bus = await createBus({ shared: true, maxBytes: 64 << 20 })
    bus.queue('work')
    const workers = []
    for (let w = 0; w < 2; w++) {
      const handle = bus.handle()
      const worker = new Worker(fixture, { workerData: { mode: 'ringbus-queue', queue: 'work', every: 100, handle }, transferList: handle.transfer })
      await new Promise((resolve, reject) => {
        worker.on('message', function ready(m) { if (m.type === 'ready') { worker.off('message', ready); resolve() } })
        worker.once('error', reject)
      })
      workers.push(worker)
    }
    const values = Array.from({ length: 4096 }, (_, i) => ({ jobId: `job-${i}`, n: i }))
    const counts = tally(workers)
    let i = 0
    let sent = 0
    return {
      anchor: 'ringbus queue, 2 worker consumers',
      notes: [`${BATCH} distinct small objects per op sent from the main thread of a shared bus; one consumer per worker thread (prefetch 100) acks each; an op ends when the workers counted them all; goal: 1 M messages/s, as in one thread`],
      contenders: [{
        name: 'ringbus queue, 2 worker consumers',
        async: true,
        messagesPerOp: BATCH,
        fn: async () => {
          const done = counts.reached(sent + BATCH)
          for (let k = 0; k < BATCH; k++) {
            bus.send('', 'work', values[i])
            i = (i + 1) & 4095
          }
          sent += BATCH
          await done
        },
      }],
      goals: [{ label: 'queue with 2 worker consumers >= 1 M messages/s', contender: 'ringbus queue, 2 worker consumers', messagesPerSec: 1e6 }],
      teardown: async () => {
        await Promise.all(workers.map((w) => w.terminate()))
        await bus.close()
      },
    }
  },
}
