// Reads back, from a page showing the inspector, the figures it displays, and builds the same
// figures from what the bus reports, so that a test can compare the two.
import type { Page } from 'playwright'
import type { QueueStats, TopicStats } from '../../src/index.js'

export interface Shown {
  partitions: Record<string, Record<string, number>>
  groups: Record<string, Record<string, number>>
  queues: Record<string, Record<string, number>>
  bindings: Record<string, { type: string; bindings: string[] }>
  deadLetters: Record<string, Record<string, string>>
}

/** What the page shows now (numbers as numbers, thousands separators removed). */
export function shown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const fields = (row: Element): Record<string, string> =>
      Object.fromEntries(Array.from(row.querySelectorAll('[data-field]')).map((c) => [c.getAttribute('data-field')!, c.textContent!]))
    const numbers = (row: Element, names: string[]): Record<string, number> => {
      const f = fields(row)
      return Object.fromEntries(names.map((n) => [n, Number(f[n]!.replaceAll(',', ''))]))
    }
    const out: Shown = { partitions: {}, groups: {}, queues: {}, bindings: {}, deadLetters: {} }
    for (const row of Array.from(document.querySelectorAll('[data-section=topics] tr[data-topic]'))) {
      out.partitions[`${row.getAttribute('data-topic')}/${row.getAttribute('data-partition')}`] = numbers(row, ['startOffset', 'endOffset', 'bytes', 'segments', 'evicted'])
    }
    for (const row of Array.from(document.querySelectorAll('[data-section=groups] tr[data-group]'))) {
      out.groups[`${row.getAttribute('data-group')}/${row.getAttribute('data-topic')}/${row.getAttribute('data-partition')}`] = numbers(row, ['committed', 'lag'])
    }
    for (const row of Array.from(document.querySelectorAll('[data-section=queues] tr[data-queue]'))) {
      out.queues[row.getAttribute('data-queue')!] = numbers(row, ['ready', 'delayed', 'unacked', 'consumers', 'messages'])
    }
    for (const row of Array.from(document.querySelectorAll('[data-section=exchanges] tr[data-exchange]'))) {
      out.bindings[row.getAttribute('data-exchange')!] = {
        type: fields(row).type!,
        bindings: Array.from(row.querySelectorAll('[data-binding]')).map((b) => b.getAttribute('data-binding')!).sort(),
      }
    }
    for (const row of Array.from(document.querySelectorAll('[data-section=dead-letters] tr[data-dead-letter]'))) {
      const { key, value, source, group, attempts, error } = fields(row)
      out.deadLetters[row.getAttribute('data-dead-letter')!] = { key: key!, value: value!, source: source!, group: group!, attempts: attempts!, error: error! }
    }
    return out
  })
}

/** The figures of `shown` that stats() and queueStats() report. */
export function expected(stats: Record<string, TopicStats>, queueStats: Record<string, QueueStats>): Pick<Shown, 'partitions' | 'groups' | 'queues'> {
  const out: Pick<Shown, 'partitions' | 'groups' | 'queues'> = { partitions: {}, groups: {}, queues: {} }
  for (const [topic, s] of Object.entries(stats)) {
    for (const p of s.partitions) {
      out.partitions[`${topic}/${p.partition}`] = { startOffset: p.startOffset, endOffset: p.endOffset, bytes: p.bytes, segments: p.segments, evicted: p.evicted }
    }
    for (const [group, g] of Object.entries(s.groups)) {
      for (const p of g.partitions) out.groups[`${group}/${topic}/${p.partition}`] = { committed: p.committed, lag: p.lag }
    }
  }
  for (const [queue, q] of Object.entries(queueStats)) {
    out.queues[queue] = { ready: q.ready, delayed: q.delayed, unacked: q.unacked, consumers: q.consumers, messages: q.messages }
  }
  return out
}

/** The exchanges and bindings the fixture declares, as the page lists them. */
export const FIXTURE_BINDINGS: Shown['bindings'] = {
  audit: { type: 'fanout', bindings: ['topic:payments:'] },
  shop: { type: 'topic', bindings: ['exchange:audit:#', 'queue:invoices:order.paid', 'queue:shipping:order.*'] },
}

/** The dead letters of the fixture's failed jobs, as the page lists them. */
export function fixtureDeadLetters(failures: number): Shown['deadLetters'] {
  const out: Shown['deadLetters'] = {}
  for (let n = 0; n < failures; n++) {
    out[`jobs.dlq:0:${n}`] = { key: `job-${n}`, value: `{"n":${n}}`, source: `jobs[0] @ ${n}`, group: 'runner', attempts: '1', error: `job ${n} failed` }
  }
  return out
}
