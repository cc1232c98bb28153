import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import type { ChannelEvents, HistoryEntry, MessageView, SyncStatus } from './channels.js';
import type { Clock, Timer } from '../clock.js';
import type { TrafficClass } from '../codec/batcher.js';
import { encodeMessage } from '../codec/messages.js';
import type { AnyMessage } from '../codec/messages.js';
import { LimitedMsgpackDecoder, resolveMsgpackLimits, scanMsgpack } from '../codec/msgpack-limits.js';
import type { BulkChunkMessage, DeltaReplyMessage, DeltasMessage, MerkleMessage, VectorRequestMessage } from '../codec/replication-messages.js';
import { REPLICATION_MESSAGE_TYPES, encodeBulkChunkTrusted, encodeDeltasTrusted } from '../codec/replication-messages.js';
import { TypedEmitter } from '../events.js';
import { ownPayload } from '../own-bytes.js';
import type { FramedStream } from './framed-stream.js';
import { Hlc, hlcPack, hlcWall } from '../hlc.js';
import type { HlcTimestamp } from '../hlc.js';
import type { Random } from '../random.js';
import type { Delta } from '../replica/delta.js';
import { deltaSize } from '../replica/delta.js';
import type { HistoryOptions } from '../replica/history.js';
import type { ReplicaLimits } from '../replica/limits.js';
import { Replica } from '../replica/replica.js';
import type { LocalChange, ReplicaEvent, ReplicaSnapshot, SyncRecord } from '../replica/replica.js';
import { BulkReceiver, BulkSender } from '../sync/bulk.js';
import type { BulkChunk } from '../sync/bulk.js';
import { answerVectorRequest, digestsDiffer, handleDeltaReply, vectorRequest } from '../sync/digest.js';
import type { DeltaReply } from '../sync/digest.js';
import { ExchangeSession } from '../sync/exchange.js';
import type { Membership } from '../swim/membership.js';
import type { Address } from '../transport/transport.js';

/** Options of replicated presence and history (ClusterNodeOptions.replica). */
export interface ReplicationOptions {
  /** History retention; must be equal on every node. @default {} (100 entries per channel, no TTL) */
  history?: HistoryOptions;
  /** Size limits; must be equal on every node. @default DEFAULT_LIMITS of lib/replica/limits.ts */
  limits?: ReplicaLimits;
  /**
   * Deltas are pushed directly to every alive member while there are at most this many
   * peers; above, each flush goes to `gossipFanout` random peers which relay what is new
   * to them (epidemic). Measured in bench/replication-crossover; see docs/decisions/0024.
   * @default 256
   */
  directPushMax?: number;
  /** Peers per flush (and per relay) in epidemic mode. @default 4 */
  gossipFanout?: number;
  /**
   * A flush whose deltas for one peer exceed this many bytes goes over the peer's
   * replication stream (one ordered, deflated frame) instead of datagrams. @default 12288
   */
  streamThresholdBytes?: number;
  /** Shortest pause between periodic Merkle sessions. @default 10000 */
  merkleMinIntervalMs?: number;
  /** Longest pause between periodic Merkle sessions. @default 30000 */
  merkleMaxIntervalMs?: number;
  /** Concurrent Merkle and bulk sessions this node initiates (one per peer at most). @default 3 */
  maxSessions?: number;
  /** A session (or bulk stream) silent this long is dropped. @default 5000 */
  sessionIdleMs?: number;
  /** Interval of history expiry and session housekeeping. @default 1000 */
  expireIntervalMs?: number;
  /** Shortest pause between two digest catch-ups asked of the same peer. @default 500 */
  catchUpIntervalMs?: number;
}

/** What the replicator needs from the runtime (ClusterNode implements it). */
export interface ReplicatorHost {
  readonly name: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly membership: Membership;
  /** Largest encoded message that fits a datagram frame. */
  maxDatagramMessage(): number;
  /** Queues an encoded message in the batcher (a one-shot stream carries it when too big for a datagram). */
  enqueue(to: Address, message: Uint8Array, cls: TrafficClass): void;
  /** Opens a framed stream to a peer (`fast`: frames deflated at level 1, for bulky delta batches). */
  dial(to: Address, fast?: boolean): Promise<FramedStream>;
  /** Builds a stream frame that is not deflated again (its payload already is). */
  rawFrame(messages: Uint8Array[]): Uint8Array;
  /**
   * Builds a stream frame the way a `fast` stream would (deflate level 1), once, so that
   * one flush's delta batch is deflated once and the same frame goes to every peer.
   */
  fastFrame(messages: Uint8Array[]): Uint8Array;
  /** Counts a replication message refused as malformed. */
  rejected(reason: string): void;
  /**
   * Runs `fn` on a later turn of the event loop (the bulk sender yields with it so probes
   * are not starved); the simulator runs it on its virtual clock instead.
   * @default setImmediate
   */
  defer?(fn: () => void): void;
}

/** Persisted state handed back after a restart. */
export interface RestoreData {
  /** From {@link Replicator.snapshot} (ClusterNode.snapshot()). */
  snapshot?: Uint8Array;
  /** History entries stored since the snapshot (the `entry` of 'message' events). */
  entries?: HistoryEntry[];
}

