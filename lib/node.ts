import { randomBytes } from 'node:crypto';
import { SystemClock } from './clock.js';
import type { Clock, Timer } from './clock.js';
import { swimOptions } from './config.js';
import type { ProfileName, SwimOptions } from './config.js';
import { Batcher } from './codec/batcher.js';
import type { BatchOutput, TrafficClass } from './codec/batcher.js';
import { FrameDecoder, FrameEncoder } from './codec/frame.js';
import type { Keyring } from './codec/keyring.js';
import { encodeMessage } from './codec/messages.js';
import type { AnyMessage, Message, PingMessage, PushPullMessage } from './codec/messages.js';
import './codec/replication-messages.js';
import type { ChannelEvents, ChannelsApi, SyncStatus } from './replication/channels.js';
import { Channels } from './replication/channels-api.js';
import { ClusterError } from './errors.js';
import type { TypedEmitter } from './events.js';
import { AppMessages } from './app-messages.js';
import type { AppMessagesOptions } from './app-messages.js';
import './codec/app-messages.js';
import { FramedStream } from './replication/framed-stream.js';
import { Random } from './random.js';
import { Replicator } from './replication/replicator.js';
import type { ReplicationOptions, ReplicatorHost, RestoreData } from './replication/replicator.js';
import { Membership } from './swim/membership.js';
import type { BrokerInfo, MemberInfo, SwimOutbound } from './swim/membership.js';
import type { MemberExplanation } from './swim/evidence.js';
import { encodeMeta, emptyMeta } from './swim/meta.js';
import type { NodeMeta } from './swim/meta.js';
import type { Address, Stream, Transport } from './transport/transport.js';

/** Options of {@link ClusterNode}. */
export interface ClusterNodeOptions {
  /** Unique node name (1–128 bytes). */
  name: string;
  /** Datagrams and streams; NetTransport in production, a MemoryNetwork transport in tests. */
  transport: Transport;
  /** @default new SystemClock() */
  clock?: Clock;
  /** Seeded randomness for protocol choices. @default a Random seeded from node:crypto */
  random?: Random;
  /** Timing profile. @default 'lan' */
  profile?: ProfileName;
  /** Overrides of the profile's timings. @default {} */
  swim?: Partial<SwimOptions>;
  /** Roles, tags, endpoints and load advertised to the cluster. @default empty */
  meta?: Partial<NodeMeta>;
  /** Starting incarnation (persisted incarnation + 1 after a restart). @default 0 */
  incarnation?: number;
  /** Cluster label: frames of other labels are rejected. @default '' */
  label?: string;
  /** Encryption keys; frames are sealed with AES-256-GCM when set. @default undefined */
  keyring?: Keyring;
  /** Batch flush interval in ms: non-urgent messages wait at most this long. @default 100 */
  flushIntervalMs?: number;
  /** Largest datagram sent, overhead included. @default 1400 */
  maxFrameBytes?: number;
  /** Largest frame accepted on a stream (push-pull of a big cluster). @default 16777216 */
  maxStreamFrameBytes?: number;
  /**
   * State persisted before a restart: `snapshot` from {@link ClusterNode.snapshot} and the
   * raw history entries stored since (the `entry` of 'message' events). Both are applied
   * idempotently; the node then runs one Merkle session to fetch what it missed.
   * The boot epoch (`incarnation`) must exceed the snapshot's; it is raised when it does not.
   * @default undefined (an empty node: it streams the state from a peer when it joins)
   */
  restore?: RestoreData;
  /**
   * Replicated presence and history: retention, limits (both must match on every node)
   * and replication tuning. @default {} (see {@link ReplicationOptions} for each default)
   */
  replica?: ReplicationOptions;
  /** Application messages between nodes (limits, batching). @default {} (see {@link AppMessagesOptions}) */
  messages?: AppMessagesOptions;
  /**
   * Keep failure-detection evidence for {@link ClusterNode.explain} (a fixed ring of probe
   * outcomes and state changes per member: decision 0056). @default true
   */
  evidence?: boolean;
}

