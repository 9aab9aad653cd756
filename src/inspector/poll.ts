// The inspector's pace: a snapshot of the bus every intervalMs, each computed from the one
// before, until stopped or the bus closes. The server and mountInspector both run one.
import { BusClosedError, InvalidArgumentError } from '../errors.js'
import { checkBus, snapshot, type InspectableBus, type InspectorSnapshot } from './snapshot.js'

export const DEFAULT_INTERVAL_MS = 500

export interface PollHooks {
  snapshot(snapshot: InspectorSnapshot): void
  /** The bus closed: polling stopped. */
  closed(): void
  /** A snapshot failed for another reason; polling goes on. */
  failed(error: unknown): void
}

export interface Poller {
  readonly latest: InspectorSnapshot | undefined
  stop(): void
}

/** Checks an inspector's intervalMs option (default 500). */
export function intervalOption(intervalMs: unknown): number {
  if (intervalMs === undefined) return DEFAULT_INTERVAL_MS
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 10) {
    throw new InvalidArgumentError(`intervalMs must be a number of ms, at least 10, got ${String(intervalMs)}`, { argument: 'intervalMs' })
  }
  return intervalMs
}

/** Starts taking snapshots of `bus` at once, then every `intervalMs` of real time after each. */
export function startPolling(bus: InspectableBus, intervalMs: number, hooks: PollHooks): Poller {
  checkBus(bus)
  let latest: InspectorSnapshot | undefined
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = async (): Promise<void> => {
    try {
      const next = await snapshot(bus, latest)
      if (stopped) return
      hooks.snapshot((latest = next))
    } catch (error) {
      if (stopped) return
      if (error instanceof BusClosedError) {
        stopped = true
        hooks.closed()
        return
      }
      hooks.failed(error)
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs)
  }
  void tick()
  return {
    get latest() { return latest },
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
