import type { HistorySnapshot } from './history.js';
import type { ReplicaLimits } from './limits.js';
import type { HistoryEntry, HistoryOptions } from './history.js';
import type { MerkleOptions } from '../summary/merkle.js';
import type { Delta } from './delta.js';
import type { EntryId } from './position.js';
import type { PresenceEvent } from './presence.js';
import type { WireVector } from '../summary/version-vector.js';

/** Options of a {@link Replica}. Everything but `node` and `epoch` must match across the cluster. */
export interface ReplicaOptions {
  /** This node's name (its origin id). */
  node: string;
  /** This node's boot incarnation; must grow on every restart (persist it). */
  epoch: number;
  /** Size limits. @default DEFAULT_LIMITS */
  limits?: ReplicaLimits;
  /** History retention. @default {} */
  history?: HistoryOptions;
  /** Merkle tree shape. @default { fanoutBits: 4, depth: 4 } */
  merkle?: MerkleOptions;
  /** Recent changes kept per origin to answer lagging peers. @default 1024 */
  ringSize?: number;
  /** Out-of-order changes buffered per origin while waiting for a gap to fill. @default 256 */
  maxPendingPerOrigin?: number;
}

/** Something that changed in the replica, for the application. */
export type ReplicaEvent = PresenceEvent | { type: 'message'; entry: HistoryEntry };

/** The result of a local change: the delta to send to peers (none when nothing changed) and local events. */
export interface LocalChange {
  delta: Delta | undefined;
  events: ReplicaEvent[];
}

/** The result of a local publish. */
export interface PublishResult extends LocalChange {
  /** The id of the stored entry (of the earlier one when `duplicate`). */
  id: EntryId;
  /** True when the idempotency key was seen recently: nothing new was stored or sent. */
  duplicate: boolean;
  /** The payload's encoded size, measured once when validated (0 for a duplicate). */
  payloadBytes: number;
}

/** The result of applying remote deltas. */
export interface ApplyResult {
  events: ReplicaEvent[];
  /** Changes applied (in order). */
  applied: number;
  /**
   * True when some deltas could not be applied yet (a gap before them) or were dropped
   * because the out-of-order buffer was full: ask a peer for catch-up.
   */
  gap: boolean;
  /** Deltas refused as malformed. */
  invalid: number;
}

/** What a replica can send a peer whose vector is `remote`. */
export interface MissingDeltas {
  /** The deltas, most-lagging origin first, each origin's in order without gaps. */
  deltas: Delta[];
  /** Upper bound of their encoded size. */
  bytes: number;
  /** True when the budget cut the answer short: ask again. */
  truncated: boolean;
  /** Origins the remote lags on that this replica's rings no longer cover: use Merkle repair. */
  unexplained: string[];
  /** True when the remote is ahead on some origin (or knows an epoch we do not): pull from it. */
  remoteAhead: boolean;
  /** True when we know a newer epoch of some origin than the remote but have no change of it to send. */
  epochsOnly: boolean;
}

/** What applying a peer's record did. 'stale': our state proves the peer's copy obsolete. */
export type RecordOutcome = 'applied' | 'unchanged' | 'stale';

/** The persisted form of a replica (history and version vector; presence is ephemeral). */
export interface ReplicaSnapshot {
  node: string;
  epoch: number;
  vector: WireVector;
  history: HistorySnapshot;
}
