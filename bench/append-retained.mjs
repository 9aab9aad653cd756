// Scenario 3: does the append cost depend on how much the log holds? The same 100-byte raw
// records go to a topic holding ~1k records and to one holding ~1M. Each topic is capped by
// retention.maxBytes so that it keeps holding that many while the benchmark appends (the oldest
// segment is evicted as new ones fill); both buses are configured identically otherwise.
import { createBus } from '../dist/index.js'
import { frameLength } from '../dist/core/log.js'
import { BATCH, RECORD_BYTES, makeBatches, makeRecords } from './raw-batch-poll.mjs'

/** A retention cap under which the partition never holds fewer than `records` frames. */
function capFor(bus, records, frame) {
  const want = records * frame
  let cap = want
  for (let k = 0; k < 100; k++) {
    // eviction frees one whole segment, so the low-water mark is cap minus one segment
    const segment = bus.core.segmentCapacity(cap)
    const next = want + Math.ceil(segment / frame) * frame + frame
    if (next <= cap) break
    cap = next
  }
  return cap
}

export default {
  id: 'append-retained',
  title: 'append cost with 1k vs 1M records retained',
  async prepare(cfg) {
    const small = 1000
    const large = cfg.quick ? 20_000 : 1_000_000
    const maxBytes = cfg.quick ? 16 << 20 : 256 << 20
    const poolSize = cfg.quick ? 4096 : 65536
    const mask = poolSize - 1
    const records = makeRecords(poolSize)
    const batches = makeBatches(records)
    const frame = frameLength(0, 0, RECORD_BYTES)
    const label = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`)

    const sides = []
    for (const held of [small, large]) {
      const bus = await createBus({ maxBytes })
      const topic = `append.${label(held)}`
      const cap = capFor(bus, held, frame)
      bus.topic(topic, { codec: 'raw', retention: { maxBytes: cap } })
      let j = 0
      while (bus.stats()[topic].partitions[0].evicted === 0) { bus.publishBatch(topic, batches[j]); j = j + 1 === batches.length ? 0 : j + 1 }
      const p = bus.stats()[topic].partitions[0]
      sides.push({ bus, topic, held, cap, j: 0, i: 0, appended: 0, heldMin: p.endOffset - p.startOffset, heldMax: p.endOffset - p.startOffset, segment: bus.core.segmentCapacity(cap) })
    }
    const sample = (s) => {
      const p = s.bus.stats()[s.topic].partitions[0]
      const held = p.endOffset - p.startOffset
      s.heldMin = Math.min(s.heldMin, held)
      s.heldMax = Math.max(s.heldMax, held)
    }

    const contenders = []
    for (const s of sides) {
      contenders.push({
        name: `publishBatch -> ${label(s.held)} held`,
        async: false,
        messagesPerOp: BATCH,
        vs: `publishBatch -> ${label(small)} held`,
        fn: () => {
          s.bus.publishBatch(s.topic, batches[s.j])
          s.j = s.j + 1 === batches.length ? 0 : s.j + 1
          s.appended += BATCH
        },
        verify: () => sample(s),
      })
    }
    for (const s of sides) {
      contenders.push({
        name: `publish x${BATCH} -> ${label(s.held)} held`,
        async: false,
        messagesPerOp: BATCH,
        vs: `publish x${BATCH} -> ${label(small)} held`,
        fn: () => {
          const bus = s.bus
          const topic = s.topic
          let i = s.i
          for (let k = 0; k < BATCH; k++) {
            bus.publish(topic, records[i])
            i = (i + 1) & mask
          }
          s.i = i
          s.appended += BATCH
        },
        verify: () => sample(s),
      })
    }

    return {
      anchor: `publishBatch -> ${label(small)} held`,
      notes: [
        `${BATCH} records of ${RECORD_BYTES} bytes (${frame}-byte frames) per op, ${poolSize} distinct Uint8Arrays cycled, codec 'raw', no readers`,
        `two buses, each createBus({ maxBytes: ${maxBytes / 2 ** 20} MiB }) (1 MiB segment blocks); topics capped with retention.maxBytes ` +
          sides.map((s) => `${s.cap} (${label(s.held)}; segments of ${s.segment} bytes)`).join(' and ') +
          ', pre-filled until they evict, so both keep their size while the benchmark appends',
        'the small topic rolls (and evicts) a segment every ~' + Math.floor(sides[0].segment / frame) + ' appends, the large one every ~' + Math.floor(sides[1].segment / frame),
      ],
      contenders,
      goals: [
        { label: `publishBatch: ${label(large)} held within 10% of ${label(small)} held`, contender: `publishBatch -> ${label(large)} held`, vs: `publishBatch -> ${label(small)} held`, within: 0.1 },
        { label: `publish: ${label(large)} held within 10% of ${label(small)} held`, contender: `publish x${BATCH} -> ${label(large)} held`, vs: `publish x${BATCH} -> ${label(small)} held`, within: 0.1 },
      ],
      info: () => Object.fromEntries(sides.map((s) => [s.topic, { retentionMaxBytes: s.cap, segmentCapacity: s.segment, recordsHeldMin: s.heldMin, recordsHeldMax: s.heldMax, appended: s.appended }])),
      summary: () => sides.map((s) => `${s.topic}: held ${s.heldMin.toLocaleString('en-US')}..${s.heldMax.toLocaleString('en-US')} records while measured`).join('; '),
      teardown: async () => { for (const s of sides) await s.bus.close() },
    }
  },
}
