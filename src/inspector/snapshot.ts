// What the inspector shows, as plain JSON: one snapshot of a bus (topics, groups, queues,
// exchanges, the last dead letters) plus rates and their recent history, computed from the
// counters of the previous snapshot. Both the server and mountInspector build the page from this.
import type { BusApi } from '../api.js'
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import { DLQ_HEADERS } from '../groups/dead-letter.js'
import type { Message, PartitionStats, QueueStats, TopicMap, TopicStats } from '../types.js'
import { exchangeViews, type ExchangeView } from './exchanges.js'

export type { BindingView, ExchangeView } from './exchanges.js'

/**
 * A bus the inspector can look into: one createBus made, or a worker's attached on shared memory
 * (the exchanges are read from its core, which a copying worker's bus does not have).
 */
export type InspectableBus = Pick<BusApi, 'stats' | 'queueStats' | 'subscribe' | 'clock'>

export interface TopicView {
  name: string
  codec: string
  /** Independent readers and group members of this thread reading it. */
  readers: number
  published: number
  delivered: number
  skipped: number
  /** Dead letters in `<name>.dlq` not redriven yet. */
  deadLetters: number
  partitions: PartitionStats[]
}

export interface GroupPartitionView {
  topic: string
  partition: number
  committed: number
  lag: number
  /** The member that owns it (known in the creating thread). */
  owner?: string
}

export interface GroupView {
  name: string
  generation?: number
  members?: number
  /** Total lag over every partition. */
  lag: number
  partitions: GroupPartitionView[]
}

export interface QueueView extends QueueStats {
  name: string
}

/** A dead letter: where it came from and why it failed, from its `ringbus.dlq.*` headers. */
export interface DeadLetterView {
  partition: number
  offset: number
  timestamp: number
  key?: string
  /** The value as short text. */
  value: string
  /** The failure headers by short name (topic, partition, offset, timestamp, group, attempts, error, time). */
  failure: Partial<Record<keyof typeof DLQ_HEADERS, string>>
}

export interface DeadLetterTopicView {
  topic: string
  /** The end offset of each partition when its records were read. */
  ends: number[]
  /** The newest dead letters first, at most DEAD_LETTERS_SHOWN per partition. */
  records: DeadLetterView[]
}

export interface Rate {
  /** Records per second published to the topic since the previous snapshot. */
  publish: number
  /** Records per second delivered to this thread's readers since the previous snapshot. */
  deliver: number
}

/** The rates of the last snapshots, column by column as uPlot takes them. */
export interface RateHistory {
  /** Snapshot times, in seconds of the bus clock. */
  at: number[]
  /** Per topic, one value for each time (null where the topic had no rate yet). */
  publish: Record<string, Array<number | null>>
  deliver: Record<string, Array<number | null>>
}

export interface InspectorSnapshot {
  /** When it was taken, in ms of the bus clock. */
  at: number
  topics: TopicView[]
  groups: GroupView[]
  queues: QueueView[]
  exchanges: ExchangeView[]
  deadLetterTopics: DeadLetterTopicView[]
  /** Per topic, since the previous snapshot (empty in the first). */
  rates: Record<string, Rate>
  /**
   * Records the inspector itself read, per topic, after taking this snapshot's figures (the dead
   * letters it shows): the next snapshot's delivery rates leave them out.
   */
  ownReads: Record<string, number>
  history: RateHistory
}

/** Dead letters shown per partition of a dead-letter topic. */
export const DEAD_LETTERS_SHOWN = 10
/** Snapshots the rate history keeps (at the server's pace of 2 a second, a minute). */
export const HISTORY_LENGTH = 120
/** Longest wait, in ms of real time, for the last records of a dead-letter topic. */
const READ_TIMEOUT_MS = 2000
const VALUE_TEXT = 200

/**
 * Takes a snapshot of `bus`. Pass the previous snapshot to get rates (and their history) and to
 * reuse the dead letters it read when their partitions did not change.
 */
