import type { Subscription, SubscriptionItem } from './channels.js';
import type { Timer } from '../clock.js';
import type { ReadCursor } from '../replica/cursor.js';
import { originKey } from '../replica/cursor.js';
import type { HistoryEntry } from '../replica/history.js';
import { comparePositions } from '../replica/position.js';
import type { Replicator } from './replicator.js';
import { messageView } from './message-view.js';

/** How often a subscription re-reads its channel to learn of drops no event announces (late entries refused, merged drop summaries). */
const RESCAN_MS = 1000;

/**
 * A reader following one channel with a cursor (decision 0047). Items are handed over in
 * the order the reader must see them, each with the cursor after it:
 * - the entry that continues its origin's numbering above the floor is delivered at once
 *   from the 'message' event (the common case: O(1) plus encoding the cursor);
 * - anything else (a first entry of an origin epoch, an entry behind the floor or after
 *   a hole, a late arrival) makes it read the store after its cursor, which finds it in
 *   its merged place, exactly once, with any gap;
 * - a periodic re-read reports what was dropped without an event.
 */
export class ChannelSubscription implements Subscription {
  private current: ReadCursor;
  private encoded: string;
  private closed = false;
  private draining = false;
  private drainQueued = false;
  private readonly off: () => void;
  private timer: Timer | undefined;

  /**
   * @param from the reader's cursor; undefined starts with what is stored from now on.
   */
  constructor(
    private readonly rep: Replicator,
    private readonly channel: string,
    private readonly encode: (c: ReadCursor) => string,
    private readonly onItem: (item: SubscriptionItem) => void,
    from: ReadCursor | undefined,
  ) {
    this.current = from ?? rep.replica.history.latest(channel, 0, rep.nowTs()).cursor;
    this.encoded = encode(this.current);
    this.off = rep.events.on('message', (ev) => {
      if (ev.channel === this.channel) this.onStored(ev.entry);
    });
    this.rescan();
    // the replay starts on the next microtask: the caller first gets the subscription
    // (an HTTP stream writes its headers), then the items
    if (from) this.queueDrain();
  }

  get cursor(): string {
    return this.encoded;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.off();
    this.timer?.cancel();
  }

  // on the node's clock (virtual in tests and the simulator), re-armed after each run
  private rescan(): void {
    this.timer = this.rep.clock.setTimer(RESCAN_MS, () => {
      if (this.closed) return;
      this.drain();
      this.rescan();
    });
  }

  private onStored(e: HistoryEntry): void {
    if (this.closed) return;
    if (this.draining || this.drainQueued) {
      this.queueDrain();
      return;
    }
    const floor = this.current.floor;
    const p = e.c > 0 ? this.current.origins.get(originKey(e.node, e.epoch)) : undefined;
    if (p && p.extras.length === 0 && e.c === p.c + 1 && (!floor || comparePositions(e, floor) > 0)) {
      p.c = e.c;
      this.encoded = this.encode(this.current);
      this.onItem({ type: 'message', channel: this.channel, message: messageView(e), cursor: this.encoded });
      return;
    }
    this.queueDrain();
  }

  private queueDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      this.drain();
    });
  }

  // reads after the cursor one entry at a time, so each item carries the exact cursor after it
  private drain(): void {
    if (this.closed || this.draining) return;
    this.draining = true;
    try {
      const history = this.rep.replica.history;
      const now = this.rep.nowTs();
      for (;;) {
        // gaps first, with the cursor that has them behind it but not the next entry
        const head = history.after(this.channel, this.current, 0, now);
        this.current = head.cursor;
        this.encoded = this.encode(this.current);
        if (head.gaps.length > 0) this.onItem({ type: 'gap', channel: this.channel, gaps: head.gaps, cursor: this.encoded });
        if (this.closed || !head.more) break;
        // nothing changed since: the page holds no gap, only the next entry
        const page = history.after(this.channel, this.current, 1, now);
        const e = page.entries[0];
        if (!e) break;
        this.current = page.cursor;
        this.encoded = this.encode(this.current);
        this.onItem({ type: 'message', channel: this.channel, message: messageView(e), cursor: this.encoded });
        if (this.closed) break;
      }
    } finally {
      this.draining = false;
    }
  }
}
