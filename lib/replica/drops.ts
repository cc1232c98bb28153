import type { Position } from './position.js';
import { comparePositions } from './position.js';
import { hashString } from '../random.js';
import type { DropRecord, DropsWire } from '../codec/replication-types.js';
export type { DropRecord, DropsWire } from '../codec/replication-types.js';

const keyOf = (node: string, epoch: number): string => `${node}\u0000${epoch}`;

// order-independent 32-bit hash of one record, summed into the channel's Merkle hash
function recordHash(r: DropRecord): number {
  return hashString(`${r.node}\u0000${r.epoch}\u0000${r.c}\u0000${r.ts}\u0000${r.seq}`);
}

/**
 * A channel's drop summary: the newest `limit` {@link DropRecord}s by position, and a
 * horizon, the newest position among records forgotten to stay within the limit. A
 * reader whose floor is below the horizon may have lost entries nobody can name any
 * more (it is told so, with the horizon).
 *
 * It is a join-semilattice, so replicas converge whatever the order of merges: records
 * merge by the higher counter per origin epoch; keeping the newest `limit` of the union
 * gives the same set on every replica (a record one replica forgot has `limit` newer
 * ones there, which the union also holds), and the horizon is the highest position ever
 * forgotten. It travels with the channel's low-water mark and is part of its Merkle hash.
 */
export class DropSummary {
  private readonly records = new Map<string, DropRecord>();
  private horizonPos: Position | undefined;
  // the horizon's share of {@link hash}, computed when the horizon moves: the hash is read
  // on every change of the channel's low-water mark, i.e. per entry trimmed off a full channel
  private horizonHash = 0;
  private sum = 0;

  constructor(private readonly limit: number) {}

  /** Number of records held. */
  get size(): number {
    return this.records.size;
  }

  /** The newest position forgotten to stay within the limit, if any. */
  get horizon(): Position | undefined {
    return this.horizonPos;
  }

  /** The record of an origin epoch, if held. */
  get(node: string, epoch: number): DropRecord | undefined {
    return this.records.get(keyOf(node, epoch));
  }

  /** Every record (live: do not mutate). */
  all(): IterableIterator<DropRecord> {
    return this.records.values();
  }

  /** A 32-bit hash of the whole summary, independent of insertion order. */
  get hash(): number {
    return this.horizonPos ? (this.sum + this.horizonHash) >>> 0 : this.sum;
  }

  /**
   * Records that the entry at position `p` with counter `c` was dropped. Entries without
   * a counter (c = 0, written before counters existed) are covered by the low-water mark
   * alone. Returns true when the summary changed.
   */
  add(p: Position, c: number): boolean {
    if (c <= 0) return false;
    if (this.horizonPos && comparePositions(p, this.horizonPos) <= 0) return false;
    const key = keyOf(p.node, p.epoch);
    const old = this.records.get(key);
    if (old && old.c >= c) return false;
    const rec: DropRecord = { ts: p.ts, node: p.node, epoch: p.epoch, seq: p.seq, c };
    if (old) this.sum = (this.sum - recordHash(old)) >>> 0;
    this.records.set(key, rec);
    this.sum = (this.sum + recordHash(rec)) >>> 0;
    if (this.records.size > this.limit) this.forgetOldest();
    return true;
  }

  /** Merges a peer's summary; returns true when this one changed. */
  merge(other: DropsWire): boolean {
    let changed = false;
    if (other.horizon && (!this.horizonPos || comparePositions(other.horizon, this.horizonPos) > 0)) {
      this.setHorizon(other.horizon);
      changed = true;
      for (const [k, r] of this.records) {
        if (comparePositions(r, other.horizon) <= 0) {
          this.records.delete(k);
          this.sum = (this.sum - recordHash(r)) >>> 0;
        }
      }
    }
    for (const r of other.records) if (this.add(r, r.c)) changed = true;
    return changed;
  }

  /** The wire form (plain data; records in no particular order). */
  toWire(): DropsWire {
    return { records: [...this.records.values()], ...(this.horizonPos ? { horizon: this.horizonPos } : {}) };
  }

  // forgets the oldest record (by position) and moves the horizon to it: O(limit), paid
  // only when a new origin epoch pushes the summary past its limit
  private forgetOldest(): void {
    let oldestKey: string | undefined;
    let oldest: DropRecord | undefined;
    for (const [k, r] of this.records) {
      if (!oldest || comparePositions(r, oldest) < 0) {
        oldest = r;
        oldestKey = k;
      }
    }
    if (!oldest || oldestKey === undefined) return;
    this.records.delete(oldestKey);
    this.sum = (this.sum - recordHash(oldest)) >>> 0;
    if (!this.horizonPos || comparePositions(oldest, this.horizonPos) > 0) {
      this.setHorizon({ ts: oldest.ts, node: oldest.node, epoch: oldest.epoch, seq: oldest.seq });
    }
  }

  private setHorizon(p: Position): void {
    this.horizonPos = p;
    this.horizonHash = hashString(`${p.ts}\u0000${p.node}\u0000${p.epoch}\u0000${p.seq}`);
  }
}
