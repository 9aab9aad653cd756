// Scenarios 4-6: fan-out to 2 worker threads through the shared log vs postMessage, and one-way
// latency to a worker. A ringbus record is written once and read by both threads from shared
// memory; postMessage clones it once per receiving thread.
import { Worker } from 'node:worker_threads'
import { createBus } from '../dist/index.js'
import { makeRecords } from './raw-batch-poll.mjs'

const WORKERS = 2
const fixture = new URL('./fixtures/fanout-worker.mjs', import.meta.url)

function makeObjects(n) {
  // about 100 bytes encoded, all distinct
  return Array.from({ length: n }, (_, i) => ({ orderId: `ord-${i.toString(36)}-${i}`, userId: `user-${i % 997}`, total: (i % 10000) / 100, currency: 'EUR', items: [`sku-${i % 503}`, `sku-${(i * 7) % 503}`], placedAt: 1_700_000_000_000 + i }))
}

/** A worker of the given mode; resolves once it is ready. `handle` is a bus handle or undefined. */
async function spawn(mode, data, bus) {
  const handle = bus?.handle()
  const worker = new Worker(fixture, { workerData: { mode, ...data, handle }, transferList: handle?.transfer ?? [] })
  await new Promise((resolve, reject) => {
    worker.on('message', function ready(m) { if (m.type === 'ready') { worker.off('message', ready); resolve() } })
    worker.once('error', reject)
  })
  return worker
}

/** Resolves when every worker reported a count of at least `target`. */
function counted(workers, target) {
  return Promise.all(workers.map((w) => new Promise((resolve) => {
    const on = (m) => { if (m.type === 'count' && m.count >= target) { w.off('message', on); resolve() } }
    w.on('message', on)
  })))
}

function fanout({ id, title, raw, batch, perOp, anchorName, anchorMode, goal, copying }) {
  return {
    id,
    title,
    async prepare(cfg) {
      const pool = cfg.quick ? 4096 : 65536
      const values = raw ? makeRecords(pool) : makeObjects(pool)
      const bus = await createBus({ shared: true, maxBytes: 64 << 20 })
      bus.topic('fan', raw ? { codec: 'raw' } : {})
      const ringWorkers = await Promise.all(Array.from({ length: WORKERS }, () => spawn('ringbus', { topic: 'fan', every: perOp, raw }, bus)))
      const postWorkers = await Promise.all(Array.from({ length: WORKERS }, () => spawn(anchorMode, { every: perOp, raw })))
      // the transport for threads without shared memory, on a plain bus: for the record, no goal
      const copyBus = copying ? await createBus({ maxBytes: 64 << 20 }) : undefined
      const copyWorkers = copying ? await Promise.all(Array.from({ length: WORKERS }, () => spawn('ringbus', { topic: 'fan', every: perOp, raw }, copyBus))) : []
      const ring = { sent: 0, i: 0 }
      const post = { sent: 0, i: 0 }
      const copy = { sent: 0, i: 0 }
      const next = (state) => { const v = values[state.i]; state.i = (state.i + 1) & (pool - 1); return v }
      return {
        anchor: anchorName,
        notes: [
          `${WORKERS} consumer threads; ${perOp} ${raw ? 'distinct 100-byte Uint8Arrays' : 'distinct ~100-byte objects'} per op; an op ends when every consumer has ${raw ? 'read' : 'decoded'} all of them`,
          `ringbus: createBus({ shared: true }), ${raw ? "codec 'raw', publishBatch of " + batch : 'default msgpack codec, publish x' + perOp}; consumers attachBus + subscribe (records read from shared memory)`,
          `${anchorName}: ${anchorMode === 'post-batch' ? `arrays of ${batch} objects posted to each consumer (structured clone per thread)` : 'each record posted to each consumer on its own'}`,
          ...(copying ? ['ringbus copying: a plain bus (no shared memory), the same consumers on copying handles (batches posted per consumer)'] : []),
        ],
        contenders: [
          {
            name: 'ringbus shared log',
            async: true,
            messagesPerOp: perOp,
            fn: async () => {
              const done = counted(ringWorkers, ring.sent + perOp)
              if (raw) {
                for (let k = 0; k < perOp; k += batch) bus.publishBatch('fan', Array.from({ length: batch }, () => ({ value: next(ring) })))
              } else {
                for (let k = 0; k < perOp; k++) bus.publish('fan', next(ring))
              }
              ring.sent += perOp
              await done
            },
          },
          {
            name: anchorName,
            async: true,
            messagesPerOp: perOp,
            fn: async () => {
              const done = counted(postWorkers, post.sent + perOp)
              if (anchorMode === 'post-batch') {
                for (let k = 0; k < perOp; k += batch) {
                  const chunk = Array.from({ length: batch }, () => next(post))
                  for (const w of postWorkers) w.postMessage(chunk)
                }
              } else {
                for (let k = 0; k < perOp; k++) {
                  const v = next(post)
                  for (const w of postWorkers) w.postMessage(v)
                }
              }
              post.sent += perOp
              await done
            },
          },
          ...(copying ? [{
            name: 'ringbus copying',
            async: true,
            messagesPerOp: perOp,
            fn: async () => {
              const done = counted(copyWorkers, copy.sent + perOp)
              for (let k = 0; k < perOp; k++) copyBus.publish('fan', next(copy))
              copy.sent += perOp
              await done
            },
          }] : []),
        ],
        goals: [{ label: `ringbus shared log >= ${goal}x ${anchorName}`, contender: 'ringbus shared log', vs: anchorName, atLeast: goal }],
        teardown: async () => {
          await Promise.all([...ringWorkers, ...postWorkers, ...copyWorkers].map((w) => w.terminate()))
          await bus.close()
          await copyBus?.close()
        },
      }
    },
  }
}

