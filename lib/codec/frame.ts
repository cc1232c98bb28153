import { createCipheriv, createDecipheriv } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { ClusterError, isClusterError, type ErrorCode } from '../errors.js';
import { boundedInflate } from './bounded-inflate.js';
import type { Keyring } from './keyring.js';
import {
  decodeMessage,
  isUnknownMessage,
  resolveMessageLimits,
  type AnyMessage,
  type MessageLimits,
  type ResolvedMessageLimits,
} from './messages.js';
import { LimitedMsgpackDecoder, resolveMsgpackLimits, type MsgpackLimits } from './msgpack-limits.js';
import { ReplayWindow } from './replay-window.js';

/** The only frame version this codec reads and writes. */
export const FRAME_VERSION = 1;
/** Flag bit: the body is raw DEFLATE. */
export const FLAG_DEFLATED = 0x01;
/** Flag bit: the body is AES-256-GCM sealed (nonce, ciphertext, tag). */
export const FLAG_ENCRYPTED = 0x02;
/** Flag bit: a length-prefixed label follows the flags byte. */
export const FLAG_LABELLED = 0x04;
const KNOWN_FLAGS = FLAG_DEFLATED | FLAG_ENCRYPTED | FLAG_LABELLED;

/** GCM nonce length: 6-byte sender prefix + 6-byte counter. */
export const NONCE_BYTES = 12;
/** Length of the per-sender random nonce prefix. */
export const NONCE_PREFIX_BYTES = 6;
/** GCM authentication tag length. */
export const TAG_BYTES = 16;
/** Bytes encryption adds to a frame. */
export const ENCRYPTION_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/** Longest label, in UTF-8 bytes (its length is one byte on the wire). */
export const MAX_LABEL_BYTES = 255;
/** Largest nonce counter (48 bits); a sender reaching it must restart with a new prefix. */
export const MAX_NONCE_COUNTER = 2 ** 48 - 1;

/**
 * Bodies shorter than this are never deflated. Measured with native zlib on bodies the
 * batcher builds (bench/compression.bench.ts): a shorter body holds one replication
 * delta or a few small gossip messages, and deflate saves 6–9% of a lone delta for
 * 15–21 µs of deflate + inflate; from 192 bytes every kind of traffic saves at least 27%,
 * at most 0.6 µs per byte saved. See
 * docs/decisions/0048-native-zlib-and-the-threshold-re-derived.md (it amends 0002).
 */
export const DEFAULT_COMPRESS_THRESHOLD = 192;

/** DEFLATE level used for frames (see the same decision record). */
export const DEFAULT_COMPRESS_LEVEL = 6;

