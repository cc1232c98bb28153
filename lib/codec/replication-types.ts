import type { HlcTimestamp } from '../hlc.js';
import type { WireVector } from '../summary/version-vector.js';

// The types of replicated state as it crosses the wire: deltas, history entries, presence
// entries, drop summaries, sync records and the anti-entropy messages. They live here,
// below replica/ and sync/, so that the codec (replication-messages.ts) depends on no
// layer above it; replica/ and sync/ re-export them where they were defined before.

/**
 * The cluster-unique id of a history entry: its origin node, the origin's epoch (boot
 * incarnation) and the origin's sequence number within that epoch. The epoch is part of
 * the id so that the sequence counter need not be persisted: a restarted node begins a
 * new epoch at seq 1 and can never reuse an id (docs/decisions/0020).
 */
export interface EntryId {
  node: string;
  epoch: number;
  seq: number;
}

/**
 * Where an entry sits in its channel's total order: (ts, node, epoch, seq). The HLC
 * timestamp leads so that the order follows time; the id breaks ties identically on
 * every replica.
 */
export interface Position extends EntryId {
  ts: HlcTimestamp;
}

/** Fields every change carries: its origin and the origin's (epoch, seq). */
export interface DeltaBase {
  node: string;
  epoch: number;
  seq: number;
}

/** A client joined a channel on `node`, or its info changed (same shape: an upsert). */
export interface PresenceSetDelta extends DeltaBase {
  kind: 'join' | 'update';
  channel: string;
  clientId: string;
  user: string;
  info: unknown;
  since: HlcTimestamp;
}

/** A client left a channel on `node`. */
export interface PresenceLeaveDelta extends DeltaBase {
  kind: 'leave';
  channel: string;
  clientId: string;
}

/** A message was published to a channel's history on `node`. */
export interface PublishDelta extends DeltaBase {
  kind: 'publish';
  channel: string;
  ts: HlcTimestamp;
  /** The entry's number among this origin epoch's publishes to the channel (HistoryEntry.c). */
  c: number;
  data: unknown;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

/**
 * One change of replicated state. Every local change of a node takes the next sequence
 * number of its origin, whatever its kind, so one contiguous counter per origin says
 * exactly what a replica has applied.
 */
export type Delta = PresenceSetDelta | PresenceLeaveDelta | PublishDelta;

/** A history entry: its position (ts + id), channel, payload and optional metadata. */
export interface HistoryEntry extends Position {
  channel: string;
  /**
   * The entry's number among its origin epoch's entries in this channel: 1, 2, 3… in
   * publish order. Readers' cursors count on it (decision 0047); 0 on entries written
   * before it existed.
   */
  c: number;
  /** Bytes or any msgpack value. */
  data: unknown;
  headers?: Record<string, string>;
  /** Client-chosen key: a publish that repeats a recent key is not stored twice. */
  idempotencyKey?: string;
}

/**
 * What a channel no longer holds, per origin epoch: the counter `c` (see
 * {@link HistoryEntry.c}) and position of the newest entry of that origin epoch the
 * channel dropped (evicted by the cap, expired, or refused below the low-water mark).
 * Within one origin epoch positions grow with `c` and drops remove a prefix of the
 * order, so "every entry of (node, epoch) up to `c` is gone" is exact.
 */
export interface DropRecord extends Position {
  /** Counter of the newest dropped entry of this origin epoch. */
  c: number;
}

/** The wire and snapshot form: records plus the horizon. */
export interface DropsWire {
  records: DropRecord[];
  horizon?: Position;
}

/**
 * One connected client in one channel, as replicated. `node` (with `epoch` and `seq`,
 * the origin change that wrote it) is the only node allowed to write it.
 */
export interface PresenceEntry {
  channel: string;
  clientId: string;
  /** The user the client belongs to; several clients (tabs, devices) may share one. */
  user: string;
  /** Application data (any msgpack value), size-limited. */
  info: unknown;
  /** The node the client is connected to. */
  node: string;
  /** That node's epoch when it wrote this version. */
  epoch: number;
  /** That node's sequence number of the change that wrote this version. */
  seq: number;
  /** When the client joined (HLC timestamp of the origin). */
  since: number;
}

/** A replicated record, as the Merkle exchange and the bulk stream carry it. */
export type SyncRecord =
  | { kind: 'presence'; entry: PresenceEntry }
  | { kind: 'history'; entry: HistoryEntry }
  | { kind: 'low-water'; channel: string; mark: Position; drops?: DropsWire };

/** A replica's knowledge beyond its records, exchanged at the start of Merkle sessions and bulk streams. */
export interface SyncContext {
  vector: WireVector;
  /** Presence floors (see {@link Replica.restore}) as [node, epoch, seq]. */
  floors?: WireVector;
}

/**
 * The answer to a {@link VectorRequest} (or a push of deltas the other way). Flags are
 * present only when true: a catch-up answer is the deltas plus a handful of bytes.
 */
export interface DeltaReply {
  deltas: Delta[];
  /** The budget cut the answer short: ask again. */
  truncated?: true;
  /** Some of what the requester lacks is no longer buffered: start a Merkle session. */
  unexplained?: true;
  /**
   * The responder's vector, only when the requester knows something the responder
   * does not (so the requester pushes it back) or an epoch change must travel.
   */
  vector?: WireVector;
}

/**
 * One message of a Merkle anti-entropy session. Hashes travel as concatenated 8-byte
 * big-endian values (msgpack bin), node numbers as the tree's breadth-first numbering.
 */
export interface ExchangeMessage<R> {
  /** Session id, chosen by the initiator. */
  sid: number;
  /** Opening message only: the initiator's root hash. */
  root?: Uint8Array;
  /** Opening message only: the initiator's context digest. */
  digest?: Uint8Array;
  /** The sender wants the receiver's context (their digests differ). */
  wantContext?: boolean;
  /** Differing nodes, each reported by all its descendants `levels` below (in order). */
  expand?: { nodes: number[]; levels: number; hashes: Uint8Array };
  /** Differing nodes small enough to list: `counts[i]` record hashes for `nodes[i]`. */
  list?: { nodes: number[]; counts: number[]; hashes: Uint8Array };
  /** Records the receiver lacks (or holds in another version). */
  records?: R[];
  /** Record hashes (from the receiver's last list) whose records the sender wants. */
  want?: Uint8Array;
  /** Records of the receiver that the sender proved obsolete. */
  stale?: R[];
  /** The sender expects no protocol answer. */
  done?: boolean;
  /** The sender's {@link SyncStore.syncContext} as of the session start, when the peer asked for it. */
  context?: unknown;
  /** The sender left differences out (budgets) in this session: do not adopt its context. */
  partial?: boolean;
}

/** An upper bound of the encoded size of a history record whose payload takes `payloadBytes`. */
export function historyRecordSize(e: HistoryEntry, payloadBytes: number): number {
  let n = 64 + payloadBytes + 3 * (e.channel.length + e.node.length);
  if (e.headers) for (const [k, v] of Object.entries(e.headers)) n += 10 + 3 * (k.length + v.length);
  if (e.idempotencyKey !== undefined) n += 24 + 3 * e.idempotencyKey.length;
  return n;
}
