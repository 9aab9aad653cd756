// The measuring method shared by every scenario: contenders of one scenario run interleaved in
// the same process, round after round. Within a round each contender gets several short
// tinybench runs (one Bench per run, with an untimed warm-up) in ABBA order, and the start of the
// order rotates from round to round, so that on a noisy machine no contender always runs first,
// last or next to the same neighbour. Reported per contender: the median across rounds; ratios
// are the median of the per-round ratios, which pairs contenders that ran interleaved.
import { Bench } from 'tinybench'
import v8 from 'node:v8'
import vm from 'node:vm'

// A full GC before each contender's run so that one contender's garbage is not collected on
// another one's time. `npm run bench` passes no node flags, so expose gc() from here.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/**
 * The eventemitter3 anchor: `batch` emits per op of values cycled from `values` (a power-of-two
 * pool) to one listener that calls `touch(value)`; verify() checks every emit was delivered.
 */
export function eventemitterContender(EventEmitter, topic, values, batch, touch) {
  const ee = new EventEmitter()
  const mask = values.length - 1
  const state = { received: 0, published: 0, i: 0 }
  ee.on(topic, (value) => { state.received++; touch(value) })
  return {
    name: 'eventemitter3',
    async: false,
    messagesPerOp: batch,
    fn: () => {
      let i = state.i
      for (let k = 0; k < batch; k++) {
        ee.emit(topic, values[i])
        i = (i + 1) & mask
      }
      state.i = i
      state.published += batch
    },
    verify: () => {
      if (state.received !== state.published) throw new Error(`eventemitter3: published ${state.published}, delivered ${state.received}`)
    },
  }
}

/**
 * The mqemitter anchor: `batch` emits per op of `messages` (a power-of-two pool, each with its
 * `topic`); an op ends when every emit called back. `state.published` counts what it emitted.
 */
