import type { Clock, Timer } from './clock.js';
import { APP_WIRE_LIMITS, encodeAppMessageTrusted } from './codec/app-messages.js';
import type { AppMessage } from './codec/app-messages.js';
import { ClusterError } from './errors.js';
import type { FramedStream } from './replication/framed-stream.js';
import type { Membership } from './swim/membership.js';
import type { Address, Stream } from './transport/transport.js';

/** Options of a node's application messages ({@link AppMessages}). */
export interface AppMessagesOptions {
  /** Largest body `send` and `broadcast` accept, in bytes (at most 8 MiB). @default 4194304 */
  maxMessageBytes?: number;
  /**
   * Bytes waiting for one peer (its stream being dialled or its send buffer full) before
   * further messages to it are dropped and counted. @default 16777216
   */
  maxQueueBytes?: number;
  /**
   * Delay between the first message of a batch and its sending, in ms. Unset, messages
   * leave with the node's batch flush (every `flushIntervalMs`, 100 ms by default, so
   * 50 ms on average); a small value (e.g. 5) trades frames for latency.
   * @default undefined
   */
  flushDelayMs?: number;
}

/** Counters of {@link AppMessages}. */
export interface AppMessageStats {
  messagesOut: number;
  /** Frame bytes handed to peers' streams (deflated, sealed). */
  bytesOut: number;
  framesOut: number;
  messagesIn: number;
  bytesIn: number;
  /** Messages not sent: the peer's queue was full, or its stream could not be opened or broke. */
  dropped: number;
  /** Messages received from a node that is not a live member (or claims to be us). */
  rejected: number;
  /** Messages received on a topic nobody subscribed to here. */
  unrouted: number;
}

/** What {@link AppMessages} needs of the runtime. */
export interface AppMessagesHost {
  name: string;
  clock: Clock;
  membership: Membership;
  /** Opens a framed stream to a peer. */
  dial(to: Address): Promise<FramedStream>;
  /** Builds one stream frame of encoded messages (once for every peer of a broadcast). */
  frame(messages: Uint8Array[]): Uint8Array;
}

/** One frame ready for a stream: `count` messages of `bytes` encoded bytes. */
interface OutFrame {
  frame: Uint8Array;
  count: number;
  bytes: number;
}

/** Handles the messages of one topic: `body` is the sender's bytes, `from` its node name. */
export type AppMessageHandler = (body: Uint8Array, from: string) => void;

/** Messages of one batch: for one peer (`to`), or a broadcast to every peer (with `role`, if set). */
interface Pending {
  bytes: Uint8Array;
  to: string | undefined;
  role: string | undefined;
}

/** A live member as messages see it. */
interface Peer {
  name: string;
  roles: readonly string[];
}

/** The outgoing stream to one peer and what waits for it. */
interface Link {
  stream: FramedStream | undefined;
  dialing: boolean;
  frames: OutFrame[];
  queuedBytes: number;
}

const MAX_TOPICS = 1024;
// messages of one frame: a frame is decoded (and inflated) whole, so keep it moderate
const FRAME_BATCH_BYTES = 1024 * 1024;
// and the frame decoder caps an array (the frame's list of messages) at 65,536 items
const FRAME_BATCH_COUNT = 10_000;

/**
 * Reliable, ordered messages between nodes, for applications (the Socket.IO adapter):
 * `send` to one member, `broadcast` to every live member. Messages of a batch window
 * travel together in frames (label, deflate, encryption like every frame) on one TCP
 * stream per peer, so they arrive in order, exactly once, while the peer stays up;
 * nothing is stored or retried: a message queued for a peer that dies or whose stream
 * breaks is dropped and counted (at-most-once, like Redis pub/sub).
 */
export class AppMessages {
  private readonly handlers = new Map<string, AppMessageHandler>();
  private readonly links = new Map<string, Link>();
  private readonly inbound = new Map<string, Set<Stream>>();
  private pending: Pending[] = [];
  // a batch of plain broadcasts goes out as the same frames to every peer
  private pendingShared = true;
  private peerCache: Peer[] | undefined;
  private peerNames = new Set<string>();
  private timer: Timer | undefined;
  private running = true;
  private readonly maxMessageBytes: number;
  private readonly maxQueueBytes: number;
  private readonly flushDelayMs: number | undefined;
  private readonly counters: AppMessageStats = { messagesOut: 0, bytesOut: 0, framesOut: 0, messagesIn: 0, bytesIn: 0, dropped: 0, rejected: 0, unrouted: 0 };

