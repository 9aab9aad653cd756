// Model-based property test of LogCore: random sequences of appends (single and batched across
// partitions), cursors (open, poll with a record and byte budget, seek, close), clock ticks, age
// retention and reconfiguration run against the core and against a plain TypeScript model that
// keeps every record ever appended. Retention is not predicted record by record (segment
// boundaries are the core's business); instead every step checks what must hold whatever the
// core evicted:
//   offsets contiguous from 0, end offset = records appended, start offset never decreasing,
//   evicted = start offset, bytes = sum of frame lengths in [start, end) and <= maxBytes,
//   reject partitions lose records only to age retention, retention removes only expired
//   records and never leaves only expired ones, polls return exactly the model's records
//   (bytes, timestamps, key hash, flags), cursors below the start get OUT_OF_RANGE,
//   offsetForTime = first retained record with ts >= t, TOO_LARGE / FULL exactly when the
//   rules say so, eviction and block stealing only when needed, and the pool is conserved.
// The seed is fixed so that runs are reproducible; FC_SEED=<n> and FC_RUNS=<n> explore more.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { STATUS_FULL, STATUS_OUT_OF_RANGE, STATUS_TOO_LARGE } from '../../src/core/abi.js'
import { LogCore, frameLength } from '../../src/core/log.js'
import { bytes } from './bytes.js'

// ---- commands -----------------------------------------------------------------------------------

interface PartSpec { maxBytes: number, maxAgeMs: number, reject: boolean }
interface Setup { segmentBytes: number, blocks: number, parts: PartSpec[] }
interface RecSpec {
  p: number // partition index, modulo the partition count
  size: number // value bytes
  keyLen: number // -1 = no key
  headersLen: number // -1 = no headers
  jitter: number // timestamp = now + jitter (timestamps go backwards too)
  flags: number
}
type Cmd =
  | { t: 'append', r: RecSpec }
  | { t: 'batch', rs: RecSpec[] }
  | { t: 'open', p: number, at: number }
  | { t: 'poll', c: number, max: number, maxBytes: number }
  | { t: 'seek', c: number, at: number, toStart: boolean }
  | { t: 'close', c: number }
  | { t: 'tick', ms: number }
  | { t: 'retain' }
  | { t: 'time', p: number, pick: number, delta: number }
  | { t: 'configure', p: number, spec: PartSpec }

const partArb: fc.Arbitrary<PartSpec> = fc.record({
  maxBytes: fc.oneof(
    { arbitrary: fc.constant(0), weight: 3 },
    { arbitrary: fc.integer({ min: 256, max: 2048 }), weight: 2 },
    { arbitrary: fc.integer({ min: 2048, max: 40_000 }), weight: 4 },
  ),
  maxAgeMs: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 50, max: 2000 }), weight: 1 }),
  reject: fc.oneof({ arbitrary: fc.constant(false), weight: 2 }, { arbitrary: fc.constant(true), weight: 1 }),
})

const setupArb: fc.Arbitrary<Setup> = fc.record({
  segmentBytes: fc.constantFrom(4096, 8192),
  blocks: fc.integer({ min: 2, max: 12 }),
  parts: fc.array(partArb, { minLength: 1, maxLength: 4 }),
})