interface PeerState {
  name: string;
  inSync: boolean;
  lastDigestAt: number | undefined;
  lastSessionAt: number | undefined;
  lastRequestAt: number;
  requestOutstanding: boolean;
  mismatches: number;
  /** When deltas from this peer last arrived (clock.now()). */
  lastDeltasAt: number;
  link: PeerLink | undefined;
}

/** An outgoing replication stream to one peer: ordered big delta batches. */
interface PeerLink {
  stream: FramedStream | undefined;
  dialing: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
}

interface Session {
  kind: 'merkle' | 'bulk-in' | 'bulk-out';
  peer: string;
  sid: number;
  stream: FramedStream | undefined;
  lastActivity: number;
  initiator: boolean;
  merkle?: ExchangeSession<SyncRecord, ReplicaEvent>;
  receiver?: BulkReceiver;
  finished: boolean;
  /** `complete`: a Merkle session that ended with no difference left for a next one. */
  onEnd?: (ok: boolean, complete: boolean) => void;
}

type CatchUpPhase = 'idle' | 'bulk' | 'merkle' | 'check';

const MAX_LINK_QUEUE_BYTES = 8 * 1024 * 1024;
const MAX_STREAM_BATCH_BYTES = 4 * 1024 * 1024;
const BULK_CHUNK_BUDGET = 60_000;
const BIN_PART = 65_000;
// an honest chunk is ≤ ~60 KB plus one entry (≤ 64 KiB payload) before deflate
const BULK_RAW_CAP = 1024 * 1024;
const BULK_PACKED_CAP = 256 * 1024;
const MAX_RELAY = 65_536;

/**
 * The replication runtime: drives the pure replica and sync core (lib/replica, lib/sync)
 * with timers, the batcher and streams. Local changes become deltas flushed with the
 * batch window; digests ride on SWIM acks; a mismatch asks for exactly the missing
 * deltas; Merkle sessions and bulk streams repair the rest.
 */
export class Replicator {
  readonly events = new TypedEmitter<ChannelEvents>();
  readonly hlc: Hlc;
  replica: Replica;
  private readonly host: ReplicatorHost;
  private readonly opts: Required<Omit<ReplicationOptions, 'history' | 'limits'>>;
  private readonly peers = new Map<string, PeerState>();
  // origins this node removed (confirmed dead or left), with the epoch removed: when such
  // a member is alive again it is told, so that it re-announces under a newer epoch
  private readonly removedOrigins = new Map<string, number>();
  // members that came back after we had declared them dead or gone (a healed partition, a
  // restart), with when: what they wrote meanwhile is often invisible to digests (a new
  // epoch counts the old one as covered), so one Merkle session with one of them is due
  private readonly returned = new Map<string, number>();
  private readonly sessions = new Set<Session>();
  // deltas of the current batch window with their encoded-size bounds
  private outgoing: Delta[] = [];
  private outgoingSizes: number[] = [];
  private outgoingBytes = 0;
  private relay: Delta[] = [];
  private relaySizes: number[] = [];
  private relayBytes = 0;
  private timers: Timer[] = [];
  private running = false;
  private nextSid = 1;
  private isReady = false;
  private readonly restored: boolean;
  private catchUp: { phase: CatchUpPhase; peer: string | undefined; checks: number } = { phase: 'idle', peer: undefined, checks: 0 };
  private readonly bulkDecoder = new LimitedMsgpackDecoder(resolveMsgpackLimits({ maxMapLength: 65_536 }));
  readonly counters = {
    merkleSessions: 0, merkleCompleted: 0, bulkSessions: 0, bulkServed: 0, deltaCatchUps: 0,
    deltasOut: 0, deltasIn: 0, syncOut: 0, syncIn: 0, invalid: 0, linkDrops: 0, relayed: 0,
  };

  /**
   * @param host the runtime.
   * @param epoch this node's boot incarnation (must exceed the restored snapshot's).
   * @param options tuning.
   * @param restore persisted state from before a restart.
   */
  constructor(host: ReplicatorHost, epoch: number, options: ReplicationOptions = {}, restore?: RestoreData) {
    this.host = host;
    this.hlc = new Hlc(host.clock);
    this.opts = {
      directPushMax: options.directPushMax ?? 256,
      gossipFanout: options.gossipFanout ?? 4,
      streamThresholdBytes: options.streamThresholdBytes ?? 12_288,
      merkleMinIntervalMs: options.merkleMinIntervalMs ?? 10_000,
      merkleMaxIntervalMs: options.merkleMaxIntervalMs ?? 30_000,
      maxSessions: options.maxSessions ?? 3,
      sessionIdleMs: options.sessionIdleMs ?? 5_000,
      expireIntervalMs: options.expireIntervalMs ?? 1_000,
      catchUpIntervalMs: options.catchUpIntervalMs ?? 500,
    };
    const replicaOptions = { node: host.name, epoch, ...(options.history ? { history: options.history } : {}), ...(options.limits ? { limits: options.limits } : {}) };
    const now = this.nowTs();
    if (restore?.snapshot) {
      this.replica = Replica.restore(restore.snapshot, replicaOptions, now);
    } else {
      this.replica = new Replica(replicaOptions);
    }
    this.restored = restore?.snapshot !== undefined || (restore?.entries?.length ?? 0) > 0;
    // entries appended after the snapshot: idempotent by id, so overlap with the snapshot is harmless
    const ignored: ReplicaEvent[] = [];
    for (const entry of restore?.entries ?? []) {
      this.replica.applyRecord({ kind: 'history', entry }, now, ignored);
      ignored.length = 0;
    }
    const m = host.membership;
    m.on('member-join', (info) => this.memberUp(info.name));
    m.on('member-alive', (info) => this.memberUp(info.name));
    m.on('member-dead', (info) => this.memberGone(info.name));
    m.on('member-leave', (info) => this.memberGone(info.name));
  }

