// Replays a scenario (scenarios.ts) on a ringbus bus and returns its outcomes in the shape that
// record.mjs stores for the real broker (fixtures/<id>.json), so the two can be compared with
// toEqual (differential.test.ts).
//
// The bus is driven through its RabbitMQ-model API (RabbitBus below: the part of BusApi the
// scenarios use); a stand-in bus can be given to check the harness itself.
//
// How broker notions map onto the bus:
//   - publish confirm/return: send() throwing errors.UnroutableError is a basic.return (and the
//     confirm is still an ack, as on the broker); send() throwing any other BusError, or
//     returning a non-empty `refused` list, is a confirm nack (a reject-publish queue refused it);
//     anything else is an ack.
//   - get/drain: bus.get(queue); `reject-requeue` is nack({ requeue: true }) (AMQP's basic.reject
//     with requeue is the same thing).
//   - closeChannel: the held deliveries are nacked with requeue, latest first.
//   - wait(ms): clock.advance(ms). Before each get/drain the replay lets pending promise jobs and
//     immediates run (the recorder pauses there too, for asynchronous dead-lettering).
//   - x-last-death-* headers: ringbus writes them as RabbitMQ 3.13 and later do; the fixtures come
//     from 3.10, which does not, so they are left out of the comparison.
//   - consume: consumeQueue with the scenario's prefetch; a handler keeps each delivery until the
//     replay acks it, and returns a promise that resolves after that ack.
import { createBus, errors, manualClock, type Binding, type BusApi, type ManualClock, type QueueDelivery, type SendOptions } from '../../src/index.js'
import {
  TIME_PLACEHOLDER,
  type DeliveryRecord, type HeaderValue, type Outcome, type PublishStep, type Scenario, type Settle,
} from './scenarios.js'

/** The bus the replay drives: the RabbitMQ model of ringbus's API. */
type RabbitBus = Pick<BusApi, 'exchange' | 'queue' | 'bind' | 'unbind' | 'send' | 'get' | 'consumeQueue' | 'close'>

const plainValue = (value: HeaderValue): unknown => (value !== null && typeof value === 'object' ? value.value : value)
const plainTable = (table: Record<string, HeaderValue>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [k, plainValue(v)]))

/** Lets promise jobs and immediates that the bus queued run (no clock time passes). */
async function settleBus(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

function bodyOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')
  return JSON.stringify(value)
}

function normaliseHeaders(all: Record<string, unknown>): Record<string, unknown> {
  const headers = Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('x-last-death-')))
  const deaths = headers['x-death']
  if (!Array.isArray(deaths)) return headers
  return {
    ...headers,
    'x-death': deaths.map((entry: unknown) =>
      entry !== null && typeof entry === 'object' && 'time' in entry ? { ...entry, time: TIME_PLACEHOLDER } : entry),
  }
}

export function deliveryRecord(d: QueueDelivery): DeliveryRecord {
  const record: DeliveryRecord = { body: bodyOf(d.value), exchange: d.exchange, routingKey: d.routingKey, redelivered: d.redelivered }
  if (d.priority !== undefined && d.priority !== null) record.priority = d.priority
  if (d.headers !== undefined && d.headers !== null && Object.keys(d.headers).length > 0) record.headers = normaliseHeaders(d.headers)
  if (d.correlationId !== undefined) record.correlationId = d.correlationId
  if (d.replyTo !== undefined) record.replyTo = d.replyTo
  if (d.messageId !== undefined) record.messageId = d.messageId
  return record
}

async function settleDelivery(d: QueueDelivery, action: Settle): Promise<void> {
  switch (action) {
    case 'ack': return d.ack()
    case 'nack-requeue': return d.nack({ requeue: true })
    case 'nack': return d.nack({ requeue: false })
    case 'reject': return d.reject()
    case 'reject-requeue': return d.nack({ requeue: true })
  }
}

async function publish(bus: RabbitBus, step: PublishStep): Promise<{ confirm: 'ack' | 'nack'; returned: boolean }> {
  const options: SendOptions = {}
  if (step.headers !== undefined) options.headers = plainTable(step.headers)
  if (step.priority !== undefined) options.priority = step.priority
  if (step.expirationMs !== undefined) options.expirationMs = step.expirationMs
  if (step.correlationId !== undefined) options.correlationId = step.correlationId
  if (step.replyTo !== undefined) options.replyTo = step.replyTo
  if (step.messageId !== undefined) options.messageId = step.messageId
  if (step.mandatory === true) options.mandatory = true
  try {
    const result = await bus.send(step.exchange, step.routingKey, step.value, options)
    return { confirm: result.refused !== undefined && result.refused.length > 0 ? 'nack' : 'ack', returned: false }
  } catch (err) {
    if (err instanceof errors.UnroutableError) return { confirm: 'ack', returned: true }
    if (err instanceof errors.BusError) return { confirm: 'nack', returned: false }
    throw err
  }
}

