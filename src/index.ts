// Public exports only.
export { createBus, attachBus, Bus, type AttachOptions, type WorkerBus } from './bus.js'
export type { BrokerApi, BusApi, TopicInfo, Transaction } from './api.js'
export type { Subscription, Unsubscribe, ConsumeOptions, ReadingApi } from './reader/surface.js'
export type { BusHandle, CopyHandle, SharedHandle, WorkerExit } from './worker/handle.js'
export { manualClock, realClock, type Clock, type ManualClock } from './clock.js'
export { jsonCodec, rawCodec, refCodec, msgpackCodec, type Codec, type CodecOption } from './codec/codecs.js'
export * as errors from './errors.js'
export { rangeAssignor, roundRobinAssignor, stickyAssignor, type Assignor, type AssignorMember, type Assignment, type TopicPartition } from './groups/assignors.js'
export { DLQ_HEADERS } from './groups/dead-letter.js'
export type { GroupLag } from './groups/groups.js'
export type { RedriveOptions } from './groups/redrive.js'
export type {
  BatchRecord, BusEvents, BusOptions, Headers, HandlerErrorEvent, Key, Matching, Message, GroupStats, PartitionStats,
  PoisonEvent, PublishOptions, RebalanceEvent, RecordMetadata, SeekTarget, SkippedEvent, StartPosition, Subscribable, SubscribeOptions,
  TopicMap, TopicName, TopicOptions, TopicStats, Binding, ConsumeQueueOptions, ExchangeOptions, ExchangeType, HeaderValue, QueueConsumer, QueueDelivery,
  QueueOptions, QueueStats, RequestOptions, SendOptions, SendResult,
} from './types.js'
