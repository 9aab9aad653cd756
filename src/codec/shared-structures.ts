// msgpack record structures that every thread can read. msgpackr writes a repeated object shape
// as a short record id once it knows the shape; on a shared bus the table of shapes lives in the
// log itself, in an internal topic per data topic whose latest record is the whole table. A thread
// that meets an unknown id reloads the table (msgpackr's getStructures); one that learns a new
// shape saves the table under a lock in the topic directory, and only if nobody saved a newer one
// since it loaded (msgpackr's isCompatible), the same protocol lmdb-js uses across processes.
import { Packr } from 'msgpackr'
import { INTERNAL_PREFIX } from '../core/directory.js'
import type { LogCore } from '../core/log.js'
import { FAITHFUL_MSGPACK, packrCodec, type RangeCodec } from './codecs.js'

export { INTERNAL_PREFIX } // the topic registry skips internal topics by it
const plain = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true })

class StructureStore {
  private id = -1

  constructor(private readonly core: LogCore, private readonly topic: number) {}

  private partition(create: boolean): number {
    if (this.id >= 0) return this.id
    const name = `${INTERNAL_PREFIX}structures.${this.topic}`
    let t = this.core.findTopic(name)
    if (t < 0 && create) t = this.core.declareTopic(name, 1, { maxBytes: 256 * 1024, maxAgeMs: 0, reject: false }, 0)
    if (t < 0) return -1
    const id = this.core.topic(t).ids[0]
    // the latest table is needed to decode every record of the topic still in the log: a full
    // pool must take blocks from data, not from it (its own cap drops only superseded tables)
    this.core.keepPartition(id)
    return (this.id = id)
  }

  /** The latest table, or undefined before any was saved. */
  load(): unknown[] | undefined {
    const id = this.partition(false)
    if (id < 0) return undefined
    const end = this.core.endOffset(id)
    if (end <= 0) return undefined
    return this.core.readValue(id, end - 1, (bytes) => plain.unpack(bytes) as unknown[])
  }

  save(structures: unknown[], isCompatible: (existing: unknown[] | undefined) => boolean): boolean {
    const id = this.partition(true)
    return this.core.withStructuresLock(this.topic, () => {
      if (!isCompatible(this.load())) return false
      this.core.appendValue(id, plain.pack([...structures]))
      return true
    })
  }
}

/** A msgpack codec whose record structures are shared through the log (for shared buses). */
export function sharedMsgpackCodec(core: LogCore, topic: number): RangeCodec {
  const store = new StructureStore(core, topic)
  const packr = new Packr({
    ...FAITHFUL_MSGPACK,
    getStructures: () => store.load(),
    saveStructures: (structures: unknown[], isCompatible: (existing: unknown[] | undefined) => boolean) => store.save(structures, isCompatible),
  } as unknown as ConstructorParameters<typeof Packr>[0])
  return packrCodec(packr)
}
