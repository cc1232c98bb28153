import type { HistoryEntry } from '../codec/replication-types.js';
import type { ChannelHistory } from './channel-history.js';
import type { OriginProgress, ReadCursor } from './cursor.js';
import { MAX_CURSOR_EXTRAS, MAX_CURSOR_ORIGINS, originKey } from './cursor.js';
import type { HistoryGap, HistoryPage } from './history-types.js';
import { comparePositions, positionOf } from './position.js';

// The read side of a channel's history: what a reader with a cursor is given, what it
// is told it lost (decision 0047), and the cursor it resumes from. The store owns the
// entries and expiry; these functions only read them (and the cursor they build).

/**
 * The newest `limit` entries of `ch` (already expired), with a cursor that has handled
 * everything up to the first of them (see `HistoryStore.latest`).
 */
export function latestPage(ch: ChannelHistory, limit: number, readAt: { readAt?: number }): HistoryPage {
  const start = Math.max(ch.head, ch.items.length - Math.max(0, limit));
  const entries = ch.items.slice(start);
  const floor = start > ch.head ? positionOf(ch.items[start - 1]!) : ch.lowWater;
  const cursor: ReadCursor = { floor, origins: new Map(), ...readAt };
  // below the floor every entry is handled: each origin epoch's newest number there is its prefix
  for (let i = ch.head; i < start; i++) {
    const e = ch.items[i]!;
    if (e.c > 0) cursor.origins.set(originKey(e.node, e.epoch), { c: e.c, extras: [] });
  }
  for (const e of entries) if (e.c > 0) handle(cursor, ch, e);
  prune(cursor, ch);
  return {
    entries,
    complete: entries.length >= limit || (ch.lowWater === undefined && start === ch.head),
    gaps: [],
    more: false,
    pending: hasExtras(cursor),
    cursor,
  };
}

/**
 * Up to `limit` held entries of `ch` (already expired) that the reader of `cursor` has
 * not been given, with the gaps (see `HistoryStore.after`). `cursor` (a copy of the
 * reader's) is advanced in place; `gaps` may already hold what the store found.
 */
export function pageAfter(ch: ChannelHistory, cursor: ReadCursor, gaps: HistoryGap[], limit: number): HistoryPage {
  // 1. below the horizon this replica no longer knows which origins lost what
  const horizon = ch.drops.horizon;
  if (horizon && (!cursor.floor || comparePositions(cursor.floor, horizon) < 0)) {
    gaps.push({ count: 1, exact: false });
    cursor.floor = horizon;
  }
  // 2. per origin epoch, the dropped numbers the reader had not handled
  for (const r of ch.drops.all()) {
    const key = originKey(r.node, r.epoch);
    const p = cursor.origins.get(key);
    if (!p) {
      // nothing of this origin epoch handled above the floor: what it lost above the floor is the reader's loss
      if (!cursor.floor || comparePositions(r, cursor.floor) > 0) {
        gaps.push(cursor.floor ? { node: r.node, epoch: r.epoch, to: r.c, count: 1, exact: false } : { node: r.node, epoch: r.epoch, from: 1, to: r.c, count: r.c, exact: true });
      }
      cursor.origins.set(key, { c: r.c, extras: [] });
      continue;
    }
    if (r.c <= p.c) continue;
    if (cursor.floor && comparePositions(r, cursor.floor) <= 0) {
      // every entry of it up to r.c sits at or below the floor: handled
      p.c = r.c;
      p.extras = p.extras.filter((x) => x > r.c);
      absorb(p);
      continue;
    }
    let had = 0;
    for (const x of p.extras) if (x <= r.c) had++;
    const lost = r.c - p.c - had;
    if (lost > 0) gaps.push({ node: r.node, epoch: r.epoch, from: p.c + 1, to: r.c, count: lost, exact: true });
    p.c = r.c;
    if (had > 0) p.extras = p.extras.filter((x) => x > r.c);
    absorb(p);
  }
  // 3. the held entries not handled, in order
  const entries: HistoryEntry[] = [];
  let more = false;
  for (let i = ch.head; i < ch.items.length; i++) {
    const e = ch.items[i]!;
    if (cursor.floor && comparePositions(e, cursor.floor) <= 0) {
      // handled by the floor, and so is every earlier entry of its origin epoch (they
      // sit before it): what the cursor must know to tell the next ones' holes
      if (e.c > 0) {
        const key = originKey(e.node, e.epoch);
        const p = cursor.origins.get(key);
        if (!p) cursor.origins.set(key, { c: e.c, extras: [] });
        else if (e.c > p.c) {
          p.c = e.c;
          p.extras = p.extras.filter((x) => x > e.c);
          absorb(p);
        }
      }
      continue;
    }
    if (e.c > 0) {
      const p = cursor.origins.get(originKey(e.node, e.epoch));
      if (p && (e.c <= p.c || p.extras.includes(e.c))) continue;
    }
    if (entries.length >= limit) {
      more = true;
      break;
    }
    entries.push(e);
    if (e.c > 0) handle(cursor, ch, e);
    else if (!cursor.floor || comparePositions(e, cursor.floor) > 0) cursor.floor = positionOf(e);
  }
  // holes an origin epoch cannot fill any more (too many) are reported, not waited on forever
  for (const [key, p] of cursor.origins) {
    if (p.extras.length <= MAX_CURSOR_EXTRAS) continue;
    const cut = p.extras[p.extras.length - MAX_CURSOR_EXTRAS - 1]!;
    let had = 0;
    for (const x of p.extras) if (x <= cut) had++;
    gaps.push({ count: cut - p.c - had, exact: true, from: p.c + 1, to: cut, ...originName(ch, key) });
    p.c = cut;
    p.extras = p.extras.filter((x) => x > cut);
    absorb(p);
  }
  prune(cursor, ch);
  return { entries, complete: gaps.length === 0, gaps, more, pending: hasExtras(cursor), cursor };
}

