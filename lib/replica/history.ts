import type { HlcTimestamp } from '../hlc.js';
import { hlcWall } from '../hlc.js';
import { hashString } from '../random.js';
import { hashString64, mix64 } from '../sync/hash64.js';
import { payloadSize } from './limits.js';
import type { RecordIndex } from '../sync/merkle.js';
import type { EntryId, Position } from './position.js';
import { comparePositions, decodeCursor, encodeCursor, idKey, positionOf } from './position.js';

/** A history entry: its position (ts + id), channel, payload and optional metadata. */
export interface HistoryEntry extends Position {
  channel: string;
  /** Bytes or any msgpack value. */
  data: unknown;
  headers?: Record<string, string>;
  /** Client-chosen key: a publish that repeats a recent key is not stored twice. */
  idempotencyKey?: string;
}

/** Retention of one channel. */
export interface ChannelSettings {
  /** Entries kept (the newest). @default HistoryOptions.defaultMaxEntries */
  maxEntries?: number;
  /** Entries older than this (by HLC wall time) are dropped; 0 keeps them forever. @default HistoryOptions.defaultTtlMs */
  ttlMs?: number;
}

/** Options of a {@link HistoryStore}; must be equal on every node. */
export interface HistoryOptions {
  /** Entries kept per channel unless `settingsFor` says otherwise. @default 100 */
  defaultMaxEntries?: number;
  /** Time to live of entries unless `settingsFor` says otherwise; 0 = forever. @default 0 */
  defaultTtlMs?: number;
  /** Per-channel retention (must be a pure function of the name). @default () => undefined */
  settingsFor?: (channel: string) => ChannelSettings | undefined;
  /** Idempotency keys remembered per channel. @default 1000 */
  dedupeWindow?: number;
  /** Ceiling applied to every cap. @default 100000 */
  maxEntriesCeiling?: number;
}

/** The answer to a history read. */
export interface HistoryPage {
  entries: HistoryEntry[];
  /**
   * False when entries the reader asked for are no longer held: evicted by the cap or
   * expired. The reader then knows it missed something instead of silently skipping it.
   */
  complete: boolean;
  /** True when more held entries follow the last one returned. */
  more: boolean;
  /** Cursor of the last entry returned (or the cursor passed in when none): resume from it. */
  cursor: string | undefined;
}

/** The persisted form of a replica's history (plain data; msgpack it to store). */
export interface HistorySnapshot {
  channels: { channel: string; lowWater?: Position; entries: HistoryEntry[] }[];
}

/** What happened to an inserted entry. */
export type InsertStatus = 'added' | 'duplicate' | 'below-low-water' | 'expired';

interface ChannelHistory {
  name: string;
  // sorted by position; live entries are items[head..]; the dead prefix is compacted lazily
  items: HistoryEntry[];
  sizes: number[];
  head: number;
  // 64-bit hash of the name: with the entry id it gives the entry's Merkle key hash
  // without building a key string per entry (decision 0026)
  hashHi: number;
  hashLo: number;
  lowWater: Position | undefined;
  dedupe: Map<string, EntryId>;
  maxEntries: number;
  ttlMs: number;
}

/**
 * The record key of a history entry: the local handle a Merkle session lists and looks
 * up (`Replica.getRecord`). It carries the whole position so the lookup is a binary
 * search. The tree does not hash it: see {@link historyKeyHash}.
 */
export function historyKey(channel: string, p: Position): string {
  return `h\u0000${channel}\u0000${p.ts}\u0000${p.node}\u0000${p.epoch}\u0000${p.seq}`;
}

/**
 * The 64-bit Merkle key hash of history entry `id` in a channel whose name hashes to
 * (`channelHi`, `channelLo`) ({@link hashString64}), written to `out64`: mix(mix(channel
 * hash, node hash), epoch, seq). Computed from the fields, so no key string is built
 * per entry; every replica computes the same value.
 */
export function historyKeyHash(channelHi: number, channelLo: number, id: EntryId): Uint32Array {
  const n = hashString64(id.node);
  const c = mix64(channelHi, channelLo, n[0]!, n[1]!);
  return mix64(c[0]!, c[1]!, id.epoch, id.seq);
}

