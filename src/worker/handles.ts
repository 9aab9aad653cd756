// Which handle a worker gets: one on the shared memory when the bus has it, else (or when asked
// for) a copying one served by this thread. The bus supplies what the copying transport needs.
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import { createCopyHandle, type CopyOwner } from './copy-host.js'
import { createHandle, type BusHandle } from './handle.js'

export interface HandleOptions {
  /** 'shared' (the default on a shared bus) or 'copy' (the default otherwise). */
  transport?: 'shared' | 'copy'
}

export function createWorkerHandle(core: LogCore, options: HandleOptions | undefined, owner: CopyOwner): BusHandle {
  const transport = options?.transport ?? (core.shared ? 'shared' : 'copy')
  if (transport !== 'shared' && transport !== 'copy') throw new InvalidArgumentError(`transport must be 'shared' or 'copy', got ${String(transport)}`, { argument: 'transport' })
  if (transport === 'shared' && !core.shared) throw new InvalidArgumentError("transport 'shared' needs a bus created with { shared: true } where shared memory is available", { argument: 'transport' })
  return transport === 'shared' ? createHandle(core, owner.exit) : createCopyHandle(owner)
}