const recArb = (maxSize: number): fc.Arbitrary<RecSpec> => fc.record({
  p: fc.nat(3),
  size: maxSize <= 400
    ? fc.integer({ min: 0, max: maxSize })
    : fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 200 }), weight: 6 },
      { arbitrary: fc.integer({ min: 200, max: 1500 }), weight: 3 },
      { arbitrary: fc.integer({ min: 1500, max: maxSize }), weight: 1 },
    ),
  keyLen: fc.integer({ min: -1, max: 24 }),
  headersLen: fc.integer({ min: -1, max: 24 }),
  jitter: fc.oneof({ arbitrary: fc.integer({ min: -60, max: 10 }), weight: 9 }, { arbitrary: fc.integer({ min: -3000, max: 0 }), weight: 1 }),
  flags: fc.nat(7),
})

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: recArb(3900).map((r): Cmd => ({ t: 'append', r })), weight: 30 },
  { arbitrary: fc.array(recArb(400), { minLength: 1, maxLength: 10, size: 'max' }).map((rs): Cmd => ({ t: 'batch', rs })), weight: 10 },
  { arbitrary: fc.record({ p: fc.nat(3), at: fc.double({ min: 0, max: 1, noNaN: true }) }).map((c): Cmd => ({ t: 'open', ...c })), weight: 6 },
  {
    arbitrary: fc.record({
      c: fc.nat(15),
      max: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 500 })),
      maxBytes: fc.oneof({ arbitrary: fc.constant(0x7fffffff), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 3000 }), weight: 1 }),
    }).map((c): Cmd => ({ t: 'poll', ...c })),
    weight: 20,
  },
  { arbitrary: fc.record({ c: fc.nat(15), at: fc.double({ min: 0, max: 1, noNaN: true }), toStart: fc.boolean() }).map((c): Cmd => ({ t: 'seek', ...c })), weight: 5 },
  { arbitrary: fc.nat(15).map((c): Cmd => ({ t: 'close', c })), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 400 }).map((ms): Cmd => ({ t: 'tick', ms })), weight: 12 },
  { arbitrary: fc.constant<Cmd>({ t: 'retain' }), weight: 6 },
  { arbitrary: fc.record({ p: fc.nat(3), pick: fc.double({ min: 0, max: 1, noNaN: true }), delta: fc.constantFrom(-1, -0.5, 0, 0.5, 1) }).map((c): Cmd => ({ t: 'time', ...c })), weight: 5 },
  { arbitrary: fc.record({ p: fc.nat(3), spec: partArb }).map((c): Cmd => ({ t: 'configure', ...c })), weight: 1 },
)

// ---- the model ------------------------------------------------------------------------------------

interface MRec {
  ts: number
  keyHash: number
  flags: number
  headers: Uint8Array
  key: Uint8Array
  value: Uint8Array
  length: number
}

interface MPart {
  spec: PartSpec
  id: number
  capacity: number // frame bytes per new segment under the current configuration
  maxCapacity: number // the largest capacity any of its segments may have been made with
  capDirty: boolean // the cap was lowered below the bytes held; holds again after the next append
  recs: MRec[] // every record ever appended, index = offset
  start: number // log start offset seen after the previous step
  bytes: number // sum of frame lengths in [start, end)
}

interface MCursor { slot: number, p: number, next: number }


/** What happened across all runs, so that the test can insist the interesting paths ran. */
const seen = {
  appended: 0, capEvictions: 0, steals: 0, selfRecycles: 0, retainRemovals: 0, rejectFull: 0,
  poolFull: 0, tooLarge: 0, outOfRange: 0, polled: 0, budgetPolls: 0, segmentEnds: 0, reconfigured: 0,
}

class Failure extends Error {}
function check(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new Failure(message())
}

/** Kafka's offsetsForTimes over the retained records. */
function modelOffsetForTime(m: MPart, t: number): number {
  for (let o = m.start; o < m.recs.length; o++) if (m.recs[o]!.ts >= t) return o
  return m.recs.length
}