  /** The snapshot's epoch, if `bytes` is a replica snapshot (to pick a boot epoch above it). */
  static snapshotEpoch(bytes: Uint8Array): number | undefined {
    try {
      scanMsgpack(bytes, resolveMsgpackLimits({ maxArrayLength: 2 ** 31, maxMapLength: 2 ** 31, maxStrLength: 2 ** 31, maxBinLength: 2 ** 31 }));
      const snap = msgpackDecode(bytes) as ReplicaSnapshot;
      return typeof snap?.epoch === 'number' ? snap.epoch : undefined;
    } catch {
      return undefined;
    }
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────────

  start(): void {
    if (this.running) return;
    this.running = true;
    this.every(this.opts.expireIntervalMs, () => this.housekeeping());
    this.scheduleMerkle();
    for (const m of this.host.membership.members()) if (m.name !== this.host.name && m.state === 'alive') this.memberUp(m.name);
  }

  stop(): void {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const s of [...this.sessions]) this.endSession(s, false);
    for (const p of this.peers.values()) p.link?.stream?.close();
  }

  /** True once the initial catch-up finished (or this node founded the cluster). */
  get ready(): boolean {
    return this.isReady;
  }

  /** The first node of a cluster has nobody to catch up from. */
  bootstrap(): void {
    if (this.host.membership.members().some((m) => m.name !== this.host.name && m.state === 'alive')) return;
    this.setReady();
  }

  /** The 8-byte vector digest carried on acks. */
  digest(): Uint8Array {
    return this.replica.digest();
  }

  snapshot(): Uint8Array {
    return this.replica.snapshotBytes();
  }

  // ── local changes (ChannelsApi) ──────────────────────────────────────────────

  /** Publishes a local change: events now, the delta with the next flush. */
  commit(change: LocalChange, payloadBytes: number): void {
    this.emitEvents(change.events);
    if (change.delta) {
      const size = deltaSize(change.delta, payloadBytes);
      this.outgoing.push(change.delta);
      this.outgoingSizes.push(size);
      this.outgoingBytes += size;
    }
  }

  /** This node was declared dead somewhere (it refuted): its presence must come back under a new epoch. */
  declaredDead(incarnation: number): void {
    const epoch = Math.max(this.replica.epoch + 1, incarnation);
    for (const change of this.replica.reincarnate(epoch)) this.commit(change, 64);
  }

  /** Sends the deltas of this batch window (called right before the batcher flushes). */
  flush(): void {
    if (this.outgoing.length === 0 && this.relay.length === 0) return;
    const alive = this.alivePeers();
    const epidemic = alive.length > this.opts.directPushMax;
    let deltas = this.outgoing;
    let sizes = this.outgoingSizes;
    let bytes = this.outgoingBytes;
    if (epidemic && this.relay.length > 0) {
      deltas = deltas.concat(this.relay);
      sizes = sizes.concat(this.relaySizes);
      bytes += this.relayBytes;
    }
    this.outgoing = [];
    this.outgoingSizes = [];
    this.outgoingBytes = 0;
    this.relay = [];
    this.relaySizes = [];
    this.relayBytes = 0;
    if (alive.length === 0 || deltas.length === 0) return;
    const targets = epidemic ? this.host.random.sample(alive, this.opts.gossipFanout) : alive;
    if (bytes <= this.opts.streamThresholdBytes) {
      for (const msg of this.encodeBatches(deltas, sizes, this.host.maxDatagramMessage())) {
        for (const p of targets) {
          const addr = this.address(p);
          if (addr === undefined) continue;
          this.counters.deltasOut += msg.length;
          this.host.enqueue(addr, msg, 'replication');
        }
      }
      return;
    }
    // a big batch: one ordered frame on each peer's replication stream, built (and
    // deflated) once for all of them
    for (const msg of this.encodeBatches(deltas, sizes, MAX_STREAM_BATCH_BYTES)) {
      const frame = this.host.fastFrame([msg]);
      for (const p of targets) this.sendOnLink(p, frame, msg.length);
    }
  }

  // ── inbound ──────────────────────────────────────────────────────────────────

  /** True for the message types this module handles. */
  static handles(m: AnyMessage): boolean {
    return REPLICATION_MESSAGE_TYPES.has(m.type);
  }

  /** A replication message from a datagram (or a one-shot stream). */
  handle(m: AnyMessage, from: Address): void {
    switch (m.type) {
      case 'deltas':
        return this.onDeltas(m);
      case 'vector-request':
        return this.onVectorRequest(m, from);
      case 'delta-reply':
        return this.onDeltaReply(m);
      case 'origin-removed':
        // only a removal of our current epoch matters; older ones were answered already
        if (m.epoch >= this.replica.epoch) this.declaredDead(this.host.membership.incarnation);
        return;
      default:
        // sessions need a stream to answer on
        this.host.rejected(`${m.type} outside a stream`);
    }
  }