/** Traffic counters of a node. */
export interface NodeStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  /** Frames rejected on datagrams and streams, by error code (E_FRAME_LABEL, E_FRAME_DECRYPT, ...). */
  rejected: Record<string, number>;
  /** Messages of types this version does not know, skipped. */
  unknownMessages: number;
  streamErrors: number;
  /** Replication payloads refused after their frame decoded (bad bulk chunks, invalid deltas, misplaced messages). */
  replicationRejected: number;
  /**
   * Traffic by class (membership, replication, sync). Out: datagram frames that carried
   * the class (gossip-only frames count as membership), the class's encoded message bytes
   * (membership includes gossip-only frames whole), messages, and messages dropped from
   * full outboxes. In: messages received, datagrams and streams.
   */
  byClass: { framesOut: Record<TrafficClass, number>; bytesOut: Record<TrafficClass, number>; messagesOut: Record<TrafficClass, number>; dropped: Record<TrafficClass, number>; messagesIn: Record<TrafficClass, number> };
}

/**
 * The runtime: the one place where the sans-IO protocol meets sockets and timers. It
 * encodes what the membership state machine sends into batched frames, decodes what
 * arrives, runs the flush timer, and carries push-pull and fallback pings on streams.
 */
export class ClusterNode {
  readonly name: string;
  readonly membership: Membership;
  readonly transport: Transport;
  readonly options: SwimOptions;
  private readonly clock: Clock;
  private readonly encoder: FrameEncoder;
  private readonly streamEncoder: FrameEncoder;
  private readonly decoder: FrameDecoder;
  private readonly streamDecoder: FrameDecoder;
  private readonly batcher: Batcher;
  private readonly maxFrameBytes: number;
  private readonly flushIntervalMs: number;
  private flushTimer: Timer | undefined;
  private closed = false;
  private readonly openStreams = new Set<Stream>();
  private readonly statsIn = { framesIn: 0, bytesIn: 0, messagesIn: 0, unknownMessages: 0, streamErrors: 0, replicationRejected: 0 };
  private readonly messagesInByClass: Record<TrafficClass, number> = { membership: 0, replication: 0, sync: 0 };
  // bulk chunks are deflated by the replicator (level 1, fast): frames must not deflate again
  private readonly rawStreamEncoder: FrameEncoder;
  // delta links carry up to megabytes per flush: deflate level 1 costs a fraction of level 6
  private readonly fastStreamEncoder: FrameEncoder;
  private readonly replicator: Replicator;
  /** Replicated presence and history of this cluster, as applications use them. */
  readonly channels: ChannelsApi;
  /** Presence and history events (client-join, user-leave, message, ready, ...). */
  readonly channelEvents: TypedEmitter<ChannelEvents>;
  /** Reliable, ordered messages to one member or every live member (the Socket.IO adapter's transport). */
  readonly messages: AppMessages;

