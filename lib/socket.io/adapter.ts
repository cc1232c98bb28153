import { randomBytes } from 'node:crypto';
import { ClusterAdapter, MessageType } from 'socket.io-adapter';
import type { BroadcastOptions, ClusterMessage, ClusterResponse, Offset, Room, ServerId, Session, SocketId } from 'socket.io-adapter';
import { ClusterError } from '../errors.js';
import type { ClusterNode } from '../node.js';
import { PresenceMirror } from './presence.js';
import type { PresenceOptions } from './presence.js';
import { NamespaceRecovery } from './recovery.js';
import type { RecoveryCounters, RecoveryNamespace } from './recovery.js';
import { decodeEnvelope, encodeEnvelope } from './wire.js';
import type { Envelope, SessionMessage, StoredRef } from './wire.js';

/** Options of {@link createAdapter}. */
export interface AdapterOptions {
  /**
   * App message topic of this Socket.IO cluster, and the role its servers advertise in
   * membership (so that the server count is the live members with this role). Servers
   * of one Socket.IO cluster must use the same. Letters, digits and `_.:-/`, at most 64.
   * @default 'socket.io'
   */
  topic?: string;
  /**
   * How long `fetchSockets` and `serverSideEmit` with an acknowledgement wait for the
   * other servers, in ms (a server that dies meanwhile stops being waited for at once).
   * @default 5000
   */
  requestsTimeout?: number;
  /**
   * Mirrors each connected socket into clusterd presence, so `clusterd presence`, the
   * HTTP API and the dashboard list who is connected where, and a dead server's sockets
   * vanish from every node. @default undefined (no presence)
   */
  presence?: PresenceOptions;
  /**
   * With Socket.IO's `connectionStateRecovery`: how long a server answering a recovery
   * waits for its replicated history to hold the packets it has delivered, in ms, before
   * it refuses (`socket.recovered === false`). @default 3000
   */
  recoveryWaitMs?: number;
  /** With `connectionStateRecovery`: sessions (connected or recently disconnected sockets of the cluster) each server keeps per namespace at most. @default 200000 */
  maxSessions?: number;
}

/** Counters of one {@link createAdapter} bus (all its namespaces). */
export interface AdapterStats {
  /** Bodies received from other servers and handed to a namespace. */
  received: number;
  /** Bodies refused (malformed, wrong shape); nothing of them was applied. */
  rejected: number;
  /** Requests for a namespace this server does not have (answered "absent"). */
  absent: number;
  /** Messages that could not be published (over `maxMessageBytes`, node closed): they reached this server's clients only. */
  publishErrors: number;
  /** Sockets not mirrored into presence (`user` threw, or the entry was refused). */
  presenceErrors: number;
  /** Sockets recovered after a disconnection (connection-state recovery, decision 0058). */
  recovered: number;
  /** Recoveries refused (`socket.recovered === false`): unknown or expired session, foreign offset, missed packets no longer held, history not caught up in time. */
  refused: number;
  /** Eligible packets not stored for recovery, not even as a marker (node closed, namespace name not a valid channel). */
  storeErrors: number;
  /** Session messages refused (session table full) or not sent (socket.data not encodable, too big). */
  sessionErrors: number;
}

const DEFAULT_TOPIC = 'socket.io';
const ROLE_RE = /^[A-Za-z0-9_.:\-/]{1,64}$/;
// requester uids remembered per adapter for routing responses (one per server and namespace in practice)
const MAX_REQUESTERS = 4096;
const topics = new WeakMap<ClusterNode, Set<string>>();

/**
 * The Socket.IO adapter over clusterd: `new Server(http, { adapter: createAdapter(node) })`.
 * Every server of the Socket.IO cluster embeds (or is) a clusterd node; the adapter adds
 * its `topic` to the node's advertised roles. Returns the adapter constructor Socket.IO
 * calls for each namespace, with the bus's `stats()` attached.
 */
export function createAdapter(node: ClusterNode, options: AdapterOptions = {}): AdapterConstructor {
  const bus = new Bus(node, options);
  // Socket.IO calls `new adapter(nsp)`: a plain function returning the adapter serves
  const ctor = function (nsp: unknown): ClusterdAdapter {
    return new ClusterdAdapter(nsp as Namespace, bus);
  };
  return Object.assign(ctor, { stats: () => bus.stats(), close: () => bus.close() });
}

