import type { SyncRecord } from '../codec/replication-types.js';
import { historyRecordSize } from '../codec/replication-types.js';
import type { HistoryStore } from './history.js';
import { historyKey, lowWaterKey } from './history.js';
import { payloadSize } from './limits.js';
import type { PresenceStore } from './presence.js';
import { presenceKey } from './presence.js';

// A replica's records as the Merkle exchange and the bulk stream see them: each held
// presence entry, history entry and low-water mark under a key, with a size bound.

/** The record stored under a Merkle key. */
export function findRecord(presence: PresenceStore, history: HistoryStore, key: string): SyncRecord | undefined {
  const parts = key.split('\u0000');
  switch (parts[0]) {
    case 'p': {
      const entry = presence.get(parts[1]!, parts.slice(2).join('\u0000'));
      return entry ? { kind: 'presence', entry } : undefined;
    }
    case 'h': {
      if (parts.length !== 6) return undefined;
      const entry = history.get(parts[1]!, { ts: Number(parts[2]), node: parts[3]!, epoch: Number(parts[4]), seq: Number(parts[5]) });
      return entry ? { kind: 'history', entry } : undefined;
    }
    case 'l': {
      const state = history.lowWaterState(parts[1]!);
      return state ? { kind: 'low-water', channel: parts[1]!, mark: state.mark, drops: state.drops } : undefined;
    }
    default:
      return undefined;
  }
}

/** The Merkle key of a record. */
export function keyOfRecord(record: SyncRecord): string {
  switch (record.kind) {
    case 'presence': return presenceKey(record.entry.channel, record.entry.clientId);
    case 'history': return historyKey(record.entry.channel, record.entry);
    case 'low-water': return lowWaterKey(record.channel);
  }
}

/**
 * Every record key held (a fresh array: the bulk stream walks it while the state moves on).
 * @param options.history include history entries (marks and presence always). @default true
 */
export function listRecordKeys(presence: PresenceStore, history: HistoryStore, options: { history?: boolean } = {}): string[] {
  const keys: string[] = [];
  for (const ch of history.channelNames()) {
    if (history.lowWater(ch)) keys.push(lowWaterKey(ch));
    if (options.history !== false) for (const e of history.entries(ch)) keys.push(historyKey(ch, e));
  }
  for (const e of presence.entries()) keys.push(presenceKey(e.channel, e.clientId));
  return keys;
}

/** An upper bound of a record's encoded size. */
export function recordSizeBound(record: SyncRecord): number {
  switch (record.kind) {
    case 'presence': {
      const e = record.entry;
      return 64 + 3 * (e.channel.length + e.clientId.length + e.user.length + e.node.length) + payloadSize(e.info, 'info');
    }
    case 'history':
      return historyRecordSize(record.entry, payloadSize(record.entry.data, 'payload'));
    case 'low-water': {
      let n = 48 + 3 * (record.channel.length + record.mark.node.length);
      // a drop record as a bulk chunk encodes it: a map of five keys (ts up to 9 bytes)
      for (const r of record.drops?.records ?? []) n += 48 + 3 * r.node.length;
      if (record.drops?.horizon) n += 48 + 3 * record.drops.horizon.node.length;
      return n;
    }
  }
}