async function consume(bus: RabbitBus, step: Extract<Scenario['steps'][number], { op: 'consume' }>): Promise<number[][][]> {
  const holding: Array<Array<{ delivery: QueueDelivery; release: () => void }>> = []
  for (let i = 0; i < step.consumers; i++) {
    const mine: Array<{ delivery: QueueDelivery; release: () => void }> = []
    holding.push(mine)
    await bus.consumeQueue(step.queue, (delivery) => new Promise<void>((release) => { mine.push({ delivery, release }) }), { prefetch: step.prefetch, noAck: false })
  }
  for (let n = 0; n < step.count; n++) await bus.send('', step.queue, `m${n}`)
  const rounds: number[][][] = []
  let seen = 0
  while (seen < step.count) {
    await settleBus()
    const round = holding.map((held) => held.map(({ delivery }) => Number(bodyOf(delivery.value).slice(1))))
    if (round.every((r) => r.length === 0)) throw new Error(`consume on ${step.queue}: no progress after ${seen} messages`)
    rounds.push(round)
    seen += round.reduce((sum, r) => sum + r.length, 0)
    for (const held of holding) {
      for (const { delivery, release } of held.splice(0)) {
        await delivery.ack()
        release()
      }
      await settleBus()
    }
  }
  return rounds
}

/**
 * Runs `scenario` on a new bus with a manual clock and returns its outcomes. `makeBus` replaces
 * ringbus's createBus (to check the harness itself on a stand-in).
 */
export async function replay(scenario: Scenario, makeBus?: (clock: ManualClock) => Promise<RabbitBus>): Promise<Outcome[]> {
  const clock = manualClock(0)
  const bus: RabbitBus = makeBus === undefined ? await createBus({ clock }) : await makeBus(clock)
  const outcomes: Outcome[] = []
  const held = new Map<string, QueueDelivery>()
  try {
    for (const [index, step] of scenario.steps.entries()) {
      switch (step.op) {
        case 'exchange':
          await bus.exchange(step.name, step.alternateExchange === undefined ? { type: step.type } : { type: step.type, alternateExchange: step.alternateExchange })
          break
        case 'queue':
          await bus.queue(step.name, step.options ?? {})
          break
        case 'bind':
        case 'unbind': {
          let binding: Binding
          if ('toExchange' in step) binding = { exchange: step.exchange, toExchange: step.toExchange, ...(step.pattern === undefined ? {} : { pattern: step.pattern }) }
          else {
            binding = { exchange: step.exchange, queue: step.queue }
            if (step.pattern !== undefined) binding.pattern = step.pattern
            if (step.arguments !== undefined) binding.arguments = plainTable(step.arguments)
          }
          await (step.op === 'bind' ? bus.bind(binding) : bus.unbind(binding))
          break
        }
        case 'publish':
          outcomes.push({ step: index, op: 'publish', ...(await publish(bus, step)) })
          break
        case 'get': {
          await settleBus()
          const d = await bus.get(step.queue)
          outcomes.push({ step: index, op: 'get', queue: step.queue, delivery: d === undefined ? null : deliveryRecord(d) })
          if (d !== undefined) {
            if (step.then === 'hold') held.set(step.as ?? '', d)
            else await settleDelivery(d, step.then)
          }
          break
        }
        case 'settle': {
          const d = held.get(step.ref)
          if (d === undefined) throw new Error(`step ${index}: nothing held as ${step.ref}`)
          held.delete(step.ref)
          await settleDelivery(d, step.action)
          break
        }
        case 'drain': {
          await settleBus()
          const deliveries: Array<DeliveryRecord | string> = []
          for (let d = await bus.get(step.queue); d !== undefined; d = await bus.get(step.queue)) {
            deliveries.push(step.bodies === true ? bodyOf(d.value) : deliveryRecord(d))
            await d.ack()
          }
          outcomes.push({ step: index, op: 'drain', queue: step.queue, deliveries })
          break
        }
        case 'wait':
          clock.advance(step.ms)
          await settleBus()
          break
        case 'closeChannel':
          for (const d of [...held.values()].reverse()) await d.nack({ requeue: true })
          held.clear()
          break
        case 'consume':
          outcomes.push({ step: index, op: 'consume', queue: step.queue, rounds: await consume(bus, step) })
          break
      }
    }
  } finally {
    await bus.close()
  }
  return outcomes
}
