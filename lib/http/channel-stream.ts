import type { ChannelsApi, SubscriptionItem } from '../internal.js';
import type { EventFilter, EventHub, HubEvent } from './event-hub.js';

/** One event of a stream, before SSE or WebSocket framing. */
export interface StreamItem {
  /** Resume point, on events that have one (messages and gaps of a channel stream). */
  id?: string;
  type: string;
  json: string;
}

/** A channel stream once open: its starting cursor, and how to stop it. */
export interface ChannelStream {
  cursor: string;
  close(): void;
}

/**
 * A stream of one channel that resumes on any agent (decision 0047): messages and gaps
 * come from a {@link ChannelsApi.subscribe} subscription, with the portable cursor as
 * their id, so a client that reconnects anywhere with its last id gets every message it
 * has not seen, once, or a `gap` event naming what is lost. Presence and member events
 * are not history: they are live only, and a resuming stream that asked for presence
 * first gets a `presence-snapshot` of the channel as this agent sees it.
 * Throws E_BAD_CURSOR (before anything is sent) when `after` is not a valid cursor.
 */
export function openChannelStream(
  channels: ChannelsApi,
  hub: EventHub,
  filter: EventFilter & { channel: string },
  after: string | undefined,
  send: (item: StreamItem) => void,
): ChannelStream {
  const types = filter.types ?? [];
  const wantsMessages = types.length === 0 || types.includes('message');
  const wantsPresence = types.length === 0 || types.includes('presence') || types.some((t) => t.startsWith('client-') || t.startsWith('user-'));
  // presence (and member events asked for by type) come live from the hub, without ids
  const hubTypes = types.length === 0 ? ['presence'] : types.filter((t) => t !== 'message');
  const sub = wantsMessages
    ? channels.subscribe(filter.channel, (item: SubscriptionItem) => {
      const json = item.type === 'message' ? JSON.stringify({ channel: item.channel, message: item.message }) : JSON.stringify({ channel: item.channel, gaps: item.gaps });
      send({ id: item.cursor, type: item.type, json });
    }, after !== undefined ? { cursor: after } : {})
    : undefined;
  if (after !== undefined && wantsPresence) {
    const { clients, counts } = channels.presence(filter.channel);
    send({ type: 'presence-snapshot', json: JSON.stringify({ channel: filter.channel, clients, counts }) });
  }
  const unsubscribe = hubTypes.length > 0
    ? hub.subscribe({ channel: filter.channel, types: hubTypes }, (e: HubEvent) => send({ type: e.type, json: e.json })).unsubscribe
    : () => {};
  return {
    cursor: sub?.cursor ?? '',
    close: () => {
      sub?.close();
      unsubscribe();
    },
  };
}
