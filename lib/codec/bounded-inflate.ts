import { inflateRawSync } from 'node:zlib';
import { Inflate } from 'fflate';
import { ClusterError } from '../errors.js';

/** Worst-case DEFLATE expansion: two 1-bit codes can emit 258 bytes (258 × 8 / 2). */
export const MAX_DEFLATE_RATIO = 1032;

/** Smallest and largest compressed slices pushed into the inflater at once. */
const MIN_SLICE = 64;
const MAX_SLICE = 16384;

/**
 * Compressed inputs from this size on go through native zlib: delta batches on
 * replication streams (tens of KiB), where the sliced fflate inflater regrew its output
 * buffer per slice and cost ~9 % of a 3-node replication profile. Below it the call
 * overhead of native zlib outweighs the gain (datagrams are ≤ 1.4 KiB).
 */
const NATIVE_MIN_INPUT = 4096;

/**
 * Inflates raw DEFLATE `data`, throwing E_FRAME_INFLATE as soon as the output passes
 * `maxBytes`. fflate's one-shot inflate would happily grow to whatever a bomb asks for,
 * so the input is fed to the streaming inflater in slices small enough that one slice
 * cannot expand past what is left of the cap by much: a slice of s bytes yields at most
 * 1032·s bytes. Peak memory is therefore about the cap plus 1032 × 64 bytes plus
 * fflate's 32 KiB window, whatever the bomb's nominal size.
 */
export function boundedInflate(data: Uint8Array, maxBytes: number): Uint8Array {
  if (data.length === 0) throw new ClusterError('E_FRAME_INFLATE', 'empty deflate stream');
  if (data.length >= NATIVE_MIN_INPUT) return nativeInflate(data, maxBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > maxBytes) over = true;
    else if (chunk.length > 0) chunks.push(chunk);
  });
  let pos = 0;
  try {
    while (pos < data.length) {
      const slice = Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.floor((maxBytes - total) / MAX_DEFLATE_RATIO)));
      const end = Math.min(data.length, pos + slice);
      inflater.push(data.subarray(pos, end), end === data.length);
      if (over) break;
      pos = end;
    }
  } catch (err) {
    throw new ClusterError('E_FRAME_INFLATE', `corrupt deflate stream: ${(err as Error).message}`, { cause: err });
  }
  if (over) throw new ClusterError('E_FRAME_INFLATE', `inflated body exceeds the cap of ${maxBytes} bytes`);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// zlib stops with ERR_BUFFER_TOO_LARGE once the output would pass maxOutputLength: it
// grows its buffer chunk by chunk, so a bomb costs at most the cap plus one chunk
function nativeInflate(data: Uint8Array, maxBytes: number): Uint8Array {
  try {
    const out = inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ClusterError('E_FRAME_INFLATE', `inflated body exceeds the cap of ${maxBytes} bytes`);
    }
    throw new ClusterError('E_FRAME_INFLATE', `corrupt deflate stream: ${(err as Error).message}`, { cause: err });
  }
}