export async function snapshot(bus: InspectableBus, previous?: InspectorSnapshot): Promise<InspectorSnapshot> {
  checkBus(bus)
  const at = bus.clock.now()
  const stats = bus.stats()
  const topics = Object.entries(stats).map(([name, s]) => topicView(name, s)).sort(byName)
  const queues = Object.entries(bus.queueStats()).map(([name, s]) => ({ name, ...s })).sort(byName)
  const exchanges = exchangeViews(coreOf(bus)).sort(byName)
  const deadLetterTopics: DeadLetterTopicView[] = []
  const ownReads: Record<string, number> = Object.create(null)
  for (const topic of topics) {
    if (!isDeadLetterTopic(topic.name)) continue
    const before = previous?.deadLetterTopics.find((d) => d.topic === topic.name)
    if (sameEnds(before, topic.partitions)) {
      deadLetterTopics.push(before!)
      continue
    }
    const { view, delivered } = await readDeadLetters(bus, topic)
    deadLetterTopics.push(view)
    ownReads[topic.name] = delivered
  }
  const rates = previous === undefined ? {} : rateOf(previous, at, topics)
  return { at, topics, groups: groupViews(stats), queues, exchanges, deadLetterTopics, rates, ownReads, history: extendHistory(previous?.history, at, rates) }
}

/** Throws InvalidArgumentError unless the inspector can read `bus`. */
export function checkBus(bus: unknown): asserts bus is InspectableBus {
  const b = bus as Partial<InspectableBus & { core: LogCore }> | null
  if (typeof b !== 'object' || b === null || typeof b.stats !== 'function' || typeof b.queueStats !== 'function' || typeof b.subscribe !== 'function'
    || typeof b.core?.routes !== 'object') {
    throw new InvalidArgumentError('the inspector needs a bus made by createBus (or attachBus with a shared handle)', { argument: 'bus' })
  }
}

const coreOf = (bus: InspectableBus): LogCore => (bus as InspectableBus & { core: LogCore }).core

/** Dead-letter topics are named `<topic>.dlq`, the default of every group's deadLetter option. */
export const isDeadLetterTopic = (name: string): boolean => name.endsWith('.dlq')

function topicView(name: string, s: TopicStats): TopicView {
  return {
    name, codec: s.codec, readers: s.readers, published: s.published, delivered: s.delivered, skipped: s.skipped, deadLetters: s.deadLetters,
    partitions: s.partitions,
  }
}

/** stats() lists groups per topic; the inspector lists partitions per group. */
function groupViews(stats: Record<string, TopicStats>): GroupView[] {
  const groups = new Map<string, GroupView>()
  for (const [topic, s] of Object.entries(stats)) {
    for (const [name, g] of Object.entries(s.groups)) {
      let view = groups.get(name)
      if (view === undefined) {
        groups.set(name, (view = { name, lag: 0, partitions: [] }))
        if (g.generation !== undefined) view.generation = g.generation
        if (g.members !== undefined) view.members = g.members
      }
      for (const p of g.partitions) {
        view.partitions.push({ topic, ...p })
        view.lag += p.lag
      }
    }
  }
  return [...groups.values()].sort(byName)
}

/** Rates per topic between two snapshots (the inspector's own reads left out); none when the clock did not move. */
export function rateOf(previous: Pick<InspectorSnapshot, 'at' | 'topics' | 'ownReads'>, at: number, topics: readonly TopicView[]): Record<string, Rate> {
  const rates: Record<string, Rate> = Object.create(null)
  const seconds = (at - previous.at) / 1000
  if (!(seconds > 0)) return rates
  const before = new Map(previous.topics.map((t) => [t.name, t]))
  for (const topic of topics) {
    const b = before.get(topic.name)
    // a topic new since then counts from 0
    rates[topic.name] = {
      publish: Math.max(0, topic.published - (b?.published ?? 0)) / seconds,
      deliver: Math.max(0, topic.delivered - (b?.delivered ?? 0) - (previous.ownReads[topic.name] ?? 0)) / seconds,
    }
  }
  return rates
}