export function mqemitterContender(mq, messages, batch, state = { i: 0, published: 0 }) {
  const mask = messages.length - 1
  return {
    name: 'mqemitter',
    async: true,
    messagesPerOp: batch,
    fn: () => new Promise((resolve) => {
      let done = 0
      const cb = () => { if (++done === batch) resolve() }
      let i = state.i
      for (let k = 0; k < batch; k++) {
        mq.emit(messages[i], cb)
        i = (i + 1) & mask
      }
      state.i = i
      state.published += batch
    }),
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Options for one run of the suite, from the environment. */
export function benchConfig(env = process.env) {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true'
  const rounds = env.BENCH_ROUNDS !== undefined ? Number(env.BENCH_ROUNDS) : quick ? 1 : 5
  const timeMs = env.BENCH_TIME_MS !== undefined ? Number(env.BENCH_TIME_MS) : quick ? 10 : 500
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${env.BENCH_ROUNDS}`)
  if (!(timeMs > 0)) throw new Error(`BENCH_TIME_MS must be a positive number, got ${env.BENCH_TIME_MS}`)
  const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean) : undefined
  return {
    quick,
    rounds,
    // per round, each contender runs about `timeMs` in total; each tinybench run lasts at least
    // its share of that AND at least `iterations` batches
    timeMs,
    // each round's time per contender is split into this many runs, alternating contenders
    slices: quick ? 1 : 4,
    iterations: quick ? 2 : 5,
    // tinybench warm-up before every run: re-primes caches and inline caches after another
    // contender ran (not timed)
    warmupTimeMs: quick ? 0 : 25,
    warmupIterations: quick ? 0 : 3,
    // one discarded round before the measured ones, so every contender's code is JIT-compiled
    // before any contender is measured
    warmupRound: !quick,
    warmupRoundTimeMs: 150,
    only,
  }
}

async function runOnce(contender, cfg, timeMs, warmup) {
  const bench = new Bench({
    time: timeMs,
    iterations: cfg.iterations,
    warmup,
    warmupTime: cfg.warmupTimeMs,
    warmupIterations: cfg.warmupIterations,
    throws: true,
    setup: () => gc(),
  })
  bench.add(contender.name, contender.fn, { async: contender.async })
  await bench.run()
  const result = bench.tasks[0].result
  if (result.state !== 'completed') throw new Error(`${contender.name}: ${result.state} ${result.error?.stack ?? ''}`)
  return { ops: result.latency.samplesCount, ms: result.totalTime }
}

/**
 * Runs a prepared scenario: `contenders` [{ name, fn, async, messagesPerOp, vs?, verify?() }],
 * `anchor` (contender name), `goals` [{ label, contender, vs, atLeast? , within? }] or, for a
 * rate to reach, [{ label, contender, messagesPerSec }] (met when the median rate is that or more).
 * A round gives every contender `cfg.timeMs`, split into `cfg.slices` runs in ABBA order
 * (A B C, C B A, ...) so that drift within the round hits all contenders alike; the round's
 * rate is the contender's ops over its time across the slices (the mean, so GC pauses count).
 */
export async function runScenario(prepared, cfg, log = console.log) {
  const { contenders } = prepared
  const perRound = new Map(contenders.map((c) => [c.name, []]))
  const total = cfg.rounds + (cfg.warmupRound ? 1 : 0)
  for (let r = 0; r < total; r++) {
    const measured = !(cfg.warmupRound && r === 0)
    const round = cfg.warmupRound ? r - 1 : r
    const shift = r % contenders.length
    const order = [...contenders.slice(shift), ...contenders.slice(0, shift)]
    const slices = measured ? cfg.slices : 1
    const sliceMs = (measured ? cfg.timeMs : cfg.warmupRoundTimeMs) / slices
    const sums = new Map(contenders.map((c) => [c.name, { ops: 0, ms: 0 }]))
    for (let s = 0; s < slices; s++) {
      for (const c of s % 2 === 0 ? order : [...order].reverse()) {
        const out = await runOnce(c, cfg, sliceMs, cfg.warmupTimeMs > 0)
        c.verify?.()
        const sum = sums.get(c.name)
        sum.ops += out.ops
        sum.ms += out.ms
      }
    }
    const line = []
    for (const c of order) {
      const { ops, ms } = sums.get(c.name)
      const opsPerSec = (ops / ms) * 1000
      if (measured) perRound.get(c.name).push(opsPerSec)
      line.push(`${c.name}=${fmtRate(opsPerSec * c.messagesPerOp)}`)
    }
    log(`  ${measured ? `round ${round + 1}/${cfg.rounds}` : 'warm-up round'}: ${line.join('  ')}`)
  }

  const anchorOf = (c) => c.vs ?? prepared.anchor
  const rows = contenders.map((c) => {
    const ops = perRound.get(c.name)
    const anchorOps = perRound.get(anchorOf(c))
    const ratios = ops.map((v, i) => v / anchorOps[i])
    return {
      name: c.name,
      vs: anchorOf(c),
      messagesPerOp: c.messagesPerOp,
      opsPerSec: median(ops),
      messagesPerSec: median(ops) * c.messagesPerOp,
      minMessagesPerSec: Math.min(...ops) * c.messagesPerOp,
      maxMessagesPerSec: Math.max(...ops) * c.messagesPerOp,
      ratio: median(ratios),
      perRoundOpsPerSec: ops,
      perRoundRatios: ratios,
    }
  })
  const byName = new Map(rows.map((row) => [row.name, row]))
  const goals = prepared.goals.map((g) => evaluateGoal(g, byName, perRound))
  return { rows, goals }
}

function evaluateGoal(goal, byName, perRound) {
  const a = perRound.get(goal.contender)
  if (goal.messagesPerSec !== undefined) {
    // a rate to reach: the ratio of each round's rate to it, at least 1
    const perOp = byName.get(goal.contender).messagesPerOp
    return evaluateGoal({ ...goal, vs: `${fmtRate(goal.messagesPerSec)} msgs/s`, atLeast: 1, messagesPerSec: undefined },
      byName, new Map([[goal.contender, a], [`${fmtRate(goal.messagesPerSec)} msgs/s`, a.map(() => goal.messagesPerSec / perOp)]]))
  }
  const b = perRound.get(goal.vs)
  const ratios = a.map((v, i) => v / b[i])
  const ratio = median(ratios)
  let met
  let verdict
  if (goal.atLeast !== undefined) {
    met = ratio >= goal.atLeast
    verdict = met
      ? `MET (${pct(ratio / goal.atLeast - 1)} above the target)`
      : `MISSED by ${pct(1 - ratio / goal.atLeast)} (${goal.contender} needs ${(goal.atLeast / ratio).toFixed(2)}x its rate)`
  } else {
    const off = Math.abs(ratio - 1)
    met = off <= goal.within
    verdict = met
      ? `MET (${pct(ratio - 1, true)}, limit ±${pct(goal.within)})`
      : `MISSED by ${((off - goal.within) * 100).toFixed(1)} points (${pct(ratio - 1, true)}, limit ±${pct(goal.within)})`
  }
  const roundsMet = ratios.filter((x) => (goal.atLeast !== undefined ? x >= goal.atLeast : Math.abs(x - 1) <= goal.within)).length
  return { ...goal, ratio, met, verdict, perRoundRatios: ratios, roundsMet }
}

// ---- formatting -------------------------------------------------------------------------------

const pct = (x, signed = false) => `${signed && x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`

export function fmtRate(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`
  return v.toFixed(1)
}

export function printScenario(result, log = console.log) {
  const header = ['contender', 'ops/s', 'msgs/s', 'min..max msgs/s', 'ratio', 'vs']
  const body = result.rows.map((r) => [
    r.name,
    fmtRate(r.opsPerSec),
    fmtRate(r.messagesPerSec),
    `${fmtRate(r.minMessagesPerSec)}..${fmtRate(r.maxMessagesPerSec)}`,
    r.name === r.vs ? '1.00x' : `${r.ratio.toFixed(2)}x`,
    r.vs,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const fmtRow = (row) => row.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  log('')
  log(`  ${fmtRow(header)}`)
  log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const row of body) log(`  ${fmtRow(row)}`)
  for (const g of result.goals) {
    log(`  GOAL ${g.label}: ${g.ratio.toFixed(2)}x -> ${g.verdict}; met in ${g.roundsMet}/${g.perRoundRatios.length} rounds [${g.perRoundRatios.map((x) => x.toFixed(2)).join(' ')}]`)
  }
}
