import { Encoder } from '@msgpack/msgpack';
import { MessageType } from 'socket.io-adapter';
import type { ClusterMessage, ClusterResponse } from 'socket.io-adapter';
import { LimitedMsgpackDecoder, resolveMsgpackLimits } from '../codec/msgpack-limits.js';
import { ClusterError } from '../errors.js';

/**
 * What the adapter puts in an app message body: `[kind, payload]` in msgpack (binary
 * attachments stay binary, as with the Redis adapter's msgpack).
 *
 * - `message`: a {@link ClusterMessage} to every socket.io server (broadcast, socketsJoin,
 *   requests); a packet stored for connection-state recovery carries where it was stored
 *   (`[0, message, [epoch, n, wallMs]]`, decision 0058), so that each server can count it
 *   in the offsets it gives its clients;
 * - `response`: a {@link ClusterResponse} to the server that asked;
 * - `absent`: "this server has no such namespace": the asker stops waiting for it;
 * - `session`: a socket's recovery session (decision 0058): opened or changed, persisted
 *   at a recoverable disconnect, or closed for good.
 */
export const Kind = { message: 0, response: 1, absent: 2, session: 3 } as const;

/** Where a packet was stored in its namespace's history channel: the publisher's origin epoch, its number there, and its wall time. */
export interface StoredRef {
  epoch: number;
  n: number;
  wall: number;
}

/** The states a session message announces. */
export const SessionState = { open: 0, persisted: 1, closed: 2 } as const;

/** A socket's recovery session, as servers tell each other. */
export interface SessionMessage {
  nsp: string;
  pid: string;
  state: (typeof SessionState)[keyof typeof SessionState];
  /** Socket id (open and persisted). */
  sid?: string;
  rooms?: (string | number)[];
  data?: unknown;
}

/** A decoded body. */
export type Envelope =
  | { kind: 'message'; message: ClusterMessage; stored?: StoredRef }
  | { kind: 'response'; response: ClusterResponse }
  | { kind: 'absent'; nsp: string; requestId: string }
  | ({ kind: 'session' } & SessionMessage);

const encoder = new Encoder({ ignoreUndefined: true });

// payloads are the application's (JSON-like plus binary): generous caps, bounded depth
const decoder = new LimitedMsgpackDecoder(resolveMsgpackLimits({
  maxDepth: 64,
  maxStrLength: 16 * 1024 * 1024,
  maxBinLength: 16 * 1024 * 1024,
  maxArrayLength: 1 << 20,
  maxMapLength: 1 << 16,
}));

const MAX_ID = 256;
const MAX_ROOMS = 65_536;

export function encodeEnvelope(e: Envelope): Uint8Array {
  switch (e.kind) {
    case 'message':
      return encoder.encode(e.stored === undefined ? [Kind.message, e.message] : [Kind.message, e.message, [e.stored.epoch, e.stored.n, e.stored.wall]]);
    case 'response':
      return encoder.encode([Kind.response, e.response]);
    case 'absent':
      return encoder.encode([Kind.absent, { nsp: e.nsp, requestId: e.requestId }]);
    case 'session': {
      const { kind: _kind, ...session } = e;
      return encoder.encode([Kind.session, session]);
    }
  }
}