/** The history with one more point (at most HISTORY_LENGTH, oldest dropped); unchanged without rates. */
export function extendHistory(history: RateHistory | undefined, at: number, rates: Record<string, Rate>, length = HISTORY_LENGTH): RateHistory {
  const old = history ?? { at: [], publish: Object.create(null), deliver: Object.create(null) }
  if (Object.keys(rates).length === 0) return old
  const drop = Math.max(0, old.at.length + 1 - length)
  const column = (series: Record<string, Array<number | null>>, pick: (r: Rate) => number) => {
    const out: Record<string, Array<number | null>> = Object.create(null)
    for (const [topic, values] of Object.entries(series)) {
      if (topic in rates) continue
      const kept = values.slice(drop)
      // a topic that went away keeps its past until it scrolls out
      if (kept.some((v) => v !== null)) out[topic] = [...kept, null]
    }
    for (const [topic, rate] of Object.entries(rates)) {
      const past = series[topic]?.slice(drop) ?? new Array<null>(old.at.length - drop).fill(null)
      out[topic] = [...past, pick(rate)]
    }
    return out
  }
  return { at: [...old.at.slice(drop), at / 1000], publish: column(old.publish, (r) => r.publish), deliver: column(old.deliver, (r) => r.deliver) }
}

function sameEnds(before: DeadLetterTopicView | undefined, partitions: readonly PartitionStats[]): boolean {
  return before !== undefined && before.ends.length === partitions.length && partitions.every((p) => before.ends[p.partition] === p.endOffset)
    && before.records.every((r) => r.offset >= partitions[r.partition]!.startOffset)
}

/**
 * The last DEAD_LETTERS_SHOWN records of each partition of a dead-letter topic, read like any
 * reader would: a subscription moved back from the end, closed once it got there.
 */
async function readDeadLetters(bus: InspectableBus, topic: TopicView): Promise<{ view: DeadLetterTopicView; delivered: number }> {
  const ends = new Map<number, number>()
  for (const p of topic.partitions) if (p.endOffset > p.startOffset) ends.set(p.partition, p.endOffset)
  const records: DeadLetterView[] = []
  let delivered = 0
  if (ends.size > 0) {
    let done!: () => void
    const finished = new Promise<void>((resolve) => { done = resolve })
    const sub = bus.subscribe(topic.name, (message) => {
      delivered++
      const end = ends.get(message.partition)
      if (end === undefined) return
      if (message.offset < end) records.push(deadLetterView(message))
      if (message.offset + 1 >= end) ends.delete(message.partition)
      if (ends.size === 0) done()
    }, { from: 'latest' })
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      for (const [partition, end] of ends) sub.seek({ partition, offset: Math.max(0, end - DEAD_LETTERS_SHOWN) })
      // retention may remove the last records meanwhile: then show what arrived
      await Promise.race([finished, new Promise<void>((resolve) => { timer = setTimeout(resolve, READ_TIMEOUT_MS) })])
    } finally {
      clearTimeout(timer)
      await sub.close()
    }
  }
  records.sort((a, b) => b.timestamp - a.timestamp || a.partition - b.partition || b.offset - a.offset)
  return { view: { topic: topic.name, ends: topic.partitions.map((p) => p.endOffset), records }, delivered }
}

const FAILURE_NAMES = Object.entries(DLQ_HEADERS) as Array<[keyof typeof DLQ_HEADERS, string]>

function deadLetterView(message: Message<TopicMap>): DeadLetterView {
  const failure: DeadLetterView['failure'] = {}
  for (const [short, header] of FAILURE_NAMES) {
    const v = message.headers[header]
    if (typeof v === 'string') failure[short] = v
  }
  const view: DeadLetterView = { partition: message.partition, offset: message.offset, timestamp: message.timestamp, value: valueText(message.value), failure }
  if (message.key !== undefined) view.key = typeof message.key === 'string' ? message.key : `<${message.key.length} bytes>`
  return view
}

/** A value as at most VALUE_TEXT characters of JSON-like text. */
export function valueText(value: unknown): string {
  let text: string
  if (value instanceof Uint8Array) text = `<${value.length} bytes>`
  else if (typeof value === 'string') text = JSON.stringify(value)
  else {
    try {
      text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)) ?? String(value)
    } catch {
      text = String(value)
    }
  }
  return text.length > VALUE_TEXT ? `${text.slice(0, VALUE_TEXT - 1)}…` : text
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
