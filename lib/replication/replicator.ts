import { decode as msgpackDecode } from '@msgpack/msgpack';
import type { ChannelEvents, HistoryEntry, SyncStatus } from './channels.js';
import type { Clock, Timer } from '../clock.js';
import type { TrafficClass } from '../codec/batcher.js';
import type { AnyMessage } from '../codec/messages.js';
import { resolveMsgpackLimits, scanMsgpack } from '../codec/msgpack-limits.js';
import { REPLICATION_MESSAGE_TYPES } from '../codec/replication-messages.js';
import { TypedEmitter } from '../events.js';
import type { FramedStream } from './framed-stream.js';
import { Hlc, hlcPack } from '../hlc.js';
import type { HlcTimestamp } from '../hlc.js';
import type { Random } from '../random.js';
import type { HistoryOptions } from '../replica/history.js';
import type { ReplicaLimits } from '../replica/limits.js';
import { Replica } from '../replica/replica.js';
import type { LocalChange, ReplicaEvent, ReplicaSnapshot } from '../replica/replica.js';
import type { Membership } from '../swim/membership.js';
import type { Address } from '../transport/transport.js';
import { DigestCatchUp } from './catch-up.js';
import { ReplicationContext } from './context.js';
import type { ReplicationCounters } from './context.js';
import { DeltaPush } from './delta-push.js';
import { Readiness } from './readiness.js';
import { RemovedOrigins } from './removed-origins.js';
import { SyncSessions } from './sessions.js';

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
   * are not starved): ClusterNode passes setImmediate, the simulator a zero-delay timer
   * of its virtual clock. Required, so that the replication runtime itself uses no timer
   * (the purity lint rule covers lib/replication/).
   */
  defer(fn: () => void): void;
}

/** Persisted state handed back after a restart. */
export interface RestoreData {
  /** From {@link Replicator.snapshot} (ClusterNode.snapshot()). */
  snapshot?: Uint8Array;
  /** History entries stored since the snapshot (the `entry` of 'message' events). */
  entries?: HistoryEntry[];
}

/**
 * The replication runtime: drives the pure replica and sync core (lib/replica, lib/sync)
 * with timers, the batcher and streams. Local changes become deltas flushed with the
 * batch window; digests ride on SWIM acks; a mismatch asks for exactly the missing
 * deltas; Merkle sessions and bulk streams repair the rest.
 *
 * This class is the facade and the scheduler; the work is done by its collaborators,
 * which share one {@link ReplicationContext}: {@link DeltaPush} (deltas out and in, with
 * the per-peer links of DeltaLinks), {@link DigestCatchUp} (vector requests and replies),
 * {@link SyncSessions} (Merkle and bulk streams), {@link RemovedOrigins} (removal notices
 * and the Merkle repair of returned members) and {@link Readiness} (the initial catch-up).
 */
export class Replicator {
  readonly events = new TypedEmitter<ChannelEvents>();
  readonly hlc: Hlc;
  readonly replica: Replica;
  readonly counters: ReplicationCounters;
  private readonly host: ReplicatorHost;
  private readonly ctx: ReplicationContext;
  private readonly deltas: DeltaPush;
  private readonly sessions: SyncSessions;
  private readonly removed: RemovedOrigins;
  private readonly catchUp: DigestCatchUp;
  private readonly readiness: Readiness;
  private timers: Timer[] = [];