  /**
   * Takes over an inbound stream whose first message is a replication one. Returns the
   * handler for that and every later message of the stream.
   */
  adoptStream(stream: FramedStream): (m: AnyMessage) => void {
    let session: Session | undefined;
    stream.onClose(() => {
      if (session) this.endSession(session, session.finished);
    });
    return (m) => {
      if (session) session.lastActivity = this.host.clock.now();
      switch (m.type) {
        case 'merkle': {
          if (!session) {
            // a node still streaming its initial state would only find differences the stream fixes
            if (this.catchUp.phase === 'bulk' || this.countSessions(false) >= this.opts.maxSessions * 2) return stream.close();
            session = this.newSession('merkle', m.from, m.msg.sid, stream, false);
            session.merkle = new ExchangeSession<SyncRecord, ReplicaEvent>(this.replica, m.msg.sid);
            this.counters.merkleSessions++;
          }
          if (session.kind !== 'merkle') return stream.close();
          return this.onMerkle(session, m);
        }
        case 'bulk-request': {
          if (session) return stream.close();
          if (this.countSessions(false) >= this.opts.maxSessions * 2) return stream.close();
          session = this.newSession('bulk-out', m.from, m.sid, stream, false);
          this.counters.bulkServed++;
          return this.serveBulk(session);
        }
        case 'bulk-chunk':
          this.host.rejected('bulk-chunk without a request');
          return stream.close();
        default:
          return this.handle(m, stream.remote);
      }
    };
  }

  private onDeltas(m: DeltasMessage): void {
    const now = this.nowTs();
    const from = this.peers.get(m.from);
    if (from) from.lastDeltasAt = this.host.clock.now();
    const epidemic = this.peers.size > this.opts.directPushMax;
    let fresh: Delta[] | undefined;
    if (epidemic) fresh = m.deltas.filter((d) => d.node !== this.host.name && !this.replica.vector.covers(d.node, d.epoch, d.seq));
    let estimate = 0;
    for (const d of m.deltas) {
      if (d.kind === 'publish') this.hlc.observe(d.ts);
      estimate += deltaSize(d, cheapSize(d));
    }
    this.counters.deltasIn += estimate;
    const result = this.replica.apply(m.deltas, now);
    this.countInvalid(result.invalid);
    this.emitEvents(result.events);
    if (fresh && fresh.length > 0 && this.relay.length < MAX_RELAY) {
      for (const d of fresh) {
        const size = deltaSize(d, payloadBound(d));
        this.relay.push(d);
        this.relaySizes.push(size);
        this.relayBytes += size;
      }
      this.counters.relayed += fresh.length;
    }
    if (result.gap) this.requestCatchUp(m.from, false);
  }

  private onVectorRequest(m: VectorRequestMessage, from: Address): void {
    const reply = answerVectorRequest(this.replica, { vector: m.vector });
    this.sendReply(m.from, from, reply);
  }

  private sendReply(peer: string, fallback: Address, reply: DeltaReply): void {
    const bytes = encodeMessage({ type: 'delta-reply', from: this.host.name, reply });
    this.counters.syncOut += bytes.length;
    this.host.enqueue(this.address(peer) ?? fallback, bytes, 'sync');
  }

  private onDeltaReply(m: DeltaReplyMessage): void {
    const p = this.peers.get(m.from);
    if (p) p.requestOutstanding = false;
    const outcome = handleDeltaReply(this.replica, m.reply, this.nowTs());
    this.emitEvents(outcome.events);
    if (outcome.push) {
      const addr = this.address(m.from);
      if (addr !== undefined) this.sendReply(m.from, addr, outcome.push);
    }
    if (outcome.needMerkle) this.startMerkle(m.from);
    if (outcome.again) this.requestCatchUp(m.from, true);
    if (this.catchUp.phase === 'check' && this.catchUp.peer === m.from && !m.reply.truncated && !m.reply.unexplained && !outcome.again) {
      // nothing missing beyond what is in flight: caught up with this peer
      this.setReady();
    } else if (this.catchUp.phase === 'check' && this.catchUp.peer === m.from && ++this.catchUp.checks > 20) {
      this.setReady();
    }
  }

  // ── digests and catch-up ─────────────────────────────────────────────────────

  /** An ack of our probe carried the member's digest. */
  onDigest(member: string, digest: Uint8Array): void {
    const p = this.peers.get(member);
    if (!p) return;
    p.lastDigestAt = this.host.clock.wall();
    if (!digestsDiffer(digest, this.replica.digest())) {
      p.inSync = true;
      p.mismatches = 0;
      return;
    }
    p.inSync = false;
    p.mismatches++;
    this.noticeRemoval(member);
    // deltas from this peer arrived within the catch-up interval: the difference is (most
    // likely) the batches in flight both ways, which a catch-up would only send twice and,
    // once the lag exceeds the rings, turn into a Merkle session per interval under load.
    // A lost delta shows up as a gap when the origin's next one arrives (onDeltas asks
    // then), a lost tail once the traffic pauses, and the periodic Merkle sessions remain.
    if (this.host.clock.now() - p.lastDeltasAt < this.opts.catchUpIntervalMs) return;
    this.requestCatchUp(member, false);
  }

