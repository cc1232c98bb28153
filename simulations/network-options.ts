import type { DataWire, MemberInfo, MembershipEvents, NodeRuntime, NodeRuntimeInit, ProfileName, SwimOptions } from '../lib/internal.js';
import type { SimNode } from './sim-node.js';

/** Latency and loss of a link (or of the whole network). */
export interface LinkProfile {
  /** One-way delay in ms. @default 1 */
  latencyMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per datagram. @default 0 */
  jitterMs: number;
  /** Probability that a datagram (a frame) is lost. Streams are reliable. @default 0 */
  loss: number;
}

/** Construction options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** The one seed of the run: same seed and same calls give the same run. @default 1 */
  seed?: number;
  /** Membership profile. @default 'lan' */
  profile?: ProfileName;
  /** Overrides of the profile's options. @default {} */
  swim?: Partial<SwimOptions>;
  /** Global one-way latency in ms. @default 1 */
  latencyMs?: number;
  /** Global jitter in ms. @default 0 */
  jitterMs?: number;
  /** Global datagram loss probability. @default 0 */
  loss?: number;
  /** Non-urgent messages wait this long for company before their frame leaves (the runtime's batch window). @default 100 */
  batchWindowMs?: number;
  /** Bytes of piggybacked gossip per frame (a 1,400-byte datagram minus frame overhead). @default 1200 */
  piggybackBudget?: number;
  /**
   * What a stalled node does first when it wakes: `timers-first` runs its overdue timers
   * before it reads the datagrams that queued up meanwhile, as Node's event loop does
   * (timers phase, then poll); `arrival` replays everything in arrival order.
   * @default 'timers-first'
   */
  stallOrder?: 'timers-first' | 'arrival';
  /** Record every membership event as a line in {@link SimNetwork.log}. @default false */
  trace?: boolean;
}

/** Options of {@link SimNetwork.add}. */
export interface AddOptions {
  /** Encoded metadata. @default empty */
  meta?: Uint8Array;
  /** Starting incarnation. @default 0 */
  incarnation?: number;
  /** Names of nodes to join through (push-pull). @default [] */
  join?: string[];
  /** Do not call `start()` (the caller will). @default false */
  noStart?: boolean;
  /** Region of the node (see {@link SimNetwork.setRegion}). @default -1 (none) */
  region?: number;
}

/** How a booting process replicates (see {@link SimNetwork.replication}). */
export interface SimReplicationPlan {
  init: Pick<NodeRuntimeInit, 'replica' | 'restore' | 'replicationRandom' | 'codec' | 'flushIntervalMs'>;
  data: DataWire;
  /** Called with the runtime once built (before it starts). */
  created(rt: NodeRuntime): void;
}

/** A membership event as seen by one observer. */
export type MemberEventListener = (type: keyof MembershipEvents, observer: SimNode, info: MemberInfo) => void;
