import { hashString64, mix64, writeHash } from './hash64.js';

/** What a replica has applied of one origin: its latest known epoch and the highest contiguous seq of it. */
export interface OriginVersion {
  epoch: number;
  seq: number;
}

/** A version vector on the wire: `[node, epoch, seq]` triples, sorted by node. */
export type WireVector = [node: string, epoch: number, seq: number][];

/** How two vectors relate. */
export type VectorOrder = 'equal' | 'before' | 'after' | 'concurrent';

const TWO32 = 4294967296;

/**
 * A version vector: per origin node, the latest epoch seen and the highest contiguous
 * sequence applied in it. A newer epoch supersedes an older one (the origin restarted),
 * so comparing two entries compares (epoch, seq) lexicographically.
 *
 * The vector keeps a running 64-bit sum of per-origin hashes so that its digest (the
 * few bytes piggybacked on SWIM acks) costs O(1) per change, not O(origins).
 */
export class VersionVector {
  private readonly map = new Map<string, OriginVersion>();
  private sumHi = 0;
  private sumLo = 0;

  /** Builds a vector from its wire form. Malformed triples are skipped. */
  static fromWire(wire: WireVector): VersionVector {
    const v = new VersionVector();
    for (const t of wire) {
      if (!Array.isArray(t) || typeof t[0] !== 'string' || !isCount(t[1]) || !isCount(t[2])) continue;
      v.set(t[0], t[1], t[2]);
    }
    return v;
  }

  /** Number of origins. */
  get size(): number {
    return this.map.size;
  }

  /** The entry of `node`, if any. */
  get(node: string): OriginVersion | undefined {
    return this.map.get(node);
  }

  /** Origins and their versions. */
  entries(): IterableIterator<[string, OriginVersion]> {
    return this.map.entries();
  }

  /** Sets the entry of `node` (no monotonicity check: see {@link advance}). */
  set(node: string, epoch: number, seq: number): void {
    const old = this.map.get(node);
    if (old) {
      if (old.epoch === epoch && old.seq === seq) return;
      this.account(node, old.epoch, old.seq, -1);
    }
    this.map.set(node, { epoch, seq });
    this.account(node, epoch, seq, 1);
  }

  /** Raises the entry of `node` to (epoch, seq) when that is newer; true if it changed. */
  advance(node: string, epoch: number, seq: number): boolean {
    const old = this.map.get(node);
    if (old && (old.epoch > epoch || (old.epoch === epoch && old.seq >= seq))) return false;
    this.set(node, epoch, seq);
    return true;
  }

  /** Removes the entry of `node`. */
  delete(node: string): void {
    const old = this.map.get(node);
    if (!old) return;
    this.account(node, old.epoch, old.seq, -1);
    this.map.delete(node);
  }

  /** True when the vector has applied (node, epoch, seq) (or a newer epoch of node). */
  covers(node: string, epoch: number, seq: number): boolean {
    const v = this.map.get(node);
    return v !== undefined && (v.epoch > epoch || (v.epoch === epoch && v.seq >= seq));
  }

  /** Compares with `other`: 'before' means every entry here is ≤ other's and one is smaller. */
  compare(other: VersionVector): VectorOrder {
    let less = false;
    let greater = false;
    for (const [node, a] of this.map) {
      const c = cmp(a, other.get(node));
      if (c < 0) less = true;
      else if (c > 0) greater = true;
    }
    for (const [node, b] of other.map) {
      if (!this.map.has(node) && (b.epoch > 0 || b.seq > 0)) less = true;
    }
    if (less && greater) return 'concurrent';
    if (less) return 'before';
    if (greater) return 'after';
    return 'equal';
  }

  /** Raises every entry to the maximum of this and `other`. Returns the origins that changed. */
  merge(other: VersionVector): string[] {
    const changed: string[] = [];
    for (const [node, b] of other.map) if (this.advance(node, b.epoch, b.seq)) changed.push(node);
    return changed;
  }

  /**
   * Origins where `other` is ahead of this vector, with how far: `from` is what this
   * vector has (undefined: nothing of that epoch).
   */
  behind(other: VersionVector): { node: string; epoch: number; fromSeq: number; toSeq: number }[] {
    const out: { node: string; epoch: number; fromSeq: number; toSeq: number }[] = [];
    for (const [node, b] of other.map) {
      const a = this.map.get(node);
      if (cmp(b, a) <= 0) continue;
      out.push({ node, epoch: b.epoch, fromSeq: a && a.epoch === b.epoch ? a.seq : 0, toSeq: b.seq });
    }
    return out;
  }

  /** A copy. */
  clone(): VersionVector {
    const v = new VersionVector();
    for (const [node, e] of this.map) v.set(node, e.epoch, e.seq);
    return v;
  }

  /** The wire form, sorted by node so equal vectors encode equally. */
  toWire(): WireVector {
    return [...this.map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([node, e]) => [node, e.epoch, e.seq]);
  }

  /**
   * An 8-byte digest: equal vectors give equal digests; different vectors differ with
   * probability 1 − 2^-64. A sum of per-origin hashes, so order does not matter.
   */
  digest(): Uint8Array {
    const out = new Uint8Array(8);
    writeHash(out, 0, this.sumHi >>> 0, this.sumLo >>> 0);
    return out;
  }

  private account(node: string, epoch: number, seq: number, sign: 1 | -1): void {
    const k = hashString64(node);
    const h = mix64(k[0]!, k[1]!, epoch, seq);
    let lo = this.sumLo + sign * h[1]!;
    let carry = 0;
    if (lo >= TWO32) {
      lo -= TWO32;
      carry = 1;
    } else if (lo < 0) {
      lo += TWO32;
      carry = -1;
    }
    this.sumLo = lo;
    this.sumHi = (this.sumHi + sign * h[0]! + carry) >>> 0;
  }
}

function cmp(a: OriginVersion, b: OriginVersion | undefined): number {
  if (!b) return a.epoch > 0 || a.seq > 0 ? 1 : 0;
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return a.seq - b.seq;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
