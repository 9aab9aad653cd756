// The inspector's page, drawn from a snapshot with plain DOM and uPlot: the served page and
// mountInspector both draw with createView. Names are the user's: they only ever go in as text.
import uPlot from 'uplot'
import type { DeadLetterTopicView, ExchangeView, GroupView, InspectorSnapshot, QueueView, RateHistory, TopicView } from './snapshot.js'

export interface InspectorView {
  /** Draws `snapshot` (charts are kept and given the new data). */
  render(snapshot: InspectorSnapshot): void
  /** Shows a line about the connection or the bus; `alert` when something is wrong. */
  status(text: string, alert?: boolean): void
  /** Removes everything it drew. */
  destroy(): void
}

const STYLE_ID = 'ringbus-inspector-style'
// uPlot's own layout rules are among these, so a page need not load its stylesheet
const CSS = `
.ringbus-inspector{font:13px/1.4 system-ui,sans-serif;color:#1d2330;background:#f6f7f9;padding:12px}
.ringbus-inspector h1{font-size:18px;margin:0 0 4px}
.ringbus-inspector h2{font-size:15px;margin:18px 0 6px}
.ringbus-inspector h3{font-size:13px;margin:10px 0 4px}
.ringbus-inspector .ri-status{color:#5b6475;margin-bottom:8px}
.ringbus-inspector .ri-status.ri-alert{color:#b3261e;font-weight:600}
.ringbus-inspector table{border-collapse:collapse;background:#fff;margin-bottom:6px}
.ringbus-inspector th,.ringbus-inspector td{border:1px solid #dde1e8;padding:3px 8px;text-align:left;vertical-align:top}
.ringbus-inspector th{background:#eef1f5;font-weight:600}
.ringbus-inspector td.ri-n{text-align:right;font-variant-numeric:tabular-nums}
.ringbus-inspector .ri-empty{color:#8a93a3;font-style:italic}
.ringbus-inspector .ri-charts{display:flex;flex-wrap:wrap;gap:16px}
.ringbus-inspector .ri-chart{background:#fff;border:1px solid #dde1e8;padding:6px}
.ringbus-inspector .ri-legend{display:flex;flex-wrap:wrap;gap:10px;margin-top:4px}
.ringbus-inspector .ri-swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.ringbus-inspector .ri-error{color:#b3261e}
.ringbus-inspector code{font-size:12px}
.uplot,.uplot *{box-sizing:border-box}.u-wrap{position:relative;user-select:none}.u-over,.u-under{position:absolute}
.u-under{overflow:hidden}.uplot canvas{display:block;position:relative;width:100%;height:100%}.u-axis{position:absolute}
.u-select{background:rgba(0,0,0,.07);position:absolute;pointer-events:none}
.u-cursor-x,.u-cursor-y{position:absolute;left:0;top:0;pointer-events:none}
.u-hz .u-cursor-x{height:100%;border-right:1px dashed #607d8b}.u-hz .u-cursor-y{width:100%;border-bottom:1px dashed #607d8b}
.u-cursor-pt{position:absolute;top:0;left:0;border-radius:50%;border:0 solid;pointer-events:none}
.u-axis.u-off,.u-select.u-off,.u-cursor-x.u-off,.u-cursor-y.u-off,.u-cursor-pt.u-off{display:none}
`
const COLORS = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#b82e2e', '#316395']
const CHART_WIDTH = 460
const CHART_HEIGHT = 180

type Child = Node | string | number | undefined
type Attributes = Record<string, string | number | undefined>

/** An element with attributes and children; strings become text nodes, never markup. */
function el(tag: string, attributes: Attributes = {}, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, String(value))
  for (const child of children) if (child !== undefined) node.append(typeof child === 'number' ? String(child) : child)
  return node
}

const count = (n: number): string => n.toLocaleString('en-US')
const rate = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(1))
/** A numeric cell; `field` names the figure for whoever reads the page. */
const num = (field: string, text: string): HTMLElement => el('td', { class: 'ri-n', 'data-field': field }, text)
const cell = (field: string, text: Child): HTMLElement => el('td', { 'data-field': field }, text)

function table(headings: string[], rows: HTMLElement[], empty: string): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'ri-empty' }, empty)
  return el('table', {}, el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows))
}