  constructor(opts: ClusterNodeOptions) {
    this.name = opts.name;
    this.transport = opts.transport;
    this.clock = opts.clock ?? new SystemClock();
    const random = opts.random ?? new Random(randomBytes(4).readUInt32LE(0));
    this.options = swimOptions(opts.profile ?? 'lan', opts.swim ?? {});
    this.maxFrameBytes = opts.maxFrameBytes ?? 1400;
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    const label = opts.label ?? '';
    const keyring = opts.keyring;
    const codec = { label, ...(keyring ? { keyring } : {}) };
    // separate nonce prefixes: datagrams and streams reorder independently, and one
    // replay window per prefix must only ever see one of the two paths
    this.encoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6) });
    this.streamEncoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6) });
    this.rawStreamEncoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6), compressThreshold: Number.MAX_SAFE_INTEGER });
    this.fastStreamEncoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6), compressLevel: 1 });
    this.decoder = new FrameDecoder({ ...codec });
    const streamCap = opts.maxStreamFrameBytes ?? 16 * 1024 * 1024;
    this.streamDecoder = new FrameDecoder({ ...codec, maxFrameBytes: streamCap, maxBodyBytes: streamCap });
    this.batcher = new Batcher({
      encoder: this.encoder,
      maxFrameBytes: this.maxFrameBytes,
      piggyback: (_peer, remaining) => this.membership.piggyback(remaining),
    });
    const meta = { ...emptyMeta(), ...opts.meta };
    // the replica's epoch is the boot incarnation; it must exceed a restored snapshot's
    let incarnation = opts.incarnation ?? 0;
    const snapEpoch = opts.restore?.snapshot ? Replicator.snapshotEpoch(opts.restore.snapshot) : undefined;
    if (snapEpoch !== undefined && incarnation <= snapEpoch) incarnation = snapEpoch + 1;
    this.membership = new Membership({
      name: opts.name,
      address: opts.transport.advertiseAddress,
      meta: encodeMeta(meta, this.options.maxMetaSize),
      incarnation,
      options: this.options,
      clock: this.clock,
      random,
      out: this.outbound(),
      ackPayload: () => this.replicator.digest(),
      onAckPayload: (member, payload) => this.replicator.onDigest(member, payload),
      evidence: opts.evidence ?? true,
      // a death certificate for us (not a leave): the others dropped our presence, so after
      // the refutation it comes back under a new epoch
      onDefunct: (incarnation) => this.replicator.declaredDead(incarnation),
    });
    this.replicator = new Replicator(this.replicationHost(random.fork('replication')), incarnation, opts.replica, opts.restore);
    this.channels = new Channels(this.replicator, label);
    this.channelEvents = this.replicator.events;
    // its own nonce prefix: each peer's link then sees this encoder's counters in order,
    // whatever the other streams send meanwhile (the replay window is 64 counters wide)
    const appEncoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6) });
    this.messages = new AppMessages({
      name: this.name,
      clock: this.clock,
      membership: this.membership,
      dial: (to) => this.transport.dial(to, this.options.streamTimeoutMs).then(
        (s) => new FramedStream(s, appEncoder, this.streamDecoder, () => this.statsIn.streamErrors++),
        (err: unknown) => {
          this.statsIn.streamErrors++;
          throw err;
        },
      ),
      frame: (messages) => appEncoder.encode(messages),
    }, opts.messages);
    this.transport.onPacket((data, from) => this.onPacket(data, from));
    this.transport.onStream((stream) => this.onStream(stream));
  }

  /** Starts the protocol timers. */
  start(): void {
    if (this.closed) throw new ClusterError('E_CLOSED', 'node is closed');
    this.membership.start();
    this.replicator.start();
    this.scheduleFlush();
  }

  /** True once this node caught up with the cluster's replicated state (or founded the cluster). */
  get ready(): boolean {
    return this.replicator.ready;
  }

  /** The replica's epoch (boot incarnation, raised when declared dead): persist it with the snapshot. */
  get epoch(): number {
    return this.replicator.replica.epoch;
  }

  /** Anti-entropy status (digest, per-peer sync, sessions, bytes). */
  syncStatus(): SyncStatus {
    return this.replicator.status();
  }

  /** The replica's persisted form (history and version vector), for `restore.snapshot` after a restart. */
  snapshot(): Uint8Array {
    return this.replicator.snapshot();
  }

  /**
   * Joins through `seeds`, resolving with how many answered. Rejects with
   * E_UNREACHABLE when none did (the seeds stay on the reconnect list regardless).
   */
  join(seeds: Address[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.membership.join(seeds, (contacted, errors) => {
        // the founder of a cluster has no state to catch up on
        if (seeds.length === 0 || seeds.every((s) => s === this.transport.advertiseAddress)) this.replicator.bootstrap();
        if (contacted > 0 || seeds.length === 0) resolve(contacted);
        else reject(new ClusterError('E_UNREACHABLE', `no seed answered (${seeds.join(', ')}): ${errors.map((e) => e.message).join('; ')}`));
      });
    });
  }

  /** Leaves gracefully (peers see `left`, not `dead`) and closes. */
  async leave(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.membership.leave(resolve));
    this.flush();
    await this.close();
  }

  /** Stops everything without telling anyone (peers will detect a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushTimer?.cancel();
    this.messages.stop();
    this.replicator.stop();
    this.membership.stop();
    for (const s of this.openStreams) s.close();
    await this.transport.close();
  }

  /** Replaces (merges) this node's advertised metadata. */
  updateMeta(meta: Partial<NodeMeta>): void {
    const current = this.membership.member(this.name)?.meta ?? emptyMeta();
    this.membership.updateMeta(encodeMeta({ ...current, ...meta }, this.options.maxMetaSize));
  }

  members(): MemberInfo[] {
    return this.membership.members();
  }

  brokers(filter?: { tag?: [string, string]; sortBy?: string }): BrokerInfo[] {
    return this.membership.brokers(filter);
  }

  /**
   * Why `name` is in its state, from this node's view: probe outcomes and RTT, the
   * suspicion with its suspecter, confirmations and Lifeguard timer, the death certificate,
   * and this node's own health (see {@link MemberExplanation}). Undefined for an unknown member.
   */
  explain(name: string): MemberExplanation | undefined {
    return this.membership.explain(name);
  }

  stats(): NodeStats {
    const b = this.batcher.stats;
    return {
      ...this.statsIn,
      replicationRejected: this.statsIn.replicationRejected,
      framesOut: b.frames + this.gossipFrames,
      bytesOut: b.frameBytes + this.gossipBytes,
      byClass: {
        framesOut: { ...b.framesByClass, membership: b.framesByClass.membership + this.gossipFrames },
        bytesOut: { ...b.bytesOut, membership: b.bytesOut.membership + this.gossipBytes },
        messagesOut: { ...b.messagesOut },
        dropped: { ...b.dropped },
        messagesIn: { ...this.messagesInByClass },
      },
      rejected: Object.fromEntries(
        Object.entries(this.decoder.rejected).map(([reason, n]) => [reason, n + (this.streamDecoder.rejected[reason as keyof typeof this.streamDecoder.rejected] ?? 0)]),
      ),
    };
  }

  // ---------------------------------------------------------------- outbound

  private gossipFrames = 0;
  private gossipBytes = 0;

  private outbound(): SwimOutbound {
    return {
      send: (to, msg, urgent) => this.send(to, msg, urgent),
      gossip: (to) => {
        const budget = this.maxFrameBytes - this.encoder.overhead() - 3;
        const parts = this.membership.piggyback(budget);
        if (parts.length === 0) return;
        const frame = this.encoder.encode(parts);
        this.gossipFrames++;
        this.gossipBytes += frame.length;
        this.transport.sendPacket(to, frame);
      },
      pushPull: (to, msg, done) => this.request(to, msg, (m) => m.type === 'push-pull', (reply) => {
        done(reply as PushPullMessage | undefined, reply ? undefined : new ClusterError('E_UNREACHABLE', `push-pull with ${to} failed`));
      }),
      streamPing: (to, ping, done) => this.request(to, ping, (m) => m.type === 'ack' && m.seq === ping.seq, (reply) => done(reply !== undefined)),
    };
  }

  private send(to: Address, msg: Message, urgent: boolean): void {
    if (this.closed) return;
    const bytes = encodeMessage(msg);
    if (urgent) this.emit(this.batcher.sendNow(to, bytes));
    else if (this.batcher.enqueue(to, bytes, 'membership') === 'needs-stream') this.sendOverStream(to, bytes);
  }

  private emit(out: BatchOutput): void {
    for (const f of out.frames) this.transport.sendPacket(f.peer, f.frame);
    for (const s of out.stream) this.sendOverStream(s.peer, s.message);
  }

  private flush(): void {
    if (this.closed) return;
    this.replicator.flush();
    this.messages.flush();
    this.emit(this.batcher.flush(this.clock.now()));
  }

  private scheduleFlush(): void {
    this.flushTimer = this.clock.setTimer(this.flushIntervalMs, () => {
      if (this.closed) return;
      this.flush();
      this.scheduleFlush();
    });
  }

  /** One message too big for a datagram: a short-lived stream carries it. */
  private sendOverStream(to: Address, message: Uint8Array): void {
    this.transport.dial(to, this.options.streamTimeoutMs).then(
      (stream) => {
        stream.send(this.streamEncoder.encode([message]));
        stream.close();
      },
      () => this.statsIn.streamErrors++,
    );
  }

  /** Sends `msg` on a new stream and waits for the first reply matching `accept`. */
  private request(to: Address, msg: Message, accept: (m: AnyMessage) => boolean, done: (reply: AnyMessage | undefined) => void): void {
    if (this.closed) return done(undefined);
    let finished = false;
    let stream: Stream | undefined;
    const finish = (reply: AnyMessage | undefined): void => {
      if (finished) return;
      finished = true;
      timer.cancel();
      if (stream) {
        this.openStreams.delete(stream);
        stream.close();
      }
      done(reply);
    };
    const timer = this.clock.setTimer(this.options.streamTimeoutMs, () => finish(undefined));
    this.transport.dial(to, this.options.streamTimeoutMs).then(
      (s) => {
        if (finished) return s.close();
        stream = s;
        this.openStreams.add(s);
        s.onMessage((data) => {
          const r = this.streamDecoder.decode(data);
          if (!r.ok) return finish(undefined);
          finish(r.messages.find(accept));
        });
        s.onClose(() => finish(undefined));
        s.send(this.streamEncoder.encode([encodeMessage(msg)]));
      },
      () => {
        this.statsIn.streamErrors++;
        finish(undefined);
      },
    );
  }

  // ---------------------------------------------------------------- inbound

  private onPacket(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    this.statsIn.framesIn++;
    this.statsIn.bytesIn += data.length;
    const r = this.decoder.decode(data);
    if (!r.ok) return;
    this.statsIn.unknownMessages += r.skipped;
    for (const m of r.messages) this.dispatch(m, from);
  }

  private dispatch(m: AnyMessage, from: Address): void {
    this.statsIn.messagesIn++;
    // application messages have their own counters (node.messages.stats), no traffic class
    if (m.type === 'app') return this.messages.handle(m);
    this.messagesInByClass[classOf(m)]++;
    if (Replicator.handles(m)) return this.replicator.handle(m, from);
    this.membership.handle(m as Message, from);
  }

  /** What the replicator needs of the runtime. */
  private replicationHost(random: Random): ReplicatorHost {
    return {
      name: this.name,
      clock: this.clock,
      random,
      membership: this.membership,
      maxDatagramMessage: () => this.batcher.maxMessageBytes(),
      enqueue: (to, message, cls) => {
        if (this.closed) return;
        if (this.batcher.enqueue(to, message, cls) === 'needs-stream') this.sendOverStream(to, message);
      },
      dial: (to, fast) => this.transport.dial(to, this.options.streamTimeoutMs).then(
        (s) => new FramedStream(s, fast ? this.fastStreamEncoder : this.streamEncoder, this.streamDecoder, () => this.statsIn.streamErrors++),
        (err: unknown) => {
          this.statsIn.streamErrors++;
          throw err;
        },
      ),
      rawFrame: (messages) => this.rawStreamEncoder.encode(messages),
      fastFrame: (messages) => this.fastStreamEncoder.encode(messages),
      rejected: () => this.statsIn.replicationRejected++,
      defer: (fn) => setImmediate(fn),
    };
  }

  private onStream(stream: Stream): void {
    if (this.closed) return stream.close();
    this.openStreams.add(stream);
    const timer = this.clock.setTimer(this.options.streamTimeoutMs, () => stream.close());
    stream.onClose(() => {
      timer.cancel();
      this.openStreams.delete(stream);
    });
    // a replication stream (Merkle session, bulk transfer, delta link) belongs to the
    // replicator from its first message on: it may outlive a stream operation's timeout
    let owner: ((m: AnyMessage) => void) | undefined;
    // an application message stream stays open as long as its sender keeps it
    let app = false;
    stream.onMessage((data) => {
      const r = this.streamDecoder.decode(data);
      if (!r.ok) {
        this.statsIn.streamErrors++;
        return stream.close();
      }
      for (const m of r.messages) {
        if (owner) {
          this.statsIn.messagesIn++;
          this.messagesInByClass[classOf(m)]++;
          owner(m);
        } else if (Replicator.handles(m)) {
          timer.cancel();
          this.statsIn.messagesIn++;
          this.messagesInByClass[classOf(m)]++;
          owner = this.replicator.adoptStream(new FramedStream(stream, this.streamEncoder, this.streamDecoder));
          owner(m);
        } else if (m.type === 'app') {
          if (!app) {
            app = true;
            timer.cancel();
            this.messages.adoptInbound(stream, m.from);
          }
          this.dispatch(m, stream.remote);
        } else if (m.type === 'push-pull') {
          const reply = this.membership.handlePushPull(m);
          stream.send(this.streamEncoder.encode([encodeMessage(reply)]));
        } else if (m.type === 'ping') {
          const ping = m as PingMessage;
          if (this.membership.handleStreamPing(ping)) stream.send(this.streamEncoder.encode([encodeMessage({ type: 'ack', seq: ping.seq })]));
        } else {
          this.dispatch(m, stream.remote);
        }
      }
    });
  }
}

/** The traffic class of a received message, as the sender's batcher classed it. */
function classOf(m: AnyMessage): TrafficClass {
  if (!Replicator.handles(m)) return 'membership';
  return m.type === 'deltas' ? 'replication' : 'sync';
}
