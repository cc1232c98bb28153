import type { HistoryEntry, HistoryGap } from '../replica/history.js';
import type { PresenceCounts, PresenceEntry } from '../replica/presence.js';

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
   * Reads history: the latest `limit` entries, or (with `after`, a cursor from an earlier
   * read, publish or subscription, from any node) every held entry the reader has not
   * been given, in order, each once, with the gaps: what it had not been given and is no
   * longer held. `after: 'start'` reads as a reader that was given nothing yet. A
   * malformed or foreign cursor throws E_BAD_CURSOR. See decision 0047.
   */
  history(channel: string, options?: { limit?: number; after?: string }): HistoryView;
  /**
   * Follows a channel: first every held entry the cursor has not been given (as
   * {@link history} with `after`), then each new one as it is stored, including entries
   * that arrive late behind others already delivered (after a partition heals), each
   * once; losses come as 'gap' items. Without a cursor, it starts with what is stored
   * from now on. Close it to stop.
   */
  subscribe(channel: string, onItem: (item: SubscriptionItem) => void, options?: { cursor?: string }): Subscription;
  /**
   * Checks, without reading anything, that `cursor` (or `'start'`) could be given to
   * {@link history} or {@link subscribe} for `channel`: a valid channel name and a cursor
   * that decodes for this cluster and channel. Throws the error they would throw
   * (E_INVALID_ARGUMENT for the channel, E_BAD_CURSOR).
   */
  checkCursor(channel: string, cursor: string): void;
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
  /** Cursor that has handled everything up to this entry (read `after` it to get what follows). */
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
  /** Its number among its origin epoch's messages in this channel (1, 2, 3…): what a gap's `from`/`to` count. */
  n: number;
}

/** A page of history. */
export interface HistoryView {
  messages: MessageView[];
  /** False when something the reader had not been given is no longer held: `gaps` says what. */
  complete: boolean;
  /** What the reader lost (empty when complete). */
  gaps: HistoryGap[];
  /** True when more held entries follow: read again with `cursor`. */
  more: boolean;
  /**
   * True when this node may not hold everything the reader is owed yet (it is catching up,
   * or an entry numbered before one returned is still on its way): a later read brings it.
   */
  pending: boolean;
  /** The reader's cursor after this page: resume from it, on any node. */
  cursor: string;
}

/** What a {@link ChannelsApi.subscribe} handler receives; `cursor` is the reader's cursor after the item. */
export type SubscriptionItem =
  | { type: 'message'; channel: string; message: MessageView; cursor: string }
  | { type: 'gap'; channel: string; gaps: HistoryGap[]; cursor: string };

/** A live subscription to one channel. */
export interface Subscription {
  /** The cursor after the last item handed over: resume from it on any node. */
  readonly cursor: string;
  /** Stops the subscription (idempotent). */
  close(): void;
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

export type { HistoryEntry, HistoryGap, PresenceEntry, PresenceCounts };
