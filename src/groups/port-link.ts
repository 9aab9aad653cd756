// Group membership across threads on a shared bus. The coordinator lives in the creating thread;
// a worker's members talk to it over the worker's port: joins, changes and leaves go there,
// assignments and revocations come back. Records and commits never travel here: they are in the
// shared memory, where the member reads and commits them itself.
import { BusError } from '../errors.js'
import type { RebalanceEvent } from '../types.js'
import type { GroupCoordinator, MemberEndpoint } from './coordinator.js'
import type { CoordinatorLink, GroupMember } from './member.js'

/** What the worker's members send to the creating thread. */
export type ToCoordinator =
  | { type: 'group.join'; id: string; group: string; assignor: string; topics: string[]; requested: number }
  | { type: 'group.changed'; id: string; topics: string[]; requested: number }
  | { type: 'group.leave'; id: string; request: number }
  | { type: 'group.revoked'; id: string; request: number }

/** What the coordinator sends back. */
export type ToMember =
  | { type: 'group.assign'; id: string; topic: string; partition: number; generation: number }
  | { type: 'group.revoke'; id: string; topic: string; partition: number; request: number }
  | { type: 'group.rebalanced'; id: string; requested: number }
  | { type: 'group.left'; request: number }
  | { type: 'group.event'; event: RebalanceEvent }
  | { type: 'group.refused'; id: string; message: string }

export interface GroupPort {
  postMessage(message: unknown): void
}

export const isGroupMessage = (data: unknown): boolean =>
  typeof (data as { type?: unknown })?.type === 'string' && (data as { type: string }).type.startsWith('group.')

export interface PortLinkHost {
  /** The coordinator would not take the member: it is closed, and the reason reported. */
  refused(member: GroupMember, error: BusError): void
  /** A group of this thread's members rebalanced ('group.rebalance' here too). */
  rebalanced(event: RebalanceEvent): void
}

/** The worker's side: its members' link to the coordinator in the creating thread. */
export class PortLink implements CoordinatorLink {
  private readonly members = new Map<string, GroupMember>()
  private requests = 0
  private readonly leaving = new Map<number, () => void>()

  constructor(private readonly port: GroupPort, private readonly host: PortLinkHost) {}

  join(member: GroupMember): void {
    this.members.set(member.id, member)
    this.port.postMessage({ type: 'group.join', id: member.id, group: member.groupName, assignor: member.assignor, topics: member.subscribedTopics(), requested: member.requested } satisfies ToCoordinator)
  }

  changed(member: GroupMember): void {
    this.port.postMessage({ type: 'group.changed', id: member.id, topics: member.subscribedTopics(), requested: member.requested } satisfies ToCoordinator)
  }

  leave(member: GroupMember): Promise<void> {
    if (!this.members.delete(member.id)) return Promise.resolve()
    const request = ++this.requests
    return new Promise((resolve) => {
      this.leaving.set(request, resolve)
      this.port.postMessage({ type: 'group.leave', id: member.id, request } satisfies ToCoordinator)
    })
  }


  /** A message from the coordinator. */
  receive(message: ToMember): void {
    if (message.type === 'group.left') {
      this.leaving.get(message.request)?.()
      this.leaving.delete(message.request)
      return
    }
    if (message.type === 'group.event') return this.host.rebalanced(message.event)
    const member = this.members.get(message.id)
    if (member === undefined) return
    switch (message.type) {
      case 'group.assign':
        return member.assigned(message.topic, message.partition, message.generation)
      case 'group.revoke':
        void member.revoke(message.topic, message.partition).then(() => {
          this.port.postMessage({ type: 'group.revoked', id: member.id, request: message.request } satisfies ToCoordinator)
        })
        return
      case 'group.rebalanced':
        return member.rebalanced(message.requested)
      case 'group.refused':
        this.members.delete(member.id)
        return this.host.refused(member, new BusError(message.message, { argument: 'group' }))
    }
  }
}

/**
 * The creating thread's side of one worker's port: a proxy per member of that worker, joined to
 * the coordinator like a member of this thread. When the worker goes away (exit, crash) its
 * members leave at once: their partitions move, and what they had not committed is redelivered.
 */
export class PortServer {
  private readonly proxies = new Map<string, Proxy>()
  private requests = 0
  private readonly waiting = new Map<number, () => void>()

  constructor(private readonly port: GroupPort, private readonly coordinator: GroupCoordinator) {}

  receive(message: ToCoordinator): void {
    if (this.stopped) {
      // the creating bus closed: no group runs any more, but a worker's close still completes
      if (message.type === 'group.leave') this.send({ type: 'group.left', request: message.request })
      return
    }
    switch (message.type) {
      case 'group.join': {
        const proxy = new Proxy(this, message.id, message.group, message.assignor, message.topics)
        proxy.requested = message.requested
        try {
          this.coordinator.join(proxy)
          this.proxies.set(proxy.id, proxy)
        } catch (error) {
          this.send({ type: 'group.refused', id: message.id, message: (error as Error).message })
        }
        return
      }
      case 'group.changed': {
        const proxy = this.proxies.get(message.id)
        if (proxy === undefined) return
        proxy.topics = message.topics
        proxy.requested = message.requested
        return this.coordinator.changed(proxy)
      }
      case 'group.leave': {
        const proxy = this.proxies.get(message.id)
        this.proxies.delete(message.id)
        const left = proxy === undefined ? Promise.resolve() : this.coordinator.leave(proxy)
        void left.then(() => this.send({ type: 'group.left', request: message.request }))
        return
      }
      case 'group.revoked':
        this.waiting.get(message.request)?.()
        this.waiting.delete(message.request)
    }
  }

  /** A group rebalanced: the worker's bus says so too if one of its members is in it. */
  rebalanced(event: RebalanceEvent): void {
    for (const proxy of this.proxies.values()) {
      if (proxy.groupName === event.group) return this.send({ type: 'group.event', event })
    }
  }

  /** The worker is gone: its members leave, and revocations it owed are settled. */
  closed(): void {
    this.gone = true
    for (const proxy of this.proxies.values()) void this.coordinator.leave(proxy)
    this.proxies.clear()
    for (const done of this.waiting.values()) done()
    this.waiting.clear()
  }

  send(message: ToMember): void {
    if (!this.gone) this.port.postMessage(message)
  }

  private gone = false
  private stopped = false

  /** The creating bus closes. */
  stop(): void {
    this.stopped = true
    for (const done of this.waiting.values()) done()
    this.waiting.clear()
  }

  /** Asks the worker to give up a partition; resolves once it did (or is gone). */
  revoke(id: string, topic: string, partition: number): Promise<void> {
    if (!this.proxies.has(id)) return Promise.resolve()
    const request = ++this.requests
    return new Promise((resolve) => {
      this.waiting.set(request, resolve)
      this.send({ type: 'group.revoke', id, topic, partition, request })
    })
  }
}

class Proxy implements MemberEndpoint {
  requested = 0

  constructor(private readonly server: PortServer, readonly id: string, readonly groupName: string, readonly assignor: string, public topics: string[]) {}

  subscribedTopics(): string[] {
    return this.topics
  }

  assigned(topic: string, partition: number, generation: number): void {
    this.server.send({ type: 'group.assign', id: this.id, topic, partition, generation })
  }

  revoke(topic: string, partition: number): Promise<void> {
    return this.server.revoke(this.id, topic, partition)
  }

  rebalanced(requested: number): void {
    this.server.send({ type: 'group.rebalanced', id: this.id, requested })
  }
}
