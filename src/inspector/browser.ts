// ringbus/inspector in browsers: mountInspector and the snapshots it draws; nothing of Node.
export { mountInspector, type MountOptions } from './mount.js'
export {
  snapshot, type BindingView, type DeadLetterTopicView, type DeadLetterView, type ExchangeView, type GroupPartitionView, type GroupView, type InspectableBus,
  type InspectorSnapshot, type QueueView, type Rate, type RateHistory, type TopicView,
} from './snapshot.js'
