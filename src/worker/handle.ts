// What a worker thread needs to join a bus, and the control plane that watches it. With a shared
// handle records never travel over the port: they are in the shared memory, and the MessagePort
// only says "attached" and "closed". The creating thread notices when the worker is gone
// (closed, exited or crashed: see liveness.ts), so that its lane is given back. A copying handle
// (no shared memory) is the port and its liveness: see copy-host.ts.
import { LogCore, type CoreLayout } from '../core/log.js'
import { BusError, InvalidArgumentError } from '../errors.js'
import { isLiveness, proveAlive, stopProving, watchWorker, type Liveness } from './liveness.js'

/** What bus.handle() returns: post it to the worker with its transfer list. */
export type BusHandle = SharedHandle | CopyHandle

export interface SharedHandle {
  readonly kind: 'ringbus/shared'
  readonly memory: WebAssembly.Memory
  readonly module: WebAssembly.Module
  readonly layout: CoreLayout
  readonly laneToken: number
  readonly port: MessagePort
  /** In a browser: how the worker proves it is alive (Node notices a worker gone by its port). */
  readonly liveness?: Liveness
  /** Pass as the transfer list when posting the handle (`new Worker(url, { workerData: h, transferList: h.transfer })`). */
  readonly transfer: Transferable[]
}

/** A handle of the copying transport: records travel over the port in batches. */
export interface CopyHandle {
  readonly kind: 'ringbus/copy'
  readonly port: MessagePort
  /** In a browser: how the worker proves it is alive (Node notices a worker gone by its port). */
  readonly liveness?: Liveness
  readonly transfer: Transferable[]
}

export interface WorkerExit {
  lane: number
  /** false when the thread went away without closing its bus (exit, crash, terminate()). */
  clean: boolean
  /** Locks it still held (it died inside the core); what it was changing has been repaired. */
  recovered: number
}

/** Lane tokens: 1 is the creating thread's; every handle gets a new one. */
let tokens = 1

/** Node's MessagePort keeps the process alive unless unref'd; a browser's has no such notion. */
export const unref = (port: MessagePort): void => (port as unknown as { unref?: () => void }).unref?.()

/** Node's MessagePort keeps the thread alive (ref) or not; a no-op in browsers. */
export const keepAlive = (port: MessagePort, on: boolean): void => (port as unknown as { ref?: () => void; unref?: () => void })[on ? 'ref' : 'unref']?.()

/** What else travels over a shared handle's port: the worker's group members and their coordinator. */
export interface PortService {
  receive(data: unknown): void
  /** The worker is gone (closed, exited or crashed). */
  closed(): void
}

/** A fresh handle (with its own port) for one worker; `serve` answers the worker's group members. */
export function createHandle(core: LogCore, onExit: (exit: WorkerExit) => void, serve?: (port: MessagePort) => PortService | undefined): SharedHandle {
  const { port1, port2 } = new MessageChannel()
  const laneToken = ++tokens
  let attachedLane = -1
  let clean = false
  const service = serve?.(port1)
  // the lane and the locks are found by the token, so a thread that dies before any message got
  // through is recovered too
  const watch = watchWorker(port1, () => {
    service?.closed()
    const { lane, released } = core.recoverLane(laneToken)
    const which = lane >= 0 ? lane : attachedLane // a clean close gave its lane back itself
    if (which >= 0 || released > 0) onExit({ lane: which, clean, recovered: released })
  })
  port1.onmessage = (event: MessageEvent) => {
    const data = event.data as { type?: string; lane?: number }
    if (data?.type === 'attached' && typeof data.lane === 'number') attachedLane = data.lane
    else if (data?.type === 'closed') {
      clean = true
      watch.closed()
    } else service?.receive(data)
  }
  unref(port1)
  const { liveness } = watch
  return {
    kind: 'ringbus/shared', memory: core.memory, module: core.module, layout: core.layout, laneToken, port: port2, liveness,
    transfer: liveness === undefined ? [port2] : [port2, liveness.port],
  }
}

/** Ports of the handles attached in this thread. */
const claimed = new WeakSet<object>()

/**
 * A handle attaches once: a second bus on it would share its lane (staging area and cursors)
 * and its port, and closing either would free what the other still uses. The port is the
 * handle's identity (it can only be transferred to one thread); the lane token guards the rest
 * (LogCore.attach refuses a token that holds a lane already).
 */
export function claimHandle(handle: BusHandle): void {
  if (typeof handle.port?.postMessage !== 'function' || (handle.liveness !== undefined && !isLiveness(handle.liveness))) throw notAHandle()
  if (claimed.has(handle.port)) {
    throw new BusError('this handle is attached already: a handle serves one bus in one thread; make a new one with bus.handle() for each', { argument: 'handle' })
  }
  claimed.add(handle.port)
}

/**
 * The worker side: `receive` gets what the creating thread sends besides the handshake (its
 * group coordinator's messages). The port stays unref'd: readers keep the thread alive, not it.
 */
export function listen(handle: SharedHandle, receive: (data: unknown) => void): void {
  handle.port.onmessage = (event: MessageEvent) => receive(event.data)
  unref(handle.port)
}

/**
 * The worker side: joins the core and tells the creating thread which lane it took. In a
 * browser it proves it is alive first, so that a lane it takes is never one nobody watches.
 */
export async function attachCore(handle: SharedHandle): Promise<LogCore> {
  const { memory, module, layout, laneToken } = handle
  if (!(memory instanceof WebAssembly.Memory) || !(module instanceof WebAssembly.Module) || typeof layout !== 'object' || layout === null ||
    !Number.isInteger(laneToken) || laneToken < 2) throw notAHandle()
  claimHandle(handle)
  if (handle.liveness !== undefined) await proveAlive(handle.liveness)
  const core = LogCore.attach(module, memory, layout, laneToken)
  try {
    handle.port.postMessage({ type: 'attached', lane: core.lane })
  } catch (error) {
    core.releaseLane()
    throw error
  }
  unref(handle.port)
  return core
}

/** The worker side, on close: says goodbye and closes the port. */
export function detachCore(handle: SharedHandle): void {
  handle.port.postMessage({ type: 'closed' })
  handle.port.close()
  stopProving(handle.liveness)
}

export const notAHandle = (): InvalidArgumentError =>
  new InvalidArgumentError('attachBus needs the object bus.handle() returned (posted to this thread with its transfer list)', { argument: 'handle' })
