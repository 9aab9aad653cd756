// Reads queue messages out of their queue's log: one cursor per queue in this thread, moved to
// each message's offset (deliveries mostly come in offset order, so the move is short), and the
// frame's routing key, properties and value copied out.
import { FRAME_HEADER } from '../core/abi.js'
import type { LogCore } from '../core/log.js'

export interface QueueFrame {
  timestamp: number
  key: Uint8Array
  headers: Uint8Array
  value: Uint8Array
}

export class QueueReader {
  /** Cursor slot by storage partition. */
  private readonly cursors = new Map<number, number>()

  constructor(private readonly core: LogCore) {}

  /** The message at `offset` of `partition`, or undefined when the log no longer holds it. */
  read(partition: number, offset: number): QueueFrame | undefined {
    const core = this.core
    let slot = this.cursors.get(partition)
    if (slot === undefined) this.cursors.set(partition, (slot = core.openCursor(partition, offset)))
    else core.seekCursor(slot, offset)
    if (core.poll(slot, 1) !== 1 || core.polledOffset(0) !== offset) return undefined
    const source = core.polledSource
    const frame = core.polledFrame(0)
    const { headersLength, keyLength, valueLength, timestamp } = core.fields(frame, source)
    const at = frame + FRAME_HEADER
    return {
      timestamp,
      headers: core.keep(source, at, headersLength),
      key: core.keep(source, at + headersLength, keyLength),
      value: core.keep(source, at + headersLength + keyLength, valueLength),
    }
  }

  /** A deleted queue's partition may serve another queue later: forget its cursor. */
  forget(partition: number): void {
    const slot = this.cursors.get(partition)
    if (slot === undefined) return
    this.core.closeCursor(slot)
    this.cursors.delete(partition)
  }

  close(): void {
    for (const slot of this.cursors.values()) this.core.closeCursor(slot)
    this.cursors.clear()
  }
}
