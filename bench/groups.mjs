// Scenarios 7-8 and the rebalance measurement: consumer groups. A group's members share a
// topic's partitions; what a member costs per record is compared with an independent reader of
// the same records (the goal: at most 1.25x, i.e. a rate of at least 0.8x).
import { Worker } from 'node:worker_threads'
import { createBus } from '../dist/index.js'
import { median } from './harness.mjs'

const PARTITIONS = 4
const BATCH = 1000
const fixture = new URL('./fixtures/fanout-worker.mjs', import.meta.url)

function makeJobs(n) {
  return Array.from({ length: n }, (_, i) => ({ jobId: `job-${i.toString(36)}-${i}`, total: (i % 10000) / 100, kind: `k${i % 17}` }))
}

/** A bus with a 4-partition topic and readers attached by `attach`; publishes round-robin. */
async function sameThread(label, attach, pool) {
  const bus = await createBus({ maxBytes: 64 << 20 })
  bus.topic('jobs', { partitions: PARTITIONS })
  const state = { received: 0, sum: 0, published: 0, i: 0 }
  attach(bus, (msg) => { state.received++; state.sum += msg.value.total })
  await bus.idle()
  const mask = pool.length - 1
  return {
    bus,
    contender: {
      name: label,
      async: true,
      messagesPerOp: BATCH,
      fn: async () => {
        let i = state.i
        for (let k = 0; k < BATCH; k++) {
          bus.publish('jobs', pool[i])
          i = (i + 1) & mask
        }
        state.i = i
        state.published += BATCH
        await bus.idle()
      },
      verify: () => {
        if (state.received !== state.published) throw new Error(`${label}: published ${state.published}, delivered ${state.received}`)
      },
    },
  }
}

export const groupSameThread = {
  id: 'groups',
  title: `group consumption, ${PARTITIONS} partitions, 2 members in this thread, sync handler, vs an independent reader`,
  async prepare(cfg) {
    const pool = makeJobs(cfg.quick ? 4096 : 65536)
    const group = await sameThread('ringbus group (2 members)', (bus, fn) => {
      bus.subscribe('jobs', fn, { group: 'bench' })
      bus.subscribe('jobs', fn, { group: 'bench' })
    }, pool)
    const reader = await sameThread('ringbus independent reader', (bus, fn) => { bus.subscribe('jobs', fn) }, pool)
    return {
      anchor: 'ringbus independent reader',
      notes: [
        `${BATCH} distinct small objects per op, published round-robin over ${PARTITIONS} partitions (msgpack), await bus.idle() per op`,
        'group: two members of one group (two partitions each), auto-commit after every record; reader: one subscribe() without a group',
      ],
      contenders: [group.contender, reader.contender],
      goals: [{ label: 'group >= 0.8x an independent reader (cost per record at most 1.25x)', contender: group.contender.name, vs: reader.contender.name, atLeast: 0.8 }],
      teardown: async () => {
        await group.bus.close()
        await reader.bus.close()
      },
    }
  },
}

async function spawn(mode, data, bus) {
  const handle = bus.handle()
  const worker = new Worker(fixture, { workerData: { mode, ...data, handle }, transferList: handle.transfer })
  await new Promise((resolve, reject) => {
    worker.on('message', function ready(m) { if (m.type === 'ready') { worker.off('message', ready); resolve() } })
    worker.once('error', reject)
  })
  return worker
}

/** Resolves when the workers' counts add up to at least `target`. */
function counted(workers, target) {
  const counts = workers.map(() => 0)
  return new Promise((resolve) => {
    workers.forEach((w, i) => {
      const on = (m) => {
        if (m.type !== 'count') return
        counts[i] = m.count
        if (counts.reduce((a, b) => a + b, 0) >= target) {
          for (const x of workers) x.removeAllListeners('message')
          resolve()
        }
      }
      w.on('message', on)
    })
  })
}