  /** Tells a member that came back that we dropped its presence (until it re-announces). */
  private noticeRemoval(name: string): void {
    const removed = this.removedOrigins.get(name);
    if (removed === undefined) return;
    if ((this.replica.vector.get(name)?.epoch ?? 0) > removed) {
      this.removedOrigins.delete(name);
      return;
    }
    const addr = this.address(name);
    if (addr === undefined) return;
    const bytes = encodeMessage({ type: 'origin-removed', from: this.host.name, epoch: removed });
    this.counters.syncOut += bytes.length;
    this.host.enqueue(addr, bytes, 'sync');
  }

  private requestCatchUp(peer: string, force: boolean): void {
    // while the initial bulk stream runs, the digests cannot agree and a catch-up would
    // only re-send what the stream brings anyway
    if (this.catchUp.phase === 'bulk') return;
    const p = this.peers.get(peer);
    const addr = this.address(peer);
    if (!p || addr === undefined) return;
    const now = this.host.clock.now();
    // one request in flight per peer; a lost one is retried after the interval
    if (!force && now - p.lastRequestAt < this.opts.catchUpIntervalMs * (p.requestOutstanding ? 4 : 1)) return;
    p.lastRequestAt = now;
    p.requestOutstanding = true;
    this.counters.deltaCatchUps++;
    const bytes = encodeMessage({ type: 'vector-request', from: this.host.name, vector: vectorRequest(this.replica).vector });
    this.counters.syncOut += bytes.length;
    this.host.enqueue(addr, bytes, 'sync');
  }

  // ── Merkle sessions ──────────────────────────────────────────────────────────

  /** Starts a Merkle session with `peer` unless one runs or the session budget is spent. */
  startMerkle(peer: string, onEnd?: (ok: boolean, complete: boolean) => void): boolean {
    if (this.catchUp.phase === 'bulk') return false;
    const addr = this.address(peer);
    if (addr === undefined || this.countSessions(true) >= this.opts.maxSessions) return false;
    for (const s of this.sessions) if (s.peer === peer && s.initiator) return false;
    const sid = this.nextSid++;
    const s = this.newSession('merkle', peer, sid, undefined, true);
    s.merkle = new ExchangeSession<SyncRecord, ReplicaEvent>(this.replica, sid);
    if (onEnd) s.onEnd = onEnd;
    this.counters.merkleSessions++;
    this.host.dial(addr).then(
      (stream) => {
        if (!this.sessions.has(s)) return stream.close();
        s.stream = stream;
        stream.onMessages((msgs) => {
          s.lastActivity = this.host.clock.now();
          for (const m of msgs) {
            if (m.type === 'merkle') this.onMerkle(s, m);
            else this.host.rejected(`${m.type} in a Merkle session`);
          }
        });
        stream.onClose(() => this.endSession(s, s.finished));
        this.sendSync(stream, { type: 'merkle', from: this.host.name, msg: s.merkle!.open() });
      },
      () => this.endSession(s, false),
    );
    return true;
  }

  private onMerkle(s: Session, m: MerkleMessage): void {
    if (!s.merkle || s.finished && m.msg.done !== true) {
      // the peer goes on after we finished: harmless, but nothing to do
    }
    const step = s.merkle!.receive(m.msg, this.nowTs());
    this.emitEvents(step.events);
    if (step.done) s.finished = true;
    if (step.reply) {
      if (s.stream) this.sendSync(s.stream, { type: 'merkle', from: this.host.name, msg: step.reply });
    } else {
      // the peer said done and we have nothing to add: the session is over
      this.endSession(s, true);
    }
  }

  private sendSync(stream: FramedStream, m: AnyMessage): void {
    const bytes = encodeMessage(m);
    this.counters.syncOut += bytes.length;
    stream.send([bytes]);
  }

  // ── bulk catch-up ────────────────────────────────────────────────────────────

  /** Asks `peer` to stream its whole state (empty joiner). */
  startBulk(peer: string, onEnd: (ok: boolean) => void): boolean {
    const addr = this.address(peer);
    if (addr === undefined) return false;
    const sid = this.nextSid++;
    const s = this.newSession('bulk-in', peer, sid, undefined, true);
    s.receiver = new BulkReceiver(this.replica);
    s.onEnd = onEnd;
    this.counters.bulkSessions++;
    this.host.dial(addr).then(
      (stream) => {
        if (!this.sessions.has(s)) return stream.close();
        s.stream = stream;
        stream.onMessages((msgs) => {
          s.lastActivity = this.host.clock.now();
          for (const m of msgs) {
            if (m.type === 'bulk-chunk' && m.sid === sid) this.onBulkChunk(s, m);
            else {
              this.host.rejected(`${m.type} in a bulk stream`);
              this.endSession(s, false);
            }
          }
        });
        stream.onClose(() => this.endSession(s, s.finished));
        this.sendSync(stream, { type: 'bulk-request', from: this.host.name, sid });
      },
      () => this.endSession(s, false),
    );
    return true;
  }