async function run(shared: boolean, setup: Setup, cmds: Cmd[]): Promise<void> {
  const core = await LogCore.create({
    maxBytes: setup.blocks * setup.segmentBytes, shared, segmentBytes: setup.segmentBytes, maxPartitions: 8, maxCursors: 16,
  })
  const parts: MPart[] = setup.parts.map((spec) => {
    const capacity = core.segmentCapacity(spec.maxBytes)
    return { spec, id: core.addPartition(spec), capacity, maxCapacity: capacity, capDirty: false, recs: [], start: 0, bytes: 0 }
  })
  const cursors: MCursor[] = []
  const view = new DataView(core.u8.buffer)
  const u8 = core.u8
  let now = 1_000_000
  let serial = 0

  const makeRec = (r: RecSpec): MRec => {
    const n = ++serial
    const headers = r.headersLen < 0 ? undefined : bytes(n ^ 0x5a5a0000, r.headersLen)
    const key = r.keyLen < 0 ? undefined : bytes(n ^ 0x3c3c0000, r.keyLen)
    const value = bytes(n, r.size)
    return {
      ts: now + r.jitter, keyHash: (n * 0x9e3779b1) | 0, flags: r.flags | (key === undefined ? 0 : 1),
      headers: headers ?? new Uint8Array(0), key: key ?? new Uint8Array(0), value,
      length: frameLength(headers?.length ?? 0, key?.length ?? 0, value.length),
    }
  }
  const stage = (m: MPart, rec: MRec): boolean =>
    core.stage(m.id, rec.ts, rec.keyHash, rec.flags, rec.headers, rec.key, rec.value)

  /** The rules every refused or accepted frame obeys whatever the pool looks like. */
  const checkOutcome = (m: MPart, rec: MRec, result: number): void => {
    if (rec.length > m.capacity) {
      check(result === STATUS_TOO_LARGE, () => `frame of ${rec.length} > capacity ${m.capacity} on p${m.id}: got ${result}`)
      seen.tooLarge++
      return
    }
    check(result !== STATUS_TOO_LARGE, () => `frame of ${rec.length} <= capacity ${m.capacity} refused as too large`)
    // a reject partition loses nothing during appends, so the model's byte count is exact here
    const overCap = m.spec.reject && m.spec.maxBytes > 0 && m.bytes + rec.length > m.spec.maxBytes
    if (overCap) {
      check(result === STATUS_FULL, () => `reject p${m.id} at ${m.bytes}/${m.spec.maxBytes} took a ${rec.length}-byte frame: ${result}`)
      seen.rejectFull++
      return
    }
    if (result < 0) {
      check(result === STATUS_FULL, () => `append to p${m.id} failed with ${result}`)
      seen.poolFull++
      return
    }
    check(result === m.recs.length, () => `p${m.id}: offset ${result}, expected ${m.recs.length}`)
    m.recs.push(rec)
    m.bytes += rec.length
    m.capDirty = false // an accepted frame always fits under the cap (evicting first if it may)
    seen.appended++
  }

  const snapshot = () => ({
    free: core.freeSegments(),
    segments: parts.map((m) => core.segments(m.id)),
    starts: parts.map((m) => core.startOffset(m.id)),
  })

  const appendOne = (r: RecSpec): void => {
    const m = parts[r.p % parts.length]!
    const rec = makeRec(r)
    const before = snapshot()
    check(stage(m, rec), () => 'stage refused a frame that fits the staging area')
    const n = core.commit(now)
    const result = n === 1 ? core.offsetAt(0) : core.statusAt(0)
    check(n === 0 || n === 1, () => `commit of one frame returned ${n}`)
    checkOutcome(m, rec, result)
    const after = snapshot()
    const i = parts.indexOf(m)
    const others = parts.map((_, j) => j).filter((j) => j !== i)
    const movedOthers = others.filter((j) => after.starts[j] !== before.starts[j])
    // the pool rules: a partition that allows eviction recycles its own oldest closed segment
    // first; otherwise a block comes from another evictable partition (never a reject one):
    // its oldest closed segment if any partition has one, else the active segment of the
    // idlest one; a reject partition never gives up its own records but may take from others
    const selfRecyclable = !m.spec.reject && before.segments[i]! >= 2
    const closedElsewhere = others.filter((j) => !parts[j]!.spec.reject && before.segments[j]! >= 2)
    const activeElsewhere = others.filter((j) => !parts[j]!.spec.reject && before.segments[j]! >= 1)
    // a capped evictable partition over its cap drops its own segments, so it can always append
    const capForcesEviction = !m.spec.reject && m.spec.maxBytes > 0 && rec.length <= m.capacity &&
      m.bytes + rec.length > m.spec.maxBytes
    if (result < 0) {
      check(after.starts.every((s, j) => s === before.starts[j]), () => `a refused append evicted records: ${before.starts} -> ${after.starts}`)
      check(!capForcesEviction,
        () => `p${m.id} (cap ${m.spec.maxBytes}, ${m.bytes} bytes, ${before.segments[i]} segment(s)) refused a ${rec.length}-byte frame with ${result} although the cap evicts its own segment`)
      if (result === STATUS_FULL && rec.length <= m.capacity && !(m.spec.reject && m.spec.maxBytes > 0 && m.bytes + rec.length > m.spec.maxBytes)) {
        // refused for want of a block: none was free and none could be freed
        check(before.free === 0, () => `STATUS_FULL with ${before.free} free segments`)
        check(!selfRecyclable && activeElsewhere.length === 0,
          () => `STATUS_FULL although a segment could be freed: segments ${before.segments}, reject ${parts.map((q) => q.spec.reject)}`)
      }
      return
    }
    if (before.free > 0) {
      check(movedOthers.length === 0, () => `took a block from another partition with ${before.free} free`)
      if (after.starts[i] !== before.starts[i]) {
        // without pool pressure only the byte cap evicts, only when the new frame does not fit,
        // and whole segments go, never more than needed: more than the cap minus one segment stays
        const bytesBefore = m.bytes - rec.length // the model's start is still the one before the step
        check(m.spec.maxBytes > 0 && bytesBefore + rec.length > m.spec.maxBytes,
          () => `p${m.id} evicted ${before.starts[i]} -> ${after.starts[i]} with room (${bytesBefore} + ${rec.length} <= ${m.spec.maxBytes})`)
        check(core.bytes(m.id) > m.spec.maxBytes - m.maxCapacity,
          () => `p${m.id} over-evicted: ${core.bytes(m.id)} bytes left of ${m.spec.maxBytes} (segment capacity ${m.maxCapacity})`)
        seen.capEvictions++
      }
    } else {
      if (after.starts[i] !== before.starts[i] && !m.spec.reject) seen.selfRecycles++
      if (movedOthers.length > 0) {
        seen.steals++
        const j = movedOthers[0]!
        const victim = parts[j]!
        check(movedOthers.length === 1, () => `one roll evicted from several partitions: ${movedOthers}`)
        check(!victim.spec.reject, () => `stole from reject partition p${victim.id}`)
        check(!selfRecyclable, () => `p${m.id} took p${victim.id}'s block although it had ${before.segments[i]} segments of its own`)
        if (closedElsewhere.length > 0) {
          check(closedElsewhere.includes(j) && after.segments[j] === before.segments[j]! - 1,
            () => `p${m.id} took the active segment of p${victim.id} while p${closedElsewhere.map((q) => parts[q]!.id)} had closed ones`)
        } else {
          check(after.segments[j] === 0 && after.starts[j] === victim.recs.length,
            () => `steal of p${victim.id}'s only segment left ${after.segments[j]} segments, start ${after.starts[j]}`)
        }
        // the stolen block is in use: taking it and then freeing one of p's own is needless loss
        check(after.free === 0,
          () => `p${m.id} (cap ${m.spec.maxBytes}) took a block from p${victim.id} (records ${before.starts[j]}..${after.starts[j]! - 1} lost) and left ${after.free} block(s) free`)
      }
    }
  }

  const appendBatch = (rs: RecSpec[]): void => {
    let i = 0
    while (i < rs.length) {
      const staged: { m: MPart, rec: MRec }[] = []
      while (i < rs.length) {
        const m = parts[rs[i]!.p % parts.length]!
        const rec = makeRec(rs[i]!)
        if (!stage(m, rec)) {
          serial--
          break
        }
        staged.push({ m, rec })
        i++
      }
      check(staged.length > 0, () => 'nothing could be staged')
      const n = core.commit(now)
      check(n >= 0 && n <= staged.length, () => `commit returned ${n} for ${staged.length} frames`)
      for (let j = 0; j < n; j++) {
        const { m, rec } = staged[j]!
        const offset = core.offsetAt(j)
        check(offset >= 0, () => `frame ${j} counted as appended but offsetAt is ${offset}`)
        checkOutcome(m, rec, offset)
      }
      if (n < staged.length) {
        const { m, rec } = staged[n]!
        const status = core.statusAt(n)
        check(status < 0, () => `frame ${n} not appended but its status is ${status}`)
        checkOutcome(m, rec, status)
        return // nothing after a failed frame is appended
      }
    }
  }

  const pollCursor = (c: MCursor, max: number, maxBytes: number): void => {
    const m = parts[c.p]!
    const start = core.startOffset(m.id)
    const n = core.poll(c.slot, max, maxBytes)
    if (c.next < start) {
      check(n === STATUS_OUT_OF_RANGE, () => `cursor at ${c.next} below start ${start} polled ${n}`)
      seen.outOfRange++
      return
    }
    // up to max records, stopping after the one that reaches the byte budget
    let want = 0
    for (let budget = 0; want < max && c.next + want < m.recs.length && budget < maxBytes; want++) budget += m.recs[c.next + want]!.length
    if (maxBytes < 0x7fffffff && want > 0) seen.budgetPolls++
    // one poll reads one segment (one epoch vouches for it), so it may stop short where it ends
    check(n <= want && (n > 0 || want === 0), () => `poll(max ${max}, maxBytes ${maxBytes}) at ${c.next} of p${m.id} (end ${m.recs.length}) returned ${n}, expected up to ${want}`)
    if (n < want) seen.segmentEnds++
    for (let i = 0; i < n; i++) {
      if (i > 0) check(core.polledFrame(i) === core.polledFrame(i - 1) + m.recs[c.next + i - 1]!.length, () => `record ${i} of a poll from ${c.next} is not in the same segment`)
      const offset = c.next + i
      const rec = m.recs[offset]!
      const at = core.polledFrame(i)
      check(core.polledOffset(i) === offset, () => `record ${i} of a poll from ${c.next}: offset ${core.polledOffset(i)}`)
      check(view.getUint32(at, true) === rec.length, () => `frame length @${offset}`)
      check(core.frameTimestamp(at) === rec.ts, () => `timestamp @${offset}: ${core.frameTimestamp(at)} != ${rec.ts}`)
      check(view.getInt32(at + 16, true) === rec.keyHash, () => `key hash @${offset}`)
      check(core.frameFlags(at) === rec.flags, () => `flags @${offset}`)
      const h = core.frameHeadersLength(at)
      const k = core.frameKeyLength(at)
      const v = core.frameValueLength(at)
      check(h === rec.headers.length && k === rec.key.length && v === rec.value.length,
        () => `lengths @${offset}: ${h}/${k}/${v}, expected ${rec.headers.length}/${rec.key.length}/${rec.value.length}`)
      let p = at + 32
      for (const part of [rec.headers, rec.key, rec.value]) {
        for (let b = 0; b < part.length; b++) check(u8[p + b] === part[b], () => `payload byte ${b} @${offset} differs`)
        p += part.length
      }
    }
    c.next += n
    seen.polled += n
  }

  const checkTime = (m: MPart, t: number): void => {
    const got = core.offsetForTime(m.id, t)
    const want = modelOffsetForTime(m, t)
    check(got === want, () => `offsetForTime(p${m.id}, ${t}) = ${got}, expected ${want}`)
  }

  /** Invariants after every step; `retained` is set when the step was retain(now). */
  const checkAll = (step: number, retained: boolean): void => {
    let pool = core.freeSegments()
    for (const m of parts) {
      const end = core.endOffset(m.id)
      const start = core.startOffset(m.id)
      check(end === m.recs.length, () => `p${m.id}: end offset ${end}, model has ${m.recs.length}`)
      check(start >= m.start && start <= end, () => `p${m.id}: start offset ${m.start} -> ${start} (end ${end})`)
      if (start > m.start) {
        if (!retained) check(!m.spec.reject, () => `reject partition p${m.id} lost records ${m.start}..${start - 1} at step ${step}`)
        for (let o = m.start; o < start; o++) {
          m.bytes -= m.recs[o]!.length
          if (retained) {
            check(m.spec.maxAgeMs > 0 && now - m.recs[o]!.ts > m.spec.maxAgeMs,
              () => `retain(${now}) removed @${o} (ts ${m.recs[o]!.ts}) of p${m.id} with maxAgeMs ${m.spec.maxAgeMs}`)
          }
        }
        if (retained) seen.retainRemovals++
        m.start = start
      }
      if (retained && m.spec.maxAgeMs > 0 && start < end) {
        // whatever is left: at least one retained record is young enough (else all expired)
        let young = false
        for (let o = start; o < end && !young; o++) young = !(now - m.recs[o]!.ts > m.spec.maxAgeMs)
        check(young, () => `retain(${now}) left only expired records ${start}..${end - 1} in p${m.id}`)
      }
      check(core.evicted(m.id) === start, () => `p${m.id}: evicted ${core.evicted(m.id)} != start ${start}`)
      const bytes = core.bytes(m.id)
      check(bytes === m.bytes, () => `p${m.id}: bytes ${bytes}, frames in [${start}, ${end}) sum to ${m.bytes}`)
      if (m.spec.maxBytes > 0 && bytes <= m.spec.maxBytes) m.capDirty = false
      if (m.spec.maxBytes > 0 && !m.capDirty) check(bytes <= m.spec.maxBytes, () => `p${m.id}: ${bytes} bytes over its cap ${m.spec.maxBytes}`)
      const segments = core.segments(m.id)
      check((segments === 0) === (start === end), () => `p${m.id}: ${segments} segments for [${start}, ${end})`)
      pool += segments
      // offsetForTime before everything, at a retained record's time, and after everything
      if (start < end) {
        const mid = m.recs[(start + end) >> 1]!.ts
        for (const t of [-1e15, m.recs[start]!.ts, mid, mid + 0.5, now + 1e6]) checkTime(m, t)
      } else {
        checkTime(m, now)
      }
    }
    check(pool === core.segmentCount, () => `segments in use + free = ${pool}, pool has ${core.segmentCount}`)
    for (const c of cursors) check(core.cursorOffset(c.slot) === c.next, () => `cursor ${c.slot}: ${core.cursorOffset(c.slot)} != ${c.next}`)
  }

  const offsetIn = (m: MPart, at: number): number => Math.min(m.recs.length, Math.floor(at * (m.recs.length + 1)))

  checkAll(-1, false)
  cmds.forEach((cmd, step) => {
    let retained = false
    switch (cmd.t) {
      case 'append':
        appendOne(cmd.r)
        break
      case 'batch':
        appendBatch(cmd.rs)
        break
      case 'open': {
        if (cursors.length === 16) break
        const p = cmd.p % parts.length
        const offset = offsetIn(parts[p]!, cmd.at)
        cursors.push({ slot: core.openCursor(parts[p]!.id, offset), p, next: offset })
        break
      }
      case 'poll':
        if (cursors.length > 0) pollCursor(cursors[cmd.c % cursors.length]!, cmd.max, cmd.maxBytes)
        break
      case 'seek': {
        if (cursors.length === 0) break
        const c = cursors[cmd.c % cursors.length]!
        const m = parts[c.p]!
        c.next = cmd.toStart ? core.startOffset(m.id) : offsetIn(m, cmd.at)
        core.seekCursor(c.slot, c.next)
        break
      }
      case 'close':
        if (cursors.length > 0) core.closeCursor(cursors.splice(cmd.c % cursors.length, 1)[0]!.slot)
        break
      case 'tick':
        now += cmd.ms
        break
      case 'retain': {
        const before = parts.reduce((s, m) => s + core.segments(m.id), 0)
        const removed = core.retain(now)
        const after = parts.reduce((s, m) => s + core.segments(m.id), 0)
        check(removed === before - after, () => `retain reported ${removed} segments removed, ${before - after} went`)
        retained = true
        break
      }
      case 'time': {
        const m = parts[cmd.p % parts.length]!
        const o = m.start + Math.floor(cmd.pick * (m.recs.length - m.start))
        checkTime(m, o < m.recs.length ? m.recs[o]!.ts + cmd.delta : now + cmd.delta)
        break
      }
      case 'configure': {
        // takes effect from the next append or retention pass; a lowered cap holds after the
        // next accepted append
        const m = parts[cmd.p % parts.length]!
        core.configurePartition(m.id, cmd.spec)
        m.spec = cmd.spec
        m.capacity = core.segmentCapacity(cmd.spec.maxBytes)
        m.maxCapacity = Math.max(m.maxCapacity, m.capacity)
        m.capDirty = cmd.spec.maxBytes > 0 && m.bytes > cmd.spec.maxBytes
        seen.reconfigured++
        break
      }
    }
    checkAll(step, retained)
  })
}

// ---- the property ---------------------------------------------------------------------------------

const SEED = Number(process.env.FC_SEED ?? 0x52425553)
const RUNS = Number(process.env.FC_RUNS ?? 1000)

describe.each([{ shared: true }, { shared: false }])('LogCore against a model (shared: $shared)', ({ shared }) => {
  it(`keeps the log's invariants over ${RUNS} random command sequences`, { timeout: 120_000 }, async () => {
    const before = { ...seen }
    await fc.assert(
      fc.asyncProperty(setupArb, fc.array(cmdArb, { minLength: 1, maxLength: 100, size: 'max' }), (setup, cmds) => run(shared, setup, cmds)),
      { numRuns: RUNS, seed: SEED + (shared ? 0 : 1) },
    )
    // the generators must reach the interesting paths, or the property proves little
    const delta = Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v - before[k as keyof typeof seen]]))
    for (const key of Object.keys(seen)) expect(delta[key], key).toBeGreaterThan(20)
  })
})
