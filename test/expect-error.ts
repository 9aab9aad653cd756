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
