import type { HistoryEntry } from '../codec/replication-types.js';
import type { DropSummary } from './drops.js';
import type { EntryId, Position } from './position.js';
import { comparePositions } from './position.js';

/** One channel's held entries and retention state, owned by the history store. */
export interface ChannelHistory {
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
  drops: DropSummary;
  // wall ms this replica began to track the channel: what it dropped before, it cannot name
  since: number;
  dedupe: Map<string, EntryId>;
  maxEntries: number;
  ttlMs: number;
}

// placeholder for dropped slots of the dead prefix, so evicted entries can be collected
export const DEAD: HistoryEntry = { ts: 0, node: '', epoch: 0, seq: 0, c: 0, channel: '', data: null };

// index of the first held entry at or after `p` (items.length when none)
export function search(ch: ChannelHistory, p: Position): number {
  let lo = ch.head;
  let hi = ch.items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePositions(ch.items[mid]!, p) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
