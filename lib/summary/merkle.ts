import { ClusterError } from '../errors.js';
import { hashString64, mix64, writeHash } from './hash64.js';

/** Options of a {@link MerkleTree}. Both peers of an exchange must use the same shape. */
export interface MerkleOptions {
  /** log2 of the fan-out: 4 gives a 16-ary tree. @default 4 */
  fanoutBits?: number;
  /** Number of levels below the root; leaves = fan-out ^ depth. @default 4 */
  depth?: number;
}

/** Where a record index sends its changes; the Merkle tree implements it. */
export interface RecordIndex {
  /** Inserts or replaces `key` with the given version (two numbers, e.g. epoch and seq). */
  set(key: string, versionA: number, versionB: number): void;
  /** Removes `key`; a no-op when absent. */
  delete(key: string): void;
  /**
   * Inserts the record `ref` (an object the caller keeps, identified by reference) whose
   * 64-bit key hash the caller computed (`keyHi`, `keyLo`), with the given version. No
   * key string is built or hashed; the tree derives one with its `keyOf` only when a
   * session lists the record. The caller must not insert the same ref twice.
   */
  setRef(ref: object, keyHi: number, keyLo: number, versionA: number, versionB: number): void;
  /** Removes the record `ref` inserted with this key hash; a no-op when absent. */
  deleteRef(ref: object, keyHi: number, keyLo: number): void;
}

/** Derives the key string of a record inserted by reference (see {@link RecordIndex.setRef}). */
export type RecordKeyOf = (ref: object) => string;

const TWO32 = 4294967296;

/**
 * A fixed-shape hash tree over record keys. A record lands in the leaf picked by the top
 * bits of its 64-bit key hash; every node holds the sum modulo 2^64 of the record hashes
 * below it plus the record count. Sums, unlike XOR, do not cancel when two records hash
 * the same, and they update in O(depth) per change: subtract the old record hash, add
 * the new, along the path to the root. No rebuild scans, ever.
 *
 * Nodes are numbered breadth-first: root 0, then each level left to right; the
 * descendants of a node `k` levels down are one contiguous run of node numbers.
 */
export class MerkleTree implements RecordIndex {
  readonly fanoutBits: number;
  readonly fanout: number;
  readonly depth: number;
  readonly leafCount: number;
  readonly nodeCount: number;
  private readonly levelStart: number[] = [];
  // per leaf: its records (a key string, or an object inserted by reference) and,
  // interleaved [record hi, record lo, key lo], their hashes (lazily created); the key
  // hash finds a record with number compares, then one identity/string compare
  private readonly leafKeys: ((string | object)[] | undefined)[];
  private readonly leafHashes: (number[] | undefined)[];
  private occupied = 0;
  // node hashes and counts interleaved [hi, lo, count, -] so that an update touches one
  // cache line per level instead of three
  private readonly nodes: Uint32Array;

  /**
   * @param options tree shape.
   * @param keyOf key string of a record inserted by reference (called only to list records). @default a function that throws
   */
  constructor(options: MerkleOptions = {}, private readonly keyOf: RecordKeyOf = noKeyOf) {
    this.fanoutBits = options.fanoutBits ?? 4;
    this.depth = options.depth ?? 4;
    if (!Number.isInteger(this.fanoutBits) || !Number.isInteger(this.depth) || this.fanoutBits < 1 ||
      this.depth < 1 || this.fanoutBits * this.depth > 24) {
      throw new ClusterError('E_INVALID_ARGUMENT', `merkle shape ${this.fanoutBits}×${this.depth}: need integers ≥ 1 with fanoutBits × depth ≤ 24`);
    }
    this.fanout = 1 << this.fanoutBits;
    let start = 0;
    let width = 1;
    for (let level = 0; level <= this.depth; level++) {
      this.levelStart.push(start);
      start += width;
      width *= this.fanout;
    }
    this.nodeCount = start;
    this.leafCount = width / this.fanout;
    this.nodes = new Uint32Array(this.nodeCount * 4);
    this.leafKeys = new Array<(string | object)[] | undefined>(this.leafCount);
    this.leafHashes = new Array<number[] | undefined>(this.leafCount);
  }

  /** Leaves holding at least one key (each holds two small arrays; empty leaves hold none). */
  get occupiedLeaves(): number {
    return this.occupied;
  }

  /** Number of records indexed. */
  get size(): number {
    return this.nodes[2]!;
  }

  /** The level of node `node` (0 = root). */
  levelOf(node: number): number {
    let level = this.depth;
    while (this.levelStart[level]! > node) level--;
    return level;
  }

  /** First node number of `level`. */
  startOf(level: number): number {
    return this.levelStart[level]!;
  }

  /** First descendant of `node` that lies `down` levels below it. */
  firstDescendant(node: number, down: number): number {
    const level = this.levelOf(node);
    const index = node - this.levelStart[level]!;
    return this.levelStart[level + down]! + index * (1 << (this.fanoutBits * down));
  }

  /** Number of records under `node`. */
  countOf(node: number): number {
    return this.nodes[4 * node + 2]!;
  }

  /** High lane of the hash of `node`. */
  hiOf(node: number): number {
    return this.nodes[4 * node]!;
  }

  /** Low lane of the hash of `node`. */
  loOf(node: number): number {
    return this.nodes[4 * node + 1]!;
  }

  /** True when `node` hashes to (hi, lo). */
  hashEquals(node: number, hi: number, lo: number): boolean {
    return this.nodes[4 * node] === hi && this.nodes[4 * node + 1] === lo;
  }

  /** The root hash as 8 bytes. */
  rootHash(): Uint8Array {
    const out = new Uint8Array(8);
    writeHash(out, 0, this.nodes[0]!, this.nodes[1]!);
    return out;
  }