/** Default cap on an incoming frame: the largest UDP payload. */
export const DEFAULT_MAX_FRAME_BYTES = 65507;
/** Default cap on a body after inflating: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

const utf8 = new TextEncoder();

/** Bytes of the msgpack array header for `n` elements. */
export function arrayHeaderBytes(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

/** Size of a body holding `count` pre-encoded messages totalling `messageBytes`. */
export function bodyBytes(count: number, messageBytes: number): number {
  return arrayHeaderBytes(count) + messageBytes;
}

/**
 * The plaintext body: a msgpack array header followed by the pre-encoded messages, so
 * the batcher knows a frame's exact size before building it.
 */
export function encodeBody(messages: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const m of messages) total += m.length;
  const n = messages.length;
  const h = arrayHeaderBytes(n);
  const out = new Uint8Array(h + total);
  if (h === 1) out[0] = 0x90 | n;
  else if (h === 3) {
    out[0] = 0xdc;
    out[1] = n >>> 8;
    out[2] = n & 0xff;
  } else {
    out[0] = 0xdd;
    new DataView(out.buffer).setUint32(1, n);
  }
  let at = h;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

function labelBytes(label: string): Uint8Array {
  const bytes = utf8.encode(label);
  if (bytes.length > MAX_LABEL_BYTES) {
    throw new ClusterError('E_CONFIG', `label is ${bytes.length} bytes; at most ${MAX_LABEL_BYTES} fit in a frame`);
  }
  return bytes;
}

/** Options of {@link FrameEncoder}. */
export interface FrameEncoderOptions {
  /**
   * Cluster label, sent in clear and authenticated: a node only accepts frames with its
   * own label, so two clusters sharing a network (or a key) never mix. @default ''
   */
  label?: string;
  /** Keys and the encryptOutgoing switch; without it frames go out in plaintext. @default undefined */
  keyring?: Keyring;
  /**
   * 6 random bytes fixed for this process's lifetime (crypto.randomBytes(6) in the
   * runtime, a seeded Random in tests). Required with a keyring. Two encoders must never
   * share a prefix: (prefix, counter) is the GCM nonce. @default undefined
   */
  noncePrefix?: Uint8Array;
  /** Smallest body worth deflating, in bytes. @default DEFAULT_COMPRESS_THRESHOLD (192) */
  compressThreshold?: number;
  /** DEFLATE level 0–9 (native zlib). @default DEFAULT_COMPRESS_LEVEL (6) */
  compressLevel?: number;
}

/** What a {@link FrameEncoder} has produced. */
export interface FrameEncoderStats {
  frames: number;
  bytes: number;
  deflated: number;
  /** Bytes compression saved, summed over deflated frames. */
  deflateSaved: number;
  encrypted: number;
}

/**
 * Builds frames: version, flags, optional label, then the body, deflated when that pays
 * and sealed with the keyring's primary key when `keyring.encryptOutgoing`.
 * Stateful: it owns the nonce counter, so a process uses one encoder per prefix.
 */
export class FrameEncoder {
  readonly stats: FrameEncoderStats = { frames: 0, bytes: 0, deflated: 0, deflateSaved: 0, encrypted: 0 };
  private readonly label: Uint8Array;
  private readonly keyring: Keyring | undefined;
  private readonly prefix: Uint8Array | undefined;
  private readonly threshold: number;
  private readonly level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  private counter = 0;

  constructor(options: FrameEncoderOptions = {}) {
    this.label = labelBytes(options.label ?? '');
    this.keyring = options.keyring;
    if (this.keyring) {
      const p = options.noncePrefix;
      if (!(p instanceof Uint8Array) || p.length !== NONCE_PREFIX_BYTES) {
        throw new ClusterError('E_CONFIG', `noncePrefix must be ${NONCE_PREFIX_BYTES} random bytes when a keyring is set`);
      }
      this.prefix = Uint8Array.from(p);
    }
    this.threshold = options.compressThreshold ?? DEFAULT_COMPRESS_THRESHOLD;
    const level = options.compressLevel ?? DEFAULT_COMPRESS_LEVEL;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new ClusterError('E_CONFIG', `compressLevel must be an integer 0-9, got ${level}`);
    }
    this.level = level as FrameEncoder['level'];
  }

  /** True when frames built now are encrypted (the keyring switch can change at run time). */
  get encrypting(): boolean {
    return this.keyring !== undefined && this.keyring.encryptOutgoing;
  }

  /** Bytes a frame adds around its body right now: header, label, and nonce+tag when encrypting. */
  overhead(): number {
    return 2 + (this.label.length > 0 ? 1 + this.label.length : 0) + (this.encrypting ? ENCRYPTION_OVERHEAD : 0);
  }

  /** Builds a frame carrying `messages` (each a pre-encoded message). */
  encode(messages: readonly Uint8Array[]): Uint8Array {
    return this.encodeBody(encodeBody(messages));
  }

  /** Builds a frame around an already assembled plaintext body. */
  encodeBody(body: Uint8Array): Uint8Array {
    let flags = 0;
    let payload = body;
    if (body.length >= this.threshold) {
      // native zlib: ~3× less CPU than fflate's JavaScript even for datagram-sized bodies
      // (12-19 µs vs 42-57 µs at 0.4-1.4 KB, decision 0026), several times less for big
      // delta batches (0025). Raw DEFLATE either way.
      const packed = deflateRawSync(body, { level: this.level });
      if (packed.length < body.length) {
        flags |= FLAG_DEFLATED;
        this.stats.deflated++;
        this.stats.deflateSaved += body.length - packed.length;
        payload = packed;
      }
    }
    const encrypt = this.encrypting;
    if (encrypt) flags |= FLAG_ENCRYPTED;
    if (this.label.length > 0) flags |= FLAG_LABELLED;
    const headerLen = 2 + (this.label.length > 0 ? 1 + this.label.length : 0);
    const out = new Uint8Array(headerLen + (encrypt ? ENCRYPTION_OVERHEAD : 0) + payload.length);
    out[0] = FRAME_VERSION;
    out[1] = flags;
    if (this.label.length > 0) {
      out[2] = this.label.length;
      out.set(this.label, 3);
    }
    if (encrypt) {
      if (this.counter > MAX_NONCE_COUNTER) {
        throw new ClusterError('E_LIMIT', 'nonce counter exhausted: restart the encoder with a new prefix');
      }
      const nonce = out.subarray(headerLen, headerLen + NONCE_BYTES);
      nonce.set(this.prefix!);
      writeUint48(nonce, NONCE_PREFIX_BYTES, this.counter++);
      const cipher = createCipheriv('aes-256-gcm', this.keyring!.primaryKeyObject(), nonce, { authTagLength: TAG_BYTES });
      // the header (version, flags, label) is the AAD: flipping a flag or swapping the
      // label of a sealed frame breaks the tag
      cipher.setAAD(out.subarray(0, headerLen));
      const sealed = cipher.update(payload);
      cipher.final();
      const bodyAt = headerLen + NONCE_BYTES;
      out.set(sealed, bodyAt);
      out.set(cipher.getAuthTag(), bodyAt + sealed.length);
      this.stats.encrypted++;
    } else {
      out.set(payload, headerLen);
    }
    this.stats.frames++;
    this.stats.bytes += out.length;
    return out;
  }
}

