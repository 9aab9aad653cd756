// Handing records to a handler, one at a time and in order: an async handler is awaited before
// the next record goes (so a partition never runs ahead), and a long run of records (a replay, a
// flood) is handed over in slices of SLICE_MS with the event loop running between them. Where
// the records come from is the source's business: a reader's partitions, a group member's.
import type { Delivered } from '../topic/topic.js'
import { nextTurn, SLICE_MS } from './turns.js'

export type Handler = (message: Delivered) => unknown
export type Where = { topic: string; partition: number; offset: number }

/**
 * Hands one message to a handler. A throw is reported and false returned (go on). When the
 * handler returns a promise, true is returned and `resume` runs once it settled (a rejection
 * reported first): the caller stops until then, so a partition never runs ahead.
 */
export function handOver(handler: Handler, message: Delivered, report: (error: unknown, where: Where) => void, resume: () => void): boolean {
  let result: unknown
  try {
    result = handler(message)
  } catch (error) {
    report(error, message)
    return false
  }
  if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') return false
  ;(result as PromiseLike<unknown>).then(resume, (error: unknown) => { report(error, message); resume() })
  return true
}

/** Where a delivery loop gets its records. `From` names what a batch came from (a partition). */
export interface BatchSource<From> {
  /** The next batch to hand over; undefined when there is nothing now. Must not throw. */
  nextBatch(): { records: Delivered[]; from: From } | undefined
  readonly paused: boolean
  readonly closed: boolean
}

export class DeliveryLoop<From> {
  private batch: Delivered[] = []
  private pos = 0
  private from: From | undefined
  private running = false
  private woken = false

  constructor(private readonly source: BatchSource<From>, private readonly handler: Handler,
    private readonly report: (error: unknown, where: Where) => void, private readonly settled: () => void) {}

  /** Runs the loop in a microtask: nothing is delivered inside subscribe(), seek() or resume(). */
  wake(): void {
    if (this.woken) return
    this.woken = true
    queueMicrotask(() => {
      this.woken = false
      this.run()
      if (!this.running) this.settled()
    })
  }

  /** Delivers what there is; returns at once, continuing after async handlers settle. */
  run(): void {
    if (this.running || this.source.paused || this.source.closed) return
    this.running = true
    this.loop()
  }

  /** Handing over now, or about to (woken). */
  get active(): boolean {
    return this.running || this.woken
  }

  /** Records fetched and not handed over yet. */
  get holding(): boolean {
    return this.pos < this.batch.length
  }

  /** The offset of the next record to hand over, when it comes from `from`. */
  pending(from: From): number | undefined {
    return this.from === from && this.pos < this.batch.length ? this.batch[this.pos].offset : undefined
  }

  /** Drops the records not handed over yet: all of them, or only when they came from `from`. */
  drop(from?: From): void {
    if (from !== undefined && this.from !== from) return
    this.batch = []
    this.pos = 0
    this.from = undefined
  }

  /** Continues the loop (after an async handler settled, or in the next turn). */
  private readonly proceed = (): void => this.loop()

  private loop(): void {
    const started = performance.now()
    for (;;) {
      if (this.source.paused || this.source.closed) break
      if (this.pos === this.batch.length) {
        if (performance.now() - started > SLICE_MS) {
          nextTurn(this.proceed) // still running: idle() waits for the rest
          return
        }
        const next = this.source.nextBatch()
        if (next === undefined) break
        this.batch = next.records
        this.pos = 0
        this.from = next.from
      }
      // the batch holds materialised messages, so a handler that publishes (and so may recycle
      // log memory) cannot change what the rest of the batch sees
      if (handOver(this.handler, this.batch[this.pos++], this.report, this.proceed)) return
    }
    this.running = false
    this.settled()
  }
}
