#!/usr/bin/env node
// Records what a real RabbitMQ broker does for every scenario in scenarios.ts, into
// fixtures/<id>.json. The differential test (differential.test.ts) replays the same scenarios
// on ringbus and expects the same outcomes.
//
// Rerun (Debian 12's rabbitmq-server 3.10; everything bound to 127.0.0.1):
//
//   apt-get install -y rabbitmq-server          # the package does not start the service here
//   mkdir -p /tmp/rmq && printf 'listeners.tcp.default = 127.0.0.1:5672\n' > /tmp/rmq/rabbitmq.conf
//   export NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_CONFIG_FILE=/tmp/rmq/rabbitmq.conf
//   export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
//   setsid rabbitmq-server > /tmp/rmq/server.log 2>&1 &
//   rabbitmqctl await_startup
//   node test/rabbit/record.mjs [scenario-id ...]    # AMQP_URL overrides amqp://guest:guest@127.0.0.1:5672
//   rabbitmqctl stop && kill <the epmd it started>
//
// Every exchange and queue a scenario names is deleted before and after it runs, so a rerun
// starts clean (names are the scenario's own, used verbatim so that fixtures hold them).
//
// What is normalised, and nothing else:
//   - x-death entries' `time` (an AMQP timestamp) becomes "<time>"; every other field is kept as
//     the broker sent it, in its order (entries' order included).
//   - a delivery records body (UTF-8), exchange, routingKey, redelivered; priority, correlationId,
//     replyTo and messageId only when the message has them; headers only when non-empty.
//   - publishes go through a confirm channel: `confirm` is the broker's ack or nack, `returned`
//     whether a basic.return (mandatory, no route) arrived before the confirm.
//   - waits are the scenario's logical milliseconds, slept in real time; in addition the recorder
//     pauses SETTLE_MS before each get/drain so that asynchronous dead-lettering has landed (not
//     part of the scenario's time).
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import amqp from 'amqplib'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const SETTLE_MS = 60
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- load scenarios.ts (types stripped, no imports) ----
async function loadScenarios() {
  const ts = require('typescript')
  const source = await readFile(join(here, 'scenarios.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
  const file = join(tmpdir(), `ringbus-scenarios-${process.pid}.mjs`)
  await writeFile(file, outputText)
  try {
    return await import(pathToFileURL(file).href)
  } finally {
    await unlink(file)
  }
}

// ---- DSL -> AMQP ----
function wireValue(value) {
  if (value !== null && typeof value === 'object' && '$amqp' in value) return { '!': value.$amqp, value: value.value }
  return value
}
function wireTable(table) {
  if (table === undefined) return undefined
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, wireValue(v)]))
}
function queueArguments(options = {}) {
  const args = {}
  if (options.maxLength !== undefined) args['x-max-length'] = options.maxLength
  if (options.overflow !== undefined) args['x-overflow'] = options.overflow
  if (options.messageTtlMs !== undefined) args['x-message-ttl'] = options.messageTtlMs
  if (options.expiresMs !== undefined) args['x-expires'] = options.expiresMs
  if (options.maxPriority !== undefined) args['x-max-priority'] = options.maxPriority
  if (options.deliveryLimit !== undefined) {
    args['x-queue-type'] = 'quorum'
    args['x-delivery-limit'] = options.deliveryLimit
  }
  if (options.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = options.deadLetterExchange
  if (options.deadLetterRoutingKey !== undefined) args['x-dead-letter-routing-key'] = options.deadLetterRoutingKey
  return args
}

// ---- normalisation ----
function normaliseValue(value, key) {
  if (value === null || typeof value !== 'object') return value
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('base64') }
  if (Array.isArray(value)) return value.map((v) => normaliseValue(v))
  if ('!' in value) {
    if (key === 'time' && value['!'] === 'timestamp') return '<time>'
    return { $amqp: value['!'], value: value.value }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseValue(v, k)]))
}
function deliveryRecord(msg) {
  const { fields, properties } = msg
  const record = { body: msg.content.toString('utf8'), exchange: fields.exchange, routingKey: fields.routingKey, redelivered: fields.redelivered }
  if (properties.priority !== undefined) record.priority = properties.priority
  if (properties.headers !== undefined && Object.keys(properties.headers).length > 0) record.headers = normaliseValue(properties.headers)
  if (properties.correlationId !== undefined) record.correlationId = properties.correlationId
  if (properties.replyTo !== undefined) record.replyTo = properties.replyTo
  if (properties.messageId !== undefined) record.messageId = properties.messageId
  return record
}

