import type { Clock } from '../clock.js';
import type { SwimOptions } from '../config.js';
import type { Message, PingMessage, PushPullMessage } from '../codec/messages.js';
import type { Random } from '../random.js';
import type { Address } from '../transport/transport.js';
import type { EvidenceLog } from './evidence.js';
import type { MemberState } from './members.js';
import type { NodeMeta } from './meta.js';

// The public types of the membership layer: what Membership takes, emits and reports.

/**
 * Everything the membership state machine needs from the outside world. The runtime
 * implements it with the batcher and a real or in-memory transport; unit tests with
 * a recorder. All callbacks may be invoked synchronously or later.
 */
export interface SwimOutbound {
  /** Sends `msg`; `urgent` (pings, acks) goes out at once carrying queued gossip. */
  send(to: Address, msg: Message, urgent: boolean): void;
  /** Sends a frame carrying only piggybacked broadcasts to `to`. */
  gossip(to: Address): void;
  /** Full-state exchange over a stream; `done` gets the reply or an error. */
  pushPull(to: Address, msg: PushPullMessage, done: (reply: PushPullMessage | undefined, err?: Error) => void): void;
  /** A ping over a stream (fallback when datagrams are lost); `done(true)` when acked. */
  streamPing(to: Address, ping: PingMessage, done: (ok: boolean) => void): void;
}

/** A member as reported to applications. */
export interface MemberInfo {
  name: string;
  address: Address;
  state: MemberState;
  incarnation: number;
  meta: NodeMeta;
  /** Round-trip time of the last direct probe, in ms (undefined when never probed). */
  rttMs: number | undefined;
  /** Milliseconds since the member entered its current state. */
  sinceMs: number;
}

/** A broker as listed by {@link Membership.brokers}. */
export interface BrokerInfo {
  name: string;
  address: Address;
  endpoints: Record<string, string>;
  load: Record<string, number>;
  tags: Record<string, string>;
}

/** The typed events of the membership layer. */
export interface MembershipEvents extends Record<string, unknown> {
  'member-join': MemberInfo;
  'member-update': MemberInfo;
  'member-suspect': MemberInfo;
  /** A suspected member refuted the suspicion. */
  'member-alive': MemberInfo;
  'member-dead': MemberInfo;
  'member-leave': MemberInfo;
  'member-reaped': MemberInfo;
  'brokers-changed': BrokerInfo[];
  'health-changed': { score: number };
  /** Two live nodes claim one name: `address` is the other claimant. */
  'name-conflict': { name: string; address: Address; local: boolean };
}

/** Protocol counters, for metrics and tests. */
export interface SwimCounters {
  probes: number;
  acks: number;
  probeFailures: number;
  indirectProbes: number;
  indirectProbesServed: number;
  nacksSent: number;
  nacksReceived: number;
  streamPings: number;
  suspicions: number;
  confirmations: number;
  deaths: number;
  refutations: number;
  pushPulls: number;
  pushPullFailures: number;
  gossipRounds: number;
  misdirectedPings: number;
  rejectedMembers: number;
  nameConflicts: number;
  /** Death certificates gossiped about a member we had no doubt of, verified by a probe before accepting them (decision 0050). */
  certificatesVerified: number;
  /** Of those, certificates the member's answer disproved (not accepted, not relayed). */
  certificatesRefused: number;
}

/** Construction parameters of {@link Membership}. */
export interface MembershipInit {
  /** This node's unique name. */
  name: string;
  /** The address peers reach us at (the advertised one). */
  address: Address;
  /** Encoded metadata (see encodeMeta). @default empty metadata */
  meta?: Uint8Array;
  /** Starting incarnation: persisted value + 1 after a restart. @default 0 */
  incarnation?: number;
  options: SwimOptions;
  clock: Clock;
  random: Random;
  out: SwimOutbound;
  /**
   * Bytes to attach to every ack this node sends (the replica's vector digest), or
   * undefined for none. Called once per ack: keep it O(1). @default undefined
   */
  ackPayload?: () => Uint8Array | undefined;
  /** Called with the probed member's name when an ack of one of our probes carries a payload. @default undefined */
  onAckPayload?: (member: string, payload: Uint8Array) => void;
  /**
   * Keep per-member failure-detection evidence (probe outcomes, suspicions, deaths,
   * health changes) for {@link Membership.explain}: a fixed ring per member (see
   * evidence.ts). The daemon keeps it; a simulator of thousands of nodes need not. An
   * EvidenceLog given here is used as is (benchmarks fill one directly).
   * @default false
   */
  evidence?: boolean | EvidenceLog;
  /**
   * Called once a message handled here (a `dead` about this node from another, or a
   * push-pull listing it dead) declared this node dead at its incarnation or above, after
   * the refutation raised it: `incarnation` is the new one. The others dropped what this
   * node had announced (presence, broker lists), so the runtime re-announces it under a
   * new epoch (foca's `Notification::Defunct`). Never called once the node is leaving.
   * @default undefined
   */
  onDefunct?: (incarnation: number) => void;
}