/** What {@link createAdapter} returns: the per-namespace adapter factory Socket.IO calls, plus the bus's counters and close. */
export interface AdapterConstructor {
  (nsp: unknown): ClusterdAdapter;
  /** Counters of this bus (all namespaces). */
  stats(): AdapterStats;
  /** Stops listening (the node's role stays until the node leaves). */
  close(): void;
}

/** The parts of a Socket.IO namespace the adapter uses (socket.io-adapter types it `any`). */
interface Namespace extends RecoveryNamespace {
  name: string;
  server: { opts: { connectionStateRecovery?: { maxDisconnectionDuration?: number } } & Record<string, unknown> };
  sockets: Map<SocketId, { handshake: unknown; pid?: string; rooms: Set<Room>; data: unknown }>;
}

interface Request {
  kind: 'fetch' | 'emit';
  missing: Set<string>;
  responses: unknown[];
  timer: NodeJS.Timeout;
  done: (err: Error | null, responses: unknown[]) => void;
}

/** One per createAdapter call: the topic's handler, routing bodies to namespaces. */
class Bus {
  readonly topic: string;
  readonly requestsTimeout: number;
  readonly presence: PresenceMirror | undefined;
  readonly recoveryWaitMs: number;
  readonly maxSessions: number;
  readonly recovery: RecoveryCounters = { recovered: 0, refused: 0, storeErrors: 0, sessionErrors: 0 };
  private readonly adapters = new Map<string, ClusterdAdapter>();
  private readonly counters = { received: 0, rejected: 0, absent: 0, publishErrors: 0 };
  private readonly off: (() => void)[] = [];

  constructor(
    readonly node: ClusterNode,
    options: AdapterOptions,
  ) {
    this.topic = options.topic ?? DEFAULT_TOPIC;
    if (!ROLE_RE.test(this.topic)) throw new ClusterError('E_INVALID_ARGUMENT', `socket.io adapter topic must match ${String(ROLE_RE)}, got ${JSON.stringify(this.topic)}`);
    this.requestsTimeout = options.requestsTimeout ?? 5000;
    if (!Number.isSafeInteger(this.requestsTimeout) || this.requestsTimeout < 1) throw new ClusterError('E_CONFIG', `requestsTimeout must be a positive integer, got ${String(options.requestsTimeout)}`);
    this.recoveryWaitMs = options.recoveryWaitMs ?? 3000;
    if (!Number.isSafeInteger(this.recoveryWaitMs) || this.recoveryWaitMs < 0) throw new ClusterError('E_CONFIG', `recoveryWaitMs must be a non-negative integer, got ${String(options.recoveryWaitMs)}`);
    this.maxSessions = options.maxSessions ?? 200_000;
    if (!Number.isSafeInteger(this.maxSessions) || this.maxSessions < 1) throw new ClusterError('E_CONFIG', `maxSessions must be a positive integer, got ${String(options.maxSessions)}`);
    let used = topics.get(node);
    if (!used) topics.set(node, (used = new Set()));
    if (used.has(this.topic)) throw new ClusterError('E_INVALID_ARGUMENT', `a socket.io adapter already uses topic "${this.topic}" on node ${node.name}`);
    used.add(this.topic);
    this.presence = options.presence ? new PresenceMirror(node, options.presence) : undefined;
    this.off.push(node.messages.on(this.topic, (body, from) => this.receive(body, from)));
    const roles = node.members().find((m) => m.name === node.name)?.meta.roles ?? [];
    if (!roles.includes(this.topic)) node.updateMeta({ roles: [...roles, this.topic] });
    const gone = (name: string): void => {
      for (const a of this.adapters.values()) a.serverGone(name);
    };
    this.off.push(node.membership.on('member-dead', (m) => gone(m.name)));
    this.off.push(node.membership.on('member-leave', (m) => gone(m.name)));
  }

  /** The other live servers of this Socket.IO cluster. */
  servers(): string[] {
    return this.node.messages.peers(this.topic);
  }

  register(a: ClusterdAdapter): void {
    this.adapters.set(a.nsp.name, a);
  }

