import { ClusterError } from '../errors.js';
import { hashString } from '../random.js';
import { hashString64, mix64 } from '../summary/hash64.js';
import type { Position } from './position.js';

/**
 * What one reader has been given of one channel, valid on every node (decision 0047).
 * An entry (position p, origin epoch o, counter c) counts as handled, i.e. delivered
 * or reported lost, when p ≤ `floor`, or c ≤ `origins[o].c`, or c is in
 * `origins[o].extras`. A position alone cannot say this: an entry that arrives late
 * (partition, repair) lands behind positions the reader has already passed.
 */
export interface ReadCursor {
  /** Every entry at or below this position is handled. */
  floor: Position | undefined;
  /** Per origin epoch (keyed by {@link originKey}): the handled prefix and the handled counters above it. */
  origins: Map<number, OriginProgress>;
  /**
   * Wall-clock ms of the read that produced it: on a channel with a TTL, a reader away
   * longer than the TTL may have lost entries that expired without a trace.
   */
  readAt?: number;
}

/** A reader's progress on one origin epoch of a channel. */
export interface OriginProgress {
  /** Every entry of the origin epoch with counter ≤ c is handled. */
  c: number;
  /** Handled counters above `c` (ascending), delivered while an earlier one had not arrived. */
  extras: number[];
}

/** Format version written in the first byte. */
export const CURSOR_VERSION = 1;
/** Origin epochs a cursor carries at most; beyond, the least useful are forgotten (may repeat, never lose). */
export const MAX_CURSOR_ORIGINS = 1024;
/** Handled counters above the prefix kept per origin epoch. */
export const MAX_CURSOR_EXTRAS = 64;
/** Longest cursor string accepted (it travels in URLs and Last-Event-ID headers). */
export const MAX_CURSOR_CHARS = 12_288;

/** A fresh cursor: nothing handled (a reader starting from the beginning of what is held). */
export function emptyCursor(): ReadCursor {
  return { floor: undefined, origins: new Map() };
}

/** A deep copy. */
export function cloneCursor(c: ReadCursor): ReadCursor {
  const origins = new Map<number, OriginProgress>();
  for (const [k, o] of c.origins) origins.set(k, { c: o.c, extras: o.extras.slice() });
  return { floor: c.floor, origins, ...(c.readAt !== undefined ? { readAt: c.readAt } : {}) };
}

const nodeHashes = new Map<string, [number, number]>();

/**
 * The 40-bit key of an origin epoch in a cursor: a hash of (node, epoch), so a cursor
 * neither grows with node names nor reveals them. Among the ≤ 1,024 origin epochs of one
 * cursor, two collide with probability below 10⁻⁶.
 */
export function originKey(node: string, epoch: number): number {
  let h = nodeHashes.get(node);
  if (!h) {
    // names repeat across reads: memoise, bounded
    if (nodeHashes.size >= 65_536) nodeHashes.clear();
    const out = hashString64(node); // a shared buffer: copy it
    h = [out[0]!, out[1]!];
    nodeHashes.set(node, h);
  }
  const m = mix64(h[0], h[1], epoch, 0x5eed);
  return m[0]! * 256 + (m[1]! & 0xff);
}

/** The 32-bit tag a cursor carries of its cluster (label) and channel, to refuse foreign ones. */
export function cursorScope(label: string, channel: string): { cluster: number; channel: number } {
  return { cluster: hashString(`clusterd\u0000${label}`), channel: hashString(channel) };
}

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private n = 0;

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.n);
    this.n += 4;
  }

  key(k: number): void {
    this.room(5);
    this.buf.writeUInt32BE(Math.floor(k / 256), this.n);
    this.buf[this.n + 4] = k & 0xff;
    this.n += 5;
  }

  // LEB128 for non-negative safe integers (up to 2^53)
  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.n++] = v;
  }

  str(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.room(len);
    this.buf.write(s, this.n, 'utf8');
    this.n += len;
  }

  done(): string {
    return this.buf.subarray(0, this.n).toString('base64url');
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
}

class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer, private readonly bad: (why: string) => never) {}

  get left(): number {
    return this.buf.length - this.at;
  }

  byte(what: string): number {
    if (this.at >= this.buf.length) this.bad(`truncated (${what})`);
    return this.buf[this.at++]!;
  }

  u32(what: string): number {
    if (this.at + 4 > this.buf.length) this.bad(`truncated (${what})`);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  key(what: string): number {
    if (this.at + 5 > this.buf.length) this.bad(`truncated (${what})`);
    const v = this.buf.readUInt32BE(this.at) * 256 + this.buf[this.at + 4]!;
    this.at += 5;
    return v;
  }

  varint(what: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte(what);
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) this.bad(`${what} out of range`);
        return v;
      }
      scale *= 0x80;
    }
    return this.bad(`${what} is not a valid number`);
  }

  str(what: string, max: number): string {
    const len = this.varint(`${what} length`);
    if (len === 0 || len > max) this.bad(`${what} length ${len} outside 1..${max}`);
    if (this.at + len > this.buf.length) this.bad(`truncated (${what})`);
    const s = this.buf.toString('utf8', this.at, this.at + len);
    this.at += len;
    if (s.includes('\u0000') || s.includes('\ufffd')) this.bad(`${what} is not valid text`);
    return s;
  }
}

