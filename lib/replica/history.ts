import type { HlcTimestamp } from '../hlc.js';
import { hlcWall } from '../hlc.js';
import { hashString } from '../random.js';
import { hashString64 } from '../summary/hash64.js';
import { payloadSize } from './limits.js';
import type { RecordIndex } from '../summary/merkle.js';
import type { EntryId, Position } from './position.js';
import { comparePositions, idKey, positionOf } from './position.js';
import type { DropsWire } from './drops.js';
import { DropSummary } from './drops.js';
import type { ReadCursor } from './cursor.js';
import { cloneCursor, originKey } from './cursor.js';
import type { HistoryEntry } from '../codec/replication-types.js';
import type { ChannelHistory } from './channel-history.js';
import { DEAD, search } from './channel-history.js';
import type { ChannelSettings, HistoryGap, HistoryOptions, HistoryPage, HistorySnapshot, InsertStatus, LowWaterState } from './history-types.js';
import { historyKeyHash, lowWaterKey } from './history-keys.js';
import { hasExtras, latestPage, pageAfter } from './history-reader.js';
// the facade: importers keep importing the history's types and keys from here
export type { ChannelSettings, HistoryEntry, HistoryGap, HistoryOptions, HistoryPage, HistorySnapshot, InsertStatus, LowWaterState } from './history-types.js';
export { historyKey, historyKeyHash, lowWaterKey } from './history-keys.js';

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

  /** The channel's low-water mark with its drop summary (the Merkle record), if it ever dropped an entry. */
  lowWaterState(channel: string): LowWaterState | undefined {
    const ch = this.channels.get(channel);
    return ch?.lowWater ? { mark: ch.lowWater, drops: ch.drops.toWire() } : undefined;
  }

  /**
   * The held entry with this id. With the position (`ts` given) it is a binary search;
   * with the id alone, a scan from the newest entry (idempotent repeats are recent).
   */
  get(channel: string, id: EntryId | Position): HistoryEntry | undefined {
    const ch = this.channels.get(channel);
    if (!ch) return undefined;
    if ('ts' in id && typeof id.ts === 'number') {
      const at = search(ch, id);
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
    const ch = this.channel(entry.channel, now);
    // an entry's identity is its position: its origin gives an id one timestamp, once,
    // so the sorted entries themselves answer "held already?" (no id map, decision 0026)
    let at = ch.items.length;
    if (at > ch.head && comparePositions(ch.items[at - 1]!, entry) >= 0) {
      at = search(ch, entry);
      if (comparePositions(ch.items[at]!, entry) === 0) return 'duplicate';
    }
    if (ch.lowWater && comparePositions(entry, ch.lowWater) <= 0) {
      // it never reaches a reader: readers behind it must be told (decision 0047)
      if (ch.drops.add(entry, entry.c)) this.indexMark(ch);
      return 'below-low-water';
    }
    if (this.isExpired(ch, entry.ts, now)) {
      ch.drops.add(entry, entry.c);
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
  raiseLowWater(channel: string, mark: Position, now: HlcTimestamp, drops?: DropsWire): boolean {
    const existing = this.channels.get(channel);
    const higher = !existing?.lowWater || comparePositions(mark, existing.lowWater) > 0;
    if (!existing && this.isExpired(undefined, mark.ts, now, channel)) return false;
    const ch = existing ?? this.channel(channel, now);
    // the peer's drop knowledge first: the entries this raise drops are recorded on top
    const merged = drops !== undefined && ch.drops.merge(drops);
    if (higher) this.raise(ch, positionOf(mark));
    else if (merged && ch.lowWater) this.indexMark(ch);
    this.collect(ch, now);
    return higher || merged;
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

  /**
   * A cursor that has handled everything up to and including the held entry `e` (a
   * publisher's "what comes after mine"), or undefined when it is not held.
   */
  cursorAt(channel: string, e: EntryId | Position, now?: HlcTimestamp): ReadCursor | undefined {
    const ch = this.channels.get(channel);
    const held = ch ? this.get(channel, e) : undefined;
    if (!ch || !held) return undefined;
    const cursor: ReadCursor = { floor: positionOf(held), origins: new Map(), ...(now !== undefined ? { readAt: hlcWall(now) } : {}) };
    if (held.c > 0) cursor.origins.set(originKey(held.node, held.epoch), { c: held.c, extras: [] });
    return cursor;
  }

  /**
   * The newest `limit` entries (oldest first), and a cursor that has handled everything
   * up to the first of them: reading after it yields what comes next, including entries
   * that arrive later behind the ones returned.
   */
  latest(channel: string, limit: number, now?: HlcTimestamp): HistoryPage {
    const ch = this.channels.get(channel);
    const readAt = now !== undefined ? { readAt: hlcWall(now) } : {};
    if (!ch) return { entries: [], complete: true, gaps: [], more: false, pending: false, cursor: { floor: undefined, origins: new Map(), ...readAt } };
    if (now !== undefined) this.expireChannel(ch, now);
    return latestPage(ch, limit, readAt);
  }

  /**
   * Up to `limit` held entries the reader of `from` has not been given, in the merged
   * order, each once, with the gaps: what it had not been given and is no longer held
   * (decision 0047). `from` is not modified.
   */
  after(channel: string, from: ReadCursor, limit: number, now?: HlcTimestamp): HistoryPage {
    let ch = this.channels.get(channel);
    const cursor = cloneCursor(from);
    const gaps: HistoryGap[] = [];
    if (now !== undefined) {
      if (ch) this.expireChannel(ch, now);
      ch = this.channels.get(channel);
      // what expired before this replica began to track the channel (it forgets a channel
      // whose entries and mark all expired) left no trace: a reader that read before then
      // and has been away longer than the TTL is told it may have lost some
      const ttl = ch ? ch.ttlMs : this.settings(channel).ttlMs;
      const untracked = !ch || from.readAt === undefined || ch.since > from.readAt;
      if (ttl > 0 && untracked && (from.readAt === undefined || hlcWall(now) - from.readAt >= ttl)) gaps.push({ count: 1, exact: false });
      cursor.readAt = hlcWall(now);
    }
    if (!ch) return { entries: [], complete: gaps.length === 0, gaps, more: false, pending: hasExtras(cursor), cursor };
    return pageAfter(ch, cursor, gaps, limit);
  }

  // drops the expired prefix of one channel now, so a read sees exactly what is held
  private expireChannel(ch: ChannelHistory, now: HlcTimestamp): void {
    if (ch.ttlMs <= 0) return;
    let n = 0;
    while (ch.head + n < ch.items.length && this.isExpired(ch, ch.items[ch.head + n]!.ts, now)) n++;
    if (n > 0) this.raise(ch, positionOf(ch.items[ch.head + n - 1]!));
  }

  /** The persisted form (entries are shared, not copied: encode it before mutating again). */
  snapshot(): HistorySnapshot {
    return {
      channels: [...this.channels.values()].map((ch) => ({
        channel: ch.name,
        ...(ch.lowWater ? { lowWater: ch.lowWater, drops: ch.drops.toWire() } : {}),
        entries: ch.items.slice(ch.head),
      })),
    };
  }

  private channel(name: string, now: HlcTimestamp): ChannelHistory {
    let ch = this.channels.get(name);
    if (!ch) {
      const s = this.settings(name);
      const h = hashString64(name);
      // the drop summary remembers as many origin epochs as the channel holds entries
      // (at least 16, at most 1,024): enough for a reader a full cap behind
      const drops = new DropSummary(Math.max(16, Math.min(1024, s.maxEntries)));
      ch = { name, items: [], sizes: [], head: 0, hashHi: h[0]!, hashLo: h[1]!, lowWater: undefined, drops, dedupe: new Map(), maxEntries: s.maxEntries, ttlMs: s.ttlMs, since: hlcWall(now) };
      this.channels.set(name, ch);
    }
    return ch;
  }

  private isExpired(ch: ChannelHistory | undefined, ts: number, now: HlcTimestamp, name?: string): boolean {
    const ttl = ch ? ch.ttlMs : this.settings(name!).ttlMs;
    return ttl > 0 && hlcWall(ts) + ttl <= hlcWall(now);
  }

  private raise(ch: ChannelHistory, mark: Position): void {
    if (ch.lowWater && comparePositions(mark, ch.lowWater) <= 0) return;
    ch.lowWater = mark;
    while (ch.head < ch.items.length && comparePositions(ch.items[ch.head]!, mark) <= 0) {
      const e = ch.items[ch.head]!;
      ch.drops.add(e, e.c);
      if (this.index) {
        const k = historyKeyHash(ch.hashHi, ch.hashLo, e);
        this.index.deleteRef(e, k[0]!, k[1]!);
      }
      // release the reference now: the dead prefix is compacted lazily
      ch.items[ch.head] = DEAD;
      this.total--;
      ch.head++;
    }
    this.indexMark(ch);
    if (ch.head > 32 && ch.head * 2 > ch.items.length) {
      ch.items.splice(0, ch.head);
      ch.sizes.splice(0, ch.head);
      ch.head = 0;
    }
  }

  // the Merkle record of the mark covers the drop summary, so replicas that differ only
  // in what they know was dropped still find each other out and merge
  private indexMark(ch: ChannelHistory): void {
    if (!ch.lowWater) return;
    this.index?.set(lowWaterKey(ch.name), ch.lowWater.ts, (hashString(idKey(ch.lowWater)) + ch.drops.hash) >>> 0);
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
