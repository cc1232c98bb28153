/**
 * clusterd's public surface. Import from the package root only: everything else is
 * internal and may move.
 */
export { ClusterNode } from './node.js';
export type { ClusterNodeOptions, NodeStats } from './node.js';
export type { AppMessageHandler, AppMessages, AppMessagesOptions, AppMessageStats } from './app-messages.js';
export { ClusterError, isClusterError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { PROFILES, swimOptions } from './config.js';
export type { ProfileName, SwimOptions } from './config.js';
export { SystemClock, ManualClock } from './clock.js';
export type { Clock, Timer } from './clock.js';
export { Random } from './random.js';
export { Hlc } from './hlc.js';
export type { HlcTimestamp } from './hlc.js';
export { Keyring } from './codec/keyring.js';
export type { KeyringOptions } from './codec/keyring.js';
export { NetTransport } from './transport/net.js';
export type { NetTransportOptions } from './transport/net.js';
export { MemoryNetwork } from './transport/memory.js';
export type { Address, Stream, Transport, TransportStats } from './transport/transport.js';
export type { BrokerInfo, MemberInfo, MembershipEvents, SwimCounters } from './swim/membership.js';
export type { MemberState } from './swim/members.js';
export type { MemberExplanation, ObserverHealth, ProbeEvidence, ProbeKind, SuspicionEvidence, LiveSuspicion, HealthEvidence, RecordedEvidence } from './swim/evidence.js';
export type { NodeMeta } from './swim/meta.js';
export type {
  ChannelEvents,
  ChannelsApi,
  ChannelSummary,
  HistoryView,
  MessageView,
  PresenceView,
  PublishReceipt,
  SyncStatus,
} from './replication/channels.js';
export type { ReplicationOptions } from './replication/replicator.js';