// placeholder for dropped slots of the dead prefix, so evicted entries can be collected
const DEAD: HistoryEntry = { ts: 0, node: '', epoch: 0, seq: 0, channel: '', data: null };

/** The record key of a channel's low-water mark in the Merkle tree. */
export function lowWaterKey(channel: string): string {
  return `l\u0000${channel}`;
}

/**
 * Per-channel history: entries in the cluster-wide total order (ts, node, epoch, seq),
 * the newest `maxEntries` kept, those past their TTL dropped. Each channel keeps a
 * low-water mark, the position of the newest entry it ever dropped: anything at or
 * below it is refused, so a peer that still holds a dropped entry cannot resurrect it.
 * Since the cap drops the oldest and the TTL drops by timestamp, the held entries are
 * always exactly the suffix above the mark.
 */
export class HistoryStore {
  private readonly channels = new Map<string, ChannelHistory>();
  private readonly defaultMaxEntries: number;
  private readonly defaultTtlMs: number;
  private readonly settingsFor: (channel: string) => ChannelSettings | undefined;
  private readonly dedupeWindow: number;
  private readonly ceiling: number;
  private total = 0;

  /**
   * @param options retention.
   * @param index receives every record change (the Merkle tree).
   */
  constructor(options: HistoryOptions = {}, private readonly index?: RecordIndex) {
    this.defaultMaxEntries = options.defaultMaxEntries ?? 100;
    this.defaultTtlMs = options.defaultTtlMs ?? 0;
    this.settingsFor = options.settingsFor ?? (() => undefined);
    this.dedupeWindow = options.dedupeWindow ?? 1000;
    this.ceiling = options.maxEntriesCeiling ?? 100_000;
  }

  /** Number of entries held across channels. */
  get size(): number {
    return this.total;
  }

  /** Number of channels with entries or a low-water mark. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Names of the channels with entries or a low-water mark. */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** True when the channel has entries or a low-water mark. */
  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Number of entries held in a channel. */
  count(channel: string): number {
    const ch = this.channels.get(channel);
    return ch ? ch.items.length - ch.head : 0;
  }

  /** The retention that applies to `channel`. */
  settings(channel: string): Required<ChannelSettings> {
    const s = this.settingsFor(channel);
    const maxEntries = Math.max(1, Math.min(this.ceiling, Math.floor(s?.maxEntries ?? this.defaultMaxEntries)));
    return { maxEntries, ttlMs: Math.max(0, s?.ttlMs ?? this.defaultTtlMs) };
  }

  /** The channel's low-water mark, if it ever dropped an entry. */
  lowWater(channel: string): Position | undefined {
    return this.channels.get(channel)?.lowWater;
  }

  /**
   * The held entry with this id. With the position (`ts` given) it is a binary search;
   * with the id alone, a scan from the newest entry (idempotent repeats are recent).
   */
  get(channel: string, id: EntryId | Position): HistoryEntry | undefined {
    const ch = this.channels.get(channel);
    if (!ch) return undefined;
    if ('ts' in id && typeof id.ts === 'number') {
      const at = this.search(ch, id);
      const e = ch.items[at];
      return at < ch.items.length && e !== undefined && comparePositions(e, id) === 0 ? e : undefined;
    }
    for (let i = ch.items.length - 1; i >= ch.head; i--) {
      const e = ch.items[i]!;
      if (e.seq === id.seq && e.epoch === id.epoch && e.node === id.node) return e;
    }
    return undefined;
  }

  /** True when the entry is held (see {@link get}). */
  has(channel: string, id: EntryId | Position): boolean {
    return this.get(channel, id) !== undefined;
  }

  /** Held entries of a channel, oldest first (a fresh array). */
  entries(channel: string): HistoryEntry[] {
    const ch = this.channels.get(channel);
    return ch ? ch.items.slice(ch.head) : [];
  }

  /** Held entries with their encoded payload sizes, channel by channel (live: do not mutate while iterating). */
  *allEntries(): IterableIterator<[HistoryEntry, number]> {
    for (const ch of this.channels.values()) {
      for (let i = ch.head; i < ch.items.length; i++) {
        const e = ch.items[i]!;
        let size = ch.sizes[i]!;
        if (size < 0) {
          size = payloadSize(e.data, 'history payload');
          ch.sizes[i] = size;
        }
        yield [e, size];
      }
    }
  }