  private onBulkChunk(s: Session, m: BulkChunkMessage): void {
    if (s.finished || !this.sessions.has(s)) return;
    let chunk: BulkChunk;
    try {
      let total = 0;
      for (const p of m.parts) total += p.length;
      const packed = new Uint8Array(total);
      let at = 0;
      for (const p of m.parts) {
        packed.set(p, at);
        at += p.length;
      }
      this.counters.syncIn += total;
      // the chunk announces its size: inflating into a buffer of exactly that size (capped)
      // allocates nothing more and avoids the streaming inflater's repeated regrowth, which
      // made bulk catch-up GC-bound; capping the compressed input bounds a bomb's CPU cost
      // (fflate keeps decoding past a full buffer) to what 256 KiB × 1032 takes
      if (m.rawBytes > BULK_RAW_CAP || total > BULK_PACKED_CAP) throw new Error('bulk chunk too large');
      // native inflate (several times fflate's speed); maxOutputLength caps a bomb at the
      // announced size, and a chunk that inflates to any other size is refused
      const raw = inflateRawSync(packed, { maxOutputLength: Math.max(1, m.rawBytes) });
      if (raw.length !== m.rawBytes) throw new Error('bulk chunk size mismatch');
      // entries outlive the chunk: their binary values must not be views of all of it
      chunk = ownPayload(this.bulkDecoder.decode(raw)) as BulkChunk;
    } catch {
      this.host.rejected('bulk-chunk payload');
      return this.endSession(s, false);
    }
    const result = s.receiver!.apply(chunk, this.nowTs());
    if (!result) {
      this.host.rejected('bulk-chunk out of order or malformed');
      return this.endSession(s, false);
    }
    this.emitEvents(result.events);
    if (s.receiver!.done) {
      s.finished = true;
      this.endSession(s, true);
    }
  }

  private serveBulk(s: Session): void {
    const sender = new BulkSender(this.replica, BULK_CHUNK_BUDGET);
    const stream = s.stream!;
    let pending: Uint8Array | undefined;
    let waiting = false;
    const pump = (): void => {
      if (!this.sessions.has(s) || stream.isClosed) return;
      // a few chunks per turn of the event loop: probes and acks must not wait for the stream
      for (let i = 0; i < 8; i++) {
        if (!pending) {
          const chunk = sender.next();
          if (!chunk) {
            s.finished = true;
            stream.close();
            this.endSession(s, true);
            return;
          }
          pending = this.bulkFrame(s.sid, chunk);
        }
        if (!stream.sendFrame(pending)) {
          waiting = true;
          return;
        }
        s.lastActivity = this.host.clock.now();
        pending = undefined;
      }
      if (this.host.defer) this.host.defer(pump);
      else setImmediate(pump);
    };
    stream.onDrain(() => {
      if (!waiting) return;
      waiting = false;
      pump();
    });
    pump();
  }

