// Random sequences of queue operations (publish with priorities, TTLs and delays; consume,
// receive, ack, nack with and without requeue, get, cancel as a consumer crash, ticks that move
// time, dead letters taken and settled) against a plain TypeScript model of a RabbitMQ queue:
// every receive and get delivers the same messages in the same order, with the same counts,
// and the stats agree after every step, so nothing is lost or delivered twice.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LogCore, type Delivered, type Overflow, type QueueConfig } from '../../src/core/log.js'

type State = 'ready' | 'delayed' | 'assigned' | 'unacked' | 'dead' | 'done'
interface Msg { state: State; priority: number; level: number; expiresAt: number; readyAt: number; count: number; redelivered: boolean; holder: number; reason: string }
/** `batch`: a noAck consumer's last received messages, done at its next receive (or cancel). */
interface Consumer { id: number; prefetch: number; noAck: boolean; get: boolean; mailbox: number[]; batch: number[]; assigned: number; unacked: number }

const MAILBOX = 256

/** The reference: the rules written out plainly, scanning everything every time. */
class Model {
  msgs: Msg[] = []
  list: Consumer[] = [] // round-robin order (consume order); get consumers are kept apart
  gets = new Map<number, Consumer>()
  rr: Consumer | undefined
  now = 0

  constructor(readonly config: QueueConfig) {}

  get levels(): number { return this.config.maxPriority + 1 }
  count(state: State): number { return this.msgs.filter((m) => m.state === state).length }
  stats() {
    const ready = this.count('ready')
    const delayed = this.count('delayed')
    const unacked = this.count('assigned') + this.count('unacked')
    const dead = this.msgs.filter((m) => m.state === 'dead' || m.reason === 'claimed').length
    return { ready, delayed, unacked, dead, consumers: this.list.length, messages: ready + delayed + unacked + dead }
  }

  levelHead(level: number): number {
    return this.msgs.findIndex((m) => m.state === 'ready' && m.level === level)
  }
  head(): number {
    for (let l = this.levels - 1; l >= 0; l--) {
      const o = this.levelHead(l)
      if (o >= 0) return o
    }
    return -1
  }
  kill(o: number, reason: string): void {
    const m = this.msgs[o]
    if (this.config.deadLetter) { m.state = 'dead'; m.reason = reason } else m.state = 'done'
  }
  giveBack(o: number): void {
    const m = this.msgs[o]
    if (this.config.deliveryLimit !== undefined && m.count > this.config.deliveryLimit) this.kill(o, 'delivery_limit')
    else { m.state = 'ready'; m.redelivered = true }
  }
  promote(): void {
    for (const m of this.msgs) if (m.state === 'delayed' && m.readyAt <= this.now) m.state = 'ready'
  }
  expireHeads(): void {
    for (let l = 0; l < this.levels; l++) {
      for (let o = this.levelHead(l); o >= 0 && this.msgs[o].expiresAt <= this.now; o = this.levelHead(l)) this.kill(o, 'expired')
    }
  }
  room(c: Consumer): boolean {
    return c.mailbox.length + c.batch.length < MAILBOX && (c.noAck || c.prefetch === 0 || c.assigned + c.unacked < c.prefetch)
  }
  pick(): Consumer | undefined {
    const n = this.list.length
    const start = this.rr === undefined ? 0 : this.list.indexOf(this.rr)
    for (let k = 0; k < n; k++) {
      const c = this.list[(start + k) % n]
      if (this.room(c)) {
        this.rr = this.list[(start + k + 1) % n]
        return c
      }
    }
    return undefined
  }
  dispatch(fresh = -1): void {
    this.promote()
    outer: for (let l = this.levels - 1; l >= 0 && this.list.length > 0; l--) {
      for (let o = this.levelHead(l); o >= 0; o = this.levelHead(l)) {
        const m = this.msgs[o]
        if (o !== fresh && m.expiresAt <= this.now) { this.kill(o, 'expired'); continue }
        const c = this.pick()
        if (c === undefined) break outer
        m.state = 'assigned'
        m.holder = c.id
        c.assigned++
        c.mailbox.push(o)
      }
    }
    this.expireHeads()
    const { maxLength, overflow } = this.config
    if (maxLength !== undefined && overflow === 'drop-head') {
      while (this.count('ready') > maxLength) this.kill(this.head(), 'maxlen')
    }
  }
  time(now: number): void { this.now = Math.max(this.now, now) }

