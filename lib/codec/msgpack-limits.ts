import { Decoder } from '@msgpack/msgpack';
import { ClusterError } from '../errors.js';

/** Caps on a decoded msgpack body. */
export interface MsgpackLimits {
  /** Deepest nesting of arrays and maps (the frame body itself is depth 1). @default 16 */
  maxDepth?: number;
  /** Longest string, in bytes. @default 65536 */
  maxStrLength?: number;
  /** Longest binary value, in bytes. @default 65536 */
  maxBinLength?: number;
  /** Most elements in one array. @default 65536 */
  maxArrayLength?: number;
  /** Most entries in one map. @default 4096 */
  maxMapLength?: number;
  /** Longest extension value (clusterd sends none). @default 16 */
  maxExtLength?: number;
}

/** {@link MsgpackLimits} with every default filled in. */
export type ResolvedMsgpackLimits = Required<MsgpackLimits>;

/** The defaults of {@link MsgpackLimits}. */
export const DEFAULT_MSGPACK_LIMITS: ResolvedMsgpackLimits = Object.freeze({
  maxDepth: 16,
  maxStrLength: 65536,
  maxBinLength: 65536,
  maxArrayLength: 65536,
  maxMapLength: 4096,
  maxExtLength: 16,
});

/** Fills in defaults and checks every cap is a positive integer. */
export function resolveMsgpackLimits(limits: MsgpackLimits = {}): ResolvedMsgpackLimits {
  const out = { ...DEFAULT_MSGPACK_LIMITS };
  for (const key of Object.keys(DEFAULT_MSGPACK_LIMITS) as (keyof ResolvedMsgpackLimits)[]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ClusterError('E_CONFIG', `msgpack limit ${key} must be a positive integer, got ${String(v)}`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

/** A msgpack decoder enforcing `limits` (lengths, and depth through a pre-scan). */
export class LimitedMsgpackDecoder {
  private readonly decoder: Decoder;

  constructor(readonly limits: ResolvedMsgpackLimits) {
    this.decoder = new Decoder({
      maxStrLength: limits.maxStrLength,
      maxBinLength: limits.maxBinLength,
      maxArrayLength: limits.maxArrayLength,
      maxMapLength: limits.maxMapLength,
      maxExtLength: limits.maxExtLength,
    });
  }

  /** Decodes exactly one value filling `bytes`; throws E_FRAME_DECODE on anything else. */
  decode(bytes: Uint8Array): unknown {
    scanMsgpack(bytes, this.limits);
    try {
      return this.decoder.decode(bytes);
    } catch (err) {
      throw new ClusterError('E_FRAME_DECODE', `msgpack: ${(err as Error).message}`, { cause: err });
    }
  }
}

function fail(problem: string, pos: number): never {
  throw new ClusterError('E_FRAME_DECODE', `msgpack: ${problem} at byte ${pos}`);
}

/**
 * Walks the structure of one msgpack value without building it, so a hostile body is
 * refused before the decoder allocates anything for it: nesting deeper than maxDepth,
 * lengths over the caps, a container claiming more elements than bytes remain, a
 * truncated value, the reserved byte 0xc1, or trailing bytes after the value.
 */
export function scanMsgpack(b: Uint8Array, limits: ResolvedMsgpackLimits): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end = b.length;
  const stack: number[] = [];
  let remaining = 1;
  let pos = 0;
  const need = (n: number, at: number): void => {
    if (pos + n > end) fail(`truncated value (needs ${n} more bytes)`, at);
  };
  const open = (count: number, max: number, kind: string, at: number, perItem: number): void => {
    if (count > max) fail(`${kind} of ${count} exceeds the cap of ${max}`, at);
    // every element takes at least one byte: a longer claim is a lie, refuse it cheaply
    if (count * perItem > end - pos) fail(`${kind} of ${count} cannot fit in ${end - pos} remaining bytes`, at);
    if (count === 0) return;
    if (stack.length + 1 > limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth}`, at);
    stack.push(remaining);
    remaining = count * perItem;
  };
  const skip = (len: number, max: number, kind: string, at: number): void => {
    if (len > max) fail(`${kind} of ${len} bytes exceeds the cap of ${max}`, at);
    need(len, at);
    pos += len;
  };
  while (remaining > 0 || stack.length > 0) {
    if (remaining === 0) {
      remaining = stack.pop()!;
      continue;
    }
    remaining--;
    const at = pos;
    if (pos >= end) fail('truncated value', at);
    const t = b[pos++]!;
    if (t <= 0x7f || t >= 0xe0) continue;
    if (t <= 0x8f) {
      open(t & 0x0f, limits.maxMapLength, 'map', at, 2);
      continue;
    }
    if (t <= 0x9f) {
      open(t & 0x0f, limits.maxArrayLength, 'array', at, 1);
      continue;
    }
    if (t <= 0xbf) {
      skip(t & 0x1f, limits.maxStrLength, 'string', at);
      continue;
    }
    switch (t) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        break;
      case 0xc4:
        need(1, at);
        skip(b[pos++]!, limits.maxBinLength, 'binary', at);
        break;
      case 0xc5:
        need(2, at);
        pos += 2;
        skip(view.getUint16(pos - 2), limits.maxBinLength, 'binary', at);
        break;
      case 0xc6:
        need(4, at);
        pos += 4;
        skip(view.getUint32(pos - 4), limits.maxBinLength, 'binary', at);
        break;
      case 0xc7:
        need(2, at);
        pos += 2;
        skip(b[pos - 2]!, limits.maxExtLength, 'extension', at);
        break;
      case 0xc8:
        need(3, at);
        pos += 3;
        skip(view.getUint16(pos - 3), limits.maxExtLength, 'extension', at);
        break;
      case 0xc9:
        need(5, at);
        pos += 5;
        skip(view.getUint32(pos - 5), limits.maxExtLength, 'extension', at);
        break;
      case 0xca:
        skip(4, 4, 'float32', at);
        break;
      case 0xcb:
        skip(8, 8, 'float64', at);
        break;
      case 0xcc:
      case 0xd0:
        skip(1, 1, 'int', at);
        break;
      case 0xcd:
      case 0xd1:
        skip(2, 2, 'int', at);
        break;
      case 0xce:
      case 0xd2:
        skip(4, 4, 'int', at);
        break;
      case 0xcf:
      case 0xd3:
        skip(8, 8, 'int', at);
        break;
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        skip(1 + (1 << (t - 0xd4)), 1 + limits.maxExtLength, 'extension', at);
        break;
      case 0xd9:
        need(1, at);
        skip(b[pos++]!, limits.maxStrLength, 'string', at);
        break;
      case 0xda:
        need(2, at);
        pos += 2;
        skip(view.getUint16(pos - 2), limits.maxStrLength, 'string', at);
        break;
      case 0xdb:
        need(4, at);
        pos += 4;
        skip(view.getUint32(pos - 4), limits.maxStrLength, 'string', at);
        break;
      case 0xdc:
        need(2, at);
        pos += 2;
        open(view.getUint16(pos - 2), limits.maxArrayLength, 'array', at, 1);
        break;
      case 0xdd:
        need(4, at);
        pos += 4;
        open(view.getUint32(pos - 4), limits.maxArrayLength, 'array', at, 1);
        break;
      case 0xde:
        need(2, at);
        pos += 2;
        open(view.getUint16(pos - 2), limits.maxMapLength, 'map', at, 2);
        break;
      case 0xdf:
        need(4, at);
        pos += 4;
        open(view.getUint32(pos - 4), limits.maxMapLength, 'map', at, 2);
        break;
      default:
        fail('reserved type byte 0xc1', at);
    }
  }
  if (pos !== end) fail(`${end - pos} trailing bytes after the value`, pos);
}
