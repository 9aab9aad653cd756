// Errors as they cross the copying transport's port: a ringbus error comes back as its class; a
// BusError whose class is not in errors.js (one a module defines for itself) still arrives as a
// BusError, with its name and context; anything else as a plain Error with its name.
import { describe, expect, it } from 'vitest'
import { errors } from '../../src/index.js'
import { AttemptTimeoutError } from '../../src/groups/partition-run.js'
import { fromWire, toWire } from '../../src/worker/copy-wire.js'

const across = (error: unknown): Error => fromWire(structuredClone(toWire(error)))

describe('errors over the port', () => {
  it('keep the class of errors.js, the BusError-ness of the others, and the name and context of all', () => {
    const known = across(new errors.InvalidArgumentError('bad', { argument: 'x' }))
    expect(known).toBeInstanceOf(errors.InvalidArgumentError)
    expect(known).toMatchObject({ message: 'bad', argument: 'x' })

    const own = across(new AttemptTimeoutError('too slow', { topic: 't', partition: 1, offset: 2 }))
    expect(own).toBeInstanceOf(errors.BusError)
    expect(own).toMatchObject({ name: 'AttemptTimeoutError', message: 'too slow', topic: 't', partition: 1, offset: 2 })

    class Custom extends Error { override name = 'Custom'; code = 7 }
    const user = across(new Custom('mine'))
    expect(user).not.toBeInstanceOf(errors.BusError)
    expect(user).toMatchObject({ name: 'Custom', message: 'mine', code: 7 })
    expect(across('just text')).toMatchObject({ name: 'Error', message: 'just text' })
  })
})