// ---- one scenario ----
class Session {
  constructor(connection) {
    this.connection = connection
    this.channel = undefined
    this.held = new Map()
    this.returns = []
  }
  async open() {
    this.channel = await this.connection.createConfirmChannel()
    this.channel.on('return', (msg) => this.returns.push(msg))
    this.channel.on('error', (err) => console.error(`channel error: ${err.message}`))
    this.held.clear()
  }
  async close() {
    await this.channel.close()
    this.channel = undefined
  }
}

function namesOf(scenario) {
  const exchanges = new Set()
  const queues = new Set()
  for (const step of scenario.steps) {
    if (step.op === 'exchange') exchanges.add(step.name)
    if (step.op === 'queue') queues.add(step.name)
  }
  return { exchanges: [...exchanges], queues: [...queues] }
}

async function cleanup(connection, scenario) {
  const { exchanges, queues } = namesOf(scenario)
  for (const name of queues) {
    const ch = await connection.createChannel()
    ch.on('error', () => {})
    try { await ch.deleteQueue(name) } catch { continue }
    await ch.close()
  }
  for (const name of exchanges) {
    const ch = await connection.createChannel()
    ch.on('error', () => {})
    try { await ch.deleteExchange(name) } catch { continue }
    await ch.close()
  }
}

function settleMsg(channel, msg, action) {
  switch (action) {
    case 'ack': return channel.ack(msg)
    case 'nack-requeue': return channel.nack(msg, false, true)
    case 'nack': return channel.nack(msg, false, false)
    case 'reject': return channel.reject(msg, false)
    case 'reject-requeue': return channel.reject(msg, true)
    default: throw new Error(`unknown settle action ${action}`)
  }
}

async function publish(session, step) {
  const options = { persistent: false }
  if (step.headers !== undefined) options.headers = wireTable(step.headers)
  if (step.priority !== undefined) options.priority = step.priority
  if (step.expirationMs !== undefined) options.expiration = String(step.expirationMs)
  if (step.correlationId !== undefined) options.correlationId = step.correlationId
  if (step.replyTo !== undefined) options.replyTo = step.replyTo
  if (step.messageId !== undefined) options.messageId = step.messageId
  if (step.mandatory) options.mandatory = true
  session.returns.length = 0
  const confirm = await new Promise((resolve) => {
    session.channel.publish(step.exchange, step.routingKey, Buffer.from(step.value, 'utf8'), options, (err) => resolve(err ? 'nack' : 'ack'))
  })
  // a basic.return precedes the confirm on the wire; give the event loop one turn anyway
  await sleep(5)
  const returned = session.returns.some((msg) => msg.content.toString('utf8') === step.value)
  session.returns.length = 0
  return { confirm, returned }
}

async function consume(connection, step) {
  const channels = []
  const holding = []
  const received = []
  for (let i = 0; i < step.consumers; i++) {
    const ch = await connection.createChannel()
    await ch.prefetch(step.prefetch)
    holding.push([])
    await ch.consume(step.queue, (msg) => { if (msg) { holding[i].push(msg); received.push(msg) } }, { noAck: false })
    channels.push(ch)
  }
  const pubCh = await connection.createConfirmChannel()
  for (let n = 0; n < step.count; n++) pubCh.publish('', step.queue, Buffer.from(`m${n}`), { persistent: false })
  await pubCh.waitForConfirms()
  await pubCh.close()
  const rounds = []
  let seen = 0
  while (seen < step.count) {
    await sleep(150)
    const round = holding.map((msgs) => msgs.map((m) => Number(m.content.toString('utf8').slice(1))))
    if (round.every((r) => r.length === 0)) throw new Error(`consume on ${step.queue}: no progress after ${seen} messages`)
    rounds.push(round)
    seen += round.reduce((a, r) => a + r.length, 0)
    for (let i = 0; i < channels.length; i++) {
      for (const msg of holding[i].splice(0)) channels[i].ack(msg)
      await sleep(50)
    }
  }
  for (const ch of channels) await ch.close()
  return rounds
}

