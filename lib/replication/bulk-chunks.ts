import { encode as msgpackEncode } from '@msgpack/msgpack';
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import type { LimitedMsgpackDecoder } from '../codec/msgpack-limits.js';
import type { BulkChunkMessage } from '../codec/replication-messages.js';
import { encodeBulkChunkTrusted } from '../codec/replication-messages.js';
import { ownPayload } from '../own-bytes.js';
import type { BulkChunk } from '../sync/bulk.js';

const BIN_PART = 65_000;
// an honest chunk is ≤ ~60 KB plus one entry (≤ 64 KiB payload) before deflate
const BULK_RAW_CAP = 1024 * 1024;
const BULK_PACKED_CAP = 256 * 1024;

/** A bulk chunk as one encoded `bulk-chunk` message: msgpack, raw DEFLATE, split in bin parts. */
export function encodeBulkChunk(sid: number, chunk: BulkChunk): Uint8Array {
  const raw = msgpackEncode(chunk);
  // raw DEFLATE as before (any inflater reads it), from native zlib: level 1 in C costs a
  // fraction of fflate's JavaScript level 1
  const packed = deflateRawSync(raw, { level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  const parts: Uint8Array[] = [];
  for (let at = 0; at < packed.length; at += BIN_PART) parts.push(packed.subarray(at, Math.min(packed.length, at + BIN_PART)));
  return encodeBulkChunkTrusted({ type: 'bulk-chunk', sid, index: chunk.index, parts, rawBytes: raw.length });
}

/** The packed size of a bulk-chunk message (what the sync-in counter counts). */
export function packedSize(m: BulkChunkMessage): number {
  let total = 0;
  for (const p of m.parts) total += p.length;
  return total;
}

/**
 * The chunk a `bulk-chunk` message carries. Throws on a chunk too large, one that does
 * not inflate to its announced size, or a payload the limited decoder refuses.
 */
export function decodeBulkChunk(m: BulkChunkMessage, total: number, decoder: LimitedMsgpackDecoder): BulkChunk {
  const packed = new Uint8Array(total);
  let at = 0;
  for (const p of m.parts) {
    packed.set(p, at);
    at += p.length;
  }
  // the chunk announces its size: inflating into a buffer of exactly that size (capped)
  // allocates nothing more and avoids the streaming inflater's repeated regrowth, which
  // made bulk catch-up GC-bound; capping the compressed input bounds a bomb's CPU cost
  // (fflate keeps decoding past a full buffer) to what 256 KiB × 1032 takes
  if (m.rawBytes > BULK_RAW_CAP || total > BULK_PACKED_CAP) throw new Error('bulk chunk too large');
  // native inflate (several times fflate's speed); maxOutputLength caps a bomb at the
  // announced size, and a chunk that inflates to any other size is refused
  const raw = inflateRawSync(packed, { maxOutputLength: Math.max(1, m.rawBytes) });
  if (raw.length !== m.rawBytes) throw new Error('bulk chunk size mismatch');
  // entries outlive the chunk: their binary values must not be views of all of it
  return ownPayload(decoder.decode(raw)) as BulkChunk;
}