function topicsSection(topics: readonly TopicView[], rates: InspectorSnapshot['rates']): HTMLElement {
  const rows: HTMLElement[] = []
  for (const t of topics) {
    t.partitions.forEach((p, i) => {
      const row = el('tr', { 'data-topic': t.name, 'data-partition': p.partition })
      if (i === 0) {
        const span = t.partitions.length
        row.append(
          el('td', { rowspan: span, 'data-field': 'topic' }, t.name),
          el('td', { rowspan: span, 'data-field': 'codec' }, t.codec),
          el('td', { rowspan: span, class: 'ri-n', 'data-field': 'readers' }, count(t.readers)),
          el('td', { rowspan: span, class: 'ri-n', 'data-field': 'publishRate' }, rate(rates[t.name]?.publish)),
          el('td', { rowspan: span, class: 'ri-n', 'data-field': 'deliverRate' }, rate(rates[t.name]?.deliver)),
          el('td', { rowspan: span, class: 'ri-n', 'data-field': 'deadLetters' }, count(t.deadLetters)),
        )
      }
      row.append(
        num('partition', String(p.partition)), num('startOffset', count(p.startOffset)), num('endOffset', count(p.endOffset)),
        num('records', count(p.endOffset - p.startOffset)), num('bytes', count(p.bytes)), num('segments', count(p.segments)), num('evicted', count(p.evicted)),
      )
      rows.push(row)
    })
  }
  return section('topics', 'Topics and partitions', table(
    ['topic', 'codec', 'readers', 'publish/s', 'deliver/s', 'dead letters', 'partition', 'start offset', 'end offset', 'records', 'bytes', 'segments', 'evicted'],
    rows, 'No topics yet.'))
}

function groupsSection(groups: readonly GroupView[]): HTMLElement {
  const parts = groups.map((g) => {
    const owners = new Map<string, string[]>()
    for (const p of g.partitions) if (p.owner !== undefined) owners.set(p.owner, [...owners.get(p.owner) ?? [], `${p.topic}[${p.partition}]`])
    const rows = g.partitions.map((p) => el('tr', { 'data-group': g.name, 'data-topic': p.topic, 'data-partition': p.partition },
      cell('topic', p.topic), num('partition', String(p.partition)), num('committed', count(p.committed)), num('lag', count(p.lag)),
      cell('owner', p.owner ?? '–')))
    return el('div', { 'data-group': g.name },
      el('h3', {}, `${g.name} `, el('span', { class: 'ri-status' },
        `generation ${g.generation ?? '–'} · members `, el('span', { 'data-field': 'members' }, g.members ?? '–'),
        ' · total lag ', el('span', { 'data-field': 'lag' }, count(g.lag)))),
      owners.size === 0 ? el('p', { class: 'ri-empty' }, 'No member owns a partition in this thread.')
        : el('ul', { 'data-field': 'assignments' }, ...[...owners].map(([member, owned]) => el('li', {}, el('code', {}, member), ` owns ${owned.join(', ')}`))),
      table(['topic', 'partition', 'committed', 'lag', 'owner'], rows, 'No committed offsets yet.'))
  })
  return section('groups', 'Consumer groups', ...(parts.length > 0 ? parts : [el('p', { class: 'ri-empty' }, 'No consumer groups yet.')]))
}

function queuesSection(queues: readonly QueueView[]): HTMLElement {
  const rows = queues.map((q) => el('tr', { 'data-queue': q.name },
    cell('queue', q.name), num('ready', count(q.ready)), num('delayed', count(q.delayed)), num('unacked', count(q.unacked)),
    num('consumers', count(q.consumers)), num('messages', count(q.messages))))
  return section('queues', 'Queues', table(['queue', 'ready', 'delayed', 'unacked', 'consumers', 'messages'], rows, 'No queues yet.'))
}

function exchangesSection(exchanges: readonly ExchangeView[]): HTMLElement {
  const rows = exchanges.map((x) => el('tr', { 'data-exchange': x.name },
    cell('exchange', x.name), cell('type', x.type), cell('alternate', x.alternate ?? '–'),
    el('td', { 'data-field': 'bindings' }, x.bindings.length === 0 ? el('span', { class: 'ri-empty' }, 'none')
      : el('ul', {}, ...x.bindings.map((b) => el('li', { 'data-binding': `${b.kind}:${b.to}:${b.key}` },
        `→ ${b.kind} `, el('code', {}, b.to), b.key === '' ? '' : ' key ', b.key === '' ? '' : el('code', {}, b.key), b.match === undefined ? '' : ` (x-match ${b.match})`))))))
  return section('exchanges', 'Exchanges and bindings',
    table(['exchange', 'type', 'alternate', 'bindings'], rows, 'No exchanges yet (the default exchange routes to each queue by its name).'))
}