  constructor(
    private readonly host: AppMessagesHost,
    options: AppMessagesOptions = {},
  ) {
    this.maxMessageBytes = bounded('maxMessageBytes', options.maxMessageBytes ?? 4 * 1024 * 1024, 0, APP_WIRE_LIMITS.maxBodyBytes);
    this.maxQueueBytes = bounded('maxQueueBytes', options.maxQueueBytes ?? 16 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER);
    this.flushDelayMs = options.flushDelayMs === undefined ? undefined : bounded('flushDelayMs', options.flushDelayMs, 0, 60_000);
    const gone = (name: string): void => this.memberGone(name);
    host.membership.on('member-dead', (m) => gone(m.name));
    host.membership.on('member-leave', (m) => gone(m.name));
    host.membership.onAny(() => {
      this.peerCache = undefined;
    });
  }

  /**
   * Sets the handler of `topic` (one per topic; a second `on` replaces the first).
   * Returns the function that removes it.
   */
  on(topic: string, handler: AppMessageHandler): () => void {
    checkTopic(topic);
    if (!this.handlers.has(topic) && this.handlers.size >= MAX_TOPICS) throw new ClusterError('E_LIMIT', `at most ${MAX_TOPICS} app message topics`);
    this.handlers.set(topic, handler);
    return () => {
      if (this.handlers.get(topic) === handler) this.handlers.delete(topic);
    };
  }

  /**
   * The live members messages go to: alive or suspect, not this node; with `role`, only
   * those advertising it in their metadata. A member declared dead or gone leaves the
   * list as soon as this node learns it.
   */
  peers(role?: string): string[] {
    const out: string[] = [];
    for (const p of this.livePeers()) if (role === undefined || p.roles.includes(role)) out.push(p.name);
    return out;
  }

  /**
   * Queues `body` for every live member (advertising `role`, when given), sent with the
   * next batch. Returns how many members it goes to as of now.
   */
  broadcast(topic: string, body: Uint8Array, role?: string): number {
    this.enqueue(topic, body, undefined, role);
    let n = 0;
    for (const p of this.livePeers()) if (role === undefined || p.roles.includes(role)) n++;
    return n;
  }

  /** Queues `body` for `to`. False when `to` is not a live member (nothing is queued). */
  send(to: string, topic: string, body: Uint8Array): boolean {
    if (!this.live(to)) return false;
    this.enqueue(topic, body, to, undefined);
    return true;
  }

  get stats(): AppMessageStats {
    return { ...this.counters };
  }

