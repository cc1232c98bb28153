/**
 * The internal surface: what clusterd's own daemon (lib/daemon), HTTP server (lib/http),
 * CLI (lib/cli), dashboard (lib/dashboard) and simulator (simulations/) use beyond the
 * public surface (lib/index.ts). Those folders import the library through here or
 * lib/index.ts only (ESLint enforces it), so what they depend on is one reviewed list.
 * Not a public API: not exported by the package, and it may change in any release.
 */
export * from './index.js';
// the replication messages must be registered before anything decodes a frame
import './codec/replication-messages.js';

export { Batcher } from './codec/batcher.js';
export { FrameDecoder, FrameEncoder } from './codec/frame.js';
export { decodeMessage } from './codec/messages.js';
export type { AnyMessage, MemberSnapshot, Message, PingMessage, PushPullMessage } from './codec/messages.js';
export { LimitedMsgpackDecoder, resolveMsgpackLimits } from './codec/msgpack-limits.js';
export { ownPayload } from './own-bytes.js';
export { hashString } from './random.js';
export { MAX_CURSOR_CHARS } from './replica/cursor.js';
export type { HistoryEntry, HistoryGap } from './replica/history.js';
export { DEFAULT_LIMITS, validateChannel } from './replica/limits.js';
export { comparePositions, positionOf } from './replica/position.js';
export type { Position } from './replica/position.js';
export { START_CURSOR } from './replication/channels-api.js';
export type { Channels } from './replication/channels-api.js';
export type { Subscription, SubscriptionItem } from './replication/channels.js';
export type { Replicator } from './replication/replicator.js';
export { NodeRuntime } from './runtime/node-runtime.js';
export type { NodeRuntimeInit } from './runtime/node-runtime.js';
export type { DataWire, StreamCodec } from './runtime/wire.js';
export type { MessageBuffer } from './swim/broadcasts.js';
export { EvidenceLog } from './swim/evidence.js';
export type { ProbeRecord } from './swim/evidence.js';
export { MemberIndex, SharedMembers } from './swim/members.js';
export type { Membership, SwimOutbound } from './swim/membership.js';
export { encodeMeta, validateMeta } from './swim/meta.js';
export { piggybackMessages, seedMembers, seedShared } from './swim/simulator-access.js';
export { suspicionMinTimeout } from './swim/suspicion.js';
export { parseAddress } from './transport/address.js';
export type { NetTransportStats } from './transport/net-stats.js';
export type { PacketHandler } from './transport/transport.js';
