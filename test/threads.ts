// Helpers for tests that run real worker threads: the next message of a type from a worker,
// waiting until a condition holds, and threads that join a core directly under a lane token of
// their own.
import { Worker } from 'node:worker_threads'
import { afterEach } from 'vitest'
import type { LogCore } from '../src/core/log.js'

/** Resolves with the worker's next message of `type`; rejects if the worker fails first. */
export function nextMessage(worker: Worker, type: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => { if (m.type === type) { worker.off('message', onMessage); resolve(m) } }
    worker.on('message', onMessage)
    worker.once('error', reject)
  })
}

export { until } from './until.js'

/**
 * Registers an afterEach that terminates every thread the returned function started. Each
 * thread runs `fixture` on the core's memory under a lane token of its own (`worker.token`),
 * playing `role`.
 */
export function useCoreThreads(fixture: URL): (core: LogCore, role: string, data?: Record<string, unknown>) => Worker & { token: number } {
  const workers: Worker[] = []
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()))
  })
  let nextToken = 100
  return (core, role, data = {}) => {
    const token = nextToken++
    const worker = new Worker(fixture, { workerData: { module: core.module, memory: core.memory, layout: core.layout, token, role, ...data } })
    workers.push(worker)
    return Object.assign(worker, { token })
  }
}
