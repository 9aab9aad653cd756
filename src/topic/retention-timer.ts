// Age retention runs on the bus clock: one timer, as often as the topic with the shortest maxAgeMs
// needs (a quarter of it, between 1 ms and 1 s), so that data never outlives maxAgeMs for long.
// Byte retention needs no timer: the core applies it as it appends.
import type { Clock } from '../clock.js'
import type { LogCore } from '../core/log.js'
import type { Topic } from './topic.js'

export class RetentionTimer {
  private cancel: (() => void) | undefined
  private stopped = false

  constructor(private readonly clock: Clock, private readonly core: LogCore, private readonly topics: ReadonlyMap<string, Topic>) {}

  /** (Re)sets the timer for the topics as they are now; call after a topic is declared or created. */
  arm(): void {
    this.cancel?.()
    this.cancel = undefined
    let shortest = Infinity
    for (const topic of this.topics.values()) if (topic.options.maxAgeMs > 0) shortest = Math.min(shortest, topic.options.maxAgeMs)
    if (shortest === Infinity || this.stopped) return
    const period = Math.min(Math.max(shortest / 4, 1), 1000)
    this.cancel = this.clock.setTimer(() => {
      this.cancel = undefined
      this.core.retain(this.clock.now())
      this.arm()
    }, period)
  }

  stop(): void {
    this.stopped = true
    this.cancel?.()
    this.cancel = undefined
  }
}
