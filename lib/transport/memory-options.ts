import { ClusterError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Random } from '../random.js';
import type { TransportLimits } from './transport.js';

/** How one direction of a link (or the whole network, by default) behaves. */
export interface LinkSettings {
  /** One-way delay in ms. @default 1 */
  latencyMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) ms per datagram or stream message. @default 0 */
  jitterMs?: number;
  /** Probability that a datagram is lost (streams are reliable and never lose). @default 0 */
  loss?: number;
}

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions extends LinkSettings {
  /** The virtual clock everything is scheduled on. @default new ManualClock() */
  clock?: Clock;
  /** Source of loss and jitter draws; the same seed replays the same run. @default new Random(1) */
  random?: Random;
  /** Limits of transports created without their own. @default the TransportLimits defaults */
  limits?: TransportLimits;
  /** Undelivered bytes a stream end may have in flight before `send` refuses. @default 4194304 (4 MiB) */
  streamHighWaterMark?: number;
  /** Datagrams queued per direction for a stalled node; more are dropped. @default 10000 */
  maxBacklog?: number;
}

/** Options of {@link MemoryNetwork.createTransport}. */
export interface MemoryTransportOptions {
  /** This transport's limits. @default the network's limits */
  limits?: TransportLimits;
}

/** Why the memory network dropped a datagram. */
export type DropReason =
  | 'loss'
  | 'partition'
  | 'blocked'
  | 'isolated'
  | 'oversize'
  | 'unknown'
  | 'closed'
  | 'backlog';

/** Counters for the whole memory network. */
export interface MemoryNetworkStats {
  /** Datagrams accepted by the network (including those it then lost). */
  packetsSent: number;
  /** Datagrams handed to a receiver. */
  packetsDelivered: number;
  /** Datagrams dropped, all reasons. */
  packetsDropped: number;
  /** Datagrams dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** Streams established. */
  streamsOpened: number;
  /** Dials refused (nobody listening, transport closed, maxInboundStreams reached). */
  streamsRefused: number;
  /** Streams broken by a partition, a block, an isolation or a crash. */
  streamsBroken: number;
  /** Stream messages carried. */
  streamMessages: number;
}

/** Throws E_CONFIG when a link setting is out of range. */
export function checkLink(settings: LinkSettings): void {
  const { latencyMs, jitterMs, loss } = settings;
  if (latencyMs !== undefined && !(latencyMs >= 0 && Number.isFinite(latencyMs))) {
    throw new ClusterError('E_CONFIG', `latencyMs must be a finite number >= 0, got ${latencyMs}`);
  }
  if (jitterMs !== undefined && !(jitterMs >= 0 && Number.isFinite(jitterMs))) {
    throw new ClusterError('E_CONFIG', `jitterMs must be a finite number >= 0, got ${jitterMs}`);
  }
  if (loss !== undefined && !(loss >= 0 && loss <= 1)) {
    throw new ClusterError('E_CONFIG', `loss must be a probability in [0, 1], got ${loss}`);
  }
}
