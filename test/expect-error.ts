// The error a call throws, for tests that look at its fields; fails the test when it throws none.
import type { errors } from '../src/index.js'

export function errorOf(fn: () => unknown): errors.BusError {
  try {
    fn()
  } catch (error) {
    return error as errors.BusError
  }
  throw new Error('expected an error')
}

/** Expects `fn` to throw an error of `type`, carrying `context` when given. */
export function expectError(fn: () => unknown, type: abstract new (...args: any[]) => errors.BusError, context?: Record<string, unknown>): void {
  const error = errorOf(fn)
  if (!(error instanceof type)) throw new Error(`expected a ${type.name}, got ${(error as Error)?.name}: ${(error as Error)?.message}`)
  if (context !== undefined) {
    for (const [k, v] of Object.entries(context)) {
      if ((error as unknown as Record<string, unknown>)[k] !== v) throw new Error(`expected ${k} ${JSON.stringify(v)} on the ${type.name}, got ${JSON.stringify((error as unknown as Record<string, unknown>)[k])}`)
    }
  }
}
