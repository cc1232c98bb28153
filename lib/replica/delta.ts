import type { Delta } from '../codec/replication-types.js';
export type { DeltaBase, PresenceSetDelta, PresenceLeaveDelta, PublishDelta, Delta } from '../codec/replication-types.js';

/**
 * The msgpack size of a delta (an upper bound by a few bytes), from its payload size
 * (already known: measured once when validated) and its strings. Cheap enough to run per
 * delta; tight, so that a catch-up answer fills its byte budget.
 */
export function deltaSize(d: Delta, payloadBytes: number): number {
  // map header, keys and the numbers ≈ 48 bytes; strings are counted exactly
  let n = 48 + payloadBytes + strBound(d.node) + strBound(d.channel);
  if (d.kind === 'publish') {
    if (d.headers) for (const [k, v] of Object.entries(d.headers)) n += strBound(k) + strBound(v);
    if (d.idempotencyKey !== undefined) n += strBound(d.idempotencyKey) + 16;
  } else {
    n += strBound(d.clientId);
    if (d.kind !== 'leave') n += strBound(d.user) + 16;
  }
  return n;
}

function strBound(s: string): number {
  const n = s.length < 32 && isAscii(s) ? s.length : Buffer.byteLength(s, 'utf8');
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : 5);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