async function runScenario(connection, scenario) {
  await cleanup(connection, scenario)
  const session = new Session(connection)
  await session.open()
  const outcomes = []
  try {
    for (const [index, step] of scenario.steps.entries()) {
      const ch = session.channel
      switch (step.op) {
        case 'exchange': {
          const args = step.alternateExchange === undefined ? {} : { 'alternate-exchange': step.alternateExchange }
          await ch.assertExchange(step.name, step.type, { durable: false, autoDelete: false, arguments: args })
          break
        }
        case 'queue': {
          const quorum = step.options?.deliveryLimit !== undefined
          await ch.assertQueue(step.name, { durable: quorum, autoDelete: false, exclusive: false, arguments: queueArguments(step.options) })
          break
        }
        case 'bind':
        case 'unbind': {
          const pattern = step.pattern ?? ''
          const args = wireTable(step.arguments) ?? {}
          if ('toExchange' in step) {
            // AMQP's exchange.bind(destination, source, key)
            if (step.op === 'bind') await ch.bindExchange(step.toExchange, step.exchange, pattern, args)
            else await ch.unbindExchange(step.toExchange, step.exchange, pattern, args)
          } else if (step.op === 'bind') await ch.bindQueue(step.queue, step.exchange, pattern, args)
          else await ch.unbindQueue(step.queue, step.exchange, pattern, args)
          break
        }
        case 'publish':
          outcomes.push({ step: index, op: 'publish', ...(await publish(session, step)) })
          break
        case 'get': {
          await sleep(SETTLE_MS)
          const msg = await ch.get(step.queue, { noAck: false })
          outcomes.push({ step: index, op: 'get', queue: step.queue, delivery: msg ? deliveryRecord(msg) : null })
          if (msg) {
            if (step.then === 'hold') session.held.set(step.as, msg)
            else settleMsg(ch, msg, step.then)
          }
          break
        }
        case 'settle': {
          const msg = session.held.get(step.ref)
          if (!msg) throw new Error(`step ${index}: nothing held as ${step.ref}`)
          session.held.delete(step.ref)
          settleMsg(ch, msg, step.action)
          break
        }
        case 'drain': {
          await sleep(SETTLE_MS)
          const deliveries = []
          for (;;) {
            const msg = await ch.get(step.queue, { noAck: false })
            if (!msg) break
            deliveries.push(step.bodies ? msg.content.toString('utf8') : deliveryRecord(msg))
            ch.ack(msg)
          }
          outcomes.push({ step: index, op: 'drain', queue: step.queue, deliveries })
          break
        }
        case 'wait':
          await sleep(step.ms)
          break
        case 'closeChannel':
          await session.close()
          await sleep(SETTLE_MS)
          await session.open()
          break
        case 'consume':
          outcomes.push({ step: index, op: 'consume', queue: step.queue, rounds: await consume(connection, step) })
          break
        default:
          throw new Error(`step ${index}: unknown op ${step.op}`)
      }
    }
  } finally {
    if (session.channel) await session.close().catch(() => {})
    await cleanup(connection, scenario)
  }
  return outcomes
}

// pretty JSON, but a publish outcome or a list of bodies on one line each, so fixtures stay short
function format(fixture) {
  const { outcomes, ...head } = fixture
  const lines = outcomes.map((o) => {
    if (o.op === 'publish' || o.op === 'consume' || (o.op === 'drain' && o.deliveries.every((d) => typeof d === 'string'))) return `    ${JSON.stringify(o)}`
    return JSON.stringify(o, null, 2).split('\n').map((l) => `    ${l}`).join('\n')
  })
  const top = JSON.stringify(head, null, 2).slice(0, -2)
  return `${top},\n  "outcomes": [\n${lines.join(',\n')}\n  ]\n}\n`
}

async function main() {
  const { scenarios } = await loadScenarios()
  const only = process.argv.slice(2)
  const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
  const connection = await amqp.connect(url)
  connection.on('error', (err) => console.error(`connection error: ${err.message}`))
  const version = `RabbitMQ ${connection.connection.serverProperties?.version ?? 'unknown'}`
  const client = `amqplib ${JSON.parse(await readFile(join(dirname(require.resolve('amqplib')), 'package.json'), 'utf8')).version}`
  await mkdir(join(here, 'fixtures'), { recursive: true })
  try {
    for (const scenario of scenarios) {
      if (only.length > 0 && !only.includes(scenario.id)) continue
      const started = Date.now()
      const outcomes = await runScenario(connection, scenario)
      const fixture = {
        scenario: scenario.id,
        title: scenario.title,
        recordedWith: { broker: version, client },
        normalised: 'x-death time values are "<time>"; deliveries keep body, exchange, routingKey, redelivered, and priority, headers, correlationId, replyTo, messageId when present',
        outcomes,
      }
      await writeFile(join(here, 'fixtures', `${scenario.id}.json`), format(fixture))
      console.log(`${scenario.id}: ${outcomes.length} outcomes in ${Date.now() - started} ms`)
    }
  } finally {
    await connection.close()
  }
}

await main()
