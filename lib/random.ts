/** The displaced indices of {@link Random.sample}, shared by every generator of the process (taken while in use). */
let sampleScratch: { swapped: Int32Array; touched: number[] } | undefined;

/**
 * Seeded pseudo-random numbers (xoshiro128**). Protocol code takes a `Random` instead of
 * calling `Math.random()`, so a seed replays a run exactly. Not for cryptography: keys
 * and GCM nonce prefixes come from `node:crypto` in the runtime.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any integer or string; the same seed gives the same sequence. */
  constructor(seed: number | string = 1) {
    // splitmix32 spreads a small seed over the 128-bit state (an all-zero state is invalid)
    let s = typeof seed === 'string' ? hashString(seed) : seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A random element, or undefined for an empty array. */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** Up to `k` distinct elements chosen uniformly, skipping those `exclude` rejects. */
  sample<T>(items: readonly T[], k: number, exclude?: (item: T) => boolean): T[] {
    const out: T[] = [];
    if (k <= 0 || items.length === 0) return out;
    // partial Fisher–Yates over indices: O(k) expected for small k, no full copy of items.
    // The displaced indices live in one process-wide scratch array (value + 1; 0 = not
    // displaced), reset entry by entry afterwards: a Map here allocated a new table on
    // every clear(), and every gossip round of every simulated node samples.
    const n = items.length;
    let scratch = sampleScratch;
    sampleScratch = undefined; // taken: a sample inside `exclude` gets its own
    if (scratch === undefined || scratch.swapped.length < n) scratch = { swapped: new Int32Array(Math.max(n, 2 * (scratch?.swapped.length ?? 0))), touched: [] };
    const { swapped, touched } = scratch;
    try {
      for (let i = 0; i < n && out.length < k; i++) {
        const j = i + this.int(n - i);
        const vj = swapped[j] === 0 ? j : swapped[j]! - 1;
        swapped[j] = (swapped[i] === 0 ? i : swapped[i]! - 1) + 1;
        touched.push(j);
        const item = items[vj]!;
        if (!exclude || !exclude(item)) out.push(item);
      }
    } finally {
      for (const t of touched) swapped[t] = 0;
      touched.length = 0;
      sampleScratch = scratch;
    }
    return out;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let v = this.uint32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = v & 0xff;
        v >>>= 8;
      }
    }
    return out;
  }

  /** An independent generator derived from this one and a label (e.g. one per simulated node). */
  fork(label: string | number = ''): Random {
    return new Random((this.uint32() ^ hashString(String(label))) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `s`. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
