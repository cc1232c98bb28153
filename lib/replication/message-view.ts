import type { ChannelEvents, HistoryEntry, MessageView } from './channels.js';
import { hlcWall } from '../hlc.js';

/** A stored history entry as applications see it. */
export function messageView(e: HistoryEntry): MessageView {
  return { id: `${e.node}:${e.epoch}:${e.seq}`, ts: hlcWall(e.ts), node: e.node, data: e.data, headers: e.headers ?? {}, n: e.c };
}

/**
 * A 'message' event whose view is built on first access: a daemon that only persists
 * `entry` (or a bulk catch-up of a million entries) does not pay for cursors it never reads.
 */
export function lazyMessageEvent(entry: HistoryEntry): ChannelEvents['message'] {
  return new LazyMessageEvent(entry);
}

// a class, not an object literal with a getter: one shared shape and prototype getter
// instead of a fresh accessor closure per event
class LazyMessageEvent {
  readonly channel: string;
  private view: MessageView | undefined;
  constructor(readonly entry: HistoryEntry) {
    this.channel = entry.channel;
  }
  get message(): MessageView {
    return (this.view ??= messageView(this.entry));
  }
}
