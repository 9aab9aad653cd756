// This thread's view of the topic directory. Topics are created in the directory the core keeps
// in (possibly shared) memory, so every thread agrees on names, partitions, retention and dedup
// window; the registry turns entries into Topic objects, notices topics and partitions other
// threads added, and tells the bus so that matching readers attach.
import type { Clock } from '../clock.js'
import { codecId, codecOption, resolveCodec, type Codec, type CodecOption } from '../codec/codecs.js'
import { INTERNAL_PREFIX, sharedMsgpackCodec } from '../codec/shared-structures.js'
import { TOPIC_CODEC_CUSTOM, TOPIC_CODEC_MSGPACK } from '../core/abi.js'
import type { LogCore } from '../core/log.js'
import { InvalidArgumentError } from '../errors.js'
import type { TopicOptions } from '../types.js'
import { validateTopicName } from './names.js'
import { Topic, resolveTopicOptions, type ResolvedTopicOptions } from './topic.js'

export interface RegistryOptions {
  topicDefaults?: TopicOptions
  /** Custom codecs of topics another thread declared, by topic name. */
  codecs?: Record<string, Codec>
}

export interface RegistryEvents {
  /** Partitions [from, topic.partitions) are new to this thread (from = 0 for a new topic). */
  grew(topic: Topic, from: number): void
  created(topic: Topic): void
}

export class TopicRegistry {
  /** User topics by name. */
  readonly byName = new Map<string, Topic>()
  /** Every directory entry this thread knows, by index (internal topics included). */
  private readonly adopted: Topic[] = []

  constructor(private readonly core: LogCore, private readonly clock: Clock, private readonly options: RegistryOptions,
    private readonly events: RegistryEvents) {}

  /** Declares a topic, or applies a new declaration to one that exists (here or in another thread). */
  declare(name: string, options: TopicOptions | undefined): Topic {
    validateTopicName(name)
    const resolved = resolveTopicOptions(options, this.options.topicDefaults)
    const existed = this.byName.get(name) ?? this.find(name)
    if (existed === undefined) return this.create(name, resolved)
    existed.reconfigure(resolved)
    this.sync()
    return existed
  }

  /**
   * The topic to publish to: known, found in the directory, or auto-created with the defaults.
   * Before it creates one, `check` is given a stand-in with the codec, partitions and record size
   * limit the new topic will have, so that a publish that would be rejected leaves no topic behind.
   */
  writable(name: string, check?: (stand: Topic) => void): Topic {
    const known = this.byName.get(name) ?? this.find(validateTopicName(name))
    if (known !== undefined) return known
    const resolved = resolveTopicOptions(undefined, this.options.topicDefaults)
    if (check !== undefined) {
      const entry = {
        index: -1, name, ids: new Array<number>(resolved.partitions).fill(-1), codec: codecId(resolved.codec), maxBytes: resolved.maxBytes, maxAgeMs: resolved.maxAgeMs,
        reject: resolved.onFull === 'reject', dedupWindowMs: resolved.dedupWindowMs, version: 0,
      }
      check(new Topic(entry, resolved, resolveCodec(resolved.codec), this.core, this.clock.now()))
    }
    return this.create(name, resolved)
  }

  private create(name: string, resolved: ResolvedTopicOptions): Topic {
    if (resolved.codec === 'ref' && this.core.shared) {
      throw new InvalidArgumentError(`codec 'ref' keeps values in one thread; a shared bus cannot use it (topic ${name})`, { topic: name, argument: 'codec' })
    }
    const config = { maxBytes: resolved.maxBytes, maxAgeMs: resolved.maxAgeMs, reject: resolved.onFull === 'reject', dedupWindowMs: resolved.dedupWindowMs }
    // finds the topic instead if another thread created it first
    const index = this.core.declareTopic(name, resolved.partitions, config, codecId(resolved.codec))
    this.sync({ name, codec: resolved.codec })
    return this.adopted[index]
  }

  private find(name: string): Topic | undefined {
    const index = this.core.findTopic(name)
    if (index < 0) return undefined
    this.sync()
    return this.adopted[index]
  }

  /** The topic at directory index `index` (any thread may have created it). */
  at(index: number): Topic {
    if (index >= this.adopted.length) this.sync()
    return this.adopted[index]
  }

  /** True when another thread created topics this thread has not seen yet. */
  behind(): boolean {
    return this.core.topicCount() !== this.adopted.length
  }

  /**
   * Catches up with the directory: topics created by any thread since the last call, and
   * partitions added to known ones. `created` carries the codec option of a topic this thread
   * just declared (a custom codec instance cannot be read from the directory).
   */
  sync(created?: { name: string; codec: CodecOption | undefined }): void {
    for (const topic of this.adopted) {
      const before = topic.refresh()
      if (before < topic.partitions && this.byName.has(topic.name)) this.events.grew(topic, before)
    }
    for (let index = this.adopted.length, count = this.core.topicCount(); index < count; index++) {
      const entry = this.core.topic(index)
      const option = codecOption(entry.codec) ?? (this.options.codecs !== undefined && Object.hasOwn(this.options.codecs, entry.name) ? this.options.codecs[entry.name] : undefined) ?? (created?.name === entry.name ? created.codec : undefined)
      const options: ResolvedTopicOptions = {
        partitions: entry.ids.length, maxBytes: entry.maxBytes, maxAgeMs: entry.maxAgeMs, onFull: entry.reject ? 'reject' : 'evict', codec: option,
        dedupWindowMs: entry.dedupWindowMs,
      }
      const topic = new Topic(entry, options, this.codecFor(entry.name, index, entry.codec, option), this.core, this.clock.now())
      this.adopted.push(topic)
      if (entry.name.startsWith(INTERNAL_PREFIX)) continue // the bus's own bookkeeping, not a user topic
      this.byName.set(entry.name, topic)
      this.events.grew(topic, 0)
      this.events.created(topic)
    }
  }

  private codecFor(name: string, index: number, id: number, option: CodecOption | undefined): Codec {
    // on a shared bus msgpack record structures are kept in the log, where every thread reads them
    if (this.core.shared && id === TOPIC_CODEC_MSGPACK) return sharedMsgpackCodec(this.core, index)
    if (option !== undefined || id !== TOPIC_CODEC_CUSTOM) return resolveCodec(option)
    // a custom codec declared by another thread: this thread must be given the same one
    const missing = (): never => {
      throw new TypeError(`topic ${name} uses a custom codec; pass it to this thread in options.codecs`)
    }
    return { name: 'custom (missing)', encode: missing, decode: missing }
  }
}
