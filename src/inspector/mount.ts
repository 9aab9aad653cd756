// The inspector inside a browser app: the same page as the server's, drawn into an element of
// the app's own document from snapshots of the bus taken right there.
import { InvalidArgumentError } from '../errors.js'
import { intervalOption, startPolling } from './poll.js'
import { createView } from './render.js'
import { checkBus, type InspectableBus } from './snapshot.js'

export interface MountOptions {
  /** How often to take a snapshot, in ms (default 500). */
  intervalMs?: number
}

/**
 * Draws the inspector into `element` and keeps it live; returns a function that stops it and
 * removes what it drew. It stops by itself, saying so, when the bus closes.
 * @example const unmount = mountInspector(bus, document.getElementById('inspector')!)
 */
export function mountInspector(bus: InspectableBus, element: HTMLElement, options: MountOptions = {}): () => void {
  checkBus(bus)
  if (typeof element !== 'object' || element === null || typeof (element as Partial<HTMLElement>).append !== 'function' || !(element as Partial<HTMLElement>).ownerDocument) {
    throw new InvalidArgumentError('mountInspector needs a DOM element to draw into', { argument: 'element' })
  }
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('mountInspector options must be an object', { argument: 'options' })
  const intervalMs = intervalOption(options.intervalMs)
  const view = createView(element)
  const poller = startPolling(bus, intervalMs, {
    snapshot: (s) => {
      view.render(s)
      view.status('Live.')
    },
    closed: () => view.status('The bus is closed.', true),
    failed: (error) => view.status(`A snapshot failed: ${error instanceof Error ? error.message : String(error)}`, true),
  })
  let mounted = true
  return () => {
    if (!mounted) return
    mounted = false
    poller.stop()
    view.destroy()
  }
}
