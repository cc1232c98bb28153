import type { ChannelEvents, ChannelsApi, SyncStatus } from '../channels.js';
import { ClusterError } from '../errors.js';
import type { TypedEmitter } from '../events.js';
import type { ClusterNode } from '../node.js';

/** What the agent uses of ClusterNode's replication surface (lib/channels.ts). */
export interface ReplicationSurface {
  channels: ChannelsApi;
  channelEvents: TypedEmitter<ChannelEvents>;
  syncStatus(): SyncStatus;
  snapshot(): unknown;
}

/** Raised by routes that need replication while the node does not offer it (yet). */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
}

/**
 * The node's replication surface, or undefined when this build of ClusterNode has none.
 * Read structurally so that the agent works against runtimes with and without it.
 */
export function replicationOf(node: ClusterNode): ReplicationSurface | undefined {
  const n = node as unknown as Partial<ReplicationSurface>;
  if (n.channels === undefined || n.channelEvents === undefined || typeof n.syncStatus !== 'function') return undefined;
  return n as ReplicationSurface;
}

/** Like {@link replicationOf}, throwing NotReadyError when absent. */
export function requireReplication(node: ClusterNode): ReplicationSurface {
  const r = replicationOf(node);
  if (!r) throw new NotReadyError('replicated presence and history are not available in this node runtime');
  return r;
}

/** True once the node has caught up (always true for a runtime without replication). */
export function isReady(node: ClusterNode): boolean {
  const r = replicationOf(node);
  if (!r) return true;
  try {
    return r.syncStatus().ready;
  } catch {
    return false;
  }
}

/** ClusterError codes that describe a bad request rather than a server fault. */
export function isClientError(err: unknown): err is ClusterError {
  return err instanceof ClusterError && (err.code === 'E_INVALID_ARGUMENT' || err.code === 'E_LIMIT');
}