  unregister(a: ClusterdAdapter): void {
    if (this.adapters.get(a.nsp.name) === a) this.adapters.delete(a.nsp.name);
  }

  /** Publishes to every other server; a failure (too big, node closed) is counted and returned, never thrown. */
  broadcast(e: Envelope): Error | undefined {
    return this.guard(() => this.node.messages.broadcast(this.topic, encodeEnvelope(e), this.topic));
  }

  send(to: string, e: Envelope): Error | undefined {
    return this.guard(() => this.node.messages.send(to, this.topic, encodeEnvelope(e)));
  }

  private guard(fn: () => unknown): Error | undefined {
    try {
      fn();
      return undefined;
    } catch (err) {
      // Socket.IO calls publish without awaiting it: a throw here would be an unhandled rejection
      this.counters.publishErrors++;
      return err as Error;
    }
  }

  stats(): AdapterStats {
    return { ...this.counters, presenceErrors: this.presence?.errors ?? 0, ...this.recovery };
  }

  close(): void {
    for (const off of this.off.splice(0)) off();
    topics.get(this.node)?.delete(this.topic);
  }

  private receive(body: Uint8Array, from: string): void {
    let e: Envelope;
    try {
      e = decodeEnvelope(body);
    } catch {
      this.counters.rejected++;
      return;
    }
    const nsp = e.kind === 'message' ? e.message.nsp : e.kind === 'response' ? e.response.nsp : e.nsp;
    // a session of a namespace this server does not have: it could not restore it anyway
    const a = this.adapters.get(nsp);
    if (!a) {
      if (e.kind === 'message') this.answerAbsent(e.message, from);
      return;
    }
    this.counters.received++;
    try {
      if (e.kind === 'message') a.fromServer(e.message, from, e.stored);
      else if (e.kind === 'response') a.responseFrom(e.response, from);
      else if (e.kind === 'session') a.sessionFrom(e, from);
      else a.absentFrom(e.requestId, from);
    } catch {
      // a payload the shape check let through but Socket.IO choked on: refused, counted
      this.counters.rejected++;
    }
  }

  /** A request for a namespace this server does not have: tell the asker not to wait for us. */
  private answerAbsent(m: ClusterMessage, from: string): void {
    const data = (m as { data?: { requestId?: string } }).data;
    const requestId = data?.requestId;
    if (requestId === undefined) return;
    this.counters.absent++;
    if (m.type === MessageType.BROADCAST) {
      // an emit with acks counts the clients of every server: none here
      this.send(from, { kind: 'response', response: { uid: 'absent', nsp: m.nsp, type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId, clientCount: 0 } } });
    } else {
      this.send(from, { kind: 'absent', nsp: m.nsp, requestId });
    }
  }
}

/**
 * The adapter of one namespace: Socket.IO's own {@link ClusterAdapter} (the semantics of
 * broadcasts, rooms, acks and remote sockets), publishing over clusterd app messages.
 * The server count is membership's (live members with the topic role); requests wait
 * for exactly the servers that were live when they were sent, minus those that die.
 */
export class ClusterdAdapter extends ClusterAdapter {
  private readonly bus: Bus;
  private readonly requesters = new Map<ServerId, string>();
  private readonly pendingRequests = new Map<string, Request>();
  private readonly recovery: NamespaceRecovery | undefined;
  /** How long this namespace's requests wait for the other servers, in ms (createAdapter's `requestsTimeout`). */
  requestsTimeout: number;

  constructor(nsp: Namespace, bus: Bus) {
    super(nsp);
    this.bus = bus;
    this.requestsTimeout = bus.requestsTimeout;
    const csr = nsp.server.opts.connectionStateRecovery;
    if (csr) {
      const tell = (m: SessionMessage): boolean => {
        const err = bus.broadcast({ kind: 'session', ...m });
        if (err) bus.recovery.sessionErrors++;
        return err === undefined;
      };
      this.recovery = new NamespaceRecovery(bus.node, nsp, bus.topic, csr.maxDisconnectionDuration ?? 120_000, bus.recoveryWaitMs, bus.maxSessions, bus.recovery, tell);
    }
    bus.register(this);
  }

  override serverCount(): Promise<number> {
    return Promise.resolve(1 + this.bus.servers().length);
  }