  /**
   * @param host the runtime.
   * @param epoch this node's boot incarnation (must exceed the restored snapshot's).
   * @param options tuning.
   * @param restore persisted state from before a restart.
   */
  constructor(host: ReplicatorHost, epoch: number, options: ReplicationOptions = {}, restore?: RestoreData) {
    this.host = host;
    this.hlc = new Hlc(host.clock);
    const opts = {
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
    const now = hlcNow(host.clock);
    this.replica = restore?.snapshot ? Replica.restore(restore.snapshot, replicaOptions, now) : new Replica(replicaOptions);
    const restored = restore?.snapshot !== undefined || (restore?.entries?.length ?? 0) > 0;
    // entries appended after the snapshot: idempotent by id, so overlap with the snapshot is harmless
    const ignored: ReplicaEvent[] = [];
    for (const entry of restore?.entries ?? []) {
      this.replica.applyRecord({ kind: 'history', entry }, now, ignored);
      ignored.length = 0;
    }
    const ctx = this.ctx = new ReplicationContext(host, opts, this.replica, this.events);
    this.counters = ctx.counters;
    this.sessions = new SyncSessions(ctx);
    this.removed = new RemovedOrigins(ctx, this.sessions);
    this.catchUp = new DigestCatchUp(ctx, this.sessions, this.removed);
    this.deltas = new DeltaPush(ctx, this.hlc, (peer) => this.catchUp.request(peer, false));
    this.readiness = new Readiness(ctx, this.sessions, this.catchUp, restored);
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
    if (this.ctx.running) return;
    this.ctx.running = true;
    this.every(this.ctx.opts.expireIntervalMs, () => this.housekeeping());
    this.scheduleMerkle();
    for (const m of this.host.membership.members()) if (m.name !== this.host.name && m.state === 'alive') this.memberUp(m.name);
  }

  stop(): void {
    this.ctx.running = false;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.sessions.endAll();
    this.deltas.stop();
  }

  /** True once the initial catch-up finished (or this node founded the cluster). */
  get ready(): boolean {
    return this.readiness.ready;
  }

  /** The first node of a cluster has nobody to catch up from. */
  bootstrap(): void {
    if (this.host.membership.members().some((m) => m.name !== this.host.name && m.state === 'alive')) return;
    this.readiness.set();
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
    this.ctx.emitEvents(change.events);
    if (change.delta) this.deltas.queue(change.delta, payloadBytes);
  }

  /** This node was declared dead somewhere (it refuted): its presence must come back under a new epoch. */
  declaredDead(incarnation: number): void {
    const epoch = Math.max(this.replica.epoch + 1, incarnation);
    for (const change of this.replica.reincarnate(epoch)) this.commit(change, 64);
  }

  /** Sends the deltas of this batch window (called right before the batcher flushes). */
  flush(): void {
    this.deltas.flush();
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
        return this.deltas.receive(m);
      case 'vector-request':
        return this.catchUp.onVectorRequest(m, from);
      case 'delta-reply': {
        const clean = this.catchUp.onDeltaReply(m);
        return this.readiness.onReply(m.from, clean);
      }
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
    return this.sessions.adopt(stream, (m) => this.handle(m, stream.remote));
  }

  /** An ack of our probe carried the member's digest. */
  onDigest(member: string, digest: Uint8Array): void {
    this.catchUp.onDigest(member, digest);
  }

  // ── membership ───────────────────────────────────────────────────────────────

  private memberUp(name: string): void {
    if (name === this.host.name) return;
    this.removed.memberUp(name);
    if (!this.ctx.peers.has(name)) {
      this.ctx.peers.set(name, { name, inSync: false, lastDigestAt: undefined, lastSessionAt: undefined, lastRequestAt: -Infinity, requestOutstanding: false, mismatches: 0, lastDeltasAt: -Infinity, link: undefined });
    }
    if (this.ctx.running && !this.readiness.ready) this.readiness.begin();
  }

  private memberGone(name: string): void {
    // confirmed death or a graceful leave (never a suspicion): its clients are gone
    this.removed.memberGone(name);
    this.ctx.emitEvents(this.replica.removeOrigin(name));
    this.deltas.peerGone(name);
    this.ctx.peers.delete(name);
    this.sessions.endPeer(name);
  }

  // ── status ───────────────────────────────────────────────────────────────────

  status(): SyncStatus {
    const hex = Buffer.from(this.replica.digest()).toString('hex');
    const c = this.counters;
    return {
      ready: this.readiness.ready,
      digest: hex,
      peers: [...this.ctx.peers.values()].map((p) => ({ name: p.name, inSync: p.inSync, lastDigestAt: p.lastDigestAt, lastSessionAt: p.lastSessionAt })),
      sessions: { merkle: c.merkleSessions, bulk: c.bulkSessions + c.bulkServed, deltaCatchUps: c.deltaCatchUps },
      bytes: { deltasOut: c.deltasOut, deltasIn: c.deltasIn, syncOut: c.syncOut, syncIn: c.syncIn },
    };
  }

  /** The node's clock (subscriptions re-read on it: real time in the daemon, virtual in tests). */
  get clock(): Clock {
    return this.host.clock;
  }

  /** HLC "now" for expiry decisions (no tick consumed). */
  nowTs(): HlcTimestamp {
    return hlcNow(this.host.clock);
  }

  // ── timers ───────────────────────────────────────────────────────────────────

  private housekeeping(): void {
    const now = this.host.clock.now();
    this.replica.expire(this.nowTs());
    this.sessions.expireIdle(now);
    this.removed.noticeAll();
    if (this.readiness.ready) this.removed.repair();
    if (!this.readiness.ready) this.readiness.tick();
  }

  private scheduleMerkle(): void {
    const { merkleMinIntervalMs: min, merkleMaxIntervalMs: max } = this.ctx.opts;
    const t = this.host.clock.setTimer(min + this.host.random.int(Math.max(1, max - min)), () => {
      this.timers = this.timers.filter((x) => x !== t);
      if (!this.ctx.running) return;
      const peer = this.host.random.pick(this.ctx.alivePeers());
      if (peer !== undefined && this.readiness.ready) this.sessions.startMerkle(peer);
      this.scheduleMerkle();
    });
    this.timers.push(t);
  }

  private every(ms: number, fn: () => void): void {
    const t = this.host.clock.setTimer(ms, () => {
      this.timers = this.timers.filter((x) => x !== t);
      if (!this.ctx.running) return;
      fn();
      this.every(ms, fn);
    });
    this.timers.push(t);
  }
}

function hlcNow(clock: Clock): HlcTimestamp {
  return hlcPack(clock.wall(), 0);
}