  /** The id stored earlier under an idempotency key in this channel, if remembered. */
  dedupe(channel: string, key: string): EntryId | undefined {
    return this.channels.get(channel)?.dedupe.get(key);
  }

  /**
   * Inserts an entry (validated by the caller). `size` is its payload size, kept for
   * chunking, or -1 to measure it only when a bulk stream needs it (entries received
   * from peers: measuring an object payload means encoding it). `now` (an HLC
   * timestamp) decides expiry.
   */
  insert(entry: HistoryEntry, size: number, now: HlcTimestamp): InsertStatus {
    const ch = this.channel(entry.channel);
    // an entry's identity is its position: its origin gives an id one timestamp, once,
    // so the sorted entries themselves answer "held already?" (no id map, decision 0026)
    let at = ch.items.length;
    if (at > ch.head && comparePositions(ch.items[at - 1]!, entry) >= 0) {
      at = this.search(ch, entry);
      if (comparePositions(ch.items[at]!, entry) === 0) return 'duplicate';
    }
    if (ch.lowWater && comparePositions(entry, ch.lowWater) <= 0) return 'below-low-water';
    if (this.isExpired(ch, entry.ts, now)) {
      this.raise(ch, positionOf(entry));
      this.collect(ch, now);
      return 'expired';
    }
    if (at === ch.items.length) {
      ch.items.push(entry);
      ch.sizes.push(size);
    } else {
      ch.items.splice(at, 0, entry);
      ch.sizes.splice(at, 0, size);
    }
    this.total++;
    if (this.index) {
      const k = historyKeyHash(ch.hashHi, ch.hashLo, entry);
      this.index.setRef(entry, k[0]!, k[1]!, entry.ts, 0);
    }
    if (entry.idempotencyKey !== undefined) this.remember(ch, entry.idempotencyKey, entry);
    if (ch.items.length - ch.head > ch.maxEntries) {
      const drop = ch.items.length - ch.head - ch.maxEntries;
      this.raise(ch, positionOf(ch.items[ch.head + drop - 1]!));
    }
    return 'added';
  }

  /**
   * Raises a channel's low-water mark to `mark` (if higher), dropping held entries at or
   * below it. Returns false when the mark was not higher. Marks that have themselves
   * expired are ignored (they guard nothing the TTL does not).
   */
  raiseLowWater(channel: string, mark: Position, now: HlcTimestamp): boolean {
    const existing = this.channels.get(channel);
    if (existing?.lowWater && comparePositions(mark, existing.lowWater) <= 0) return false;
    if (!existing && this.isExpired(undefined, mark.ts, now, channel)) return false;
    const ch = existing ?? this.channel(channel);
    this.raise(ch, positionOf(mark));
    this.collect(ch, now);
    return true;
  }

  /**
   * Drops the entries past their TTL (and low-water marks that no longer guard
   * anything). Call it periodically; returns the number of entries dropped.
   */
  expire(now: HlcTimestamp): number {
    let dropped = 0;
    for (const ch of [...this.channels.values()]) {
      if (ch.ttlMs > 0) {
        let n = 0;
        while (ch.head + n < ch.items.length && this.isExpired(ch, ch.items[ch.head + n]!.ts, now)) n++;
        if (n > 0) {
          dropped += n;
          this.raise(ch, positionOf(ch.items[ch.head + n - 1]!));
        }
      }
      this.collect(ch, now);
    }
    return dropped;
  }

  /** The newest `limit` entries (oldest first). */
  latest(channel: string, limit: number, now?: HlcTimestamp): HistoryPage {
    const ch = this.channels.get(channel);
    if (!ch) return { entries: [], complete: true, more: false, cursor: undefined };
    let first = ch.head;
    if (now !== undefined) while (first < ch.items.length && this.isExpired(ch, ch.items[first]!.ts, now)) first++;
    const start = Math.max(first, ch.items.length - Math.max(0, limit));
    const entries = ch.items.slice(start);
    const last = entries[entries.length - 1];
    return {
      entries,
      complete: entries.length >= limit || (ch.lowWater === undefined && first === ch.head),
      more: false,
      cursor: last ? encodeCursor(last) : undefined,
    };
  }

