import type { HistoryEntry } from './replica/history.js';
import type { PresenceCounts, PresenceEntry } from './replica/presence.js';

/**
 * The application-facing surface of replicated state, as ClusterNode exposes it
 * (`node.channels`). The HTTP API, the CLI and the dashboard use only this.
 * Every write is validated (channel name, sizes, counts) and throws ClusterError with
 * E_INVALID_ARGUMENT or E_LIMIT and a message naming the problem.
 */
export interface ChannelsApi {
  /** Connects `clientId` (on this node) to `channel` as `user`, or replaces its info. */
  join(channel: string, clientId: string, user: string, info?: unknown): PresenceView;
  /** Replaces the info of a client connected on this node; false when it is not connected here. */
  update(channel: string, clientId: string, info: unknown): boolean;
  /** Disconnects a client connected on this node; false when it was not connected here. */
  leave(channel: string, clientId: string): boolean;
  /** Everyone in `channel`, on any node, from this node's replica. */
  presence(channel: string): { clients: PresenceView[]; counts: PresenceCounts };
  /** Publishes to a channel's history; idempotent by `idempotencyKey` within a window. */
  publish(channel: string, data: unknown, options?: { headers?: Record<string, string>; idempotencyKey?: string }): PublishReceipt;
  /**
   * Reads history: the latest `limit` entries, or (with `after`) the entries following a
   * cursor. `complete` is false when entries the reader asked for are no longer held.
   */
  history(channel: string, options?: { limit?: number; after?: string }): HistoryView;
  /** Every channel with presence or history, with counts. */
  list(): ChannelSummary[];
}

/** A presence entry as applications see it. */
export interface PresenceView {
  clientId: string;
  user: string;
  info: unknown;
  /** The node the client is connected to. */
  node: string;
  /** When it joined: wall-clock milliseconds since the epoch. */
  since: number;
}

/** The answer to a publish. */
export interface PublishReceipt {
  /** Cluster-unique id of the entry (`node:epoch:seq`). */
  id: string;
  /** Cursor positioned at this entry (read `after` it to get what follows). */
  cursor: string;
  /** True when the idempotency key was seen recently and nothing new was stored. */
  duplicate: boolean;
}

/** A history entry as applications see it. */
export interface MessageView {
  id: string;
  /** Wall-clock milliseconds since the epoch (from the entry's HLC timestamp). */
  ts: number;
  node: string;
  data: unknown;
  headers: Record<string, string>;
  cursor: string;
}

/** A page of history. */
export interface HistoryView {
  messages: MessageView[];
  complete: boolean;
  /** Cursor to resume from (the last entry returned, or the one passed in). */
  cursor: string | undefined;
}

/** One channel in {@link ChannelsApi.list}. */
export interface ChannelSummary {
  channel: string;
  clients: number;
  users: number;
  messages: number;
}

/** Replication events ClusterNode emits (in addition to the membership events). */
export interface ChannelEvents extends Record<string, unknown> {
  'client-join': { channel: string; clientId: string; user: string; info: unknown; node: string };
  'client-update': { channel: string; clientId: string; user: string; info: unknown; node: string };
  'client-leave': { channel: string; clientId: string; user: string; info: unknown; node: string };
  /** A user's first connection in a channel. */
  'user-join': { channel: string; user: string };
  /** A user's last connection in a channel went away. */
  'user-leave': { channel: string; user: string };
  /**
   * A history entry was stored (published here or replicated). `entry` is the raw
   * replicated record: the daemon appends it to its history log and hands such records
   * back through `ClusterNodeOptions.restore` after a restart.
   */
  message: { channel: string; message: MessageView; entry: HistoryEntry };
  /** The node finished its initial catch-up (`ready` turned true). */
  ready: Record<string, never>;
}

/** Anti-entropy status, for `GET /v1/sync` and the dashboard. */
export interface SyncStatus {
  ready: boolean;
  /** This node's 8-byte digest, hex. */
  digest: string;
  /** Per peer: whether its last digest matched ours, and when (wall-clock ms since the epoch) we last heard its digest and finished a session with it. */
  peers: { name: string; inSync: boolean; lastDigestAt: number | undefined; lastSessionAt: number | undefined }[];
  sessions: { merkle: number; bulk: number; deltaCatchUps: number };
  bytes: { deltasOut: number; deltasIn: number; syncOut: number; syncIn: number };
}

export type { HistoryEntry, PresenceEntry, PresenceCounts };