function writeUint48(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 0x1000000);
  const lo = v % 0x1000000;
  b[at] = hi >>> 16;
  b[at + 1] = (hi >>> 8) & 0xff;
  b[at + 2] = hi & 0xff;
  b[at + 3] = lo >>> 16;
  b[at + 4] = (lo >>> 8) & 0xff;
  b[at + 5] = lo & 0xff;
}

function readUint48(b: Uint8Array, at: number): number {
  return (
    ((b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!) * 0x1000000 + ((b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!)
  );
}

/** Every reason a frame can be refused: each is an {@link ErrorCode}. */
export const FRAME_REJECT_REASONS = [
  'E_FRAME_TRUNCATED',
  'E_FRAME_VERSION',
  'E_FRAME_FLAGS',
  'E_FRAME_TOO_LARGE',
  'E_FRAME_LABEL',
  'E_FRAME_DECRYPT',
  'E_FRAME_PLAINTEXT',
  'E_FRAME_REPLAY',
  'E_FRAME_INFLATE',
  'E_FRAME_DECODE',
  'E_MESSAGE_INVALID',
] as const satisfies readonly ErrorCode[];
/** One of {@link FRAME_REJECT_REASONS}. */
export type FrameRejectReason = (typeof FRAME_REJECT_REASONS)[number];

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** The label frames must carry (exactly; '' means frames must carry none). @default '' */
  label?: string;
  /**
   * Keys to try on sealed frames, and the requireEncryptedIncoming switch. Without a
   * keyring sealed frames are refused (E_FRAME_DECRYPT) and plaintext accepted.
   * @default undefined
   */
  keyring?: Keyring;
  /** Largest frame accepted; 65507 suits datagrams, raise it for streams. @default 65507 */
  maxFrameBytes?: number;
  /** Largest body after inflating (the deflate-bomb cap). @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Caps on the msgpack structure. @default DEFAULT_MSGPACK_LIMITS */
  msgpack?: MsgpackLimits;
  /** Caps on message fields. @default DEFAULT_MESSAGE_LIMITS */
  messages?: MessageLimits;
  /** How many sender nonce prefixes the replay window remembers. @default 4096 */
  replayPrefixes?: number;
}

/** A frame that decoded. */
export interface DecodedFrame {
  messages: AnyMessage[];
  /** Messages of unknown type (a newer peer's) skipped rather than failing the frame. */
  skipped: number;
  encrypted: boolean;
  deflated: boolean;
}

/** Outcome of {@link FrameDecoder.decode}; it never throws for bad input. */
export type FrameDecodeResult = ({ ok: true } & DecodedFrame) | { ok: false; error: ClusterError };

/**
 * Reads frames: size cap, version, flags, label, decryption (every installed key) with
 * replay protection, bounded inflate, bounded msgpack decode, message validation — in
 * that order, so cheap checks refuse junk before expensive ones run. One decoder per
 * socket: it owns the replay window and the counters.
 */
export class FrameDecoder {
  /** Frames refused, by reason. */
  readonly rejected: Record<FrameRejectReason, number>;
  /** Frames accepted. */
  accepted = 0;
  /** Unknown-type messages skipped inside accepted frames. */
  skippedMessages = 0;
  /**
   * Refusals caused by an exception that was not a ClusterError (a bug, counted also
   * under E_FRAME_DECODE); the fuzz test keeps it at zero.
   */
  unexpected = 0;
  private readonly label: Uint8Array;
  private readonly keyring: Keyring | undefined;
  private readonly maxFrameBytes: number;
  private readonly maxBodyBytes: number;
  private readonly msgpack: LimitedMsgpackDecoder;
  private readonly messageLimits: ResolvedMessageLimits;
  private readonly replay: ReplayWindow;

  constructor(options: FrameDecoderOptions = {}) {
    this.label = labelBytes(options.label ?? '');
    this.keyring = options.keyring;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    this.msgpack = new LimitedMsgpackDecoder(resolveMsgpackLimits(options.msgpack));
    this.messageLimits = resolveMessageLimits(options.messages);
    this.replay = new ReplayWindow(options.replayPrefixes ?? 4096);
    this.rejected = Object.fromEntries(FRAME_REJECT_REASONS.map((r) => [r, 0])) as Record<FrameRejectReason, number>;
  }

  /** Decodes a frame, counting the outcome; bad input yields `{ok: false}`, never a throw. */
  decode(frame: Uint8Array): FrameDecodeResult {
    try {
      const decoded = this.decodeOrThrow(frame);
      this.accepted++;
      this.skippedMessages += decoded.skipped;
      return { ok: true, ...decoded };
    } catch (err) {
      let error: ClusterError;
      if (isClusterError(err) && (FRAME_REJECT_REASONS as readonly string[]).includes(err.code)) error = err;
      else {
        this.unexpected++;
        error = new ClusterError('E_FRAME_DECODE', `unexpected failure: ${(err as Error)?.message}`, { cause: err });
      }
      this.rejected[error.code as FrameRejectReason]++;
      return { ok: false, error };
    }
  }

  /** Like {@link decode} but throws the ClusterError, and counts nothing. */
  decodeOrThrow(frame: Uint8Array): DecodedFrame {
    if (frame.length > this.maxFrameBytes) {
      throw new ClusterError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds the cap of ${this.maxFrameBytes}`);
    }
    if (frame.length < 2) throw new ClusterError('E_FRAME_TRUNCATED', `frame of ${frame.length} bytes has no header`);
    if (frame[0] !== FRAME_VERSION) {
      throw new ClusterError('E_FRAME_VERSION', `frame version ${frame[0]} is not supported (expected ${FRAME_VERSION})`);
    }
    const flags = frame[1]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) {
      throw new ClusterError('E_FRAME_FLAGS', `unknown flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)}`);
    }
    let pos = 2;
    if (flags & FLAG_LABELLED) {
      if (frame.length < 3) throw new ClusterError('E_FRAME_TRUNCATED', 'frame ends before its label length');
      const len = frame[2]!;
      if (len === 0) throw new ClusterError('E_FRAME_LABEL', 'labelled frame with an empty label');
      if (frame.length < 3 + len) throw new ClusterError('E_FRAME_TRUNCATED', 'frame ends inside its label');
      if (!sameBytes(frame, 3, len, this.label)) throw new ClusterError('E_FRAME_LABEL', 'frame label does not match ours');
      pos = 3 + len;
    } else if (this.label.length > 0) {
      throw new ClusterError('E_FRAME_LABEL', 'frame carries no label but this cluster is labelled');
    }
    const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
    let body: Uint8Array;
    if (encrypted) body = this.open(frame, pos);
    else {
      if (this.keyring?.requireEncryptedIncoming) {
        throw new ClusterError('E_FRAME_PLAINTEXT', 'plaintext frame refused: encryption is required');
      }
      body = frame.subarray(pos);
    }
    const deflated = (flags & FLAG_DEFLATED) !== 0;
    if (deflated) body = boundedInflate(body, this.maxBodyBytes);
    else if (body.length > this.maxBodyBytes) {
      throw new ClusterError('E_FRAME_TOO_LARGE', `body of ${body.length} bytes exceeds the cap of ${this.maxBodyBytes}`);
    }
    if (body.length === 0) throw new ClusterError('E_FRAME_TRUNCATED', 'frame has an empty body');
    const value = this.msgpack.decode(body);
    if (!Array.isArray(value)) throw new ClusterError('E_FRAME_DECODE', 'frame body is not an array of messages');
    const messages: AnyMessage[] = [];
    let skipped = 0;
    for (const item of value as unknown[]) {
      // a message type we do not know is a newer peer's: skip it, keep the rest
      if (isUnknownMessage(item)) skipped++;
      else messages.push(decodeMessage(item, this.messageLimits));
    }
    return { messages, skipped, encrypted, deflated };
  }

  private open(frame: Uint8Array, pos: number): Uint8Array {
    if (!this.keyring) throw new ClusterError('E_FRAME_DECRYPT', 'encrypted frame but no keyring is configured');
    if (frame.length < pos + ENCRYPTION_OVERHEAD) {
      throw new ClusterError('E_FRAME_TRUNCATED', 'encrypted frame too short for its nonce and tag');
    }
    const nonce = frame.subarray(pos, pos + NONCE_BYTES);
    const prefix = readUint48(nonce, 0);
    const counter = readUint48(nonce, NONCE_PREFIX_BYTES);
    if (!this.replay.check(prefix, counter)) {
      throw new ClusterError('E_FRAME_REPLAY', 'frame nonce already seen or older than the replay window');
    }
    const aad = frame.subarray(0, pos);
    const sealed = frame.subarray(pos + NONCE_BYTES, frame.length - TAG_BYTES);
    const tag = frame.subarray(frame.length - TAG_BYTES);
    for (const key of this.keyring.keyObjects()) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plain = decipher.update(sealed);
      try {
        decipher.final();
      } catch {
        continue;
      }
      // only an authenticated nonce may move the window, or forgeries could block a peer
      this.replay.record(prefix, counter);
      return plain;
    }
    throw new ClusterError('E_FRAME_DECRYPT', 'frame did not authenticate with any installed key');
  }
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ClusterError('E_CONFIG', `${name} must be a positive integer, got ${v}`);
  return v;
}

function sameBytes(frame: Uint8Array, at: number, len: number, expected: Uint8Array): boolean {
  if (len !== expected.length) return false;
  for (let i = 0; i < len; i++) if (frame[at + i] !== expected[i]) return false;
  return true;
}