// the reader's progress on e's origin epoch, created from what this replica knows below the floor
function progress(cursor: ReadCursor, ch: ChannelHistory, e: HistoryEntry): OriginProgress {
  const key = originKey(e.node, e.epoch);
  let p = cursor.origins.get(key);
  if (!p) {
    const dropped = ch.drops.get(e.node, e.epoch);
    // numbers before e that are neither dropped here nor known to be beyond the horizon
    // may still be on their way: e becomes an extra until they come
    const base = dropped ? dropped.c : ch.drops.horizon ? e.c - 1 : 0;
    p = { c: Math.min(base, e.c - 1), extras: [] };
    cursor.origins.set(key, p);
  }
  return p;
}

// records that e was given to the reader
function handle(cursor: ReadCursor, ch: ChannelHistory, e: HistoryEntry): void {
  const p = progress(cursor, ch, e);
  if (e.c <= p.c) return;
  if (e.c === p.c + 1) {
    p.c = e.c;
    absorb(p);
    return;
  }
  let at = p.extras.length;
  while (at > 0 && p.extras[at - 1]! > e.c) at--;
  if (p.extras[at - 1] !== e.c) p.extras.splice(at, 0, e.c);
}

// keeps a cursor bounded: an origin epoch this replica neither holds nor remembers as
// dropped lies beyond its horizon, under the floor: the cursor need not name it
function prune(cursor: ReadCursor, ch: ChannelHistory): void {
  if (ch.drops.horizon) {
    const live = new Set<number>();
    for (let i = ch.head; i < ch.items.length; i++) live.add(originKey(ch.items[i]!.node, ch.items[i]!.epoch));
    for (const r of ch.drops.all()) live.add(originKey(r.node, r.epoch));
    for (const [key, p] of cursor.origins) if (p.extras.length === 0 && !live.has(key)) cursor.origins.delete(key);
  }
  // past the hard bound, forget the oldest-inserted: they may be delivered again, never lost
  if (cursor.origins.size > MAX_CURSOR_ORIGINS) {
    for (const key of cursor.origins.keys()) {
      cursor.origins.delete(key);
      if (cursor.origins.size <= MAX_CURSOR_ORIGINS) break;
    }
  }
}

function originName(ch: ChannelHistory, key: number): { node?: string; epoch?: number } {
  for (let i = ch.items.length - 1; i >= ch.head; i--) {
    const e = ch.items[i]!;
    if (originKey(e.node, e.epoch) === key) return { node: e.node, epoch: e.epoch };
  }
  return {};
}

/** True when the cursor waits on some entry numbered before one it was given (a page is `pending`). */
export function hasExtras(c: ReadCursor): boolean {
  for (const p of c.origins.values()) if (p.extras.length > 0) return true;
  return false;
}

// moves extras that now continue the prefix into it
function absorb(p: OriginProgress): void {
  let k = 0;
  while (k < p.extras.length && p.extras[k]! <= p.c + 1) {
    if (p.extras[k] === p.c + 1) p.c++;
    k++;
  }
  if (k > 0) p.extras = p.extras.slice(k);
}
