// The tracing module alone: loading the optional peer, and what it does with headers it cannot use.
import * as api from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBus, errors } from '../../src/index.js'
import { loadTracing } from '../../src/tracing/tracing.js'
import { activeSpan, inSpan, installContextManager, spanContext } from './context.js'

let uninstall: () => void
beforeAll(() => { uninstall = installContextManager() })
afterAll(() => uninstall())

describe('loadTracing', () => {
  it('is off where @opentelemetry/api cannot be imported, and when told', async () => {
    expect(await loadTracing(undefined, async () => undefined)).toBeUndefined()
    expect(await loadTracing(true, async () => undefined)).toBeUndefined()
    expect(await loadTracing(false)).toBeUndefined()
    expect(await loadTracing(undefined)).toBeDefined() // installed here as a dev dependency
  })

  it('takes the API module itself, and refuses anything else', async () => {
    const tracing = (await loadTracing(api, async () => undefined))!
    const span = spanContext()
    expect(inSpan(span, () => tracing.inject(undefined))).toEqual({ traceparent: `00-${span.traceId}-${span.spanId}-01` })
    for (const bad of [{}, 1, 'otel', null, { context: {}, trace: {} }]) {
      await expect(loadTracing(bad as never)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'tracing' })
    }
    await expect(createBus({ tracing: 'on' as never })).rejects.toBeInstanceOf(errors.InvalidArgumentError)
  })
})

describe('Tracing', () => {
  it('runs a handler in its own context when the traceparent is missing, malformed or all zeros', async () => {
    const tracing = (await loadTracing(true))!
    const outer = spanContext()
    const seen: Array<string | undefined> = []
    const handler = tracing.wrap((m: { headers: Record<string, unknown> }) => { seen.push(activeSpan()?.spanId); return m })
    const bad = [{}, { traceparent: 42 }, { traceparent: 'garbage' }, { traceparent: `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      { traceparent: `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01` }, { traceparent: `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01` }]
    inSpan(outer, () => { for (const headers of bad) handler({ headers }) })
    expect(seen).toEqual(bad.map(() => outer.spanId))
  })

  it('returns what the handler returns, a promise included', async () => {
    const tracing = (await loadTracing(true))!
    const handler = tracing.wrap(async (m: { headers: Record<string, unknown> }) => activeSpan()?.spanId)
    const span = spanContext()
    await expect(handler({ headers: { traceparent: `00-${span.traceId}-${span.spanId}-01` } })).resolves.toBe(span.spanId)
  })
})
