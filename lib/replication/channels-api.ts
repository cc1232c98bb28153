import type { ChannelSummary, ChannelsApi, HistoryView, PresenceView, PublishReceipt, Subscription, SubscriptionItem } from './channels.js';
import { ClusterError } from '../errors.js';
import { hlcWall } from '../hlc.js';
import { checkPayloadShape } from './payload-shape.js';
import { payloadSize, validateChannel } from '../replica/limits.js';
import { cursorScope, decodeReadCursor, emptyCursor, encodeReadCursor } from '../replica/cursor.js';
import type { ReadCursor } from '../replica/cursor.js';
import { ChannelSubscription } from './subscription.js';
import type { PresenceEntry } from '../replica/presence.js';
import { messageView } from './message-view.js';
import type { Replicator } from './replicator.js';

/** The cursor of a reader that has been given nothing yet: `history(ch, { after: 'start' })` reads from the oldest held entry. */
export const START_CURSOR = 'start';

/** Most history entries one read returns. */
export const MAX_HISTORY_PAGE = 10_000;
/** Entries a read returns when it names no limit. */
export const DEFAULT_HISTORY_PAGE = 100;

function presenceView(e: PresenceEntry): PresenceView {
  return { clientId: e.clientId, user: e.user, info: e.info, node: e.node, since: hlcWall(e.since) };
}

/**
 * {@link ChannelsApi} over a node's replicator: validates, applies to the local replica,
 * emits the events and queues the delta for the next flush.
 */
export class Channels implements ChannelsApi {
  /**
   * @param rep the node's replicator.
   * @param label the cluster label: cursors carry a tag of it, so another cluster's are refused.
   */
  constructor(private readonly rep: Replicator, private readonly label = '') {}

  /** Decodes a reader's cursor for `channel` (E_BAD_CURSOR when malformed or foreign). */
  decodeCursor(channel: string, cursor: string): ReadCursor {
    // 'start': a reader that has been given nothing yet (everything held, gaps for the rest)
    if (cursor === START_CURSOR) return emptyCursor();
    return decodeReadCursor(cursor, cursorScope(this.label, channel));
  }

  /** Encodes a reader's cursor for `channel`. */
  encodeCursor(channel: string, cursor: ReadCursor): string {
    return encodeReadCursor(cursor, cursorScope(this.label, channel));
  }

  join(channel: string, clientId: string, user: string, info: unknown = null): PresenceView {
    checkPayloadShape(info, 'presence info');
    const r = this.rep.replica;
    const change = r.join(channel, clientId, user, info ?? null, this.rep.hlc.now());
    this.rep.commit(change, payloadSize(info ?? null, 'presence info'));
    return presenceView(r.presence.get(channel, clientId)!);
  }

  update(channel: string, clientId: string, info: unknown): boolean {
    const r = this.rep.replica;
    const old = r.presence.get(channel, clientId);
    if (!old || old.node !== r.node) return false;
    checkPayloadShape(info, 'presence info');
    this.rep.commit(r.update(channel, clientId, info ?? null), payloadSize(info ?? null, 'presence info'));
    return true;
  }

  leave(channel: string, clientId: string): boolean {
    const r = this.rep.replica;
    const old = r.presence.get(channel, clientId);
    if (!old || old.node !== r.node) return false;
    this.rep.commit(r.leave(channel, clientId), 0);
    return true;
  }

  presence(channel: string): { clients: PresenceView[]; counts: { clients: number; users: number } } {
    const r = this.rep.replica;
    validateChannel(channel, r.limits);
    return { clients: r.presence.list(channel).map(presenceView), counts: r.presence.counts(channel) };
  }

  publish(channel: string, data: unknown, options: { headers?: Record<string, string>; idempotencyKey?: string } = {}): PublishReceipt {
    const value = data === undefined ? null : data;
    checkPayloadShape(value, 'history payload');
    if (options.headers !== undefined && Object.prototype.hasOwnProperty.call(options.headers, '__proto__')) {
      throw new ClusterError('E_INVALID_ARGUMENT', 'headers must not have a "__proto__" key');
    }
    const r = this.rep.replica;
    const result = r.publish(channel, value, this.rep.hlc.now(), options);
    const id = `${result.id.node}:${result.id.epoch}:${result.id.seq}`;
    if (result.duplicate) {
      // an evicted original: an empty cursor reads everything held, with the gaps
      return { id, cursor: this.encodeCursor(channel, r.history.cursorAt(channel, result.id, this.rep.nowTs()) ?? emptyCursor()), duplicate: true };
    }
    this.rep.commit(result, result.payloadBytes);
    const d = result.delta!;
    return { id, cursor: this.encodeCursor(channel, r.history.cursorAt(channel, d, d.kind === 'publish' ? d.ts : undefined) ?? emptyCursor()), duplicate: false };
  }

  history(channel: string, options: { limit?: number; after?: string } = {}): HistoryView {
    const r = this.rep.replica;
    validateChannel(channel, r.limits);
    const limit = options.limit ?? DEFAULT_HISTORY_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
      throw new ClusterError('E_INVALID_ARGUMENT', `history limit must be an integer from 1 to ${MAX_HISTORY_PAGE}, got ${String(limit)}`);
    }
    const now = this.rep.nowTs();
    const page = options.after !== undefined ? r.history.after(channel, this.decodeCursor(channel, options.after), limit, now) : r.history.latest(channel, limit, now);
    return {
      messages: page.entries.map(messageView),
      complete: page.complete,
      gaps: page.gaps,
      more: page.more,
      pending: page.pending || !this.rep.ready,
      cursor: this.encodeCursor(channel, page.cursor),
    };
  }

  subscribe(channel: string, onItem: (item: SubscriptionItem) => void, options: { cursor?: string } = {}): Subscription {
    validateChannel(channel, this.rep.replica.limits);
    const from = options.cursor !== undefined ? this.decodeCursor(channel, options.cursor) : undefined;
    return new ChannelSubscription(this.rep, channel, (c) => this.encodeCursor(channel, c), onItem, from);
  }

  checkCursor(channel: string, cursor: string): void {
    validateChannel(channel, this.rep.replica.limits);
    this.decodeCursor(channel, cursor);
  }

  list(): ChannelSummary[] {
    const r = this.rep.replica;
    const out = new Map<string, ChannelSummary>();
    for (const c of r.presence.channelList()) out.set(c.channel, { channel: c.channel, clients: c.clients, users: c.users, messages: 0 });
    for (const ch of r.history.channelNames()) {
      const n = r.history.count(ch);
      const s = out.get(ch);
      if (s) s.messages = n;
      else if (n > 0) out.set(ch, { channel: ch, clients: 0, users: 0, messages: n });
    }
    return [...out.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
  }
}
