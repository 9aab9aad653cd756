// Transactions: records derived from consumed ones, and the consumed positions, made visible
// together or not at all (Kafka's consume-transform-produce). Nothing reaches the log while the
// function runs: tx.publish only collects, and when the function returns the records go in with
// as few core calls as the staging area allows and the positions are committed right after. When
// the function throws, nothing was appended, so no reader ever sees a record of an aborted
// transaction (Kafka's read_committed, without markers to skip).
import { InvalidArgumentError } from '../errors.js'
import type { Publisher } from '../publish/publisher.js'
import type { PublishOptions, RecordMetadata } from '../types.js'
import type { PartitionRun } from './partition-run.js'

/** What a transaction function is given. */
export interface Transaction {
  /**
   * Adds a record to the transaction. Returns nothing: the record has no offset until the
   * transaction commits; bus.transaction() resolves to the coordinates of every record, in order.
   */
  publish(topic: string, value?: unknown, options?: PublishOptions): void
  /**
   * Commits the position after `message` (one a group member is handling) with the transaction.
   * Throws InvalidArgumentError when no member of this thread holds that message now.
   */
  commit(message: { topic: string; partition: number; offset: number }): void
}

export interface TransactionHost {
  readonly publisher: Publisher
  now(): number
  /** The partition run of this thread that is handling `message` now. */
  holder(message: { topic: string; partition: number; offset: number }): PartitionRun | undefined
}

export async function runTransaction(host: TransactionHost, fn: (tx: Transaction) => unknown): Promise<RecordMetadata[]> {
  if (typeof fn !== 'function') throw new InvalidArgumentError('transaction needs a function', { argument: 'fn' })
  const records: Array<{ topic: string; value: unknown; options: PublishOptions | undefined }> = []
  const commits = new Map<PartitionRun, number>()
  let open = true
  const live = (): void => {
    if (!open) throw new InvalidArgumentError('the transaction has ended: use tx only inside its function', { argument: 'tx' })
  }
  const tx: Transaction = {
    publish(topic, value, options) {
      live()
      if (typeof topic !== 'string') throw new InvalidArgumentError('tx.publish needs a topic name', { argument: 'topic' })
      records.push({ topic, value, options })
    },
    commit(message) {
      live()
      const run = typeof message === 'object' && message !== null ? host.holder(message) : undefined
      if (run === undefined) {
        throw new InvalidArgumentError('tx.commit takes a message a consumer-group member of this thread is handling now', { argument: 'message' })
      }
      commits.set(run, Math.max(commits.get(run) ?? 0, run.after(message)!))
    },
  }
  try {
    await fn(tx)
  } finally {
    open = false
  }
  // a member that lost its partition since cannot commit: then nothing is appended either
  for (const run of commits.keys()) {
    if (!run.owned()) throw new InvalidArgumentError(`the transaction cannot commit ${run.topic}/${run.partition}: a rebalance moved it to another member`, { topic: run.topic, partition: run.partition, argument: 'message' })
  }
  const appended = records.length === 0 ? [] : host.publisher.publishAll(records, host.now())
  for (const [run, offset] of commits) run.commit(offset)
  return appended
}
