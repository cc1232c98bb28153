import { ClusterError } from '../errors.js';
import { DEFAULT_MSGPACK_LIMITS } from '../codec/msgpack-limits.js';

/**
 * Deepest nesting of an application payload (presence info, history data). Replication
 * frames wrap a payload in up to 8 levels (frame body, message, batch, delta or record,
 * columns), and receivers refuse frames nested deeper than 16; a local write that peers
 * would refuse must fail here, at the writer, not split the cluster.
 */
export const MAX_PAYLOAD_DEPTH = 8;

/**
 * Throws E_INVALID_ARGUMENT when `value` could not cross the wire: nested deeper than
 * {@link MAX_PAYLOAD_DEPTH}, a map with more keys than receivers decode, or a
 * `__proto__` key (which the msgpack decoder refuses).
 */
export function checkPayloadShape(value: unknown, what: string): void {
  walk(value, 1, what);
}

function walk(v: unknown, depth: number, what: string): void {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Date) return;
  if (depth > MAX_PAYLOAD_DEPTH) throw new ClusterError('E_INVALID_ARGUMENT', `${what} is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  if (Array.isArray(v)) {
    if (v.length > DEFAULT_MSGPACK_LIMITS.maxArrayLength) throw new ClusterError('E_INVALID_ARGUMENT', `${what} has an array of ${v.length} items`);
    for (const x of v) walk(x, depth + 1, what);
    return;
  }
  const keys = Object.keys(v);
  if (keys.length > DEFAULT_MSGPACK_LIMITS.maxMapLength) {
    throw new ClusterError('E_INVALID_ARGUMENT', `${what} has a map of ${keys.length} keys; at most ${DEFAULT_MSGPACK_LIMITS.maxMapLength}`);
  }
  for (const k of keys) {
    if (k === '__proto__') throw new ClusterError('E_INVALID_ARGUMENT', `${what} has a "__proto__" key`);
    walk((v as Record<string, unknown>)[k], depth + 1, what);
  }
}
