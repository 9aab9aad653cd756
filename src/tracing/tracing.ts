// OpenTelemetry, when the application has it: `@opentelemetry/api` is an optional peer
// dependency. Where it loads, what publish() and send() put on the bus carries the W3C trace
// context of the span active there (`traceparent`, and `tracestate` when it has one), and every
// handler runs in a context whose parent is that span, so the spans it starts join the
// publisher's trace, in whichever thread it runs. Where it does not load, nothing changes.
import { InvalidArgumentError } from '../errors.js'

/** The part of `@opentelemetry/api` ringbus uses (declared here: the package is optional). */
export interface OpenTelemetryApi {
  context: {
    active(): unknown
    with<A extends unknown[], R>(context: unknown, fn: (...args: A) => R, thisArg?: unknown, ...args: A): R
  }
  trace: {
    getSpanContext(context: unknown): SpanContext | undefined
    setSpanContext(context: unknown, spanContext: SpanContext): unknown
    isSpanContextValid(spanContext: SpanContext): boolean
  }
  createTraceState?(raw?: string): { serialize(): string }
  /** The empty context: active wherever no span is (always, without a context manager). */
  ROOT_CONTEXT?: unknown
}

interface SpanContext {
  traceId: string
  spanId: string
  traceFlags: number
  isRemote?: boolean
  traceState?: { serialize(): string }
}

export const TRACEPARENT = 'traceparent'
export const TRACESTATE = 'tracestate'

/** version 00: trace id, parent span id, flags (lowercase hex; all-zero ids are invalid). */
const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

export class Tracing {
  constructor(private readonly api: OpenTelemetryApi) {}

  /**
   * `headers` with the active span's trace context added (a new object; the caller's is left
   * alone), or `headers` itself when no span is active or they carry a traceparent already (a
   * republished or redriven message keeps the trace it was first sent in).
   */
  inject<H extends Record<string, unknown>>(headers: H | undefined): H | undefined {
    if (headers !== undefined && headers[TRACEPARENT] !== undefined) return headers
    const active = this.api.context.active()
    if (active === this.api.ROOT_CONTEXT) return headers
    const span = this.api.trace.getSpanContext(active)
    if (span === undefined || !this.api.trace.isSpanContextValid(span)) return headers
    const out: Record<string, unknown> = { ...headers, [TRACEPARENT]: `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}` }
    const state = span.traceState?.serialize()
    if (state) out[TRACESTATE] = state
    return out as H
  }

  /** `handler`, run in the context of the span its message's traceparent names (when it names one). */
  wrap<M extends { readonly headers: Readonly<Record<string, unknown>> }, R>(handler: (message: M) => R): (message: M) => R {
    const { context, trace } = this.api
    return (message) => {
      const span = this.parent(message.headers)
      return span === undefined ? handler(message) : context.with(trace.setSpanContext(context.active(), span), handler, undefined, message)
    }
  }

  /** The remote span a message's headers name, or undefined (none, or not a valid traceparent). */
  private parent(headers: Readonly<Record<string, unknown>>): SpanContext | undefined {
    const traceparent = headers[TRACEPARENT]
    if (typeof traceparent !== 'string') return undefined
    const match = TRACEPARENT_FORMAT.exec(traceparent)
    if (match === null) return undefined
    const span: SpanContext = { traceId: match[1], spanId: match[2], traceFlags: parseInt(match[3], 16), isRemote: true }
    const state = headers[TRACESTATE]
    if (typeof state === 'string' && this.api.createTraceState !== undefined) span.traceState = this.api.createTraceState(state)
    return this.api.trace.isSpanContextValid(span) ? span : undefined
  }
}

/** BusOptions.tracing: on where `@opentelemetry/api` loads (the default), off, or this API object. */
export type TracingOption = boolean | OpenTelemetryApi

/** Per thread: `@opentelemetry/api` loaded once, or undefined where it is not installed. */
let loaded: Promise<OpenTelemetryApi | undefined> | undefined

/** Loads `@opentelemetry/api` unless told not to (or given it); undefined where it is not there. */
export async function loadTracing(option: TracingOption | undefined, load = importApi): Promise<Tracing | undefined> {
  if (option === false) return undefined
  if (option !== undefined && option !== true) {
    if (typeof option !== 'object' || option === null || typeof option.context?.with !== 'function' || typeof option.trace?.getSpanContext !== 'function') {
      throw new InvalidArgumentError('tracing must be a boolean or the @opentelemetry/api module', { argument: 'tracing' })
    }
    return new Tracing(option)
  }
  const api = await (load === importApi ? (loaded ??= load()) : load())
  return api === undefined ? undefined : new Tracing(api)
}

async function importApi(): Promise<OpenTelemetryApi | undefined> {
  // a variable specifier: bundlers leave the optional peer alone instead of failing without it
  const name = '@opentelemetry/api'
  try {
    const api = (await import(/* @vite-ignore */ name)) as OpenTelemetryApi & { default?: OpenTelemetryApi }
    return typeof api.context?.with === 'function' ? api : api.default
  } catch {
    return undefined
  }
}