/** Decodes and validates a body; throws ClusterError E_MESSAGE_INVALID naming the problem. */
export function decodeEnvelope(body: Uint8Array): Envelope {
  let v: unknown;
  try {
    v = decoder.decode(body);
  } catch (err) {
    throw new ClusterError('E_MESSAGE_INVALID', `socket.io message: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) fail('', 'expected [kind, payload] or [kind, payload, stored]');
  const [kind, p, stored] = v as [unknown, unknown, unknown];
  const o = obj('payload', p);
  switch (kind) {
    case Kind.message:
      return stored === undefined ? { kind: 'message', message: checkMessage(o) } : { kind: 'message', message: checkMessage(o), stored: storedRef(stored) };
    case Kind.session:
      return { kind: 'session', ...checkSession(o) };
    case Kind.response:
      return { kind: 'response', response: checkResponse(o) };
    case Kind.absent:
      return { kind: 'absent', nsp: str('nsp', o.nsp), requestId: str('requestId', o.requestId) };
    default:
      return fail('kind', `unknown kind ${String(kind)}`);
  }
}

function checkMessage(o: Record<string, unknown>): ClusterMessage {
  str('uid', o.uid);
  str('nsp', o.nsp);
  const type = o.type;
  const d = (): Record<string, unknown> => obj('data', o.data);
  switch (type) {
    case MessageType.BROADCAST: {
      const data = d();
      opts(data.opts);
      packet(data.packet);
      if (data.requestId !== undefined) str('data.requestId', data.requestId);
      break;
    }
    case MessageType.SOCKETS_JOIN:
    case MessageType.SOCKETS_LEAVE: {
      const data = d();
      opts(data.opts);
      rooms('data.rooms', data.rooms);
      break;
    }
    case MessageType.DISCONNECT_SOCKETS: {
      const data = d();
      opts(data.opts);
      if (data.close !== undefined && typeof data.close !== 'boolean') fail('data.close', 'expected a boolean');
      break;
    }
    case MessageType.FETCH_SOCKETS: {
      const data = d();
      opts(data.opts);
      str('data.requestId', data.requestId);
      break;
    }
    case MessageType.SERVER_SIDE_EMIT: {
      const data = d();
      if (!Array.isArray(data.packet) || data.packet.length === 0) fail('data.packet', 'expected a non-empty array');
      if (data.requestId !== undefined) str('data.requestId', data.requestId);
      break;
    }
    default:
      fail('type', `not a request type: ${String(type)}`);
  }
  return o as unknown as ClusterMessage;
}

function storedRef(v: unknown): StoredRef {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) fail('stored', 'expected [epoch, n, wallMs] (non-negative integers)');
  const [epoch, n, wall] = v as [number, number, number];
  if (n < 1) fail('stored', 'n starts at 1');
  return { epoch, n, wall };
}

function checkSession(o: Record<string, unknown>): SessionMessage {
  const nsp = str('nsp', o.nsp);
  const pid = str('pid', o.pid);
  const state = o.state;
  if (state !== SessionState.open && state !== SessionState.persisted && state !== SessionState.closed) fail('state', `unknown session state ${String(state)}`);
  if (state === SessionState.closed) return { nsp, pid, state };
  const sid = str('sid', o.sid);
  rooms('rooms', o.rooms);
  return { nsp, pid, state, sid, rooms: o.rooms as (string | number)[], data: o.data };
}

function checkResponse(o: Record<string, unknown>): ClusterResponse {
  str('uid', o.uid);
  str('nsp', o.nsp);
  const data = obj('data', o.data);
  str('data.requestId', data.requestId);
  switch (o.type) {
    case MessageType.FETCH_SOCKETS_RESPONSE: {
      if (!Array.isArray(data.sockets)) fail('data.sockets', 'expected an array');
      for (const [i, s] of (data.sockets as unknown[]).entries()) {
        const so = obj(`data.sockets[${i}]`, s);
        str(`data.sockets[${i}].id`, so.id);
        rooms(`data.sockets[${i}].rooms`, so.rooms);
        obj(`data.sockets[${i}].handshake`, so.handshake);
      }
      break;
    }
    case MessageType.BROADCAST_CLIENT_COUNT:
      if (!Number.isSafeInteger(data.clientCount) || (data.clientCount as number) < 0) fail('data.clientCount', 'expected a non-negative integer');
      break;
    case MessageType.SERVER_SIDE_EMIT_RESPONSE:
    case MessageType.BROADCAST_ACK:
      break;
    default:
      fail('type', `not a response type: ${String(o.type)}`);
  }
  return o as unknown as ClusterResponse;
}

/** A socket.io packet as the adapter broadcasts it: `{type, nsp, data?, id?}`. */
function packet(v: unknown): void {
  const p = obj('data.packet', v);
  if (!Number.isInteger(p.type)) fail('data.packet.type', 'expected an integer');
  if (p.data !== undefined && !Array.isArray(p.data)) fail('data.packet.data', 'expected an array');
  if (p.id !== undefined && !Number.isSafeInteger(p.id)) fail('data.packet.id', 'expected an integer');
}

function opts(v: unknown): void {
  const o = obj('data.opts', v);
  rooms('data.opts.rooms', o.rooms);
  rooms('data.opts.except', o.except);
  if (o.flags !== undefined && o.flags !== null) obj('data.opts.flags', o.flags);
}

function rooms(field: string, v: unknown): void {
  if (!Array.isArray(v)) fail(field, 'expected an array');
  if (v.length > MAX_ROOMS) fail(field, `${v.length} rooms exceed the cap of ${MAX_ROOMS}`);
  // Socket.IO types rooms as strings, yet apps (and its own adapter tests) join numbers
  for (const r of v) if (typeof r !== 'string' && typeof r !== 'number') fail(field, 'expected room names (strings or numbers)');
}

function str(field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID) fail(field, `expected a string of 1 to ${MAX_ID} characters`);
  return v;
}

function obj(field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) fail(field, 'expected a map');
  return v as Record<string, unknown>;
}

function fail(field: string, problem: string): never {
  throw new ClusterError('E_MESSAGE_INVALID', `socket.io message${field ? `.${field}` : ''}: ${problem}`);
}