  /** Sends the batch (the runtime calls this on its flush tick). */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const pending = this.pending;
    const shared = this.pendingShared;
    this.pending = [];
    this.pendingShared = true;
    const peers = this.livePeers();
    if (shared) {
      // broadcasts to everyone only (the common case): the same frames for every peer
      const frames = this.frames(pending);
      for (const peer of peers) for (const f of frames) this.sendFrame(peer.name, f);
      return;
    }
    // peers that get the same messages share their frames (e.g. every socket.io server)
    const groups = new Map<string, { peers: string[]; items: Pending[] }>();
    for (const peer of peers) {
      const items: Pending[] = [];
      const key: number[] = [];
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        if (p.to === undefined ? p.role === undefined || peer.roles.includes(p.role) : p.to === peer.name) {
          items.push(p);
          key.push(i);
        }
      }
      if (items.length === 0) continue;
      const k = key.join(',');
      const g = groups.get(k);
      if (g) g.peers.push(peer.name);
      else groups.set(k, { peers: [peer.name], items });
    }
    for (const g of groups.values()) {
      const frames = this.frames(g.items);
      for (const name of g.peers) for (const f of frames) this.sendFrame(name, f);
    }
  }

  /** A message from the wire (the runtime has decoded and validated its frame). */
  handle(m: AppMessage): void {
    if (m.from === this.host.name || !this.live(m.from)) {
      // a node declared dead no longer counts: what it still sends is refused, not applied
      this.counters.rejected++;
      return;
    }
    this.counters.messagesIn++;
    this.counters.bytesIn += m.body.length;
    const handler = this.handlers.get(m.topic);
    if (!handler) {
      this.counters.unrouted++;
      return;
    }
    try {
      handler(m.body, m.from);
    } catch {
      // a handler's bug must not break the stream loop (handlers count their own errors)
    }
  }

  /**
   * An inbound stream carries `from`'s messages (its first one named it): it lives as long
   * as the sender keeps it, and is closed here when the sender is declared dead or leaves.
   */
  adoptInbound(stream: Stream, from: string): void {
    let set = this.inbound.get(from);
    if (!set) this.inbound.set(from, (set = new Set()));
    const s = set;
    s.add(stream);
    stream.onClose(() => {
      s.delete(stream);
      if (s.size === 0 && this.inbound.get(from) === s) this.inbound.delete(from);
    });
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.pending = [];
    for (const name of [...this.links.keys()]) this.closeLink(name);
  }

  // ── internals ────────────────────────────────────────────────────────────────

  private livePeers(): Peer[] {
    if (this.peerCache) return this.peerCache;
    const out: Peer[] = [];
    for (const m of this.host.membership.members()) {
      if (m.name !== this.host.name && (m.state === 'alive' || m.state === 'suspect')) out.push({ name: m.name, roles: m.meta.roles });
    }
    this.peerNames = new Set(out.map((p) => p.name));
    return (this.peerCache = out);
  }

  private enqueue(topic: string, body: Uint8Array, to: string | undefined, role: string | undefined): void {
    checkTopic(topic);
    if (!(body instanceof Uint8Array)) throw new ClusterError('E_INVALID_ARGUMENT', 'app message body must be a Uint8Array');
    if (body.length > this.maxMessageBytes) {
      throw new ClusterError('E_LIMIT', `app message body of ${body.length} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`);
    }
    if (!this.running) throw new ClusterError('E_CLOSED', 'node is closed');
    this.pending.push({ bytes: encodeAppMessageTrusted(this.host.name, topic, body), to, role });
    if (to !== undefined || role !== undefined) this.pendingShared = false;
    if (this.flushDelayMs !== undefined && !this.timer) this.timer = this.host.clock.setTimer(this.flushDelayMs, () => this.flush());
  }

  private live(name: string): boolean {
    this.livePeers();
    return this.peerNames.has(name);
  }

  /** Splits one window's messages into frames of at most FRAME_BATCH_BYTES (one message may exceed it alone). */
  private frames(pending: Pending[]): OutFrame[] {
    const out: OutFrame[] = [];
    let cur: Uint8Array[] = [];
    let bytes = 0;
    const emit = (): void => {
      out.push({ frame: this.host.frame(cur), count: cur.length, bytes });
      cur = [];
      bytes = 0;
    };
    for (const p of pending) {
      if (cur.length > 0 && (bytes + p.bytes.length > FRAME_BATCH_BYTES || cur.length >= FRAME_BATCH_COUNT)) emit();
      cur.push(p.bytes);
      bytes += p.bytes.length;
    }
    if (cur.length > 0) emit();
    return out;
  }

  private sendFrame(peer: string, f: OutFrame): void {
    const addr = this.host.membership.member(peer)?.address;
    if (addr === undefined) return;
    let link = this.links.get(peer);
    if (!link) this.links.set(peer, (link = { stream: undefined, dialing: false, frames: [], queuedBytes: 0 }));
    if (link.stream && !link.stream.isClosed && link.frames.length === 0 && link.stream.sendFrame(f.frame)) {
      this.sent(f);
      return;
    }
    if (link.queuedBytes + f.frame.length > this.maxQueueBytes) {
      // the peer cannot keep up (or cannot be reached): what does not fit is lost, counted
      this.counters.dropped += f.count;
      return;
    }
    link.frames.push(f);
    link.queuedBytes += f.frame.length;
    if ((link.stream && !link.stream.isClosed) || link.dialing) return;
    link.dialing = true;
    const l = link;
    this.host.dial(addr).then(
      (stream) => {
        l.dialing = false;
        if (!this.running || this.links.get(peer) !== l) return stream.close();
        l.stream = stream;
        // the other end never writes on our stream; anything it sends is ignored
        stream.onMessages(() => {});
        stream.onDrain(() => this.drain(l));
        stream.onClose(() => {
          if (l.stream !== stream) return;
          l.stream = undefined;
          // frames still queued would go to a new stream after a gap: drop them instead
          this.dropQueued(l);
        });
        this.drain(l);
      },
      () => {
        l.dialing = false;
        this.dropQueued(l);
      },
    );
  }

  private drain(l: Link): void {
    while (l.stream && !l.stream.isClosed && l.frames.length > 0) {
      const f = l.frames[0]!;
      if (!l.stream.sendFrame(f.frame)) return;
      l.frames.shift();
      l.queuedBytes -= f.frame.length;
      this.sent(f);
    }
  }

  private sent(f: OutFrame): void {
    this.counters.messagesOut += f.count;
    this.counters.bytesOut += f.frame.length;
    this.counters.framesOut++;
  }

  private dropQueued(l: Link): void {
    for (const f of l.frames) this.counters.dropped += f.count;
    l.frames = [];
    l.queuedBytes = 0;
  }

  private closeLink(name: string): void {
    const l = this.links.get(name);
    if (!l) return;
    this.links.delete(name);
    this.dropQueued(l);
    l.stream?.close();
  }

  private memberGone(name: string): void {
    this.closeLink(name);
    for (const s of this.inbound.get(name) ?? []) s.close();
    this.inbound.delete(name);
  }
}

function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || Buffer.byteLength(topic) > APP_WIRE_LIMITS.maxTopicBytes) {
    throw new ClusterError('E_INVALID_ARGUMENT', `app message topic must be 1 to ${APP_WIRE_LIMITS.maxTopicBytes} bytes of UTF-8`);
  }
}

function bounded(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ClusterError('E_CONFIG', `app messages ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}
