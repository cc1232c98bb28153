import type { RecordIndex } from '../summary/merkle.js';
import type { PresenceEntry } from '../codec/replication-types.js';
export type { PresenceEntry } from '../codec/replication-types.js';

/** Presence events, returned by the functions that change presence (never emitted). */
export type PresenceEvent =
  | { type: 'client-join' | 'client-update' | 'client-leave'; channel: string; clientId: string; user: string; info: unknown; node: string }
  | { type: 'user-join' | 'user-leave'; channel: string; user: string };

/** Client and distinct-user counts of a channel. */
export interface PresenceCounts {
  clients: number;
  users: number;
}

interface ChannelPresence {
  clients: Map<string, PresenceEntry>;
  users: Map<string, number>;
}

/** The record key of a presence entry in the Merkle tree. */
export function presenceKey(channel: string, clientId: string): string {
  return `p\u0000${channel}\u0000${clientId}`;
}

/**
 * The presence table: `(channel, clientId) → entry`, with per-user reference counts so
 * user-join/user-leave fire exactly on a user's first and last client in a channel, and
 * a per-node index so dropping a dead node costs O(its entries). It applies what it is
 * told; version and ownership checks are the replica's job.
 */
export class PresenceStore {
  private readonly channels = new Map<string, ChannelPresence>();
  private readonly byNode = new Map<string, Set<PresenceEntry>>();
  private count = 0;

  /** @param index receives every record change (the Merkle tree). */
  constructor(private readonly index?: RecordIndex) {}

  /** Number of entries across channels. */
  get size(): number {
    return this.count;
  }

  /** The entry of a client in a channel. */
  get(channel: string, clientId: string): PresenceEntry | undefined {
    return this.channels.get(channel)?.clients.get(clientId);
  }

  /** Number of channels with at least one client. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** True when the channel has at least one client. */
  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Clients of a channel (a fresh array). */
  list(channel: string): PresenceEntry[] {
    const ch = this.channels.get(channel);
    return ch ? [...ch.clients.values()] : [];
  }

  /** Clients and distinct users of a channel. */
  counts(channel: string): PresenceCounts {
    const ch = this.channels.get(channel);
    return ch ? { clients: ch.clients.size, users: ch.users.size } : { clients: 0, users: 0 };
  }

  /** Channels that have at least one client, with their counts. */
  channelList(): { channel: string; clients: number; users: number }[] {
    return [...this.channels].map(([channel, ch]) => ({ channel, clients: ch.clients.size, users: ch.users.size }));
  }

  /** Every entry (live iterator: do not mutate while iterating). */
  *entries(): IterableIterator<PresenceEntry> {
    for (const ch of this.channels.values()) yield* ch.clients.values();
  }

  /** Entries written by `node` (any epoch). */
  ofNode(node: string): PresenceEntry[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  /** Inserts or replaces the entry of (entry.channel, entry.clientId). */
  put(entry: PresenceEntry): PresenceEvent[] {
    const events: PresenceEvent[] = [];
    let ch = this.channels.get(entry.channel);
    if (!ch) {
      ch = { clients: new Map(), users: new Map() };
      this.channels.set(entry.channel, ch);
    }
    const old = ch.clients.get(entry.clientId);
    if (old) {
      this.unindex(old);
      if (old.user !== entry.user) this.releaseUser(ch, old.channel, old.user, events);
    } else {
      this.count++;
    }
    ch.clients.set(entry.clientId, entry);
    this.indexNode(entry);
    this.index?.set(presenceKey(entry.channel, entry.clientId), entry.epoch, entry.seq);
    if (!old || old.user !== entry.user) this.retainUser(ch, entry.channel, entry.user, events);
    const type = old ? 'client-update' : 'client-join';
    events.push({ type, channel: entry.channel, clientId: entry.clientId, user: entry.user, info: entry.info, node: entry.node });
    // user-join reads better after client-join: the client exists when the user appears
    if (!old && events.length === 2) events.reverse();
    return events;
  }

  /** Removes the entry of a client; no events when absent. */
  remove(channel: string, clientId: string): PresenceEvent[] {
    const ch = this.channels.get(channel);
    const old = ch?.clients.get(clientId);
    if (!ch || !old) return [];
    const events: PresenceEvent[] = [];
    ch.clients.delete(clientId);
    this.count--;
    this.unindex(old);
    this.index?.delete(presenceKey(channel, clientId));
    events.push({ type: 'client-leave', channel, clientId, user: old.user, info: old.info, node: old.node });
    this.releaseUser(ch, channel, old.user, events);
    if (ch.clients.size === 0) this.channels.delete(channel);
    return events;
  }

  /** Removes every entry of `node` for which `keep` (if given) returns false. */
  removeNode(node: string, keep?: (entry: PresenceEntry) => boolean): PresenceEvent[] {
    const set = this.byNode.get(node);
    if (!set) return [];
    const events: PresenceEvent[] = [];
    for (const e of [...set]) if (!keep || !keep(e)) events.push(...this.remove(e.channel, e.clientId));
    return events;
  }

  /** Drops everything without events (used when rebuilding). */
  clear(): void {
    for (const e of this.entries()) this.index?.delete(presenceKey(e.channel, e.clientId));
    this.channels.clear();
    this.byNode.clear();
    this.count = 0;
  }

  private indexNode(e: PresenceEntry): void {
    let set = this.byNode.get(e.node);
    if (!set) {
      set = new Set();
      this.byNode.set(e.node, set);
    }
    set.add(e);
  }

  private unindex(e: PresenceEntry): void {
    const set = this.byNode.get(e.node);
    if (!set) return;
    set.delete(e);
    if (set.size === 0) this.byNode.delete(e.node);
  }

  private retainUser(ch: ChannelPresence, channel: string, user: string, events: PresenceEvent[]): void {
    const n = ch.users.get(user) ?? 0;
    ch.users.set(user, n + 1);
    if (n === 0) events.push({ type: 'user-join', channel, user });
  }

  private releaseUser(ch: ChannelPresence, channel: string, user: string, events: PresenceEvent[]): void {
    const n = ch.users.get(user) ?? 0;
    if (n <= 1) {
      ch.users.delete(user);
      events.push({ type: 'user-leave', channel, user });
    } else {
      ch.users.set(user, n - 1);
    }
  }
}