  publish(priority: number, expiresAt: number, readyAt: number, now: number): number | undefined {
    this.time(now)
    this.promote()
    this.expireHeads()
    const delayed = readyAt > now
    const { maxLength, overflow } = this.config
    if (!delayed && maxLength !== undefined && overflow !== 'drop-head' && this.count('ready') >= maxLength) return undefined
    const o = this.msgs.length
    this.msgs.push({ state: delayed ? 'delayed' : 'ready', priority, level: Math.min(priority, this.config.maxPriority), expiresAt, readyAt, count: 0,
      redelivered: false, holder: -1, reason: '' })
    this.dispatch(o)
    return o
  }
  consume(id: number, prefetch: number, noAck: boolean, now: number): void {
    this.time(now)
    this.list.push({ id, prefetch, noAck, get: false, mailbox: [], batch: [], assigned: 0, unacked: 0 })
    this.dispatch()
  }
  delivered(o: number): Delivered {
    const m = this.msgs[o]
    return { offset: o, deliveryCount: m.count, redelivered: m.redelivered, priority: m.priority }
  }
  receive(c: Consumer, max: number): Delivered[] {
    const out: Delivered[] = []
    if (c.batch.length > 0) {
      for (const o of c.batch) if (this.msgs[o].state === 'unacked' && this.msgs[o].holder === c.id) { this.msgs[o].state = 'done'; c.unacked-- }
      c.batch = []
      this.dispatch()
    }
    while (out.length < max && c.mailbox.length > 0) {
      const o = c.mailbox.shift()!
      const m = this.msgs[o]
      m.count++
      c.assigned--
      m.state = 'unacked'
      c.unacked++
      if (c.noAck) c.batch.push(o)
      out.push(this.delivered(o))
    }
    this.dispatch()
    return out
  }
  get(getId: number, noAck: boolean, now: number): Delivered | undefined {
    this.time(now)
    this.promote()
    this.expireHeads()
    const o = this.head()
    if (o < 0) { this.dispatch(); return undefined }
    let c = this.gets.get(getId)
    if (c === undefined) this.gets.set(getId, (c = { id: getId, prefetch: 0, noAck: false, get: true, mailbox: [], batch: [], assigned: 0, unacked: 0 }))
    const m = this.msgs[o]
    m.count++
    if (noAck) m.state = 'done'
    else { m.state = 'unacked'; m.holder = c.id; c.unacked++ }
    const d = this.delivered(o)
    this.dispatch()
    return d
  }
  held(c: Consumer): number[] {
    return this.msgs.flatMap((m, o) => (m.state === 'unacked' && m.holder === c.id ? [o] : []))
  }
  settle(c: Consumer, o: number, how: 'ack' | 'requeue' | 'reject', now: number): void {
    c.unacked--
    if (how === 'ack') this.msgs[o].state = 'done'
    else {
      this.time(now)
      if (how === 'requeue') this.giveBack(o)
      else this.kill(o, 'rejected')
    }
    this.dispatch()
  }
  cancel(c: Consumer, now: number): void {
    this.time(now)
    this.msgs.forEach((m, o) => {
      if (m.holder !== c.id) return
      if (m.state === 'assigned') m.state = 'ready'
      else if (m.state === 'unacked' && c.noAck) m.state = 'done'
      else if (m.state === 'unacked') this.giveBack(o)
    })
    const i = this.list.indexOf(c)
    if (this.rr === c) this.rr = this.list.length > 1 ? this.list[(i + 1) % this.list.length] : undefined
    if (this.rr === c) this.rr = undefined
    this.list.splice(i, 1)
    this.dispatch()
  }
  tick(now: number): number {
    this.time(now)
    this.dispatch()
    let next = Infinity
    for (const m of this.msgs) if (m.state === 'delayed') next = Math.min(next, m.readyAt)
    for (let l = 0; l < this.levels; l++) {
      const o = this.levelHead(l)
      if (o >= 0) next = Math.min(next, this.msgs[o].expiresAt)
    }
    return next
  }
  takeDead(max: number): Array<{ offset: number; reason: string }> {
    const out: Array<{ offset: number; reason: string }> = []
    for (let o = 0; o < this.msgs.length && out.length < max; o++) {
      const m = this.msgs[o]
      if (m.state === 'dead') { out.push({ offset: o, reason: m.reason }); m.state = 'done'; m.reason = 'claimed' }
    }
    return out
  }
  settleDead(o: number): void {
    this.msgs[o].reason = ''
    this.dispatch()
  }
}

