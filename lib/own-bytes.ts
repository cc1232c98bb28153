/**
 * The msgpack decoder returns binary values as views (subarray) of the buffer it decodes:
 * a frame body, the 16 KiB chunk native inflate wrote it into, a bulk chunk of up to
 * several MiB, a whole history log file. A view kept past the frame (member metadata,
 * a history payload, presence info, a delta held for anti-entropy) keeps that whole
 * buffer alive: a member's small metadata value pinned a 16 KiB inflate chunk in
 * the agent soak, and a small binary payload restored from a bulk chunk would pin the
 * chunk until the last entry decoded from it is evicted. These helpers copy such values
 * at the wire boundary, where what lives on is decided.
 */

/** `b` itself when it spans its whole ArrayBuffer, else a copy that does. */
export function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/**
 * Replaces, in place, every Uint8Array inside a freshly decoded msgpack value with
 * {@link ownBytes} of it, and returns the value (a copy when the value itself is bytes).
 * Only for values this process just decoded: it mutates arrays and maps. Scalars and
 * strings return at the first check, so the common payloads cost nothing.
 */
export function ownPayload<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return ownBytes(v) as T;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) v[i] = ownPayload(x);
    }
    return v;
  }
  if (v instanceof Date) return v;
  const o = v as Record<string, unknown>;
  // for-in rather than Object.keys: no key array per payload (decoded maps are plain
  // objects, so it visits exactly their own keys)
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'object' && x !== null) o[k] = ownPayload(x);
  }
  return v;
}
