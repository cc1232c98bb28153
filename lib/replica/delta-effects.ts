import type { HlcTimestamp } from '../hlc.js';
import type { Delta } from './delta.js';
import type { HistoryEntry, HistoryStore } from './history.js';
import { payloadSize } from './limits.js';
import type { PresenceEntry, PresenceStore } from './presence.js';
import { isCount } from './replica-guards.js';
import type { ReplicaEvent } from './replica-types.js';

// What a change does to a replica's state: the effect of a delta on presence and
// history, and the storing of a peer's history entry. Ordering (vector, rings, the
// out-of-order buffer) stays with the Replica.

/**
 * Applies one change's effect on presence and history (`removed`: the newest epoch of
 * each origin whose presence was removed); returns its payload size, or -1 for a history
 * payload of a peer's change that was not measured (measured lazily if ever needed).
 */
export function applyDelta(presence: PresenceStore, history: HistoryStore, removed: ReadonlyMap<string, number>,
  d: Delta, now: HlcTimestamp, events: ReplicaEvent[], knownSize?: number): number {
  switch (d.kind) {
    case 'publish': {
      const size = knownSize ?? -1;
      const entry: HistoryEntry = { ts: d.ts, node: d.node, epoch: d.epoch, seq: d.seq, c: d.c, channel: d.channel, data: d.data };
      if (d.headers !== undefined) entry.headers = d.headers;
      if (d.idempotencyKey !== undefined) entry.idempotencyKey = d.idempotencyKey;
      if (history.insert(entry, size, now) === 'added') events.push({ type: 'message', entry });
      return size;
    }
    case 'join':
    case 'update': {
      if ((removed.get(d.node) ?? -1) >= d.epoch) return 0;
      const entry: PresenceEntry = { channel: d.channel, clientId: d.clientId, user: d.user, info: d.info,
        node: d.node, epoch: d.epoch, seq: d.seq, since: d.since };
      const old = presence.get(d.channel, d.clientId);
      if (!old || supersedes(entry, old)) events.push(...presence.put(entry));
      return knownSize ?? payloadSize(d.info, 'presence info');
    }
    case 'leave': {
      const old = presence.get(d.channel, d.clientId);
      if (old && old.node === d.node && (old.epoch < d.epoch || (old.epoch === d.epoch && old.seq < d.seq))) {
        events.push(...presence.remove(d.channel, d.clientId));
      }
      return 0;
    }
  }
}

/** Stores a history entry received from a peer or a snapshot (copied, its counter checked); returns the insert status. */
export function storePublish(history: HistoryStore, e: HistoryEntry, now: HlcTimestamp, events: ReplicaEvent[]): string {
  // entries persisted before counters existed have none: 0 (position-only, decision 0047)
  const entry: HistoryEntry = { ts: e.ts, node: e.node, epoch: e.epoch, seq: e.seq, c: isCount(e.c) ? e.c : 0, channel: e.channel, data: e.data };
  if (e.headers !== undefined) entry.headers = e.headers;
  if (e.idempotencyKey !== undefined) entry.idempotencyKey = e.idempotencyKey;
  const status = history.insert(entry, -1, now);
  if (status === 'added') events.push({ type: 'message', entry });
  return status;
}

// one writer per version of a record: the same node orders by (epoch, seq); a client that
// moved to another node is won by the later join (since, then node name)
export function supersedes(a: PresenceEntry, b: PresenceEntry): boolean {
  if (a.node === b.node) return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
  return a.since > b.since || (a.since === b.since && a.node > b.node);
}
