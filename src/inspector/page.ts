// The served page's script: draws each snapshot the server streams (server-sent events).
import { createView } from './render.js'

const view = createView(document.getElementById('inspector')!)
const events = new EventSource('events')
events.addEventListener('snapshot', (event) => {
  view.render(JSON.parse((event as MessageEvent<string>).data))
  view.status('Live.')
})
events.addEventListener('failed', (event) => view.status(`A snapshot failed: ${(event as MessageEvent<string>).data}`, true))
events.addEventListener('closed', () => {
  view.status('The bus is closed.', true)
  events.close()
})
events.addEventListener('error', () => {
  if (events.readyState !== EventSource.CLOSED) view.status('Disconnected from the inspector; trying again…', true)
})
