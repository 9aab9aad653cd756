// A synchronous OpenTelemetry context manager for tests (the SDK's async-hooks one is not a
// dependency): context.with() pushes, and pops when its function returns.
import { context, createTraceState, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager, type SpanContext } from '@opentelemetry/api'

class StackContextManager implements ContextManager {
  private stack: Context[] = []
  active(): Context { return this.stack[this.stack.length - 1] ?? ROOT_CONTEXT }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.stack.push(ctx)
    try {
      return fn.call(thisArg, ...args)
    } finally {
      this.stack.pop()
    }
  }
  bind<T>(_ctx: Context, target: T): T { return target }
  enable(): this { return this }
  disable(): this { this.stack = []; return this }
}

/** Installs the manager as OpenTelemetry's global one; returns what removes it. */
export function installContextManager(): () => void {
  context.setGlobalContextManager(new StackContextManager())
  return () => context.disable()
}

let next = 1
/** A fresh, valid, sampled span context (as a remote parent would be). */
export function spanContext(traceState?: string): SpanContext {
  const n = (next++).toString(16)
  return {
    traceId: n.padStart(32, 'a'), spanId: n.padStart(16, 'b'), traceFlags: TraceFlags.SAMPLED,
    ...(traceState === undefined ? {} : { traceState: createTraceState(traceState) }),
  }
}

/** Runs `fn` with `span` as the active span. */
export function inSpan<R>(span: SpanContext, fn: () => R): R {
  return context.with(trace.setSpanContext(context.active(), span), fn)
}

/** The span context active where this is called, if any. */
export const activeSpan = (): SpanContext | undefined => trace.getSpanContext(context.active())

export const traceparentOf = (span: SpanContext): string => `00-${span.traceId}-${span.spanId}-0${span.traceFlags}`
