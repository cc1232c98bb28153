/**
 * 64-bit non-cryptographic hashing in two 32-bit lanes. The Merkle tree and the
 * vector digest need 64 bits (32 collide too often at a million records) but BigInt
 * arithmetic is several times slower than `Math.imul` lanes, so a 64-bit value is
 * carried as a `hi`/`lo` pair of unsigned 32-bit numbers. Not collision resistant
 * against an adversary: records come from authenticated cluster members.
 */

/** Scratch output of {@link hashString64} and {@link mix64}: `[hi, lo]`, overwritten by each call. */
export const out64 = new Uint32Array(2);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes the UTF-16 code units of `s` into {@link out64}. */
export function hashString64(s: string): Uint32Array {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= s.length;
  // cross the lanes so that a difference in either lane spreads to both
  const a = fmix32(h1 ^ Math.imul(h2, 0xcc9e2d51));
  const b = fmix32(h2 ^ Math.imul(a, 0x1b873593));
  out64[0] = a;
  out64[1] = b;
  return out64;
}

/**
 * Mixes a 64-bit `hi`/`lo` pair with two numbers (integers up to 2^53, or any double:
 * only their integer bits count) into {@link out64}. Used for record hash = f(key hash,
 * version) so that a new version of a record moves its hash everywhere.
 */
export function mix64(hi: number, lo: number, a: number, b: number): Uint32Array {
  const aLo = a >>> 0;
  const aHi = Math.floor(a / 4294967296) >>> 0;
  const bLo = b >>> 0;
  const bHi = Math.floor(b / 4294967296) >>> 0;
  let h1 = fmix32(lo ^ Math.imul(aLo ^ 0x27d4eb2f, 0xcc9e2d51));
  let h2 = fmix32(hi ^ Math.imul(bLo ^ 0x165667b1, 0x1b873593));
  h1 = fmix32(h1 ^ Math.imul(aHi + 0x3c6ef372, 0x85ebca6b) ^ h2);
  h2 = fmix32(h2 ^ Math.imul(bHi + 0x9e3779b9, 0xc2b2ae35) ^ h1);
  out64[0] = h1;
  out64[1] = h2;
  return out64;
}

/** Writes a hash as 8 big-endian bytes at `offset`. */
export function writeHash(buf: Uint8Array, offset: number, hi: number, lo: number): void {
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

/** Reads the high lane of the 8-byte hash at `offset`. */
export function readHi(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

/** Reads the low lane of the 8-byte hash at `offset`. */
export function readLo(buf: Uint8Array, offset: number): number {
  return readHi(buf, offset + 4);
}

/** A hash pair as a string usable as a Map/Set key. */
export function hashKey(hi: number, lo: number): string {
  return hi.toString(36) + ':' + lo.toString(36);
}
