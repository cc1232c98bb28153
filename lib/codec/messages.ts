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

export type Message =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | SuspectMessage
  | AliveMessage
  | DeadMessage
  | PushPullMessage;