  override close(): void {
    this.bus.unregister(this);
    this.recovery?.close();
    for (const [id, r] of this.pendingRequests) {
      clearTimeout(r.timer);
      this.pendingRequests.delete(id);
      r.done(new ClusterError('E_CLOSED', 'adapter closed'), r.responses);
    }
  }

  // ── publishing (called by ClusterAdapter) ────────────────────────────────────

  protected override doPublish(message: ClusterMessage): Promise<Offset> {
    // a packet ClusterAdapter will put an offset on is stored for recovery first; the
    // offset is this server's delivery cursor (decision 0058), other servers append their own
    const s = this.recovery && recoverable(message) ? this.recovery.store(message.data.packet.data, message.data.opts.rooms, message.data.opts.except) : undefined;
    const err = this.bus.broadcast(s ? { kind: 'message', message, stored: s.stored } : { kind: 'message', message });
    return err ? Promise.reject(err) : Promise.resolve(s?.offset ?? '');
  }

  protected override doPublishResponse(requesterUid: ServerId, response: ClusterResponse): Promise<void> {
    const to = this.requesters.get(requesterUid);
    const err = to === undefined ? undefined : this.bus.send(to, { kind: 'response', response });
    return err ? Promise.reject(err) : Promise.resolve();
  }

  // ── inbound (called by the bus) ──────────────────────────────────────────────

  /** A message another server published, with where it stored the packet for recovery. */
  fromServer(message: ClusterMessage, from: string, stored: StoredRef | undefined): void {
    if (!this.requesters.has(message.uid)) {
      if (this.requesters.size >= MAX_REQUESTERS) this.requesters.delete(this.requesters.keys().next().value!);
      this.requesters.set(message.uid, from);
    }
    let offset: string | undefined;
    if (stored && this.recovery && message.type === MessageType.BROADCAST) {
      offset = this.recovery.deliver(from, stored);
      // a socket recovered here moments ago may have had it from its old server
      const had = this.recovery.alreadyHad(from, stored);
      if (had.length > 0) (message.data.opts.except as Room[]).push(...had);
    }
    this.onMessage(message, offset);
  }

  /** A session another server told (connection-state recovery). */
  sessionFrom(m: SessionMessage, from: string): void {
    this.recovery?.apply(from, m);
  }

  /** A response to one of our requests. */
  responseFrom(response: ClusterResponse, from: string): void {
    const requestId = response.data.requestId;
    const r = this.pendingRequests.get(requestId);
    if (r && (response.type === MessageType.FETCH_SOCKETS_RESPONSE || response.type === MessageType.SERVER_SIDE_EMIT_RESPONSE)) {
      if (!r.missing.delete(from)) return;
      if (response.type === MessageType.FETCH_SOCKETS_RESPONSE) r.responses.push(...response.data.sockets);
      else r.responses.push(response.data.packet);
      this.settleIfComplete(requestId, r);
      return;
    }
    if (response.type === MessageType.BROADCAST_CLIENT_COUNT || response.type === MessageType.BROADCAST_ACK) this.onResponse(response);
  }

  /** A server without this namespace: it will not answer `requestId`. */
  absentFrom(requestId: string, from: string): void {
    const r = this.pendingRequests.get(requestId);
    if (r && r.missing.delete(from)) this.settleIfComplete(requestId, r);
  }

  /** A server died or left: nothing more is awaited from it. */
  serverGone(name: string): void {
    this.recovery?.serverGone(name);
    for (const [id, r] of this.pendingRequests) if (r.missing.delete(name)) this.settleIfComplete(id, r);
    for (const [uid, node] of this.requesters) if (node === name) this.requesters.delete(uid);
  }

  // ── requests: wait for the live servers, not for a count ─────────────────────

  override async fetchSockets(opts: BroadcastOptions): Promise<any[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const local = await super.fetchSockets({ rooms: opts.rooms, except: opts.except ?? new Set<Room>(), flags: { local: true } });
    const servers = this.bus.servers();
    if (opts.flags?.local || servers.length === 0) return local;
    return new Promise((resolve, reject) => {
      const requestId = randomId();
      this.track(requestId, 'fetch', servers, local, opts.flags?.timeout ?? this.requestsTimeout, (err, responses) => (err ? reject(err) : resolve(responses)));
      this.request(requestId, { type: MessageType.FETCH_SOCKETS, data: { opts: encodeOptions(opts), requestId } });
    });
  }

