import type { EntryId, Position } from '../codec/replication-types.js';
export type { EntryId, Position } from '../codec/replication-types.js';

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
