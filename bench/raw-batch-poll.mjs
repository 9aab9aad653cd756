// Scenario 2: pre-encoded 100-byte records, appended as a batch and read back, against
// eventemitter3 handing the same Uint8Arrays to a listener. One op = BATCH records.
import { createBus } from '../dist/index.js'
import { LogCore } from '../dist/core/log.js'
import { FRAME_HEADER } from '../dist/core/abi.js'
import { EventEmitter } from 'eventemitter3'
import { eventemitterContender } from './harness.mjs'

let sink = 0 // values are touched so the work cannot be optimised away

export const BATCH = 256
export const RECORD_BYTES = 100
const TOPIC = 'raw.records'

/** `count` distinct 100-byte records (separate allocations, pseudo-random contents). */
export function makeRecords(count) {
  const records = new Array(count)
  let x = 0x9e3779b9
  for (let i = 0; i < count; i++) {
    const r = new Uint8Array(RECORD_BYTES)
    for (let j = 0; j < RECORD_BYTES; j++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5
      r[j] = x & 0xff
    }
    records[i] = r
  }
  return records
}

/** The records as publishBatch input: `count / BATCH` arrays of BATCH `{ value }` objects. */
export function makeBatches(records) {
  const batches = []
  for (let i = 0; i + BATCH <= records.length; i += BATCH) batches.push(records.slice(i, i + BATCH).map((value) => ({ value })))
  return batches
}

