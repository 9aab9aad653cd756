// npm run soak -- --seconds N [--seed S] [--round R]: the torture scenario of
// test/torture/torture.test.ts, again and again (fresh bus each round, R seconds a round) for N
// seconds; prints what each round checked and exits non-zero on the first round with a problem.
import { describe, runTorture } from '../test/torture/fixtures/torture.mjs'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(args[i + 1])
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number`)
    process.exit(2)
  }
  return value
}
const seconds = option('seconds', 60)
const roundSeconds = Math.min(option('round', 30), seconds)
let seed = option('seed', (Date.now() ^ (Math.random() * 0x100000000)) >>> 0)

const totals = { rounds: 0, published: 0, delivered: 0, skipped: 0, seeks: 0, killed: 0 }
const until = Date.now() + seconds * 1000
let failed = false
while (Date.now() < until || totals.rounds === 0) {
  const round = Math.max(1, Math.min(roundSeconds, Math.round((until - Date.now()) / 1000) - 2))
  const report = await runTorture({ seconds: round, seed, log: (line) => console.log(`  ${line}`) })
  totals.rounds++
  totals.published += report.inLog
  for (const mode of ['shared', 'copy', 'main']) {
    totals.delivered += report.delivered[mode]
    totals.skipped += report.skipped[mode]
  }
  totals.seeks += report.seeks
  totals.killed += report.workerExits.killed
  console.log(`round ${totals.rounds}:\n${describe(report).replace(/^/gm, '  ')}`)
  if (report.problems.length > 0) {
    failed = true
    console.log('PROBLEMS:')
    for (const text of report.problems) console.log(`  ${text}`)
    break
  }
  seed = (Math.imul(seed, 0x2c1b3c6d) + 0x9e3779b9) >>> 0
}
console.log(`\n${failed ? 'FAILED' : 'passed'}: ${totals.rounds} round(s), ${totals.published} records appended, ${totals.delivered} delivered and verified, ${totals.skipped} reported skipped, ${totals.seeks} seeks, ${totals.killed} threads killed`)
process.exit(failed ? 1 : 0)
