import { encodeMeta, validateMeta } from '../internal.js';
import type { ChannelEvents, ClusterNode } from '../internal.js';

/** Load figures the agent measures itself and advertises in `meta.load`. */
export interface AutoLoad {
  /** Presence clients connected on this node (all channels). */
  clients: number;
  /** Open event streams on this node (SSE and WebSocket). */
  streams: number;
  /** Messages published through this node per second, over the last report interval (one decimal). */
  publishRate: number;
}

/** The automatic figures of an agent that just started. */
export const ZERO_LOAD: Readonly<AutoLoad> = { clients: 0, streams: 0, publishRate: 0 };

/** Options of {@link LoadReporter}. */
export interface LoadReporterOptions {
  node: ClusterNode;
  /** Open event streams right now. */
  streams: () => number;
  /** Shortest time between two metadata updates, ms. @default 1000 */
  intervalMs?: number;
  /** Advertise the automatic figures; false advertises the custom ones only. @default true */
  auto?: boolean;
}

/**
 * Advertises this node's load in its membership metadata so `GET /v1/brokers` on every
 * node lists brokers least loaded first. Every `intervalMs` it computes the automatic
 * figures, overlays the custom ones the application set (a custom figure of the same name
 * wins: the application knows its own clients best) and updates the metadata only when
 * something changed. Each update costs one incarnation and one gossip broadcast to the
 * whole cluster, hence the floor on the interval.
 */
export class LoadReporter {
  private readonly local = new Set<string>();
  private custom: Record<string, number> = {};
  private published = '';
  private publishes = 0;
  private lastTick: number;
  private rate = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly autoOn: boolean;
  /** Metadata updates made (each one an incarnation and a broadcast). */
  updates = 0;
  /** Last error of a metadata update (e.g. over the size limit), until one succeeds. */
  lastError: string | undefined;

  constructor(private readonly opts: LoadReporterOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.autoOn = opts.auto ?? true;
    this.lastTick = Date.now();
    const self = opts.node.name;
    // what the node started with counts as published: no update until a figure changes
    this.published = JSON.stringify(opts.node.membership.member(self)?.meta.load ?? {});
    const events = opts.node.channelEvents;
    const key = (e: { channel: string; clientId: string }): string => `${e.channel}\u0000${e.clientId}`;
    // a client id may move between nodes (client-update with another node): track ours only
    const upsert = (e: ChannelEvents['client-join']): void => {
      if (e.node === self) this.local.add(key(e));
      else this.local.delete(key(e));
    };
    events.on('client-join', upsert);
    events.on('client-update', upsert);
    events.on('client-leave', (e) => void this.local.delete(key(e)));
    events.on('message', (e) => {
      if (e.message.node === self) this.publishes++;
    });
  }

  /** Starts the periodic updates. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The automatic figures as of the last tick (publishRate) and now (the rest). */
  auto(): AutoLoad {
    return { clients: this.local.size, streams: this.opts.streams(), publishRate: this.rate };
  }

  /** What the agent advertises (or will at the next tick): automatic figures overlaid with the custom ones. */
  current(): Record<string, number> {
    return this.autoOn ? { ...this.auto(), ...this.custom } : { ...this.custom };
  }

  get customLoad(): Record<string, number> {
    return { ...this.custom };
  }

  /**
   * Replaces the custom figures; they are advertised at the next tick (the interval bounds
   * the update rate whoever asks). Throws ClusterError E_INVALID_ARGUMENT (bad key or
   * value) or E_LIMIT (the metadata would exceed the cluster's size limit); nothing
   * changes then.
   */
  setCustom(load: Record<string, number>): void {
    validateMeta({ roles: [], tags: {}, endpoints: {}, load });
    const { node } = this.opts;
    const meta = node.membership.member(node.name)?.meta;
    const next = { ...(this.autoOn ? this.auto() : {}), ...load };
    // the automatic figures are small numbers; their width can grow by a few digits later
    if (meta) encodeMeta({ ...meta, load: next }, node.options.maxMetaSize - (this.autoOn ? 32 : 0));
    this.custom = { ...load };
  }

  /** One report: recompute, and update the metadata when a figure changed. */
  tick(now = Date.now()): void {
    const secs = (now - this.lastTick) / 1000;
    if (secs > 0) this.rate = Math.round((this.publishes / secs) * 10) / 10;
    this.publishes = 0;
    this.lastTick = now;
    try {
      this.publish();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  private publish(): void {
    const load = this.current();
    const text = JSON.stringify(load);
    if (text === this.published) return;
    this.opts.node.updateMeta({ load });
    this.published = text;
    this.updates++;
  }
}
