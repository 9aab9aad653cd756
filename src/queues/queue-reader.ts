// Reads queue messages out of their queue's log: one cursor per queue in this thread, moved to
// each message's offset (deliveries mostly come in offset order, so the move is short), and the
// frame decoded where the poll left it (the core's memory, or this thread's validated copy).
import { FRAME_HEADER } from '../core/abi.js'
import type { LogCore } from '../core/log.js'
import type { Codec } from '../codec/codecs.js'
import { decodeProperties, StringCache, type Properties } from './envelope.js'

export interface QueueMessage {
  timestamp: number
  routingKey: string
  properties: Properties
  /** The decoded value (read), or undefined (readBytes). */
  value: unknown
  /** A copy of the encoded value (readBytes), or undefined (read). */
  valueBytes: Uint8Array | undefined
}

export class QueueReader {
  /** Cursor slot by storage partition. */
  private readonly cursors = new Map<number, number>()
  private readonly keys = new StringCache()

  constructor(private readonly core: LogCore, private readonly codec: () => Codec) {}

  /** The message at `offset` of `partition` with its value decoded, or undefined when the log no longer holds it. */
  read(partition: number, offset: number): QueueMessage | undefined {
    return this.at(partition, offset, false)
  }

  /** The same with the value's bytes instead (to publish them again: a dead letter). */
  readBytes(partition: number, offset: number): QueueMessage | undefined {
    return this.at(partition, offset, true)
  }

  private at(partition: number, offset: number, bytes: boolean): QueueMessage | undefined {
    const core = this.core
    let slot = this.cursors.get(partition)
    if (slot === undefined) this.cursors.set(partition, (slot = core.openCursor(partition, offset)))
    else core.seekCursor(slot, offset)
    if (core.poll(slot, 1) !== 1 || core.polledOffset(0) !== offset) return undefined
    const source = core.polledSource
    const frame = core.polledFrame(0)
    const { headersLength, keyLength, valueLength, timestamp } = core.fields(frame, source)
    const at = frame - source.base + FRAME_HEADER
    const data = source.bytes
    const valueAt = at + headersLength + keyLength
    return {
      timestamp,
      properties: decodeProperties(data, at, at + headersLength),
      routingKey: this.keys.decode(data, at + headersLength, valueAt),
      value: bytes ? undefined : this.codec().decodeRange!(data, valueAt, valueAt + valueLength),
      valueBytes: bytes ? data.slice(valueAt, valueAt + valueLength) : undefined,
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
