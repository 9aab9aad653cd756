// ringbus benchmark suite: every scenario compares its contenders in the same run, interleaved
// round by round (see harness.mjs), and prints medians, ratios and whether each goal was met.
// Benchmarks the BUILT package: `npm run bench` builds first, then runs this file.
//
//   npm run bench                          full run (5 rounds, ~500 ms per contender per round; ~1 min)
//   BENCH_QUICK=1 node bench/run.mjs       smoke run, a fraction of a second; numbers mean nothing
//   BENCH_ROUNDS=9 BENCH_TIME_MS=1000 ...  more rounds / longer runs on a noisy machine
//   BENCH_ONLY=objects,raw-batch ...       some scenarios only (objects, raw-batch, append-retained,
//                                          fanout-objects, fanout-raw, groups, groups-workers, broker-routing,
//                                          broker-queue, broker-queue-workers, latency, rebalance)
//
// Each scenario runs in a fresh node process: contenders share code such as eventemitter3's emit,
// whose JIT state (one call site seeing one value shape, or several) would otherwise carry over
// from one scenario to the next and move an anchor's rate by half.
//
// Results also go to bench/last-run.json (git-ignored), to be pasted into bench/RESULTS.md.
import os from 'node:os'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { benchConfig, printScenario, runScenario } from './harness.mjs'
import objects from './same-thread-objects.mjs'
import rawBatch from './raw-batch-poll.mjs'
import appendRetained from './append-retained.mjs'
import { fanoutObjects, fanoutRaw, latency } from './worker-fanout.mjs'
import { groupSameThread, groupWorkers, rebalance } from './groups.mjs'
import { queueAck, queueWorkers, topicRouting } from './broker.mjs'

const scenarios = [objects, rawBatch, appendRetained, fanoutObjects, fanoutRaw, groupSameThread, groupWorkers, topicRouting, queueAck, queueWorkers]
const cfg = benchConfig()
const log = console.log
const lastRun = new URL('./last-run.json', import.meta.url)

if (cfg.only === undefined) {
  // the whole suite: one child process per scenario, then one report
  const ids = [...scenarios.map((s) => s.id), 'latency', 'rebalance']
  const parts = []
  for (const id of ids) {
    const out = fileURLToPath(new URL(`./last-run.${id}.json`, import.meta.url))
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, BENCH_ONLY: id, BENCH_OUT: out } })
    if (child.status !== 0) process.exit(child.status ?? 1)
    parts.push(JSON.parse(readFileSync(out, 'utf8')))
  }
  const report = { ...parts[0], scenarios: parts.flatMap((p) => p.scenarios), latency: parts.find((p) => p.latency)?.latency, rebalance: parts.find((p) => p.rebalance)?.rebalance, finishedAt: new Date().toISOString() }
  writeFileSync(lastRun, `${JSON.stringify(report, null, 2)}\n`)
  const goals = report.scenarios.flatMap((s) => s.goals)
  log('')
  log(`all scenarios: goals met ${goals.filter((g) => g.met).length}/${goals.length}; wrote ${fileURLToPath(lastRun)}`)
  process.exit(0)
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

const cpus = os.cpus()
const machine = {
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  node: process.version,
  v8: process.versions.v8,
  loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
}
const commit = git('rev-parse', '--short', 'HEAD')
const dirty = git('status', '--porcelain', '--', 'src', 'assembly')
const startedAt = new Date()

log(`ringbus benchmarks  ${startedAt.toISOString()}`)
log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}; node ${machine.node} (v8 ${machine.v8}); load avg ${machine.loadavgAtStart.join(' ')}`)
log(`code: ${commit ?? 'no git'}${dirty ? ' + uncommitted changes in src/ or assembly/' : ''}`)
log(`method: ${cfg.rounds} round(s)${cfg.warmupRound ? ' after 1 discarded warm-up round' : ''}; per round each contender runs ~${cfg.timeMs} ms in ${cfg.slices} tinybench run(s),` +
  ` contenders alternating (order rotated each round, ABBA within it); each run >= ${cfg.iterations} ops${cfg.warmupTimeMs > 0 ? `, ${cfg.warmupTimeMs} ms untimed warm-up` : ''}, full GC before;`)
log('        ops/s and msgs/s are medians across rounds (per round: ops / time, GC included); ratio = median of the per-round ratios to the contender named under "vs"')
if (cfg.quick) log('BENCH_QUICK=1: smoke run, the numbers below are not measurements')

const report = { date: startedAt.toISOString(), machine, commit, uncommittedChanges: Boolean(dirty), config: cfg, scenarios: [] }
const selected = scenarios.filter((s) => cfg.only === undefined || cfg.only.includes(s.id))
if (selected.length === 0 && !cfg.only?.includes('latency') && !cfg.only?.includes('rebalance')) throw new Error(`BENCH_ONLY matched no scenario; ids: ${scenarios.map((s) => s.id).join(', ')}`)

let n = 0
for (const scenario of selected) {
  n++
  log('')
  log(`== ${n}. ${scenario.title} [${scenario.id}]`)
  const t0 = performance.now()
  const prepared = await scenario.prepare(cfg)
  for (const note of prepared.notes) log(`  - ${note}`)
  log(`  (setup ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  let result
  try {
    result = await runScenario(prepared, cfg, log)
  } finally {
    // info before teardown: it reads the buses
    prepared.infoAfter = prepared.info?.()
    prepared.summaryAfter = prepared.summary?.()
    await prepared.teardown()
  }
  printScenario(result, log)
  if (prepared.summaryAfter) log(`  ${prepared.summaryAfter}`)
  report.scenarios.push({
    id: scenario.id,
    title: scenario.title,
    notes: prepared.notes,
    contenders: result.rows,
    goals: result.goals.map(({ label, contender, vs, atLeast, within, ratio, met, verdict, perRoundRatios, roundsMet }) =>
      ({ label, contender, vs, atLeast, within, ratio, met, verdict, perRoundRatios, roundsMet })),
    info: prepared.infoAfter,
    seconds: (performance.now() - t0) / 1000,
  })
}

if (cfg.only === undefined || cfg.only.includes('latency')) {
  log('')
  log('== one-way latency, main thread -> idle worker thread (one record in flight at a time, 1 ms apart, contenders interleaved) [latency]')
  report.latency = await latency(cfg, log)
}

if (cfg.only === undefined || cfg.only.includes('rebalance')) {
  log('')
  log('== consumer-group rebalance: 64 partitions, 8 members, one leaves [rebalance]')
  report.rebalance = await rebalance(cfg, log)
}

const goals = report.scenarios.flatMap((s) => s.goals)
report.finishedAt = new Date().toISOString()
report.machine.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)))
const out = process.env.BENCH_OUT ?? lastRun
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
log('')
log(`goals met: ${goals.filter((g) => g.met).length}/${goals.length}; ${((Date.parse(report.finishedAt) - startedAt.getTime()) / 1000).toFixed(1)} s; load avg ${report.machine.loadavgAtEnd.join(' ')}`)
log(`wrote ${typeof out === 'string' ? out : fileURLToPath(out)}`)