  /** True when `key` is indexed. */
  has(key: string): boolean {
    const h = hashString64(key);
    const leaf = h[0]! >>> (32 - this.fanoutBits * this.depth);
    return this.find(leaf, key, h[1]!) >= 0;
  }

  // index of `key` (a string, compared by value, or a ref, compared by identity) in its leaf, or -1
  private find(leaf: number, key: string | object, keyLo: number): number {
    const keys = this.leafKeys[leaf];
    const hashes = this.leafHashes[leaf];
    if (keys === undefined || hashes === undefined) return -1;
    for (let i = 0, j = 2; i < keys.length; i++, j += 3) if (hashes[j] === keyLo && keys[i] === key) return i;
    return -1;
  }

  set(key: string, versionA: number, versionB: number): void {
    const h = hashString64(key);
    this.put(key, h[0]!, h[1]!, versionA, versionB);
  }

  setRef(ref: object, keyHi: number, keyLo: number, versionA: number, versionB: number): void {
    this.put(ref, keyHi >>> 0, keyLo >>> 0, versionA, versionB);
  }

  delete(key: string): void {
    const h = hashString64(key);
    this.remove(key, h[0]!, h[1]!);
  }

  deleteRef(ref: object, keyHi: number, keyLo: number): void {
    this.remove(ref, keyHi >>> 0, keyLo >>> 0);
  }

  private put(key: string | object, keyHi: number, keyLo: number, versionA: number, versionB: number): void {
    const leaf = keyHi >>> (32 - this.fanoutBits * this.depth);
    const r = mix64(keyHi, keyLo, versionA, versionB);
    const rHi = r[0]!;
    const rLo = r[1]!;
    let keys = this.leafKeys[leaf];
    let hashes = this.leafHashes[leaf];
    if (keys === undefined || hashes === undefined) {
      keys = [];
      hashes = [];
      this.leafKeys[leaf] = keys;
      this.leafHashes[leaf] = hashes;
      this.occupied++;
    }
    const at = this.find(leaf, key, keyLo);
    if (at >= 0) {
      const oldHi = hashes[3 * at]!;
      const oldLo = hashes[3 * at + 1]!;
      if (oldHi === rHi && oldLo === rLo) return;
      hashes[3 * at] = rHi;
      hashes[3 * at + 1] = rLo;
      this.walk(leaf, oldHi, oldLo, -1, 0);
      this.walk(leaf, rHi, rLo, 1, 0);
      return;
    }
    keys.push(key);
    hashes.push(rHi, rLo, keyLo);
    this.walk(leaf, rHi, rLo, 1, 1);
  }

  private remove(key: string | object, keyHi: number, keyLo: number): void {
    const leaf = keyHi >>> (32 - this.fanoutBits * this.depth);
    const keys = this.leafKeys[leaf];
    const hashes = this.leafHashes[leaf];
    if (keys === undefined || hashes === undefined) return;
    const at = this.find(leaf, key, keyLo);
    if (at < 0) return;
    const oldHi = hashes[3 * at]!;
    const oldLo = hashes[3 * at + 1]!;
    // swap-remove: order inside a leaf carries no meaning
    const last = keys.length - 1;
    keys[at] = keys[last]!;
    hashes[3 * at] = hashes[3 * last]!;
    hashes[3 * at + 1] = hashes[3 * last + 1]!;
    hashes[3 * at + 2] = hashes[3 * last + 2]!;
    keys.pop();
    hashes.length -= 3;
    if (keys.length === 0) {
      // an emptied leaf must not keep its arrays: with capped history every key is
      // eventually deleted, and keeping them grew the heap until all leaves were touched
      this.leafKeys[leaf] = undefined;
      this.leafHashes[leaf] = undefined;
      this.occupied--;
    }
    this.walk(leaf, oldHi, oldLo, -1, -1);
  }

  /** Removes every record. */
  clear(): void {
    this.nodes.fill(0);
    this.leafKeys.fill(undefined);
    this.leafHashes.fill(undefined);
    this.occupied = 0;
  }

  /**
   * Calls `fn(key, hi, lo)` for every record under `node` (leaf by leaf).
   */
  forEachRecord(node: number, fn: (key: string, hi: number, lo: number) => void): void {
    const level = this.levelOf(node);
    const down = this.depth - level;
    const first = (node - this.levelStart[level]!) * (1 << (this.fanoutBits * down));
    const end = first + (1 << (this.fanoutBits * down));
    for (let leaf = first; leaf < end; leaf++) {
      const keys = this.leafKeys[leaf];
      const hashes = this.leafHashes[leaf];
      if (keys === undefined || hashes === undefined) continue;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        fn(typeof k === 'string' ? k : this.keyOf(k), hashes[3 * i]!, hashes[3 * i + 1]!);
      }
    }
  }

  // adds (sign 1) or subtracts (sign -1) a record hash along the path leaf → root
  private walk(leaf: number, rHi: number, rLo: number, sign: 1 | -1, countDelta: number): void {
    let index = leaf;
    const nodes = this.nodes;
    for (let level = this.depth; level >= 0; level--) {
      const at = 4 * (this.levelStart[level]! + index);
      let lo = nodes[at + 1]! + sign * rLo;
      let carry = 0;
      if (lo >= TWO32) {
        lo -= TWO32;
        carry = 1;
      } else if (lo < 0) {
        lo += TWO32;
        carry = -1;
      }
      nodes[at + 1] = lo;
      nodes[at] = nodes[at]! + sign * rHi + carry;
      nodes[at + 2] = nodes[at + 2]! + countDelta;
      index >>>= this.fanoutBits;
    }
  }
}

function noKeyOf(): string {
  throw new ClusterError('E_INVALID_ARGUMENT', 'this Merkle tree has records inserted by reference but no keyOf');
}