  private bulkFrame(sid: number, chunk: BulkChunk): Uint8Array {
    const raw = msgpackEncode(chunk);
    // raw DEFLATE as before (any inflater reads it), from native zlib: level 1 in C costs a
    // fraction of fflate's JavaScript level 1
    const packed = deflateRawSync(raw, { level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
    const parts: Uint8Array[] = [];
    for (let at = 0; at < packed.length; at += BIN_PART) parts.push(packed.subarray(at, Math.min(packed.length, at + BIN_PART)));
    const msg = encodeBulkChunkTrusted({ type: 'bulk-chunk', sid, index: chunk.index, parts, rawBytes: raw.length });
    this.counters.syncOut += msg.length;
    return this.host.rawFrame([msg]);
  }

  // ── initial catch-up and readiness ───────────────────────────────────────────

  private beginCatchUp(): void {
    if (this.isReady || this.catchUp.phase !== 'idle' || !this.running) return;
    const candidates = this.alivePeers();
    const peer = this.host.random.pick(candidates);
    if (peer === undefined) return;
    const after = (ok: boolean): void => {
      if (!ok) {
        this.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
        return;
      }
      this.catchUp = { phase: 'check', peer, checks: 0 };
      this.requestCatchUp(peer, true);
    };
    // a restarted node holds its history: Merkle finds what it missed; an empty one streams everything
    if (this.restored) {
      if (this.startMerkle(peer, after)) this.catchUp = { phase: 'merkle', peer, checks: 0 };
    } else if (this.startBulk(peer, after)) {
      this.catchUp = { phase: 'bulk', peer, checks: 0 };
    }
  }

  private setReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
    this.events.emit('ready', {});
  }

  // ── membership ───────────────────────────────────────────────────────────────

  private memberUp(name: string): void {
    if (name === this.host.name) return;
    if (this.removedOrigins.has(name)) this.returned.set(name, this.host.clock.now());
    this.noticeRemoval(name);
    if (!this.peers.has(name)) {
      this.peers.set(name, { name, inSync: false, lastDigestAt: undefined, lastSessionAt: undefined, lastRequestAt: -Infinity, requestOutstanding: false, mismatches: 0, lastDeltasAt: -Infinity, link: undefined });
    }
    if (this.running && !this.isReady) this.beginCatchUp();
  }

  private memberGone(name: string): void {
    // confirmed death or a graceful leave (never a suspicion): its clients are gone
    this.removedOrigins.set(name, this.replica.vector.get(name)?.epoch ?? 0);
    this.returned.delete(name);
    this.emitEvents(this.replica.removeOrigin(name));
    const p = this.peers.get(name);
    p?.link?.stream?.close();
    this.peers.delete(name);
    for (const s of [...this.sessions]) if (s.peer === name) this.endSession(s, false);
  }

  // ── status ───────────────────────────────────────────────────────────────────

  status(): SyncStatus {
    const hex = Buffer.from(this.replica.digest()).toString('hex');
    return {
      ready: this.isReady,
      digest: hex,
      peers: [...this.peers.values()].map((p) => ({ name: p.name, inSync: p.inSync, lastDigestAt: p.lastDigestAt, lastSessionAt: p.lastSessionAt })),
      sessions: { merkle: this.counters.merkleSessions, bulk: this.counters.bulkSessions + this.counters.bulkServed, deltaCatchUps: this.counters.deltaCatchUps },
      bytes: { deltasOut: this.counters.deltasOut, deltasIn: this.counters.deltasIn, syncOut: this.counters.syncOut, syncIn: this.counters.syncIn },
    };
  }

  // ── internals ────────────────────────────────────────────────────────────────

  /** The node's clock (subscriptions re-read on it: real time in the daemon, virtual in tests). */
  get clock(): Clock {
    return this.host.clock;
  }

  /** HLC "now" for expiry decisions (no tick consumed). */
  nowTs(): HlcTimestamp {
    return hlcPack(this.host.clock.wall(), 0);
  }

  private alivePeers(): string[] {
    const out: string[] = [];
    for (const name of this.peers.keys()) out.push(name);
    return out;
  }

  private address(peer: string): Address | undefined {
    const m = this.host.membership.member(peer);
    return m && (m.state === 'alive' || m.state === 'suspect') ? m.address : undefined;
  }

  private encodeBatches(deltas: Delta[], sizes: number[], maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const from = this.host.name;
    // sizes are upper bounds: a batch of bounded deltas fits; re-split the rare overflow
    const overhead = 16 + from.length * 3;
    let batch: Delta[] = [];
    let bytes = overhead;
    const emit = (): void => {
      if (batch.length === 0) return;
      // our own replica's deltas, validated when they entered it: no second validation pass
      out.push(encodeDeltasTrusted(from, batch));
      batch = [];
      bytes = overhead;
    };
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i]!;
      const size = sizes[i]!;
      if (bytes + size > maxBytes) emit();
      batch.push(d);
      bytes += size;
    }
    emit();
    return out;
  }

  // `frame`: a complete stream frame (host.fastFrame); `bytes`: the message bytes it carries
  private sendOnLink(peer: string, frame: Uint8Array, bytes: number): void {
    const p = this.peers.get(peer);
    const addr = this.address(peer);
    if (!p || addr === undefined) return;
    let link = p.link;
    if (!link) link = p.link = { stream: undefined, dialing: false, queue: [], queuedBytes: 0 };
    this.counters.deltasOut += bytes;
    const msg = frame;
    if (link.stream && !link.stream.isClosed && link.queue.length === 0 && link.stream.sendFrame(msg)) return;
    if (link.queuedBytes + msg.length > MAX_LINK_QUEUE_BYTES) {
      // the peer cannot keep up: drop, a digest catch-up or Merkle session repairs it
      this.counters.linkDrops++;
      return;
    }
    link.queue.push(msg);
    link.queuedBytes += msg.length;
    if (link.stream && !link.stream.isClosed) return;
    if (link.dialing) return;
    link.dialing = true;
    const l = link;
    this.host.dial(addr, true).then(
      (stream) => {
        l.dialing = false;
        if (!this.running || p.link !== l) return stream.close();
        l.stream = stream;
        stream.onMessages(() => {});
        stream.onDrain(() => this.drainLink(l));
        stream.onClose(() => {
          if (l.stream === stream) l.stream = undefined;
        });
        this.drainLink(l);
      },
      () => {
        l.dialing = false;
        this.counters.linkDrops += l.queue.length;
        l.queue = [];
        l.queuedBytes = 0;
      },
    );
  }

  private drainLink(l: PeerLink): void {
    while (l.stream && l.queue.length > 0) {
      if (!l.stream.sendFrame(l.queue[0]!)) return;
      l.queuedBytes -= l.queue.shift()!.length;
    }
  }

  private newSession(kind: Session['kind'], peer: string, sid: number, stream: FramedStream | undefined, initiator: boolean): Session {
    const s: Session = { kind, peer, sid, stream, lastActivity: this.host.clock.now(), initiator, finished: false };
    this.sessions.add(s);
    return s;
  }

  private countSessions(initiator: boolean): number {
    let n = 0;
    for (const s of this.sessions) if (s.initiator === initiator) n++;
    return n;
  }

  private endSession(s: Session, ok: boolean): void {
    if (!this.sessions.delete(s)) return;
    if (ok && s.kind === 'merkle') this.counters.merkleCompleted++;
    const p = this.peers.get(s.peer);
    if (p && ok) p.lastSessionAt = this.host.clock.wall();
    if (s.stream && !s.stream.isClosed) s.stream.close();
    s.onEnd?.(ok, ok && s.merkle?.complete === true);
  }

  private housekeeping(): void {
    const now = this.host.clock.now();
    this.replica.expire(this.nowTs());
    for (const s of [...this.sessions]) if (now - s.lastActivity > this.opts.sessionIdleMs) this.endSession(s, false);
    // a removal notice is a datagram and may be lost; the digests cannot tell (the vector
    // still lists the removed epoch on both sides), so repeat it until the member re-announces
    for (const name of [...this.removedOrigins.keys()]) this.noticeRemoval(name);
    if (this.isReady) this.repairReturned();
    if (!this.isReady) {
      // the readiness check asks again until a clean answer: otherwise an answer that
      // needed a Merkle session (or a lost request, once the digests agree) would leave the
      // node unready for good; a check peer that went away hands over to another peer
      if (this.catchUp.phase === 'check') {
        if (this.catchUp.peer !== undefined && this.peers.has(this.catchUp.peer)) this.requestCatchUp(this.catchUp.peer, false);
        else this.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
      }
      this.beginCatchUp();
    }
  }

  /**
   * After a heal, one Merkle session with a member that came back brings across what its
   * side wrote while apart (all of it, when that side shared its writes), instead of
   * waiting for a periodic session to pair the two sides by chance (simulated split brain
   * at 24 nodes: caught up 6.5 s after the heal instead of 78.5 s). One session per housekeeping tick
   * until one ends with nothing left out by the session budgets; that one settles every
   * member that had returned when it started.
   */
  private repairReturned(): void {
    if (this.returned.size === 0) return;
    for (const s of this.sessions) if (s.initiator && s.kind === 'merkle' && this.returned.has(s.peer)) return;
    const started = this.host.clock.now();
    for (const name of this.returned.keys()) {
      if (!this.peers.has(name)) {
        this.returned.delete(name);
        continue;
      }
      const ok = this.startMerkle(name, (_ok, complete) => {
        if (!complete) return;
        for (const [n, at] of [...this.returned]) if (at <= started) this.returned.delete(n);
      });
      if (ok) return;
    }
  }

  private scheduleMerkle(): void {
    const { merkleMinIntervalMs: min, merkleMaxIntervalMs: max } = this.opts;
    const t = this.host.clock.setTimer(min + this.host.random.int(Math.max(1, max - min)), () => {
      this.timers = this.timers.filter((x) => x !== t);
      if (!this.running) return;
      const peer = this.host.random.pick(this.alivePeers());
      if (peer !== undefined && this.isReady) this.startMerkle(peer);
      this.scheduleMerkle();
    });
    this.timers.push(t);
  }

  private every(ms: number, fn: () => void): void {
    const t = this.host.clock.setTimer(ms, () => {
      this.timers = this.timers.filter((x) => x !== t);
      if (!this.running) return;
      fn();
      this.every(ms, fn);
    });
    this.timers.push(t);
  }

  private countInvalid(n: number): void {
    if (n === 0) return;
    this.counters.invalid += n;
    this.host.rejected('invalid delta');
  }

  private emitEvents(events: ReplicaEvent[]): void {
    const em = this.events;
    for (const e of events) {
      if (e.type === 'message') {
        if (em.hasListeners('message')) em.emit('message', lazyMessageEvent(e.entry));
      } else if ('clientId' in e) {
        em.emit(e.type, { channel: e.channel, clientId: e.clientId, user: e.user, info: e.info, node: e.node });
      } else {
        em.emit(e.type, { channel: e.channel, user: e.user });
      }
    }
  }
}

