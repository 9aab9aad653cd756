// The shared-memory torture test (short version; `npm run soak -- --seconds N` runs it for
// longer): producer and reader threads on both transports and a reader in this thread, on 4 KiB
// blocks and byte caps so that eviction races with every read, while readers lag, seek back and
// pause and threads are killed and replaced. Each reader proves every offset was delivered
// intact exactly once or reported skipped; no thread may die of an error.
import { describe as suite, expect, it } from 'vitest'
import { describe, runTorture } from './fixtures/torture.mjs'

suite('torture: threads racing eviction on one shared log', () => {
  it('every reader gets each offset intact exactly once or reported skipped, and every thread survives', async () => {
    const report = await runTorture({ seconds: 5 })
    // the seed and the figures say what ran; the problems say what broke
    const summary = describe(report)
    expect(report.problems, summary).toEqual([])
    // every topic here evicts: a full pool makes room, it never refuses a record
    expect(report.retriedFull + report.lostFull, summary).toBe(0)
    expect(report.readers.shared + report.readers.copy + report.readers.main).toBeGreaterThanOrEqual(3)
    expect(report.delivered.shared).toBeGreaterThan(0)
    expect(report.delivered.copy).toBeGreaterThan(0)
    expect(report.delivered.main).toBeGreaterThan(0)
    // the run did what it is for: eviction overtook readers, readers seeked, threads were killed
    expect(report.skipped.shared + report.skipped.copy + report.skipped.main).toBeGreaterThan(0)
    expect(report.seeks).toBeGreaterThan(0)
    expect(report.workerExits.killed).toBeGreaterThan(0)
  }, 120_000)
})
