import type { Offset, Room } from 'socket.io-adapter';
import type { MessageView } from '../replication/channels.js';
import { Channels, MAX_HISTORY_PAGE } from '../replication/channels-api.js';
import type { ChannelSettings } from '../replica/history.js';
import { ClusterError } from '../errors.js';
import { hlcPack, hlcWall } from '../hlc.js';
import type { ClusterNode } from '../node.js';
import { MAX_CURSOR_EXTRAS, MAX_CURSOR_ORIGINS, cloneCursor, originKey } from '../replica/cursor.js';
import type { ReadCursor } from '../replica/cursor.js';
import { SessionState } from './wire.js';
import type { SessionMessage, StoredRef } from './wire.js';

/** Options of {@link recoveryHistory}. */
export interface RecoveryHistoryOptions {
  /** The adapter's topic (createAdapter's `topic`). @default 'socket.io' */
  topic?: string;
  /** How long packets are kept: Socket.IO's `connectionStateRecovery.maxDisconnectionDuration`. @default 120000 */
  maxDisconnectionDuration?: number;
  /** Packets kept per namespace at most (the newest); a client that missed more is not recovered. @default 10000 */
  maxPackets?: number;
}

/**
 * The history retention of the adapter's packet channels (`<topic>#<namespace>`), to pass
 * as the node's `replica.history.settingsFor` (every node of the cluster must use the same):
 * packets are kept `maxDisconnectionDuration`, at most `maxPackets` per namespace. Without
 * it the node's history defaults apply (100 entries, kept forever). Other channels get
 * `otherwise(channel)`.
 */
export function recoveryHistory(options: RecoveryHistoryOptions = {}, otherwise: (channel: string) => ChannelSettings | undefined = () => undefined): (channel: string) => ChannelSettings | undefined {
  const prefix = `${options.topic ?? 'socket.io'}#`;
  const settings = { ttlMs: options.maxDisconnectionDuration ?? 120_000, maxEntries: options.maxPackets ?? 10_000 };
  return (channel) => (channel.startsWith(prefix) ? settings : otherwise(channel));
}

/** A socket's recovery session as every server of the namespace keeps it. */
interface Session {
  sid: string;
  pid: string;
  rooms: Room[];
  data: unknown;
  /** The server the socket is (or was last) connected to. */
  node: string;
  /** Wall ms of the disconnection; undefined while connected. */
  disconnectedAt?: number;
}

/** What a packet channel entry holds: the packet's data and its targets, or a marker of a packet that could not be stored. */
interface StoredPacket {
  d?: unknown[];
  r: Room[];
  x: Room[];
  /** 1: the packet could not be stored (too big): a client it was for cannot be recovered across it. */
  l?: 1;
}

/** What {@link NamespaceRecovery.restore} hands Socket.IO. */
export interface RestoredSession {
  sid: string;
  pid: string;
  rooms: Room[];
  data: unknown;
  missedPackets: unknown[][];
}

/** The namespace's part that recovery reads. */
export interface RecoveryNamespace {
  name: string;
  sockets: Map<string, { pid?: string; rooms: Set<Room>; data: unknown }>;
  _preConnectSockets?: Map<string, unknown>;
}

/** Counters of recovery (per bus). */
export interface RecoveryCounters {
  /** Sockets recovered (`socket.recovered === true`). */
  recovered: number;
  /** Recoveries refused: unknown or expired session, bad offset, packets no longer held, or history not caught up in time. */
  refused: number;
  /** Packets that could not be stored (not even their marker): a recovery across them is unsafe and was not promised. */
  storeErrors: number;
  /** Session messages refused (table full) or not sent (data not encodable). */
  sessionErrors: number;
}

// live sockets' restored cursors are kept this long to drop a packet the client already had
const DEDUPE_MS = 10_000;
const POLL_MS = 20;

/**
 * Connection-state recovery of one namespace across servers (decision 0058).
 *
 * - Eligible packets are published to the namespace's history channel; the app message
 *   that carries them live names where they were stored ({@link StoredRef}).
 * - Each server keeps a cursor of the packets it has handed its clients (`delivered`):
 *   the offset appended to a packet is that cursor right after it. A client's offset then
 *   says exactly what its server had delivered when the client got its last packet,
 *   whatever order the packets reached that server in.
 * - Sessions (pid → sid, rooms, data) are told to every server when a socket connects or
 *   changes rooms; when its server dies, every other server marks them disconnected.
 * - A restore reads the history after the client's offset; it refuses on any gap.
 */