  /** Up to `limit` entries after `cursor` (oldest first); throws E_INVALID_ARGUMENT on a malformed cursor. */
  after(channel: string, cursor: string, limit: number, now?: HlcTimestamp): HistoryPage {
    const from = decodeCursor(cursor);
    const ch = this.channels.get(channel);
    if (!ch) return { entries: [], complete: true, more: false, cursor };
    let lo = ch.head;
    let hi = ch.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePositions(ch.items[mid]!, from) <= 0) lo = mid + 1;
      else hi = mid;
    }
    let expiredSkipped = false;
    if (now !== undefined) {
      while (lo < ch.items.length && this.isExpired(ch, ch.items[lo]!.ts, now)) {
        lo++;
        expiredSkipped = true;
      }
    }
    const end = Math.min(ch.items.length, lo + Math.max(0, limit));
    const entries = ch.items.slice(lo, end);
    const last = entries[entries.length - 1];
    return {
      entries,
      complete: !expiredSkipped && (ch.lowWater === undefined || comparePositions(from, ch.lowWater) >= 0),
      more: end < ch.items.length,
      cursor: last ? encodeCursor(last) : cursor,
    };
  }

  /** The persisted form (entries are shared, not copied: encode it before mutating again). */
  snapshot(): HistorySnapshot {
    return {
      channels: [...this.channels.values()].map((ch) => ({
        channel: ch.name,
        ...(ch.lowWater ? { lowWater: ch.lowWater } : {}),
        entries: ch.items.slice(ch.head),
      })),
    };
  }

  private channel(name: string): ChannelHistory {
    let ch = this.channels.get(name);
    if (!ch) {
      const s = this.settings(name);
      const h = hashString64(name);
      ch = { name, items: [], sizes: [], head: 0, hashHi: h[0]!, hashLo: h[1]!, lowWater: undefined, dedupe: new Map(), maxEntries: s.maxEntries, ttlMs: s.ttlMs };
      this.channels.set(name, ch);
    }
    return ch;
  }

  // index of the first held entry at or after `p` (items.length when none)
  private search(ch: ChannelHistory, p: Position): number {
    let lo = ch.head;
    let hi = ch.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePositions(ch.items[mid]!, p) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private isExpired(ch: ChannelHistory | undefined, ts: number, now: HlcTimestamp, name?: string): boolean {
    const ttl = ch ? ch.ttlMs : this.settings(name!).ttlMs;
    return ttl > 0 && hlcWall(ts) + ttl <= hlcWall(now);
  }

  private raise(ch: ChannelHistory, mark: Position): void {
    if (ch.lowWater && comparePositions(mark, ch.lowWater) <= 0) return;
    ch.lowWater = mark;
    this.index?.set(lowWaterKey(ch.name), mark.ts, hashString(idKey(mark)));
    while (ch.head < ch.items.length && comparePositions(ch.items[ch.head]!, mark) <= 0) {
      const e = ch.items[ch.head]!;
      if (this.index) {
        const k = historyKeyHash(ch.hashHi, ch.hashLo, e);
        this.index.deleteRef(e, k[0]!, k[1]!);
      }
      // release the reference now: the dead prefix is compacted lazily
      ch.items[ch.head] = DEAD;
      this.total--;
      ch.head++;
    }
    if (ch.head > 32 && ch.head * 2 > ch.items.length) {
      ch.items.splice(0, ch.head);
      ch.sizes.splice(0, ch.head);
      ch.head = 0;
    }
  }

  // forgets a channel that holds nothing and whose mark guards nothing the TTL does not
  private collect(ch: ChannelHistory, now: HlcTimestamp): void {
    if (ch.items.length > ch.head) return;
    if (ch.lowWater && !(ch.ttlMs > 0 && this.isExpired(ch, ch.lowWater.ts, now))) return;
    if (ch.lowWater) this.index?.delete(lowWaterKey(ch.name));
    this.channels.delete(ch.name);
  }

  private remember(ch: ChannelHistory, key: string, id: EntryId): void {
    ch.dedupe.set(key, { node: id.node, epoch: id.epoch, seq: id.seq });
    if (ch.dedupe.size > this.dedupeWindow) {
      const oldest = ch.dedupe.keys().next().value;
      if (oldest !== undefined) ch.dedupe.delete(oldest);
    }
  }
}