  override async serverSideEmit(packet: any[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const last: unknown = packet[packet.length - 1];
    if (typeof last !== 'function') {
      this.publish({ type: MessageType.SERVER_SIDE_EMIT, data: { packet } });
      return;
    }
    const ack = packet.pop() as (err: Error | null, responses: unknown[]) => void;
    const servers = this.bus.servers();
    if (servers.length === 0) return ack(null, []);
    const requestId = randomId();
    this.track(requestId, 'emit', servers, [], this.requestsTimeout, ack);
    this.request(requestId, { type: MessageType.SERVER_SIDE_EMIT, data: { requestId, packet } });
  }

  // ── connection-state recovery ────────────────────────────────────────────────

  override persistSession(session: { sid: SocketId; pid: string; rooms: Room[]; data: unknown }): void {
    this.recovery?.persist(session);
  }

  // Socket.IO types the answer Promise<Session>, yet treats a null one as "not recovered"
  override restoreSession(pid: string, offset: string): Promise<Session> {
    return (this.recovery ? this.recovery.restore(pid, offset) : Promise.resolve(null)) as Promise<Session>;
  }

  // ── presence mirroring, sessions ─────────────────────────────────────────────

  override addAll(id: SocketId, rooms: Set<Room>): void {
    const isNew = !this.sids.has(id);
    super.addAll(id, rooms);
    if (isNew && this.bus.presence) this.bus.presence.connected(this.nsp as Namespace, id);
    this.recovery?.touch(id);
  }

  override del(id: SocketId, room: Room): void {
    super.del(id, room);
    if (this.sids.has(id)) this.recovery?.touch(id);
  }

  override delAll(id: SocketId): void {
    const known = this.sids.has(id);
    super.delAll(id);
    if (known && this.bus.presence) this.bus.presence.disconnected(this.nsp as Namespace, id);
    if (known) this.recovery?.gone(id, (this.nsp as Namespace).sockets.get(id)?.pid);
  }

  /** Publishes a tracked request; when it cannot be sent, the request fails at once instead of timing out. */
  private request(requestId: string, message: Parameters<ClusterAdapter['publishAndReturnOffset']>[0]): void {
    this.publishAndReturnOffset(message).catch((err: unknown) => {
      const r = this.pendingRequests.get(requestId);
      if (!r) return;
      clearTimeout(r.timer);
      this.pendingRequests.delete(requestId);
      r.done(err as Error, r.responses);
    });
  }

  private track(requestId: string, kind: Request['kind'], servers: string[], responses: unknown[], timeoutMs: number, done: Request['done']): void {
    const timer = setTimeout(() => {
      const r = this.pendingRequests.get(requestId);
      if (!r) return;
      this.pendingRequests.delete(requestId);
      r.done(new Error(`timeout reached: missing ${r.missing.size} responses (${[...r.missing].join(', ')})`), r.responses);
    }, timeoutMs);
    this.pendingRequests.set(requestId, { kind, missing: new Set(servers), responses, timer, done });
  }

  private settleIfComplete(requestId: string, r: Request): void {
    if (r.missing.size > 0) return;
    clearTimeout(r.timer);
    this.pendingRequests.delete(requestId);
    r.done(null, r.responses);
  }
}

// what ClusterAdapter puts an offset on (addOffsetIfNecessary): events without an ack, not volatile
function recoverable(m: ClusterMessage): m is ClusterMessage & { data: { packet: { data: unknown[] }; opts: { rooms: Room[]; except: Room[] } } } {
  if (m.type !== MessageType.BROADCAST) return false;
  const d = m.data as { requestId?: string; packet: { type: number; id?: number; data?: unknown }; opts: { flags?: { volatile?: boolean } } };
  return d.requestId === undefined && d.packet.type === 2 && d.packet.id === undefined && Array.isArray(d.packet.data) && d.opts.flags?.volatile === undefined;
}

function encodeOptions(opts: BroadcastOptions): { rooms: string[]; except: string[]; flags: NonNullable<BroadcastOptions['flags']> } {
  return { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: opts.flags ?? {} };
}

function randomId(): string {
  return randomBytes(8).toString('hex');
}
