import { ClusterError } from '../errors.js';
import type { HlcTimestamp } from '../hlc.js';

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

/** Orders two positions: negative when `a` comes first. */
export function comparePositions(a: Position, b: Position): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return a.seq - b.seq;
}

/** A copy of the position fields of `p` (drops everything else an entry carries). */
export function positionOf(p: Position): Position {
  return { ts: p.ts, node: p.node, epoch: p.epoch, seq: p.seq };
}

/** The string form of an entry id, unique per cluster. */
export function idKey(id: EntryId): string {
  return `${id.node}\u0000${id.epoch}\u0000${id.seq}`;
}

/**
 * Encodes a position as an opaque cursor string (base64url). Users store it and hand
 * it back; they should not parse it.
 */
export function encodeCursor(p: Position): string {
  const text = `${p.ts.toString(36)}.${p.epoch.toString(36)}.${p.seq.toString(36)}.${p.node}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; throws E_INVALID_ARGUMENT when malformed. */
export function decodeCursor(cursor: string): Position {
  const bad = (): ClusterError => new ClusterError('E_INVALID_ARGUMENT', `invalid history cursor ${JSON.stringify(cursor.slice(0, 64))}`);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const parts = /^([0-9a-z]+)\.([0-9a-z]+)\.([0-9a-z]+)\.(.+)$/s.exec(text);
  if (!parts) throw bad();
  const ts = parseInt(parts[1]!, 36);
  const epoch = parseInt(parts[2]!, 36);
  const seq = parseInt(parts[3]!, 36);
  if (![ts, epoch, seq].every((n) => Number.isSafeInteger(n) && n >= 0)) throw bad();
  return { ts, epoch, seq, node: parts[4]! };
}
