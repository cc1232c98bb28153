import type { MemberSnapshot, Message } from '../lib/internal.js';

/**
 * Exact msgpack size of a membership message as `encodeMessage` would write it, without
 * encoding it. The simulator counts the bytes of every direct message (pings, acks,
 * push-pulls of 10,000 members); encoding each one just to take its length would cost
 * more than the protocol step it measures. test/simulations/wire-size.test.ts checks
 * this against `encodeMessage` for every message type and size class.
 */
export function wireSize(msg: Message): number {
  switch (msg.type) {
    case 'ping':
      return 1 + 1 + uintSize(msg.seq) + strSize(msg.target) + strSize(msg.source) + strSize(msg.sourceAddr);
    case 'ping-req':
      return 1 + 1 + uintSize(msg.seq) + strSize(msg.target) + strSize(msg.targetAddr) + strSize(msg.source) + strSize(msg.sourceAddr) + 1;
    case 'ack':
      return 1 + 1 + uintSize(msg.seq) + (msg.payload === undefined ? 0 : binSize(msg.payload.length));
    case 'nack':
      return 1 + 1 + uintSize(msg.seq);
    case 'suspect':
    case 'dead':
      return 1 + 1 + strSize(msg.node) + uintSize(msg.incarnation) + strSize(msg.from);
    case 'alive':
      return 1 + 1 + strSize(msg.node) + uintSize(msg.incarnation) + strSize(msg.addr) + binSize(msg.meta.length);
    case 'push-pull': {
      let n = 1 + 1 + 1 + arrayHeaderSize(msg.members.length);
      for (const s of msg.members) n += snapshotSize(s);
      return n;
    }
  }
}

/**
 * Sizes of the frozen push-pull entries of shared member records (lib/swim/members.ts
 * SharedMembers): the same objects come back in every node's push-pull, 10⁸ entries in the
 * first push-pull round of 10,000 nodes, so each is measured once.
 */
const sharedSizes = new WeakMap<MemberSnapshot, number>();

function snapshotSize(s: MemberSnapshot): number {
  if (!Object.isFrozen(s)) return measureSnapshot(s);
  let n = sharedSizes.get(s);
  if (n === undefined) sharedSizes.set(s, (n = measureSnapshot(s)));
  return n;
}

function measureSnapshot(s: MemberSnapshot): number {
  return 1 + strSize(s.node) + strSize(s.addr) + uintSize(s.incarnation) + 1 + binSize(s.meta.length);
}

/** msgpack size of a non-negative integer. */
export function uintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v <= 0xff) return 2;
  if (v <= 0xffff) return 3;
  if (v <= 0xffffffff) return 5;
  return 9;
}

/** msgpack size of a string (header included). */
export function strSize(s: string): number {
  const n = utf8Length(s);
  if (n < 32) return 1 + n;
  if (n <= 0xff) return 2 + n;
  if (n <= 0xffff) return 3 + n;
  return 5 + n;
}

function binSize(n: number): number {
  if (n <= 0xff) return 2 + n;
  if (n <= 0xffff) return 3 + n;
  return 5 + n;
}

function arrayHeaderSize(n: number): number {
  if (n < 16) return 1;
  if (n <= 0xffff) return 3;
  return 5;
}

function utf8Length(s: string): number {
  // simulated names and addresses are ASCII: skip the encoder unless a wide char shows up
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}