/**
 * Encodes a cursor as an opaque base64url string: version, cluster and channel tags, the
 * floor, then per origin epoch its key, prefix and extras (varints). At a 100-entry cap
 * it stays under 2 KiB even with 1,000 origins (docs/benchmarks.md).
 */
export function encodeReadCursor(c: ReadCursor, scope: { cluster: number; channel: number }): string {
  const w = new Writer();
  w.byte(CURSOR_VERSION);
  w.u32(scope.cluster);
  w.u32(scope.channel);
  w.byte((c.floor ? 1 : 0) | (c.readAt !== undefined ? 2 : 0));
  if (c.floor) {
    w.varint(c.floor.ts);
    w.varint(c.floor.epoch);
    w.varint(c.floor.seq);
    w.str(c.floor.node);
  }
  if (c.readAt !== undefined) w.varint(c.readAt);
  w.varint(c.origins.size);
  for (const [k, o] of c.origins) {
    w.key(k);
    w.varint(o.c * 2 + (o.extras.length > 0 ? 1 : 0));
    if (o.extras.length > 0) {
      w.varint(o.extras.length);
      let prev = o.c;
      for (const x of o.extras) {
        w.varint(x - prev - 1);
        prev = x;
      }
    }
  }
  return w.done();
}

/**
 * Decodes a cursor made by {@link encodeReadCursor} for the same cluster and channel.
 * Anything else (malformed, truncated, another version, cluster or channel, over the
 * bounds) throws E_BAD_CURSOR naming what is wrong; decoding never allocates more than
 * the bounds allow.
 */
export function decodeReadCursor(text: unknown, scope: { cluster: number; channel: number }): ReadCursor {
  const shown = typeof text === 'string' ? JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}…` : text) : typeof text;
  const bad = (why: string): never => {
    throw new ClusterError('E_BAD_CURSOR', `invalid cursor ${shown}: ${why}`);
  };
  if (typeof text !== 'string' || text.length === 0) return bad('expected a non-empty string');
  if (text.length > MAX_CURSOR_CHARS) return bad(`longer than ${MAX_CURSOR_CHARS} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return bad('not base64url');
  const r = new Reader(Buffer.from(text, 'base64url'), bad);
  const version = r.byte('version');
  if (version !== CURSOR_VERSION) return bad(version > CURSOR_VERSION ? `version ${version} is newer than this node understands (${CURSOR_VERSION})` : `unknown version ${version} (a cursor from before gap-free resume?)`);
  if (r.u32('cluster tag') !== scope.cluster) return bad('it belongs to another cluster (label)');
  if (r.u32('channel tag') !== scope.channel) return bad('it belongs to another channel');
  const flags = r.byte('flags');
  if (flags > 3) return bad(`unknown flags ${flags}`);
  let floor: Position | undefined;
  if (flags & 1) {
    const ts = r.varint('floor timestamp');
    const epoch = r.varint('floor epoch');
    const seq = r.varint('floor seq');
    floor = { ts, epoch, seq, node: r.str('floor node', 128) };
  }
  const readAt = flags & 2 ? r.varint('read time') : undefined;
  const n = r.varint('origin count');
  if (n > MAX_CURSOR_ORIGINS) return bad(`${n} origins, more than ${MAX_CURSOR_ORIGINS}`);
  // each origin takes at least 6 bytes: refuse a count the bytes cannot hold before allocating
  if (n * 6 > r.left) return bad('truncated (origins)');
  const origins = new Map<number, OriginProgress>();
  for (let i = 0; i < n; i++) {
    const k = r.key('origin key');
    const head = r.varint('origin prefix');
    const c = Math.floor(head / 2);
    const extras: number[] = [];
    if (head % 2 === 1) {
      const m = r.varint('extras count');
      if (m === 0 || m > MAX_CURSOR_EXTRAS) return bad(`extras count ${m} outside 1..${MAX_CURSOR_EXTRAS}`);
      let prev = c;
      for (let j = 0; j < m; j++) {
        prev = prev + 1 + r.varint('extra');
        if (!Number.isSafeInteger(prev)) return bad('extra out of range');
        extras.push(prev);
      }
    }
    if (origins.has(k)) return bad('an origin appears twice');
    origins.set(k, { c, extras });
  }
  if (r.left !== 0) return bad(`${r.left} trailing bytes`);
  return { floor, origins, ...(readAt !== undefined ? { readAt } : {}) };
}