function deadLettersSection(topics: readonly DeadLetterTopicView[]): HTMLElement {
  const parts = topics.map((d) => {
    const rows = d.records.map((r) => el('tr', { 'data-dead-letter': `${d.topic}:${r.partition}:${r.offset}` },
      num('partition', String(r.partition)), num('offset', count(r.offset)), cell('key', r.key ?? '–'), el('td', { 'data-field': 'value' }, el('code', {}, r.value)),
      cell('source', r.failure.topic === undefined ? '–' : `${r.failure.topic}[${r.failure.partition ?? '?'}] @ ${r.failure.offset ?? '?'}`),
      cell('group', r.failure.group ?? '–'), num('attempts', r.failure.attempts ?? '–'),
      el('td', { class: 'ri-error', 'data-field': 'error' }, r.failure.error ?? '–'),
      cell('time', r.failure.time === undefined ? '–' : new Date(Number(r.failure.time)).toISOString())))
    return el('div', { 'data-dead-letter-topic': d.topic }, el('h3', {}, d.topic),
      table(['partition', 'offset', 'key', 'value', 'from', 'group', 'attempts', 'error', 'dead-lettered at'], rows, 'Empty.'))
  })
  return section('dead-letters', 'Dead-letter topics (newest first)', ...(parts.length > 0 ? parts : [el('p', { class: 'ri-empty' }, 'No dead-letter topics.')]))
}

function section(id: string, title: string, ...content: Node[]): HTMLElement {
  return el('section', { 'data-section': id }, el('h2', {}, title), ...content)
}

/** One uPlot chart of a rate per topic; made again when the topics change. */
class RateChart {
  private plot: uPlot | undefined
  private topics = ''
  readonly element: HTMLElement
  private readonly area: HTMLElement
  private readonly legend: HTMLElement

  constructor(title: string, readonly kind: 'publish' | 'deliver') {
    this.area = el('div')
    this.legend = el('div', { class: 'ri-legend' })
    this.element = el('div', { class: 'ri-chart', 'data-chart': kind }, el('h3', {}, title), this.area, this.legend)
  }

  update(history: RateHistory): void {
    const series = history[this.kind]
    const names = Object.keys(series).sort()
    const data = [history.at, ...names.map((n) => series[n]!)] as uPlot.AlignedData
    if (this.plot === undefined || names.join('\n') !== this.topics) {
      this.plot?.destroy()
      this.topics = names.join('\n')
      this.plot = new uPlot({
        width: CHART_WIDTH, height: CHART_HEIGHT, legend: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 0) * 1.1] } },
        axes: [{}, { label: 'records/s', size: 60 }],
        series: [{}, ...names.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
      }, data, this.area)
      this.legend.replaceChildren(...names.map((name, i) => el('span', {}, el('span', { class: 'ri-swatch', style: `background:${COLORS[i % COLORS.length]}` }), name)))
    } else this.plot.setData(data)
  }

  destroy(): void {
    this.plot?.destroy()
    this.plot = undefined
  }
}

/** Draws snapshots into `root`. */
export function createView(root: HTMLElement): InspectorView {
  const doc = root.ownerDocument
  if (doc.getElementById(STYLE_ID) === null) doc.head.append(Object.assign(doc.createElement('style'), { id: STYLE_ID, textContent: CSS }))
  const charts = [new RateChart('Publish rate by topic', 'publish'), new RateChart('Delivery rate by topic', 'deliver')]
  const statusLine = el('div', { class: 'ri-status', 'data-field': 'status' }, 'Waiting for the first snapshot…')
  const taken = el('div', { class: 'ri-status', 'data-field': 'taken' })
  const body = el('div')
  const container = el('div', { class: 'ringbus-inspector' }, el('h1', {}, 'ringbus inspector'), statusLine, taken,
    section('rates', 'Rates', el('div', { class: 'ri-charts' }, ...charts.map((c) => c.element))), body)
  root.append(container)
  return {
    render(snapshot) {
      taken.textContent = `Snapshot at ${new Date(snapshot.at).toISOString()} (bus clock)`
      for (const chart of charts) chart.update(snapshot.history)
      body.replaceChildren(
        topicsSection(snapshot.topics, snapshot.rates),
        groupsSection(snapshot.groups),
        queuesSection(snapshot.queues),
        exchangesSection(snapshot.exchanges),
        deadLettersSection(snapshot.deadLetterTopics),
      )
      root.setAttribute('data-snapshot-at', String(snapshot.at))
    },
    status(text, alert = false) {
      statusLine.textContent = text
      statusLine.classList.toggle('ri-alert', alert)
    },
    destroy() {
      for (const chart of charts) chart.destroy()
      container.remove()
      root.removeAttribute('data-snapshot-at')
    },
  }
}
