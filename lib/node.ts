import { randomBytes } from 'node:crypto';
import { SystemClock } from './clock.js';
import type { Clock } from './clock.js';
import { swimOptions } from './config.js';
import type { ProfileName, SwimOptions } from './config.js';
import type { TrafficClass } from './codec/batcher.js';
import { FrameDecoder, FrameEncoder } from './codec/frame.js';
import type { Keyring } from './codec/keyring.js';
import type { ChannelEvents, ChannelsApi, SyncStatus } from './replication/channels.js';
import { ClusterError } from './errors.js';
import type { TypedEmitter } from './events.js';
import type { AppMessages, AppMessagesOptions } from './app-messages.js';
import { Random } from './random.js';
import type { Replicator, ReplicationOptions, RestoreData } from './replication/replicator.js';
import { FrameWire } from './runtime/frame-wire.js';
import { NodeRuntime } from './runtime/node-runtime.js';
import type { StreamCodec } from './runtime/wire.js';
import type { Membership, BrokerInfo, MemberInfo } from './swim/membership.js';
import type { EvidenceLog, MemberExplanation } from './swim/evidence.js';
import { encodeMeta, emptyMeta } from './swim/meta.js';
import type { NodeMeta } from './swim/meta.js';
import type { Address, Transport } from './transport/transport.js';

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
   * outcomes and state changes per member: decision 0056), or the log to keep it in (the
   * agent's flight recorder is one: decision 0060). @default true
   */
  evidence?: boolean | EvidenceLog;
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
 * A cluster node: the protocol {@link NodeRuntime} (membership, replication, application
 * messages) over a {@link FrameWire} (batched, sealed frames on a real transport), with
 * the API applications use.
 */
export class ClusterNode {
  readonly name: string;
  readonly membership: Membership;
  readonly transport: Transport;
  readonly options: SwimOptions;
  /** The protocol runtime this node runs (the same class the simulator runs). */
  readonly runtime: NodeRuntime;
  private readonly wire: FrameWire;
  private readonly decoder: FrameDecoder;
  private readonly streamDecoder: FrameDecoder;
  private readonly replicator: Replicator;
  private closed = false;
  /** Replicated presence and history of this cluster, as applications use them. */
  readonly channels: ChannelsApi;
  /** Presence and history events (client-join, user-leave, message, ready, ...). */
  readonly channelEvents: TypedEmitter<ChannelEvents>;
  /** Reliable, ordered messages to one member or every live member (the Socket.IO adapter's transport). */
  readonly messages: AppMessages;

  constructor(opts: ClusterNodeOptions) {
    this.name = opts.name;
    this.transport = opts.transport;
    const clock = opts.clock ?? new SystemClock();
    const random = opts.random ?? new Random(randomBytes(4).readUInt32LE(0));
    this.options = swimOptions(opts.profile ?? 'lan', opts.swim ?? {});
    const label = opts.label ?? '';
    const keyring = opts.keyring;
    const codec = { label, ...(keyring ? { keyring } : {}) };
    // separate nonce prefixes: datagrams and each kind of stream reorder independently,
    // and one replay window per prefix must only ever see one path; the application
    // streams' own prefix lets each peer's link see its counters in order, whatever the
    // other streams send meanwhile (the replay window is 64 counters wide)
    const prefix = (): Uint8Array => randomBytes(6);
    this.decoder = new FrameDecoder({ ...codec });
    const streamCap = opts.maxStreamFrameBytes ?? 16 * 1024 * 1024;
    this.streamDecoder = new FrameDecoder({ ...codec, maxFrameBytes: streamCap, maxBodyBytes: streamCap });
    const streams: StreamCodec = {
      stream: new FrameEncoder({ ...codec, noncePrefix: prefix() }),
      // bulk chunks are deflated by the replicator (level 1, fast): frames must not deflate again
      raw: new FrameEncoder({ ...codec, noncePrefix: prefix(), compressThreshold: Number.MAX_SAFE_INTEGER }),
      // delta links carry up to megabytes per flush: deflate level 1 costs a fraction of level 6
      fast: new FrameEncoder({ ...codec, noncePrefix: prefix(), compressLevel: 1 }),
      app: new FrameEncoder({ ...codec, noncePrefix: prefix() }),
      decoder: this.streamDecoder,
    };
    this.wire = new FrameWire({
      transport: opts.transport,
      clock,
      datagrams: new FrameEncoder({ ...codec, noncePrefix: prefix() }),
      datagramDecoder: this.decoder,
      codec: streams,
      maxFrameBytes: opts.maxFrameBytes ?? 1400,
      streamTimeoutMs: this.options.streamTimeoutMs,
      defer: (fn) => void setImmediate(fn),
    });
    const meta = { ...emptyMeta(), ...opts.meta };
    this.runtime = new NodeRuntime({
      name: opts.name,
      address: opts.transport.advertiseAddress,
      meta: encodeMeta(meta, this.options.maxMetaSize),
      ...(opts.incarnation !== undefined ? { incarnation: opts.incarnation } : {}),
      options: this.options,
      clock,
      random,
      wire: this.wire,
      codec: streams,
      flushIntervalMs: opts.flushIntervalMs ?? 100,
      replica: opts.replica ?? {},
      ...(opts.restore ? { restore: opts.restore } : {}),
      messages: opts.messages ?? {},
      label,
      evidence: opts.evidence ?? true,
    });
    this.membership = this.runtime.membership;
    this.replicator = this.runtime.replicator!;
    this.channels = this.runtime.channels!;
    this.channelEvents = this.replicator.events;
    this.messages = this.runtime.messages!;
    this.wire.attach(this.runtime);
  }

  /** Starts the protocol timers. */
  start(): void {
    if (this.closed) throw new ClusterError('E_CLOSED', 'node is closed');
    this.runtime.start();
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
      this.runtime.join(seeds, (contacted, errors) => {
        if (contacted > 0 || seeds.length === 0) resolve(contacted);
        else reject(new ClusterError('E_UNREACHABLE', `no seed answered (${seeds.join(', ')}): ${errors.map((e) => e.message).join('; ')}`));
      });
    });
  }

  /** Leaves gracefully (peers see `left`, not `dead`) and closes. */
  async leave(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.runtime.leave(resolve));
    await this.close();
  }

  /** Stops everything without telling anyone (peers will detect a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runtime.stop();
    this.wire.close();
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
    const b = this.wire.batcher.stats;
    const c = this.runtime.counters;
    const gossipFrames = this.wire.gossipFrames;
    const gossipBytes = this.wire.gossipBytes;
    return {
      ...this.wire.statsIn,
      messagesIn: c.messagesIn,
      streamErrors: c.streamErrors,
      replicationRejected: c.replicationRejected,
      framesOut: b.frames + gossipFrames,
      bytesOut: b.frameBytes + gossipBytes,
      byClass: {
        framesOut: { ...b.framesByClass, membership: b.framesByClass.membership + gossipFrames },
        bytesOut: { ...b.bytesOut, membership: b.bytesOut.membership + gossipBytes },
        messagesOut: { ...b.messagesOut },
        dropped: { ...b.dropped },
        messagesIn: { ...c.messagesInByClass },
      },
      rejected: Object.fromEntries(
        Object.entries(this.decoder.rejected).map(([reason, n]) => [reason, n + (this.streamDecoder.rejected[reason as keyof typeof this.streamDecoder.rejected] ?? 0)]),
      ),
    };
  }
}
