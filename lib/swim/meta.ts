import { decode, encode } from '@msgpack/msgpack';
import { ClusterError } from '../errors.js';

/**
 * What a node advertises about itself in membership: its roles (e.g. `broker`,
 * `worker`), free-form tags (e.g. a region), the endpoints clients should use (e.g. a
 * broker's WebSocket URL) and small load figures (e.g. connected clients).
 */
export interface NodeMeta {
  roles: string[];
  tags: Record<string, string>;
  endpoints: Record<string, string>;
  load: Record<string, number>;
}

/** Default cap on a node's encoded metadata, in bytes. */
export const DEFAULT_MAX_META_SIZE = 4096;

/** Metadata of a node that advertised nothing. */
export function emptyMeta(): NodeMeta {
  return { roles: [], tags: {}, endpoints: {}, load: {} };
}

/** Encodes metadata compactly (msgpack array) after validating it. */
export function encodeMeta(meta: NodeMeta, maxSize = DEFAULT_MAX_META_SIZE): Uint8Array {
  validateMeta(meta);
  const bytes = encode([meta.roles, meta.tags, meta.endpoints, meta.load]);
  if (bytes.length > maxSize) {
    throw new ClusterError('E_LIMIT', `node metadata is ${bytes.length} bytes encoded; the limit is ${maxSize}`);
  }
  return bytes;
}

/** Decodes metadata received from a peer; throws E_MESSAGE_INVALID when malformed. */
export function decodeMeta(bytes: Uint8Array): NodeMeta {
  if (bytes.length === 0) return emptyMeta();
  let raw: unknown;
  try {
    raw = decode(bytes, { maxStrLength: 4096, maxArrayLength: 256, maxMapLength: 256, maxBinLength: 0, maxExtLength: 0 });
  } catch (err) {
    throw new ClusterError('E_MESSAGE_INVALID', 'node metadata is not valid msgpack', { cause: err });
  }
  if (!Array.isArray(raw) || raw.length < 4) throw new ClusterError('E_MESSAGE_INVALID', 'node metadata must be a 4-element array');
  const meta: NodeMeta = {
    roles: raw[0] as string[],
    tags: raw[1] as Record<string, string>,
    endpoints: raw[2] as Record<string, string>,
    load: raw[3] as Record<string, number>,
  };
  try {
    validateMeta(meta);
  } catch (err) {
    throw new ClusterError('E_MESSAGE_INVALID', `node metadata: ${(err as Error).message}`);
  }
  return meta;
}

const KEY = /^[A-Za-z0-9_.:\-/]{1,64}$/;

/** Throws E_INVALID_ARGUMENT naming the first problem found in `meta`. */
export function validateMeta(meta: NodeMeta): void {
  const fail = (msg: string): never => {
    throw new ClusterError('E_INVALID_ARGUMENT', msg);
  };
  if (!Array.isArray(meta.roles)) fail('roles must be an array of strings');
  for (const role of meta.roles) {
    if (typeof role !== 'string' || !KEY.test(role)) fail(`role ${JSON.stringify(role)} must match ${KEY}`);
  }
  for (const [field, valueType] of [['tags', 'string'], ['endpoints', 'string'], ['load', 'number']] as const) {
    const obj: unknown = meta[field];
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(`${field} must be an object`);
    for (const [k, v] of Object.entries(obj as object)) {
      if (!KEY.test(k)) fail(`${field} key ${JSON.stringify(k)} must match ${KEY}`);
      if (typeof v !== valueType) fail(`${field}.${k} must be a ${valueType}`);
      if (valueType === 'number' && !Number.isFinite(v)) fail(`${field}.${k} must be finite`);
      if (valueType === 'string' && (v as string).length > 1024) fail(`${field}.${k} is longer than 1024 characters`);
    }
  }
}

/** True when two metadata values encode identically. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