/**
 * A 'message' event whose view is built on first access: a daemon that only persists
 * `entry` (or a bulk catch-up of a million entries) does not pay for cursors it never reads.
 */
function lazyMessageEvent(entry: HistoryEntry): ChannelEvents['message'] {
  return new LazyMessageEvent(entry);
}

// a class, not an object literal with a getter: one shared shape and prototype getter
// instead of a fresh accessor closure per event
class LazyMessageEvent {
  readonly channel: string;
  private view: MessageView | undefined;
  constructor(readonly entry: HistoryEntry) {
    this.channel = entry.channel;
  }
  get message(): MessageView {
    return (this.view ??= messageView(this.entry));
  }
}

/** A stored history entry as applications see it. */
export function messageView(e: HistoryEntry): MessageView {
  return { id: `${e.node}:${e.epoch}:${e.seq}`, ts: hlcWall(e.ts), node: e.node, data: e.data, headers: e.headers ?? {}, n: e.c };
}

function payloadOf(d: Delta): unknown {
  return d.kind === 'publish' ? d.data : d.kind === 'leave' ? null : d.info;
}

// the payload's encoded size, for batching relayed deltas
function payloadBound(d: Delta): number {
  const v = payloadOf(d);
  if (v instanceof Uint8Array) return v.byteLength + 5;
  if (typeof v === 'string') return Buffer.byteLength(v) + 5;
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 9;
  try {
    return msgpackEncode(v).byteLength;
  } catch {
    return 64;
  }
}

// a cheaper estimate for the inbound byte counter (objects are not re-encoded)
function cheapSize(d: Delta): number {
  const v = payloadOf(d);
  if (v instanceof Uint8Array) return v.byteLength + 5;
  if (typeof v === 'string') return v.length + 5;
  return typeof v === 'object' && v !== null ? 32 : 9;
}
