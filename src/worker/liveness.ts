// How the creating thread notices that a worker is gone (its bus closed, or the thread
// terminated or crashed), so that what the worker held comes back: its lane, its group
// memberships, its unacknowledged queue deliveries, its readers.
//
// Node emits 'close' on a MessagePort whose other end closed or whose thread exited, whatever
// the cause: there the handle's own port is all it takes. Browsers have no such event, so there a
// handle carries a second port and a name, and the worker proves it is alive:
//
// - With the Web Locks API (navigator.locks; secure contexts: https, or localhost), the worker
//   takes the lock of that name before it attaches and holds it until its thread ends; once it
//   said so, the creating thread asks for the same lock, which it is granted exactly when the
//   worker is gone. A worker busy in a long synchronous handler still holds its lock: it is never
//   taken for dead.
// - Without it (a page served over plain http from another host), the worker posts a heartbeat
//   every `beatMs`, and one silent for `deadAfterMs` is taken for dead: also a worker whose
//   thread is blocked that long, which must then not go on using the bus (its lane may be given
//   to another worker).
import { BusError } from '../errors.js'

/** In a handle made where ports have no 'close' event (a browser): what the worker proves it is alive with. */
export interface Liveness {
  readonly port: MessagePort
  /** The name of the lock the worker holds while it lives. */
  readonly lock: string
  /** How often the worker beats where there are no locks. */
  readonly beatMs: number
}

/** The heartbeat fallback's figures: a beat every second; 10 s of silence is death. */
export const heartbeat = { beatMs: 1000, deadAfterMs: 10_000 }

/** The creating thread's watch over one worker. */
export interface Watch {
  /** What to put in the handle (a browser only). */
  readonly liveness: Liveness | undefined
  /**
   * The worker said it closed its bus. Node's port 'close' follows (and ends the watch); a
   * browser has none, so the watch ends here.
   */
  closed(): void
  /** Stops watching (the creating bus closed), without reporting the worker gone. */
  stop(): void
}

interface LockManager {
  request(name: string, options: { signal?: AbortSignal; ifAvailable?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>
}

/** The Web Locks API, where this context has it. */
const locks = (): LockManager | undefined => (globalThis.navigator as { locks?: LockManager } | undefined)?.locks

/**
 * Node emits 'close' on a port whose other end closed or whose thread exited (also after a crash
 * or terminate()); false where ports have no such event (browsers).
 */
export function onPortClose(port: MessagePort, fn: () => void): boolean {
  const node = port as MessagePort & { on?: (event: 'close', fn: () => void) => void }
  if (typeof node.on !== 'function') return false
  node.on('close', fn)
  return true
}

/** Watches the worker at the other end of `port` and calls `gone` once, when it is gone. */
export function watchWorker(port: MessagePort, gone: () => void): Watch {
  let ended = false
  // Node: 'close' comes after a clean close too, once the worker closed its end
  const node = onPortClose(port, () => {
    if (!ended) gone()
    ended = true
  })
  if (node) return { liveness: undefined, closed: () => {}, stop: () => { ended = true } }
  const { port1, port2 } = new MessageChannel()
  const abort = new AbortController()
  let silence: ReturnType<typeof setTimeout> | undefined
  const stop = (): void => {
    ended = true
    abort.abort()
    clearTimeout(silence)
    port1.close()
  }
  const end = (): void => {
    if (ended) return
    stop()
    gone()
  }
  const lock = `ringbus/worker/${uniqueId()}`
  port1.onmessage = (event: MessageEvent) => {
    const type = (event.data as { type?: string } | null)?.type
    if (type === 'held') {
      // granted when the worker's thread is gone; aborted when the watch stops first
      locks()?.request(lock, { signal: abort.signal }, end).catch(() => {})
    } else if (type === 'beat' && !ended) {
      clearTimeout(silence)
      silence = setTimeout(end, heartbeat.deadAfterMs)
    }
  }
  return { liveness: { port: port2, lock, beatMs: heartbeat.beatMs }, closed: end, stop }
}

/** 128 random bits in hex (crypto.randomUUID exists in secure contexts only). */
function uniqueId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** What a worker does to stop proving it is alive (after it closed its bus cleanly). */
const provers = new WeakMap<Liveness, () => void>()

/** Whether `liveness` (from a posted handle) is what watchWorker made. */
export const isLiveness = (liveness: unknown): liveness is Liveness => {
  const l = liveness as Liveness | null
  return typeof l === 'object' && l !== null && typeof l.port?.postMessage === 'function' && typeof l.lock === 'string' && typeof l.beatMs === 'number' && l.beatMs > 0
}

/**
 * The worker side, before it takes anything the creating thread must get back: holds the lock
 * (until this thread ends) or starts beating. Resolves once the creating thread is told.
 */
export async function proveAlive(liveness: Liveness): Promise<void> {
  const manager = locks()
  if (manager === undefined) {
    const beat = (): void => liveness.port.postMessage({ type: 'beat' })
    const timer = setInterval(beat, liveness.beatMs)
    beat()
    provers.set(liveness, () => {
      clearInterval(timer)
      liveness.port.close()
    })
    return
  }
  await new Promise<void>((resolve, reject) => {
    manager.request(liveness.lock, { ifAvailable: true }, (held) => {
      if (held === null) {
        reject(new BusError(`the lock ${liveness.lock} of this handle is held already: a handle serves one bus in one thread`, { argument: 'handle' }))
        return undefined
      }
      resolve()
      return new Promise(() => {}) // held until this thread ends
    }).catch(reject)
  })
  liveness.port.postMessage({ type: 'held' })
  // the lock stays held after a clean close (the creating thread stopped asking for it on the
  // worker's goodbye), so that its release can never be taken for the goodbye arriving first
  provers.set(liveness, () => liveness.port.close())
}

/** The worker side, after its bus closed cleanly: stops the heartbeat. */
export function stopProving(liveness: Liveness | undefined): void {
  if (liveness === undefined) return
  provers.get(liveness)?.()
  provers.delete(liveness)
}