export const groupWorkers = {
  id: 'groups-workers',
  title: `group consumption, ${PARTITIONS} partitions, members in 2 worker threads, vs an independent reader in 1 worker`,
  async prepare(cfg) {
    const pool = makeJobs(cfg.quick ? 4096 : 65536)
    const every = BATCH / 2 // each member owns half the partitions
    const groupBus = await createBus({ shared: true, maxBytes: 64 << 20 })
    groupBus.topic('jobs', { partitions: PARTITIONS })
    const members = [await spawn('ringbus-group', { topic: 'jobs', every, group: 'bench' }, groupBus)]
    members.push(await spawn('ringbus-group', { topic: 'jobs', every, group: 'bench' }, groupBus))
    while (groupBus.stats().jobs.groups.bench?.partitions.some((p) => p.owner === undefined) !== false ||
      new Set(groupBus.stats().jobs.groups.bench.partitions.map((p) => p.owner)).size < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    const readerBus = await createBus({ shared: true, maxBytes: 64 << 20 })
    readerBus.topic('jobs', { partitions: PARTITIONS })
    const reader = [await spawn('ringbus', { topic: 'jobs', every: BATCH }, readerBus)]
    const contender = (name, bus, workers) => {
      const state = { sent: 0, i: 0 }
      return {
        name,
        async: true,
        messagesPerOp: BATCH,
        fn: async () => {
          const done = counted(workers, state.sent * (name.includes('group') ? 1 : 1) + BATCH)
          for (let k = 0; k < BATCH; k++) {
            bus.publish('jobs', pool[state.i])
            state.i = (state.i + 1) & (pool.length - 1)
          }
          state.sent += BATCH
          await done
        },
      }
    }
    return {
      anchor: 'ringbus independent reader (1 worker)',
      notes: [
        `${BATCH} distinct small objects per op from the main thread, round-robin over ${PARTITIONS} partitions of a shared bus; an op ends when the consumers handled them all`,
        'group: two worker threads, one member each (two partitions each); reader: one worker thread, one subscribe() without a group',
      ],
      contenders: [contender('ringbus group (2 worker members)', groupBus, members), contender('ringbus independent reader (1 worker)', readerBus, reader)],
      goals: [],
      teardown: async () => {
        await Promise.all([...members, ...reader].map((w) => w.terminate()))
        await groupBus.close()
        await readerBus.close()
      },
    }
  },
}

/**
 * 64 partitions, 8 members with async handlers, records flowing; one member leaves: the time
 * until every partition is owned again and has delivered a record published after the leave
 * began, and how many records the group handled twice. Median of several rounds.
 */
export async function rebalance(cfg, log) {
  const rounds = cfg.quick ? 1 : 7
  const times = []
  const duplicates = []
  for (let round = 0; round < rounds; round++) {
    const bus = await createBus({ maxBytes: 64 << 20 })
    bus.topic('work', { partitions: 64 })
    const seen = new Map()
    const after = new Set()
    let leaveAt = Infinity
    const subs = Array.from({ length: 8 }, () => bus.subscribe('work', async (msg) => {
      await null
      const id = `${msg.partition}:${msg.offset}`
      seen.set(id, (seen.get(id) ?? 0) + 1)
      if (msg.value.at >= leaveAt) after.add(msg.partition)
    }, { group: 'g' }))
    await bus.idle()
    let seq = 0
    const publish = (at) => { for (let p = 0; p < 64; p++) bus.publish('work', { seq: seq++, at }, { partition: p }) }
    for (let i = 0; i < 20; i++) publish(0)
    await bus.idle() // the time measured is the leave's, not a backlog's
    leaveAt = 1
    const t0 = performance.now()
    const closing = subs[0].close()
    // records keep flowing while the member leaves
    while (after.size < 64) {
      publish(1)
      await new Promise((resolve) => setImmediate(resolve))
    }
    times.push(performance.now() - t0)
    await closing
    await bus.idle()
    duplicates.push([...seen.values()].filter((n) => n > 1).length)
    await bus.close()
  }
  const result = { rounds, medianMs: median(times), times, duplicates }
  log(`  one of 8 members leaves (64 partitions, async handlers, records flowing): every partition delivering again after ${result.medianMs.toFixed(2)} ms (median of ${rounds}); records handled twice per round: ${duplicates.join(', ')}`)
  return result
}