export const fanoutObjects = fanout({
  id: 'fanout-objects', title: 'fan-out of ~100-byte objects to 2 worker threads, decoded there', raw: false, batch: 256, perOp: 2560,
  anchorName: 'postMessage batches of 256', anchorMode: 'post-batch', goal: 1.5, copying: true,
})

export const fanoutRaw = fanout({
  id: 'fanout-raw', title: 'fan-out of raw 100-byte records to 2 worker threads', raw: true, batch: 256, perOp: 2560,
  anchorName: 'postMessage one at a time', anchorMode: 'post-one', goal: 10,
})

/**
 * One-way latency main -> idle worker, p50 and p99, ringbus vs postMessage: one record in flight
 * at a time, contenders interleaved with the order rotated.
 */
export async function latency(cfg, log) {
  const samplesPerRound = cfg.quick ? 50 : 1000
  const rounds = cfg.rounds
  const bus = await createBus({ shared: true, maxBytes: 8 << 20 })
  const workers = {
    ringbus: await spawn('latency-ringbus', { topic: 'ping', every: samplesPerRound }, bus),
    postMessage: await spawn('latency-post', { every: samplesPerRound }),
  }
  const collect = (w) => new Promise((resolve) => w.once('message', (m) => resolve(m.samples)))
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1))
  const now = () => performance.timeOrigin + performance.now()
  const send = {
    ringbus: () => bus.publish('ping', { sentAt: now() }),
    postMessage: () => workers.postMessage.postMessage({ sentAt: now() }),
  }
  const names = Object.keys(workers)
  const all = Object.fromEntries(names.map((name) => [name, []]))
  for (let r = 0; r < rounds; r++) {
    const done = names.map((name) => collect(workers[name]).then((samples) => all[name].push(...samples)))
    for (let i = 0; i < samplesPerRound; i++) {
      // one record in flight at a time, to a consumer that is idle (waiting): wake-up latency
      for (let k = 0; k < names.length; k++) {
        send[names[(i + r + k) % names.length]]()
        await pause()
      }
    }
    await Promise.all(done)
  }
  await Promise.all(Object.values(workers).map((w) => w.terminate()))
  await bus.close()
  const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] }
  const rows = Object.entries(all).map(([name, xs]) => ({ name, samples: xs.length, p50: pct(xs, 0.5), p99: pct(xs, 0.99) }))
  log(`  ${'contender'.padEnd(17)} ${'samples'.padStart(8)} ${'p50 us'.padStart(8)} ${'p99 us'.padStart(8)}`)
  for (const row of rows) log(`  ${row.name.padEnd(17)} ${String(row.samples).padStart(8)} ${(row.p50 * 1000).toFixed(1).padStart(8)} ${(row.p99 * 1000).toFixed(1).padStart(8)}`)
  return rows
}