export default {
  id: 'raw-batch',
  title: 'pre-encoded 100-byte records, batch publish -> batch poll',
  async prepare(cfg) {
    const poolSize = cfg.quick ? 4096 : 65536
    const mask = poolSize - 1
    const records = makeRecords(poolSize)
    const batches = makeBatches(records)
    const maxBytes = cfg.quick ? 1 << 20 : 64 << 20

    // ---- ringbus public API: raw-codec topic, publishBatch, one subscriber, idle() per batch
    const bus = await createBus({ maxBytes })
    bus.topic(TOPIC, { codec: 'raw' })
    let prefilled = 0
    while (bus.stats()[TOPIC].partitions[0].evicted === 0) { bus.publishBatch(TOPIC, batches[prefilled % batches.length]); prefilled++ }
    const pub = { received: 0, bytes: 0, published: 0, j: 0 }
    const sub = bus.subscribe(TOPIC, (msg) => { pub.received++; pub.bytes += msg.value.length })

    // ---- ringbus public API, reading from the log: a second bus whose subscriber stays lagBy
    // records behind the writer. The bus hands a reader that keeps up the published objects from
    // a ring of recent values (up to 2^18 per partition) and polls the log only for older
    // records, so only a reader further behind than that exercises poll + decode (raw: a copy).
    // It takes BATCH records per op: the handler pauses the subscription when it has them.
    const lagBy = cfg.quick ? 4096 : 300_000
    const lagBus = await createBus({ maxBytes })
    lagBus.topic(TOPIC, { codec: 'raw' })
    let lagPrefilled = 0
    while (lagBus.stats()[TOPIC].partitions[0].evicted === 0 || lagPrefilled * BATCH < lagBy) {
      lagBus.publishBatch(TOPIC, batches[lagPrefilled % batches.length])
      lagPrefilled++
    }
    const lagEnd = lagBus.stats()[TOPIC].partitions[0].endOffset
    const lag = { received: 0, bytes: 0, published: 0, j: 0, quota: BATCH, last: undefined, sub: undefined }
    // subscribe() delivers synchronously, before it returns the Subscription the handler would
    // pause: start at 'latest' (nothing to deliver), pause, then seek back
    lag.sub = lagBus.subscribe(TOPIC, (msg) => {
      lag.received++
      lag.bytes += msg.value.length
      lag.last = msg.value
      if (--lag.quota === 0) lag.sub.pause()
    })
    lag.sub.pause()
    lag.sub.seek({ offset: lagEnd - lagBy })

    // ---- ringbus core (LogCore, internal): stage + one commit, then one cursor poll, reading
    // each record's length and first byte in place
    const core = await LogCore.create({ maxBytes, shared: false })
    const pid = core.addPartition({ maxBytes: 0, maxAgeMs: 0, reject: false })
    const raw = { received: 0, bytes: 0, published: 0, i: 0, sink: 0 }
    const appendRaw = () => {
      const now = Date.now()
      let i = raw.i
      for (let k = 0; k < BATCH; k++) {
        if (!core.stage(pid, now, 0, 0, undefined, undefined, records[i])) throw new Error('staging area full')
        i = (i + 1) & mask
      }
      raw.i = i
      const n = core.commit(now)
      if (n !== BATCH) throw new Error(`core appended ${n} of ${BATCH}: status ${core.statusAt(n)}`)
    }
    while (core.evicted(pid) === 0) appendRaw()
    const slot = core.openCursor(pid, core.endOffset(pid))

    // ---- eventemitter3

    const check = (name, s) => () => {
      if (s.received !== s.published || s.bytes !== s.published * RECORD_BYTES) {
        throw new Error(`${name}: published ${s.published}, delivered ${s.received} (${s.bytes} bytes)`)
      }
    }

    return {
      anchor: 'eventemitter3',
      notes: [
        `${BATCH} records of ${RECORD_BYTES} bytes per op, ${poolSize} distinct Uint8Arrays cycled`,
        `ringbus publishBatch: createBus({ maxBytes: ${maxBytes / 2 ** 20} MiB }), codec 'raw', one bus.subscribe() handler, await bus.idle() per batch; log pre-filled until it evicts`,
        `ringbus lagging reader: same, on a second bus whose subscriber runs ${lagBy.toLocaleString('en-US')} records behind (from: { offset }), takes ${BATCH} per op (pauses itself), so it polls and decodes from the log (raw decode = copy)`,
        'ringbus core: LogCore.stage x256 + commit(), then poll() the cursor and read each frame in place (no Uint8Array per record)',
        'note: a same-thread subscriber that keeps up gets the published Uint8Array back from the topic\'s recent-values ring; it never reads the log',
      ],
      contenders: [
        {
          name: 'ringbus publishBatch+subscribe',
          async: true,
          messagesPerOp: BATCH,
          fn: async () => {
            bus.publishBatch(TOPIC, batches[pub.j])
            pub.j = pub.j + 1 === batches.length ? 0 : pub.j + 1
            pub.published += BATCH
            await bus.idle()
          },
          verify: check('ringbus publishBatch', pub),
        },
        {
          name: 'ringbus publishBatch+lagging reader',
          async: true,
          messagesPerOp: BATCH,
          fn: async () => {
            lagBus.publishBatch(TOPIC, batches[lag.j])
            lag.j = lag.j + 1 === batches.length ? 0 : lag.j + 1
            lag.published += BATCH
            lag.quota = BATCH
            lag.sub.resume()
            await lagBus.idle()
          },
          verify: () => {
            check('ringbus lagging reader', lag)()
            // a record decoded from the log is a copy; one from the recent-values ring is ours
            if (!cfg.quick && records.includes(lag.last)) throw new Error('the lagging reader was served from the recent-values ring, not the log: raise lagBy')
          },
        },
        {
          name: 'ringbus core stage+poll',
          async: false,
          messagesPerOp: BATCH,
          fn: () => {
            appendRaw()
            raw.published += BATCH
            let got = 0
            for (;;) {
              const n = core.poll(slot, BATCH)
              if (n < 0) throw new Error(`poll status ${n}`)
              if (n === 0) break
              const u8 = core.u8
              for (let k = 0; k < n; k++) {
                const frame = core.polledFrame(k)
                raw.bytes += core.frameValueLength(frame)
                raw.sink ^= u8[frame + FRAME_HEADER]
              }
              got += n
            }
            raw.received += got
          },
          verify: check('ringbus core', raw),
        },
        eventemitterContender(EventEmitter, TOPIC, records, BATCH, (value) => { sink += value.length }),
      ],
      goals: [
        { label: 'ringbus publishBatch+subscribe >= 1/8 of eventemitter3', contender: 'ringbus publishBatch+subscribe', vs: 'eventemitter3', atLeast: 1 / 8 },
        { label: 'ringbus publishBatch+lagging reader >= 1/8 of eventemitter3', contender: 'ringbus publishBatch+lagging reader', vs: 'eventemitter3', atLeast: 1 / 8 },
        { label: 'ringbus core stage+poll (internal) >= 1/8 of eventemitter3', contender: 'ringbus core stage+poll', vs: 'eventemitter3', atLeast: 1 / 8 },
      ],
      info: () => {
        const p = lagBus.stats()[TOPIC].partitions[0]
        return {
          prefilledBatches: prefilled,
          coreRecordsHeld: core.endOffset(pid) - core.startOffset(pid),
          laggingReader: { lagBy, lagAtEnd: p.endOffset - lag.sub.position(TOPIC), recordsHeld: p.endOffset - p.startOffset },
        }
      },
      teardown: async () => {
        await sub.close()
        await bus.close()
        await lag.sub.close()
        await lagBus.close()
        core.closeCursor(slot)
      },
    }
  },
}
