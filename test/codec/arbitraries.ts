import fc from 'fast-check';
import type { AnyMessage, MemberSnapshot } from '../../lib/codec/messages.js';
import { WireState, type WireStateName } from '../../lib/codec/messages.js';

/** Node names: any Unicode, 1–32 code points (≤ 128 UTF-8 bytes). */
export const nodeName = fc.string({ unit: 'binary', minLength: 1, maxLength: 32 });
export const address = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => `[${h}]:${p}`),
  fc.tuple(fc.domain(), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => `${h}:${p}`.slice(0, 300)),
);
export const uint = fc.oneof(fc.nat(1000), fc.maxSafeNat());
export const meta = fc.uint8Array({ maxLength: 4096 });
const state = fc.constantFrom(...(Object.keys(WireState) as WireStateName[]));

export const member: fc.Arbitrary<MemberSnapshot> = fc.record({
  node: nodeName,
  addr: address,
  incarnation: uint,
  state,
  meta: fc.uint8Array({ maxLength: 64 }),
});

export const ping = fc.record({
  type: fc.constant('ping' as const),
  seq: uint,
  target: fc.string({ unit: 'binary', maxLength: 32 }),
  source: nodeName,
  sourceAddr: address,
});
export const pingReq = fc.record({
  type: fc.constant('ping-req' as const),
  seq: uint,
  target: nodeName,
  targetAddr: address,
  source: nodeName,
  sourceAddr: address,
  nack: fc.boolean(),
});
export const ack = fc.record(
  { type: fc.constant('ack' as const), seq: uint, payload: fc.uint8Array({ maxLength: 256 }) },
  { requiredKeys: ['type', 'seq'] },
);
export const nack = fc.record({ type: fc.constant('nack' as const), seq: uint });
export const suspect = fc.record({ type: fc.constant('suspect' as const), node: nodeName, incarnation: uint, from: nodeName });
export const alive = fc.record({ type: fc.constant('alive' as const), node: nodeName, incarnation: uint, addr: address, meta });
export const dead = fc.record({ type: fc.constant('dead' as const), node: nodeName, incarnation: uint, from: nodeName });
export const pushPull = fc.record({
  type: fc.constant('push-pull' as const),
  join: fc.boolean(),
  members: fc.array(member, { maxLength: 20 }),
});

/** One arbitrary per registered membership message type. */
export const byType = { ping, 'ping-req': pingReq, ack, nack, suspect, alive, dead, 'push-pull': pushPull };

/** Any membership message; push-pull and large meta are rarer to keep frames datagram-sized. */
export const anyMessage: fc.Arbitrary<AnyMessage> = fc.oneof(
  { arbitrary: ping, weight: 4 },
  { arbitrary: pingReq, weight: 2 },
  { arbitrary: ack, weight: 4 },
  { arbitrary: nack, weight: 1 },
  { arbitrary: suspect, weight: 2 },
  { arbitrary: alive.map((m) => ({ ...m, meta: m.meta.subarray(0, 200) })), weight: 2 },
  { arbitrary: dead, weight: 2 },
  { arbitrary: pushPull.map((m) => ({ ...m, members: m.members.slice(0, 3) })), weight: 1 },
);

/** Deep-converts binary to hex strings so decoded Buffers compare equal to Uint8Arrays. */
export function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}
