import { inflateRawSync } from 'node:zlib';
import { ClusterError } from '../errors.js';

/** Worst-case DEFLATE expansion: two 1-bit codes can emit 258 bytes (258 × 8 / 2). */
export const MAX_DEFLATE_RATIO = 1032;

/**
 * Inflates raw DEFLATE `data`, throwing E_FRAME_INFLATE as soon as the output would pass
 * `maxBytes`. Native zlib with `maxOutputLength`: it grows its output chunk by chunk and
 * stops with ERR_BUFFER_TOO_LARGE once the cap is passed, so a bomb costs at most the
 * cap plus one chunk whatever its nominal size. (Before decision 0026 this fed fflate's
 * streaming inflater in small slices for the same bound; that regrew its buffer per
 * slice and was 5–10× slower than native zlib on delta batches of every size, ~9 % of a
 * 3-node replication profile.)
 */
export function boundedInflate(data: Uint8Array, maxBytes: number): Uint8Array {
  if (data.length === 0) throw new ClusterError('E_FRAME_INFLATE', 'empty deflate stream');
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
