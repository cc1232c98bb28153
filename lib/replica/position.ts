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
