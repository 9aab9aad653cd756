// Which handle a worker gets: one on the shared memory when the bus has it, else (or when asked
// for) a copying one served by this thread. The bus supplies what the copying transport needs.
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import { createCopyHandle, type CopyOwner } from './copy-host.js'
import { createHandle, type BusHandle, type PortService } from './handle.js'

export interface HandleOptions {
  /** 'shared' (the default on a shared bus) or 'copy' (the default otherwise). */
  transport?: 'shared' | 'copy'
}

/** What the bus supplies for its workers: the copying transport's calls, and its group coordinator's service. */
export interface HandleOwner extends CopyOwner {
  serve(port: MessagePort): PortService | undefined
}

export function createWorkerHandle(core: LogCore, options: HandleOptions | undefined, owner: HandleOwner): BusHandle {
  const transport = options?.transport ?? (core.shared ? 'shared' : 'copy')
  if (transport !== 'shared' && transport !== 'copy') throw new InvalidArgumentError(`transport must be 'shared' or 'copy', got ${String(transport)}`, { argument: 'transport' })
  if (transport === 'shared' && !core.shared) throw new InvalidArgumentError("transport 'shared' needs a bus created with { shared: true } where shared memory is available", { argument: 'transport' })
  return transport === 'shared' ? createHandle(core, owner.exit, (port) => owner.serve(port)) : createCopyHandle(owner)
}