type Op =
  | { op: 'publish'; priority: number; ttl: number | undefined; delay: number }
  | { op: 'consume'; prefetch: number; noAck: boolean }
  | { op: 'receive'; who: number; max: number }
  | { op: 'settle'; who: number; which: number; how: 'ack' | 'requeue' | 'reject' }
  | { op: 'get'; noAck: boolean }
  | { op: 'cancel'; who: number }
  | { op: 'tick'; by: number }
  | { op: 'dead'; max: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('publish' as const), priority: fc.integer({ min: 0, max: 5 }), ttl: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }), delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('consume' as const), prefetch: fc.integer({ min: 0, max: 3 }), noAck: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('receive' as const), who: fc.nat(), max: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('settle' as const), who: fc.nat(), which: fc.nat(), how: fc.constantFrom('ack' as const, 'requeue' as const, 'reject' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), noAck: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), who: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), by: fc.integer({ min: 0, max: 25 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dead' as const), max: fc.integer({ min: 1, max: 3 }) }) },
)

const configArb: fc.Arbitrary<QueueConfig> = fc.record({
  maxPriority: fc.constantFrom(0, 0, 2, 3),
  maxLength: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  overflow: fc.constantFrom<Overflow>('drop-head', 'reject-publish', 'reject-publish-dlx'),
  deliveryLimit: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  deadLetter: fc.boolean(),
})

describe.each([{ shared: false }, { shared: true }])('queue against a reference model (shared: $shared)', ({ shared }) => {
  it('delivers the same messages in the same order, losing and duplicating none', async () => {
    await fc.assert(fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }), async (config, ops) => {
      const core = await LogCore.create({ maxBytes: 1 << 20, shared, segmentBytes: 8192, maxPartitions: 8, lanes: 2 })
      const q = core.queues
      const id = q.declare('q', config, 0).id
      const model = new Model(config)
      const copy = (ds: Delivered[]) => ds.map((d) => ({ ...d }))
      let now = 0
      let n = 0
      for (const op of ops) {
        switch (op.op) {
          case 'publish': {
            const expiresAt = op.ttl === undefined ? Infinity : now + op.ttl
            const frame = q.placeFrame(new TextEncoder().encode(`m${n++}`))
            expect(q.publish(id, frame, op.priority, expiresAt, now + op.delay, now)).toBe(model.publish(op.priority, expiresAt, now + op.delay, now))
            break
          }
          case 'consume': {
            const c = q.consume(id, op.prefetch, op.noAck, now)
            model.consume(c, op.prefetch, op.noAck, now)
            break
          }
          case 'receive': {
            if (model.list.length === 0) break
            const c = model.list[op.who % model.list.length]
            expect(copy(q.receive(c.id, op.max))).toEqual(model.receive(c, op.max))
            break
          }
          case 'settle': {
            const all = [...model.list, ...model.gets.values()].filter((c) => c.unacked > 0 && !c.noAck)
            if (all.length === 0) break
            const c = all[op.who % all.length]
            const held = model.held(c)
            const o = held[op.which % held.length]
            if (op.how === 'ack') q.ack(c.id, o)
            else q.nack(c.id, o, op.how === 'requeue', now)
            model.settle(c, o, op.how, now)
            break
          }
          case 'get': {
            const got = q.get(id, op.noAck, now)
            const want = model.get(got?.consumer ?? -1, op.noAck, now)
            if (got === undefined) expect(want).toBeUndefined()
            else {
              const { consumer, ...d } = got
              expect(d).toEqual(want)
              if (op.noAck === false) expect(model.gets.has(consumer)).toBe(true)
            }
            break
          }
          case 'cancel': {
            if (model.list.length === 0) break
            const c = model.list[op.who % model.list.length]
            q.cancel(c.id, now)
            model.cancel(c, now)
            break
          }
          case 'tick':
            now += op.by
            expect(q.tick(id, now)).toBe(model.tick(now))
            break
          case 'dead': {
            const taken = q.takeDead(id, op.max)
            expect(taken).toEqual(model.takeDead(op.max))
            for (const { offset } of taken) {
              q.settleDead(id, offset)
              model.settleDead(offset)
            }
            break
          }
        }
        expect(q.stats(id)).toEqual(model.stats())
        // what the hand-over asks before every send (read straight from memory on the plain build)
        expect(q.holds(id)).toBe(model.stats().messages)
      }
      // drain: everything still in the queue is delivered once more to one consumer
      for (const c of [...model.list]) { q.cancel(c.id, now); model.cancel(c, now) }
      const c = q.consume(id, 0, false, now)
      model.consume(c, 0, false, now)
      for (;;) {
        const got = copy(q.receive(c, 300))
        expect(got).toEqual(model.receive(model.list[0], 300))
        if (got.length === 0) break
        for (const d of got) { q.ack(c, d.offset); model.settle(model.list[0], d.offset, 'ack', now) }
      }
      expect(q.stats(id)).toEqual(model.stats())
    }), { numRuns: shared ? 60 : 150 })
  })
})