export class NamespaceRecovery {
  readonly channel: string;
  private readonly channels: Channels;
  private readonly delivered: ReadCursor;
  // highest number stored here per origin epoch of the channel: a restore waits until this replica holds what this server delivered
  private readonly held = new Map<number, number>();
  // wall ms of the last packet delivered per origin epoch: origins quiet for longer than
  // maxDisconnectionDuration leave the offsets (they would grow with every server restart)
  private readonly lastWall = new Map<number, number>();
  readonly sessions = new Map<string, Session>();
  private readonly restored = new Map<string, { cursor: ReadCursor; until: number }>();
  private readonly dirty = new Set<string>();
  private readonly persisted = new Set<string>();
  private flushQueued = false;
  private readonly offStored: () => void;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly node: ClusterNode,
    private readonly nsp: RecoveryNamespace,
    topic: string,
    readonly maxDisconnectionDuration: number,
    private readonly waitMs: number,
    private readonly maxSessions: number,
    private readonly counters: RecoveryCounters,
    private readonly tell: (m: SessionMessage) => boolean,
  ) {
    if (!(node.channels instanceof Channels)) throw new ClusterError('E_INVALID_ARGUMENT', 'connection-state recovery needs a ClusterNode channels API');
    this.channels = node.channels;
    this.channel = `${topic}#${nsp.name}`;
    // a floor at this moment: what was stored before this server began serving is behind
    // every offset it gives (its clients connected later); the packets after it count per origin
    const startWall = Date.now();
    this.delivered = { floor: { ts: hlcPack(startWall, 0) - 1, node: '~', epoch: 0, seq: 0 }, origins: new Map() };
    this.offStored = node.channelEvents.on('message', (ev) => {
      if (ev.channel === this.channel) this.noteHeld(originKey(ev.entry.node, ev.entry.epoch), ev.entry.c);
    });
    for (const m of this.channels.history(this.channel, { limit: MAX_HISTORY_PAGE }).messages) this.noteHeld(originKey(m.node, epochOf(m)), m.n);
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, maxDisconnectionDuration)));
    this.sweeper.unref();
  }

  close(): void {
    this.offStored();
    clearInterval(this.sweeper);
  }

  // ── packets ──────────────────────────────────────────────────────────────────

  /** Stores an eligible packet this server publishes; returns where, and the offset for this server's clients. */
  store(data: unknown[], rooms: Room[], except: Room[]): { stored: StoredRef; offset: Offset } | undefined {
    let receipt;
    try {
      receipt = this.channels.publish(this.channel, { d: data, r: rooms, x: except } satisfies StoredPacket);
    } catch {
      try {
        // too big (or not storable): a marker, so a recovery across it is refused rather than silently short
        receipt = this.channels.publish(this.channel, { r: rooms, x: except, l: 1 } satisfies StoredPacket);
      } catch {
        this.counters.storeErrors++;
        return undefined;
      }
    }
    const c = this.channels.decodeCursor(this.channel, receipt.cursor);
    const floor = c.floor!;
    const n = [...c.origins.values()][0]!.c;
    const stored = { epoch: floor.epoch, n, wall: hlcWall(floor.ts) };
    return { stored, offset: this.deliver(this.node.name, stored) };
  }

  /** A stored packet (from `from`, or this server) is being handed to this server's clients: the offset to append. */
  deliver(from: string, ref: StoredRef): Offset {
    const key = originKey(from, ref.epoch);
    advance(this.delivered, key, ref.n);
    this.lastWall.set(key, ref.wall);
    this.delivered.readAt = Date.now();
    return this.channels.encodeCursor(this.channel, this.delivered);
  }

  /** Restored sockets that already got this packet before their recovery (they must not get it twice). */
  alreadyHad(from: string, ref: StoredRef): string[] {
    if (this.restored.size === 0) return [];
    const now = Date.now();
    const out: string[] = [];
    for (const [sid, r] of this.restored) {
      if (r.until < now) this.restored.delete(sid);
      else if (handles(r.cursor, from, ref.epoch, ref.n, ref.wall)) out.push(sid);
    }
    return out;
  }

  private noteHeld(key: number, n: number): void {
    if (n > (this.held.get(key) ?? 0)) this.held.set(key, n);
  }

  // ── sessions ─────────────────────────────────────────────────────────────────

  /** A socket connected or changed rooms: its session is told to every server (once per turn of the event loop). */
  touch(sid: string): void {
    this.dirty.add(sid);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // after the connection handler ran: it usually sets socket.data and joins rooms
    setImmediate(() => this.flush(0));
  }

  private flush(attempt: number): void {
    this.flushQueued = false;
    const later: string[] = [];
    for (const sid of this.dirty) {
      const s = this.nsp.sockets.get(sid);
      if (!s) {
        // still in its middlewares: try again shortly (a few times)
        if (this.nsp._preConnectSockets?.has(sid) && attempt < 50) later.push(sid);
        continue;
      }
      if (s.pid === undefined) continue;
      const m: SessionMessage = { nsp: this.nsp.name, pid: s.pid, state: SessionState.open, sid, rooms: [...s.rooms], data: s.data };
      if (this.tell(m)) this.apply(this.node.name, m);
    }
    this.dirty.clear();
    if (later.length > 0) {
      for (const sid of later) this.dirty.add(sid);
      this.flushQueued = true;
      setTimeout(() => this.flush(attempt + 1), POLL_MS).unref();
    }
  }

  /** Socket.IO's persistSession: a recoverable disconnection of a socket of this server. */
  persist(session: { sid: string; pid: string; rooms: Room[]; data: unknown }): void {
    this.persisted.add(session.sid);
    const m: SessionMessage = { nsp: this.nsp.name, pid: session.pid, state: SessionState.persisted, sid: session.sid, rooms: session.rooms, data: session.data };
    this.tell(m);
    this.apply(this.node.name, m);
  }

  /** A socket of this server left (after persist when recoverable). */
  gone(sid: string, pid: string | undefined): void {
    this.dirty.delete(sid);
    this.restored.delete(sid);
    if (this.persisted.delete(sid) || pid === undefined) return;
    const m: SessionMessage = { nsp: this.nsp.name, pid, state: SessionState.closed };
    this.tell(m);
    this.apply(this.node.name, m);
  }

  /** A session message (from another server, or this one). */
  apply(from: string, m: SessionMessage): void {
    if (m.state === SessionState.closed) {
      const s = this.sessions.get(m.pid);
      if (s && s.node === from) this.sessions.delete(m.pid);
      return;
    }
    if (!this.sessions.has(m.pid) && this.sessions.size >= this.maxSessions) {
      this.counters.sessionErrors++;
      return;
    }
    const s: Session = { sid: m.sid!, pid: m.pid, rooms: m.rooms as Room[], data: m.data, node: from };
    if (m.state === SessionState.persisted) s.disconnectedAt = Date.now();
    this.sessions.set(m.pid, s);
  }

  /** A server died or left: its connected sockets are disconnected from now. */
  serverGone(name: string): void {
    const now = Date.now();
    for (const s of this.sessions.values()) if (s.node === name && s.disconnectedAt === undefined) s.disconnectedAt = now;
  }

  private sweep(): void {
    const threshold = Date.now() - this.maxDisconnectionDuration;
    for (const [pid, s] of this.sessions) if (s.disconnectedAt !== undefined && s.disconnectedAt < threshold) this.sessions.delete(pid);
    // no client can be owed a packet older than maxDisconnectionDuration (its session has
    // expired): the floor rises to it, and the origins below it leave the offsets
    const floorTs = hlcPack(threshold, 0) - 1;
    if (floorTs > this.delivered.floor!.ts) this.delivered.floor = { ts: floorTs, node: '~', epoch: 0, seq: 0 };
    for (const [key, wall] of this.lastWall) {
      if (wall >= threshold) continue;
      this.lastWall.delete(key);
      this.delivered.origins.delete(key);
    }
  }

  // ── restore ──────────────────────────────────────────────────────────────────

  /**
   * Socket.IO's restoreSession: the session and every packet the client missed, or null
   * (then `socket.recovered` is false): unknown or expired session, an offset this cluster
   * did not give, a packet it missed no longer held, or this server's history not caught
   * up with what it delivered within `waitMs`.
   */
  async restore(pid: string, offset: string): Promise<RestoredSession | null> {
    const deadline = Date.now() + this.waitMs;
    let from: ReadCursor;
    try {
      from = this.channels.decodeCursor(this.channel, offset);
    } catch {
      return this.refuse();
    }
    for (;;) {
      const s = this.sessions.get(pid);
      // a session still connected on another server is taken over: the client holds its
      // pid (a secret) and is here, so its old connection is dead even if nobody noticed yet
      // (a killed server is declared dead only after the suspicion timeout)
      if (!s || (s.disconnectedAt === undefined && s.node === this.node.name)) return this.refuse();
      if (s.disconnectedAt !== undefined && s.disconnectedAt + this.maxDisconnectionDuration < Date.now()) return this.refuse();
      const r = this.read(s, from, offset);
      if (r === 'gap') return this.refuse();
      if (r !== 'wait') {
        this.sessions.delete(pid);
        this.counters.recovered++;
        return r;
      }
      if (Date.now() >= deadline) return this.refuse();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private refuse(): null {
    this.counters.refused++;
    return null;
  }

  // one attempt, synchronous: Socket.IO joins the rooms before any other message is handled
  private read(s: Session, from: ReadCursor, offset: string): RestoredSession | 'gap' | 'wait' {
    // packets reach this server live (app messages) and into its history (replication)
    // by separate paths: the history must hold every packet this server delivered that
    // the client may not have had (not those of a dead server that never replicated
    // them, when the client had them too)
    const floorWall = from.floor ? hlcWall(from.floor.ts) : -1;
    for (const [key, p] of this.delivered.origins) {
      const top = p.extras.at(-1) ?? p.c;
      if ((this.held.get(key) ?? 0) >= top) continue;
      const had = from.origins.get(key);
      if ((had && had.c >= top) || (this.lastWall.get(key) ?? Infinity) <= floorWall) continue;
      return 'wait';
    }
    const entries: MessageView[] = [];
    let after = offset;
    for (;;) {
      const page = this.channels.history(this.channel, { after, limit: MAX_HISTORY_PAGE });
      if (!page.complete) return 'gap';
      if (page.pending) return 'wait';
      entries.push(...page.messages);
      after = page.cursor;
      if (!page.more) break;
    }
    const walk = cloneCursor(from);
    const missed: unknown[][] = [];
    const sessionRooms = new Set(s.rooms);
    for (const m of entries) {
      const epoch = epochOf(m);
      // not delivered here yet: it reaches the client live, as to every socket of this server
      if (!handles(this.delivered, m.node, epoch, m.n, m.ts)) continue;
      advance(walk, originKey(m.node, epoch), m.n);
      const p = m.data as StoredPacket;
      if (!isStoredPacket(p) || !included(sessionRooms, p)) continue;
      if (p.l === 1 || !p.d) return 'gap';
      walk.readAt = Date.now();
      missed.push([...p.d, this.channels.encodeCursor(this.channel, walk)]);
    }
    const now = Date.now();
    for (const [sid, r] of this.restored) if (r.until < now) this.restored.delete(sid);
    this.restored.set(s.sid, { cursor: walk, until: now + DEDUPE_MS });
    return { sid: s.sid, pid: s.pid, rooms: s.rooms, data: s.data, missedPackets: missed };
  }
}

// Socket.IO's shouldIncludePacket: in one of the targeted rooms (or all), in none of the excepted
function included(sessionRooms: Set<Room>, p: StoredPacket): boolean {
  const inRooms = p.r.length === 0 || p.r.some((r) => sessionRooms.has(r));
  return inRooms && !p.x.some((r) => sessionRooms.has(r));
}

function isStoredPacket(v: unknown): v is StoredPacket {
  const p = v as StoredPacket;
  return typeof p === 'object' && p !== null && Array.isArray(p.r) && Array.isArray(p.x) && (p.l === 1 || Array.isArray(p.d));
}

// the origin epoch of a message, from its id `node:epoch:seq`
function epochOf(m: MessageView): number {
  return Number(m.id.slice(m.node.length + 1).split(':')[0]);
}

/** Whether a cursor has handled the entry (node, epoch, n) written at wall ms `wall` (decision 0047's rule; floors compared by wall time). */
export function handles(c: ReadCursor, node: string, epoch: number, n: number, wall: number): boolean {
  if (c.floor && wall <= hlcWall(c.floor.ts)) return true;
  const p = c.origins.get(originKey(node, epoch));
  return p !== undefined && (n <= p.c || p.extras.includes(n));
}

/**
 * Records entry n of an origin epoch as handled. The first entry seen of an origin epoch
 * starts its prefix (earlier ones went by before this server or client counted). Holes
 * beyond {@link MAX_CURSOR_EXTRAS} are given up: those packets never reached this server's
 * clients live either.
 */
export function advance(c: ReadCursor, key: number, n: number): void {
  let p = c.origins.get(key);
  if (!p) {
    if (c.origins.size >= MAX_CURSOR_ORIGINS) c.origins.delete(c.origins.keys().next().value!);
    c.origins.set(key, (p = { c: n, extras: [] }));
    return;
  }
  if (n <= p.c || p.extras.includes(n)) return;
  if (n === p.c + 1) p.c = n;
  else {
    let at = p.extras.length;
    while (at > 0 && p.extras[at - 1]! > n) at--;
    p.extras.splice(at, 0, n);
    if (p.extras.length > MAX_CURSOR_EXTRAS) p.c = p.extras.shift()!;
  }
  let k = 0;
  while (k < p.extras.length && p.extras[k]! <= p.c + 1) {
    if (p.extras[k] === p.c + 1) p.c++;
    k++;
  }
  if (k > 0) p.extras = p.extras.slice(k);
}
