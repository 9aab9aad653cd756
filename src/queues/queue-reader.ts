// Reads queue messages out of their queue's log: one cursor per queue in this thread, moved to
// each message's offset (deliveries mostly come in offset order, so the move is short), and the
// frame decoded where the poll left it (the core's memory, or this thread's validated copy).
import { FRAME_HEADER } from '../core/abi.js'
import type { LogCore } from '../core/log.js'
import type { Codec } from '../codec/codecs.js'
import { decodeProperties, StringCache, type Properties } from './envelope.js'

/** The messages of one poll whose values are still to decode: where each value lies in `data`. */
interface Run {
  first: number
  values: number[]
  data?: Uint8Array
  shared?: boolean
}

/** Records read per poll when reading a consumer's batch. */
const POLL_RUN = 256

export interface QueueMessage {
  timestamp: number
  routingKey: string
  properties: Properties
  /** The decoded value (readAll), or undefined (readBytes). */
  value: unknown
  /** A copy of the encoded value (readBytes), or undefined (readAll). */
  valueBytes: Uint8Array | undefined
}

export class QueueReader {
  /** Cursor slot by storage partition. */
  private readonly cursors = new Map<number, number>()
  private readonly keys = new StringCache()

  constructor(private readonly core: LogCore, private readonly codec: () => Codec) {}

  /** The message at `offset` of `partition` with its value's bytes, not decoded (to publish them again: a dead letter), or undefined when the log no longer holds it. */
  readBytes(partition: number, offset: number): QueueMessage | undefined {
    if (this.poll(partition, offset, 1) !== 1 || this.core.polledOffset(0) !== offset) return undefined
    const run: Run = { first: 0, values: [] }
    const message = this.decodeFrame(0, run)
    message.valueBytes = run.data!.slice(run.values[0], run.values[1])
    return message
  }

  /**
   * The messages at `offsets` (ascending, as a consumer's deliveries mostly are), each decoded, or
   * undefined where the log no longer holds one: one poll per run of a segment instead of one per
   * message, everything decoded before the caller runs any handler (which could poll too).
   */
  readAll(partition: number, offsets: ReadonlyArray<{ offset: number }>): Array<QueueMessage | undefined> {
    const core = this.core
    const out: Array<QueueMessage | undefined> = []
    const run: Run = { first: out.length, values: [] }
    let polled = 0
    let at = 0
    for (const { offset } of offsets) {
      // skip the polled records before it (other consumers' messages)
      while (at < polled && core.polledOffset(at) < offset) at++
      if (at >= polled || core.polledOffset(at) !== offset) {
        this.decodeValues(out, run)
        polled = this.poll(partition, offset, POLL_RUN)
        at = 0
        if (polled <= 0 || core.polledOffset(0) !== offset) {
          polled = 0
          out.push(undefined)
          continue
        }
      }
      out.push(this.decodeFrame(at, run))
      at++
    }
    this.decodeValues(out, run)
    return out
  }

  /** The i-th record of the last poll without its value, whose place goes into `run`. */
  private decodeFrame(i: number, run: Run): QueueMessage {
    const core = this.core
    const source = core.polledSource
    const frame = core.polledFrame(i)
    const { headersLength, keyLength, valueLength, timestamp } = core.fields(frame, source)
    const at = frame - source.base + FRAME_HEADER
    const data = source.bytes
    const valueAt = at + headersLength + keyLength
    if (run.values.length === 0) {
      run.data = data
      run.shared = source.view !== undefined
    }
    run.values.push(valueAt, valueAt + valueLength)
    return { timestamp, properties: decodeProperties(data, at, at + headersLength), routingKey: this.keys.decode(data, at + headersLength, valueAt), value: undefined, valueBytes: undefined }
  }

  /**
   * Decodes the values of the run's messages (out[run.first ...]). Decoding may poll (a shared
   * bus's codec loading record structures), which replaces a shared poll's copy: those values are
   * copied out first, in one piece. A plain core's frames are decoded where they are.
   */
  private decodeValues(out: Array<QueueMessage | undefined>, run: Run): void {
    const values = run.values
    if (values.length > 0) {
      const codec = this.codec()
      let data = run.data!
      let shift = 0
      if (run.shared) {
        shift = values[0]
        data = data.slice(values[0], values[values.length - 1])
      }
      let k = 0
      for (let i = run.first; i < out.length; i++) {
        const message = out[i]
        if (message === undefined) continue
        message.value = codec.decodeRange!(data, values[k] - shift, values[k + 1] - shift)
        k += 2
      }
    }
    run.first = out.length
    run.values = []
    run.data = undefined
  }

  /** Moves this thread's cursor of `partition` to `offset` and polls up to `max` records. */
  private poll(partition: number, offset: number, max: number): number {
    const core = this.core
    let slot = this.cursors.get(partition)
    if (slot === undefined) this.cursors.set(partition, (slot = core.openCursor(partition, offset)))
    else core.seekCursor(slot, offset)
    return core.poll(slot, max)
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
