import { isHlcTimestamp } from '../hlc.js';
import type { SyncRecord } from '../codec/replication-types.js';
import type { Delta } from './delta.js';
import type { DropsWire } from './drops.js';

// Shape checks of what peers send (remote input is checked, never trusted).

/** True for a non-negative safe integer (an epoch, a seq, a counter). */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isStr(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && !s.includes('\u0000');
}

/** True when `d` has the shape of a {@link Delta} (remote input is checked, never trusted). */
export function isDelta(d: unknown): d is Delta {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Record<string, unknown>;
  if (!isStr(x.node) || !isCount(x.epoch) || !isCount(x.seq) || x.seq === 0 || !isStr(x.channel)) return false;
  switch (x.kind) {
    case 'publish':
      return isHlcTimestamp(x.ts) && isCount(x.c) && (x.idempotencyKey === undefined || typeof x.idempotencyKey === 'string') &&
        (x.headers === undefined || (typeof x.headers === 'object' && x.headers !== null));
    case 'join':
    case 'update':
      return isStr(x.clientId) && isStr(x.user) && isCount(x.since);
    case 'leave':
      return isStr(x.clientId);
    default:
      return false;
  }
}

/** True when `r` has the shape of a {@link SyncRecord}. */
export function isRecord(r: unknown): r is SyncRecord {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Record<string, unknown>;
  if (x.kind === 'low-water') {
    const m = x.mark as Record<string, unknown> | undefined;
    return isStr(x.channel) && typeof m === 'object' && m !== null && isHlcTimestamp(m.ts) && isStr(m.node) && isCount(m.epoch) && isCount(m.seq) &&
      (x.drops === undefined || isDropsWire(x.drops));
  }
  const e = x.entry as Record<string, unknown> | undefined;
  if (typeof e !== 'object' || e === null || !isStr(e.node) || !isCount(e.epoch) || !isCount(e.seq) || !isStr(e.channel)) return false;
  if (x.kind === 'presence') return isStr(e.clientId) && isStr(e.user) && isCount(e.since);
  if (x.kind === 'history') return isHlcTimestamp(e.ts) && isCount(e.c);
  return false;
}

function isPosition(p: unknown): boolean {
  if (typeof p !== 'object' || p === null) return false;
  const x = p as Record<string, unknown>;
  return isHlcTimestamp(x.ts) && isStr(x.node) && isCount(x.epoch) && isCount(x.seq);
}

/** True when `d` has the shape of a drop summary (remote input). */
export function isDropsWire(d: unknown): d is DropsWire {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Record<string, unknown>;
  if (!Array.isArray(x.records) || x.records.length > 1024) return false;
  if (x.horizon !== undefined && !isPosition(x.horizon)) return false;
  return x.records.every((r) => isPosition(r) && isCount((r as Record<string, unknown>).c) && ((r as Record<string, unknown>).c as number) > 0);
}
