// The transports the bus behaviour suite runs on (one vitest project each, which provides
// `transport`: in Node and in Chromium, where there is no process.env),
// and, in one place, what a transport cannot do and why. A test that needs such a thing says so
// with onlyWhere(need) and is skipped, with the reason in its name, where it cannot apply.
//
// The worker transports run the worker's side of the bus in the test's own thread: attachBus()
// with a handle of the creating bus, over shared memory or over the copying transport's port.
// That is the code a worker runs; the thread boundary itself (wake-ups, crashes) is tested in
// test/worker and test/torture.
import { inject, it } from 'vitest'

export type Transport = 'plain' | 'shared' | 'worker-shared' | 'worker-copy'

declare module 'vitest' {
  export interface ProvidedContext {
    transport: Transport
  }
}

export const TRANSPORT: Transport = inject('transport') ?? 'plain'

/** The log is in shared memory. */
export const SHARED = TRANSPORT === 'shared' || TRANSPORT === 'worker-shared'

const ALL: Transport[] = ['plain', 'shared', 'worker-shared', 'worker-copy']
const but = (...not: Transport[]): Transport[] => ALL.filter((t) => !not.includes(t))

/**
 * SharedArrayBuffer exists: always in Node; in a browser only in a cross-origin-isolated page.
 * Elsewhere `createBus({ shared: true })` makes an unshared bus.
 */
const SHARED_MEMORY = typeof SharedArrayBuffer === 'function'

/** What a test may need that not every transport (or page) has. */
const NEEDS = {
  syncAppend: { on: but('worker-copy'), why: 'a copying worker\'s records are appended by the creating thread at the end of the turn: publish returns offset -1, and what needs the record in the log at once (its offset, stats, clock-driven retention) sees it later' },
  syncRefusals: { on: but('worker-copy'), why: 'what only the log can refuse (its codec, its partitions, a full topic, the directory; an unknown exchange or queue, a redeclaration with other options, a mandatory message nothing takes) is refused in the creating thread later and reported on bus.events' },
  liveStats: { on: but('worker-copy'), why: "a copying worker's stats() is the creating thread's as of its last answer" },
  sameObjects: { on: but('worker-copy'), why: 'a copying worker receives copies, never the published objects themselves' },
  customCodecs: { on: but('worker-copy'), why: 'a custom codec cannot cross threads: it is declared where the bus was created' },
  assignments: { on: but('worker-copy'), why: "a copying worker's assignments() lists what the creating thread reported at subscribe and what was delivered since" },
  lifecycleEvents: { on: but('worker-copy'), why: "a copying worker's bus.events has 'error' and 'skipped' only" },
  core: { on: but('worker-copy'), why: "it reaches into the bus's core, and a copying worker has none" },
  groups: { on: ALL, why: 'every transport has consumer-group members (a copying worker\'s live in the creating thread)' },
  coordinatorHere: { on: ['plain', 'shared'], why: "the group coordinator is in the creating thread: a worker's member hears a refusal later, over its port, once its subscribe() has fixed the group's start" },
  assignorObjects: { on: ['plain', 'shared'], why: 'an assignor object cannot cross threads: it is given to a member in the creating thread, and a worker names it' },
  syncRouting: { on: but('worker-copy'), why: "a copying worker's send() is routed in the creating thread at the end of its turn: it returns { routed: [], refused: [] }, and bind()/unbind() return true (whether the binding existed is known there only)" },
  consumerHere: { on: but('worker-copy'), why: "a copying worker's queue consumers run in the creating thread, which may hand a consumer deliveries before the worker's cancel() reaches it: a noAck consumer's are then in flight, and lost with it (at most once)" },
  pull: { on: but('worker-copy'), why: "get() is a synchronous pull from the queue in this thread's memory, and a copying worker has none: it throws there (consume with a prefetch instead)" },
  plain: { on: ['plain'], why: "it needs a plain, unshared core (codec 'ref', decoding in place)" },
  shared: { on: ['shared', 'worker-shared'], why: 'it needs the log in shared memory' },
  sharedMemory: { on: SHARED_MEMORY ? ALL : [], why: 'it creates a bus with { shared: true }, and this page is not cross-origin isolated: without SharedArrayBuffer the bus is created unshared' },
} satisfies Record<string, { on: Transport[]; why: string }>

export type Need = keyof typeof NEEDS

/** Whether this transport has `need` (for a check inside a test that runs everywhere). */
export const can = (need: Need): boolean => (NEEDS[need].on as Transport[]).includes(TRANSPORT)

/** `it` where this transport has every one of `needs`; elsewhere a skipped test whose name says why. */
export function onlyWhere(...needs: [Need, ...Need[]]): (name: string, fn: () => unknown, timeout?: number) => void {
  const missing = needs.find((need) => !can(need))
  if (missing === undefined) return (name, fn, timeout) => it(name, fn, timeout)
  return (name, fn, timeout) => it.skipIf(true)(`${name} [not on ${TRANSPORT}: ${NEEDS[missing].why}]`, fn, timeout)
}
