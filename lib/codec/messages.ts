import { Encoder } from '@msgpack/msgpack';
import { ClusterError } from '../errors.js';
import { ownBytes } from '../own-bytes.js';
import type { Address } from '../transport/transport.js';

/**
 * Every message clusterd puts on the wire. On the wire a message is a msgpack array
 * `[typeNumber, ...fields]` with the fields in the order listed in docs/protocol.md.
 *
 * Numbering is append-only: a number once shipped is never reused or re-purposed.
 * 1–15 membership (SWIM), 16–31 replication, 32–47 anti-entropy, 48–63 runtime.
 */
export const MessageType = {
  ping: 1,
  pingReq: 2,
  ack: 3,
  nack: 4,
  suspect: 5,
  alive: 6,
  dead: 7,
  pushPull: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** Member states as carried on the wire (push-pull). */
export const WireState = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type WireStateName = keyof typeof WireState;

/** Direct probe. `target` is the name the sender believes lives at the address. */
export interface PingMessage {
  type: 'ping';
  seq: number;
  target: string;
  source: string;
  sourceAddr: Address;
}

/** Ask a helper to probe `target` for us (SWIM ping-req). */
export interface PingReqMessage {
  type: 'ping-req';
  seq: number;
  target: string;
  targetAddr: Address;
  source: string;
  sourceAddr: Address;
  /** The helper should send a nack when the target does not answer in time. */
  nack: boolean;
}

/** Answer to a ping (directly or relayed by a ping-req helper). */
export interface AckMessage {
  type: 'ack';
  seq: number;
  /** Optional opaque payload (at most a few bytes; e.g. a state digest). */
  payload?: Uint8Array;
}

/** Sent by a ping-req helper whose probe of the target timed out. */
export interface NackMessage {
  type: 'nack';
  seq: number;
}

/** `from` suspects `node` at `incarnation`. */
export interface SuspectMessage {
  type: 'suspect';
  node: string;
  incarnation: number;
  from: string;
}

/** `node` is alive at `incarnation`, reachable at `addr`, with encoded metadata. */
export interface AliveMessage {
  type: 'alive';
  node: string;
  incarnation: number;
  addr: Address;
  /** msgpack-encoded NodeMeta; opaque to the codec, size-capped on receive. */
  meta: Uint8Array;
}

/** `from` declares `node` dead at `incarnation`; `from === node` means a graceful leave. */
export interface DeadMessage {
  type: 'dead';
  node: string;
  incarnation: number;
  from: string;
}

/** One member's state in a push-pull exchange. */
export interface MemberSnapshot {
  node: string;
  addr: Address;
  incarnation: number;
  state: WireStateName;
  meta: Uint8Array;
}

/** Full membership state exchange, sent over a stream (join and periodic anti-entropy). */
export interface PushPullMessage {
  type: 'push-pull';
  /** True when the sender is joining (the receiver should answer with its own state). */
  join: boolean;
  members: MemberSnapshot[];
}

/** The membership messages (1–15). See {@link AnyMessage} for everything registered. */
export type Message =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | SuspectMessage
  | AliveMessage
  | DeadMessage
  | PushPullMessage;

/** Membership messages (1–15), the closed set the SWIM layer handles exhaustively. */
export type MembershipMessage = Message;

/**
 * Every message type the codec knows, keyed by its `type` string. Other modules add
 * their messages by augmenting this interface and calling {@link defineMessage}:
 *
 * ```ts
 * declare module '../codec/messages.js' {
 *   interface MessageMap { 'presence-delta': PresenceDeltaMessage }
 * }
 * defineMessage(16, 'presence-delta', (m) => [...], (r) => ({ type: 'presence-delta', ... }));
 * ```
 *
 * `Message` stays the closed membership union so exhaustive switches in swim/ keep
 * compiling when other modules register messages; the runtime routes {@link AnyMessage}.
 */
export interface MessageMap {
  ping: PingMessage;
  'ping-req': PingReqMessage;
  ack: AckMessage;
  nack: NackMessage;
  suspect: SuspectMessage;
  alive: AliveMessage;
  dead: DeadMessage;
  'push-pull': PushPullMessage;
}

/** Any registered message (membership plus whatever other modules registered). */
export type AnyMessage = MessageMap[keyof MessageMap];

/** Caps applied when validating a message; the receiver's config, not the sender's. */
export interface MessageLimits {
  /** Longest node name, in UTF-8 bytes. @default 128 */
  maxNameBytes?: number;
  /** Longest address, in UTF-8 bytes. @default 300 */
  maxAddressBytes?: number;
  /** Largest encoded node metadata, in bytes. @default 4096 */
  maxMetaBytes?: number;
  /** Most members in one push-pull. @default 16384 */
  maxPushPullMembers?: number;
  /** Largest ack payload, in bytes. @default 256 */
  maxAckPayloadBytes?: number;
}

/** {@link MessageLimits} with every default filled in. */
export type ResolvedMessageLimits = Required<MessageLimits>;

/** The defaults of {@link MessageLimits}. */
export const DEFAULT_MESSAGE_LIMITS: ResolvedMessageLimits = Object.freeze({
  maxNameBytes: 128,
  maxAddressBytes: 300,
  maxMetaBytes: 4096,
  maxPushPullMembers: 16384,
  maxAckPayloadBytes: 256,
});

/** Fills in the defaults of `limits` and checks that every cap is a non-negative integer. */
export function resolveMessageLimits(limits: MessageLimits = {}): ResolvedMessageLimits {
  const out = { ...DEFAULT_MESSAGE_LIMITS };
  for (const key of Object.keys(DEFAULT_MESSAGE_LIMITS) as (keyof ResolvedMessageLimits)[]) {
    const v = limits[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ClusterError('E_CONFIG', `message limit ${key} must be a non-negative integer, got ${String(v)}`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

const utf8 = new TextEncoder();

/** UTF-8 length of `s` without allocating when the answer is obvious. */
function utf8Length(s: string, max: number): number {
  // a UTF-16 code unit is at most 3 UTF-8 bytes, and at least 1
  if (s.length * 3 <= max) return s.length;
  if (s.length > max) return s.length;
  return utf8.encode(s).length;
}

/**
 * Reads the fields of one message in order, validating each. Every failure throws
 * ClusterError E_MESSAGE_INVALID naming the message type and field, so a rejected
 * frame in the logs says exactly what was wrong with it.
 */
export class FieldReader {
  private index = 1;

  /**
   * @param type the message type string, for error messages
   * @param fields the whole message array (`fields[0]` is the type number)
   * @param limits the receiver's caps
   */
  constructor(
    readonly type: string,
    private readonly fields: readonly unknown[],
    readonly limits: ResolvedMessageLimits,
  ) {}

  /** Throws E_MESSAGE_INVALID for `field`. */
  fail(field: string, problem: string): never {
    throw new ClusterError('E_MESSAGE_INVALID', `${this.type}.${field}: ${problem}`);
  }

  /** True when another field is present (for optional trailing fields). */
  more(): boolean {
    return this.index < this.fields.length;
  }

  private take(field: string): unknown {
    if (this.index >= this.fields.length) this.fail(field, `missing (message has ${this.fields.length - 1} fields)`);
    return this.fields[this.index++];
  }

  /** A non-negative safe integer (sequence numbers, incarnations, counters). */
  uint(field: string): number {
    return this.checkUint(field, this.take(field));
  }

  /** An integer in [min, max]. */
  int(field: string, min: number, max: number): number {
    const v = this.take(field);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `expected an integer in [${min}, ${max}], got ${describe(v)}`);
    }
    return v;
  }

  /** A boolean. */
  bool(field: string): boolean {
    const v = this.take(field);
    if (typeof v !== 'boolean') this.fail(field, `expected a boolean, got ${describe(v)}`);
    return v;
  }

  /** A string of at most `maxBytes` UTF-8 bytes; empty only when `allowEmpty`. */
  str(field: string, maxBytes: number, allowEmpty = false): string {
    return this.checkStr(field, this.take(field), maxBytes, allowEmpty);
  }

  /** A non-empty node name within `maxNameBytes`. */
  name(field: string): string {
    return this.str(field, this.limits.maxNameBytes);
  }

  /** A non-empty address within `maxAddressBytes` (syntax is checked where it is dialled). */
  address(field: string): string {
    return this.str(field, this.limits.maxAddressBytes);
  }

  /** Binary data of at most `maxBytes`. */
  bytes(field: string, maxBytes: number): Uint8Array {
    return this.checkBytes(field, this.take(field), maxBytes);
  }

  /**
   * Any msgpack value, unvalidated (an application payload): the caller checks it. The
   * frame's msgpack limits (depth, lengths) already bound what it can be.
   */
  value(field: string): unknown {
    return this.take(field);
  }

  /** An array of at most `maxItems` elements, each read by `item` from its own FieldReader. */
  list<T>(field: string, maxItems: number, item: (r: FieldReader) => T): T[] {
    const v = this.take(field);
    if (!Array.isArray(v)) this.fail(field, `expected an array, got ${describe(v)}`);
    if (v.length > maxItems) this.fail(field, `${v.length} items exceed the cap of ${maxItems}`);
    const out: T[] = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) {
      const el: unknown = v[i];
      if (!Array.isArray(el)) this.fail(`${field}[${i}]`, `expected an array, got ${describe(el)}`);
      // a nested reader reads from index 0: prepend a placeholder so indices line up
      out[i] = item(new FieldReader(`${this.type}.${field}[${i}]`, [undefined, ...el], this.limits));
    }
    return out;
  }

  private checkUint(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.fail(field, `expected a non-negative safe integer, got ${describe(v)}`);
    }
    return v;
  }

  private checkStr(field: string, v: unknown, maxBytes: number, allowEmpty: boolean): string {
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${describe(v)}`);
    if (!allowEmpty && v.length === 0) this.fail(field, 'must not be empty');
    const n = utf8Length(v, maxBytes);
    if (n > maxBytes) this.fail(field, `${n} bytes exceed the cap of ${maxBytes}`);
    return v;
  }

  private checkBytes(field: string, v: unknown, maxBytes: number): Uint8Array {
    if (!(v instanceof Uint8Array)) this.fail(field, `expected binary data, got ${describe(v)}`);
    if (v.length > maxBytes) this.fail(field, `${v.length} bytes exceed the cap of ${maxBytes}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes of binary`;
  switch (typeof v) {
    case 'number':
      return String(v);
    case 'string':
      return `a string of ${v.length} chars`;
    case 'boolean':
      return String(v);
    default:
      return typeof v;
  }
}

/** How one message type maps to and from its wire array. */
export interface MessageDefinition<K extends keyof MessageMap = keyof MessageMap> {
  readonly number: number;
  readonly type: K;
  /** The fields after the type number, in wire order, optional ones trailing and omitted when absent. */
  readonly encodeFields: (m: MessageMap[K]) => unknown[];
  /** Builds the message from a reader positioned at the first field. */
  readonly decodeFields: (r: FieldReader) => MessageMap[K];
}

const byNumber = new Map<number, MessageDefinition>();
const byType = new Map<string, MessageDefinition>();

/** Highest type number: 0–127 encode as a one-byte msgpack positive fixint. */
export const MAX_MESSAGE_NUMBER = 127;

/**
 * Registers a message type. Numbers are append-only (docs/protocol.md): 1–15
 * membership, 16–31 replication, 32–47 anti-entropy, 48–63 runtime. Registering a
 * number or type twice throws E_INVALID_ARGUMENT, so two modules cannot silently
 * claim the same number.
 */
export function defineMessage<K extends keyof MessageMap>(
  number: number,
  type: K,
  encodeFields: (m: MessageMap[K]) => unknown[],
  decodeFields: (r: FieldReader) => MessageMap[K],
): MessageDefinition<K> {
  if (!Number.isInteger(number) || number < 1 || number > MAX_MESSAGE_NUMBER) {
    throw new ClusterError('E_INVALID_ARGUMENT', `message number must be an integer in [1, ${MAX_MESSAGE_NUMBER}], got ${number}`);
  }
  const taken = byNumber.get(number) ?? byType.get(type);
  if (taken) {
    throw new ClusterError('E_INVALID_ARGUMENT', `message ${number} "${type}" conflicts with registered ${taken.number} "${taken.type}"`);
  }
  const def: MessageDefinition<K> = Object.freeze({ number, type, encodeFields, decodeFields });
  // the maps are keyed by the erased type; each entry is only ever used with its own K
  byNumber.set(number, def as unknown as MessageDefinition);
  byType.set(type, def as unknown as MessageDefinition);
  return def;
}

/** The definition registered for a type number, if any. */
export function messageDefinition(number: number): MessageDefinition | undefined {
  return byNumber.get(number);
}

const encoder = new Encoder();

/**
 * Encodes `m` as the msgpack array `[typeNumber, ...fields]`. The fields are validated
 * against `limits` first, so a message the receiver would reject fails here, at the
 * sender, with E_MESSAGE_INVALID (and cannot take the rest of its frame down with it).
 * @param limits caps to validate against. @default DEFAULT_MESSAGE_LIMITS
 */
export function encodeMessage(m: AnyMessage, limits: ResolvedMessageLimits = DEFAULT_MESSAGE_LIMITS): Uint8Array {
  const def = byType.get(m.type);
  if (!def) throw new ClusterError('E_MESSAGE_INVALID', `unknown message type "${String(m.type)}"`);
  const array = [def.number, ...def.encodeFields(m)];
  def.decodeFields(new FieldReader(def.type, array, limits));
  return encoder.encode(array);
}

/**
 * Encodes `m` like {@link encodeMessage} but without validating it first: only for
 * messages this process built from data that was already validated, i.e. fields that
 * came out of {@link decodeMessage} (a membership update relayed as received) or state
 * the node derived from them. Receivers validate strictly as always; a defect slipping
 * through here costs the frame that carries it, on the receiving side. Membership relays
 * every gossip message it learns (each queued once per node), so at 1,000 nodes the
 * validation doubled the cost of the hottest encode (docs/decisions/0041).
 */
export function encodeTrustedMessage(m: AnyMessage): Uint8Array {
  const def = byType.get(m.type);
  if (!def) throw new ClusterError('E_MESSAGE_INVALID', `unknown message type "${String(m.type)}"`);
  return encoder.encode([def.number, ...def.encodeFields(m)]);
}

/**
 * Validates one decoded msgpack value as a message. Extra trailing fields are ignored
 * (a newer sender may append optional fields); an unknown type number throws
 * E_MESSAGE_INVALID like any other defect; the frame decoder instead skips those
 * (see {@link isUnknownMessage}).
 * @param limits the receiver's caps. @default DEFAULT_MESSAGE_LIMITS
 */
export function decodeMessage(value: unknown, limits: ResolvedMessageLimits = DEFAULT_MESSAGE_LIMITS): AnyMessage {
  if (!Array.isArray(value)) throw new ClusterError('E_MESSAGE_INVALID', `message: expected an array, got ${describe(value)}`);
  const n: unknown = value[0];
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new ClusterError('E_MESSAGE_INVALID', `message: expected an integer type number, got ${describe(n)}`);
  }
  const def = byNumber.get(n);
  if (!def) throw new ClusterError('E_MESSAGE_INVALID', `message: unknown type number ${n}`);
  return def.decodeFields(new FieldReader(def.type, value, limits));
}

/** True when `value` is shaped like a message (`[integer, ...]`) whose number nobody registered. */
export function isUnknownMessage(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  const n: unknown = value[0];
  return typeof n === 'number' && Number.isInteger(n) && !byNumber.has(n);
}

// ---- membership (1–15); field order is the wire format: see docs/protocol.md ----

const wireStateNames = Object.keys(WireState) as WireStateName[];

defineMessage(
  MessageType.ping,
  'ping',
  (m) => [m.seq, m.target, m.source, m.sourceAddr],
  (r) => ({
    type: 'ping',
    seq: r.uint('seq'),
    // empty when probing an address whose node name is not known yet (join by address)
    target: r.str('target', r.limits.maxNameBytes, true),
    source: r.name('source'),
    sourceAddr: r.address('sourceAddr'),
  }),
);

defineMessage(
  MessageType.pingReq,
  'ping-req',
  (m) => [m.seq, m.target, m.targetAddr, m.source, m.sourceAddr, m.nack],
  (r) => ({
    type: 'ping-req',
    seq: r.uint('seq'),
    target: r.name('target'),
    targetAddr: r.address('targetAddr'),
    source: r.name('source'),
    sourceAddr: r.address('sourceAddr'),
    nack: r.bool('nack'),
  }),
);

defineMessage(
  MessageType.ack,
  'ack',
  (m) => (m.payload === undefined ? [m.seq] : [m.seq, m.payload]),
  (r) => {
    const seq = r.uint('seq');
    if (!r.more()) return { type: 'ack', seq };
    return { type: 'ack', seq, payload: r.bytes('payload', r.limits.maxAckPayloadBytes) };
  },
);

defineMessage(
  MessageType.nack,
  'nack',
  (m) => [m.seq],
  (r) => ({ type: 'nack', seq: r.uint('seq') }),
);

defineMessage(
  MessageType.suspect,
  'suspect',
  (m) => [m.node, m.incarnation, m.from],
  (r) => ({ type: 'suspect', node: r.name('node'), incarnation: r.uint('incarnation'), from: r.name('from') }),
);

defineMessage(
  MessageType.alive,
  'alive',
  (m) => [m.node, m.incarnation, m.addr, m.meta],
  (r) => ({
    type: 'alive',
    node: r.name('node'),
    incarnation: r.uint('incarnation'),
    addr: r.address('addr'),
    // kept in the member table and re-gossiped: a copy, not a view of the frame
    meta: ownBytes(r.bytes('meta', r.limits.maxMetaBytes)),
  }),
);

defineMessage(
  MessageType.dead,
  'dead',
  (m) => [m.node, m.incarnation, m.from],
  (r) => ({ type: 'dead', node: r.name('node'), incarnation: r.uint('incarnation'), from: r.name('from') }),
);

defineMessage(
  MessageType.pushPull,
  'push-pull',
  (m) => [m.join, m.members.map((s) => [s.node, s.addr, s.incarnation, WireState[s.state], s.meta])],
  (r) => ({
    type: 'push-pull',
    join: r.bool('join'),
    members: r.list('members', r.limits.maxPushPullMembers, (s) => ({
      node: s.name('node'),
      addr: s.address('addr'),
      incarnation: s.uint('incarnation'),
      state: wireStateNames[s.int('state', 0, wireStateNames.length - 1)]!,
      meta: ownBytes(s.bytes('meta', s.limits.maxMetaBytes)),
    })),
  }),
);
