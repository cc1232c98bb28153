import { hashString64, mix64 } from '../summary/hash64.js';
import type { EntryId, Position } from './position.js';

/**
 * The record key of a history entry: the local handle a Merkle session lists and looks
 * up (`Replica.getRecord`). It carries the whole position so the lookup is a binary
 * search. The tree does not hash it: see {@link historyKeyHash}.
 */
export function historyKey(channel: string, p: Position): string {
  return `h\u0000${channel}\u0000${p.ts}\u0000${p.node}\u0000${p.epoch}\u0000${p.seq}`;
}

/**
 * The 64-bit Merkle key hash of history entry `id` in a channel whose name hashes to
 * (`channelHi`, `channelLo`) ({@link hashString64}), written to `out64`: mix(mix(channel
 * hash, node hash), epoch, seq). Computed from the fields, so no key string is built
 * per entry; every replica computes the same value.
 */
export function historyKeyHash(channelHi: number, channelLo: number, id: EntryId): Uint32Array {
  const n = hashString64(id.node);
  const c = mix64(channelHi, channelLo, n[0]!, n[1]!);
  return mix64(c[0]!, c[1]!, id.epoch, id.seq);
}

/** The record key of a channel's low-water mark in the Merkle tree. */
export function lowWaterKey(channel: string): string {
  return `l\u0000${channel}`;
}
