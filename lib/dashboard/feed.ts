import { ApiError, UnreachableError } from '../client/api-client.js';
import type { ApiClient } from '../client/api-client.js';
import { asBrokers, asChannels, asExplanation, asMember, asMembers, asMessage, asMessages, asPresence, asSelf, asSync } from './api-types.js';
import type { ApiClientEntry, ApiMessage } from './api-types.js';
import { agentCounters, parsePrometheus } from '../client/prometheus.js';
import type { AgentCounters } from '../client/prometheus.js';
import type { SseEvent } from '../client/sse.js';
import type { DashState } from './state.js';

/** Options of {@link Feed}. */
export interface FeedOptions {
  /** Sampling period of health, sync and metrics (one sparkline sample each), ms. @default 1000 */
  sampleMs?: number;
  /**
   * Period of the full member, broker and channel lists while the event stream is live,
   * ms. The stream carries state changes; the lists refresh RTTs, load and counts. While
   * the stream is down they are read every sample instead (the polling fallback). @default 3000
   */
  listMs?: number;
  /** Latest messages shown for a selected channel. @default 20 */
  channelMessages?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

/**
 * Keeps a {@link DashState} up to date from an agent: the event stream for live changes,
 * periodic reads for everything else, and polling of the lists as the fallback while the
 * stream is down. Every failure ends up as state (unreachable, needs a token, route not
 * available), never as an exception.
 */
export class Feed {
  private timer: NodeJS.Timeout | undefined;
  private stream: { close: () => void } | undefined;
  private streamLive = false;
  private busy = false;
  private lastLists = -Infinity;
  private stopped = false;
  private readonly soonTimers = new Map<string, NodeJS.Timeout>();
  private readonly sampleMs: number;
  private readonly listMs: number;
  private readonly channelMessages: number;
  private readonly now: () => number;

  constructor(
    private readonly client: ApiClient,
    private readonly state: DashState,
    opts: FeedOptions = {},
  ) {
    this.sampleMs = opts.sampleMs ?? 1000;
    this.listMs = opts.listMs ?? 3000;
    this.channelMessages = opts.channelMessages ?? 20;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.stream = this.client.follow({
      onOpen: () => {
        this.streamLive = true;
        if (this.state.connection.status !== 'unreachable') this.state.setConnection({ status: 'live' }, this.now());
        // whatever happened while the stream was down is in the lists, not in the stream
        this.lastLists = -Infinity;
        this.soon('lists', 0, () => this.refreshLists());
      },
      onEvent: (e) => this.onEvent(e),
      onDown: (reason) => {
        this.streamLive = false;
        if (this.state.connection.status === 'live' || this.state.connection.status === 'connecting') {
          this.state.setConnection({ status: 'polling', reason }, this.now());
        }
      },
    });
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.sampleMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const t of this.soonTimers.values()) clearTimeout(t);
    this.soonTimers.clear();
    this.stream?.close();
  }

  /** Loads why the member the overlay shows is in its state (Enter on a member). */
  openMember(name: string): void {
    void this.refreshMember(name);
  }

  /** Loads the channel the overlay shows now (Enter on a channel). */
  openChannel(channel: string): void {
    void this.refreshDetail(channel);
  }

  /** One sampling period: self, sync and metrics; the lists when due. */
  private async tick(): Promise<void> {
    // a slow agent must not make requests pile up: skip a period while one is in flight
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const now = this.now();
      let self: unknown;
      try {
        self = await this.client.getJson('/v1/self');
      } catch (err) {
        this.failed(err);
        this.state.sampleActivity(undefined, undefined, now);
        return;
      }
      this.state.setSelf(asSelf(self), now);
      const c = this.state.connection.status;
      if (c === 'unreachable' || c === 'connecting' || (c === 'live') !== this.streamLive) {
        this.state.setConnection(this.streamLive ? { status: 'live' } : { status: 'polling', reason: 'event stream reconnecting' }, now);
        if (c === 'unreachable') this.lastLists = -Infinity;
      }
      const [metrics, sync] = await Promise.all([this.metrics(), this.sync()]);
      const sessions = sync?.sessions ? sync.sessions.merkle + sync.sessions.bulk + sync.sessions.deltaCatchUps : undefined;
      this.state.sampleActivity(metrics, sessions, this.now());
      if (!this.streamLive || this.now() - this.lastLists >= this.listMs) await this.refreshLists();
      const detail = this.state.detailChannel;
      if (detail !== undefined) await this.refreshDetail(detail);
      const member = this.state.detailMember;
      if (member !== undefined) await this.refreshMember(member);
    } finally {
      this.busy = false;
    }
  }

  private async metrics(): Promise<AgentCounters | undefined> {
    try {
      return agentCounters(parsePrometheus(await this.client.getText('/metrics')));
    } catch (err) {
      this.failed(err, false);
      return undefined;
    }
  }

  private async sync(): Promise<ReturnType<typeof asSync> | undefined> {
    try {
      const s = asSync(await this.client.getJson('/v1/sync'));
      this.state.setSync(s);
      return s;
    } catch (err) {
      if (err instanceof ApiError && err.status !== 401) this.state.setSync('n/a');
      else this.failed(err, false);
      return undefined;
    }
  }

  private async refreshLists(): Promise<void> {
    this.lastLists = this.now();
    try {
      const [members, brokers] = await Promise.all([this.client.getJson('/v1/members'), this.client.getJson('/v1/brokers')]);
      const now = this.now();
      this.state.setMembers(asMembers(members), now);
      this.state.setBrokers(asBrokers(brokers), now);
    } catch (err) {
      this.failed(err, false);
      return;
    }
    await this.refreshChannels();
  }

  private async refreshChannels(): Promise<void> {
    try {
      this.state.setChannels(asChannels(await this.client.getJson('/v1/channels')));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 503 || err.status === 404)) this.state.setChannels('unavailable');
      else this.failed(err, false);
    }
  }

  private async refreshMember(name: string): Promise<void> {
    try {
      const body = asExplanation(await this.client.getJson(`/v1/members/${encodeURIComponent(name)}`));
      this.state.setMemberEvidence(name, body ?? 'unavailable');
    } catch (err) {
      // an agent without the route, or a member reaped meanwhile: the table part still shows
      if (err instanceof ApiError && err.status !== 401) this.state.setMemberEvidence(name, 'unavailable');
      else this.failed(err, false);
    }
  }

  private async refreshDetail(channel: string): Promise<void> {
    const path = `/v1/channels/${encodeURIComponent(channel)}`;
    const read = async <T>(p: string, as: (b: unknown) => T): Promise<T | 'unavailable'> => {
      try {
        return as(await this.client.getJson(p));
      } catch (err) {
        if (err instanceof ApiError && err.status !== 401) return 'unavailable';
        throw err;
      }
    };
    try {
      const [presence, messages] = await Promise.all([
        read<ApiClientEntry[]>(`${path}/presence`, asPresence),
        read<ApiMessage[]>(`${path}/messages?limit=${this.channelMessages}`, asMessages),
      ]);
      this.state.setChannelDetail(channel, presence, messages);
    } catch (err) {
      this.failed(err, false);
    }
  }

  private onEvent(e: SseEvent): void {
    if (e.type === 'reset') {
      // the agent restarted or the cursor expired: events were lost, re-read everything
      let reason = 'unknown';
      try {
        reason = String((JSON.parse(e.data) as { reason?: unknown }).reason ?? reason);
      } catch {
        // keep unknown
      }
      this.state.addLog(this.now(), 'agent', reason === 'agent-restarted' ? 'agent restarted: events missed while away were re-read' : `event stream reset (${reason}): state re-read`);
      this.soon('lists', 0, () => this.refreshLists());
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    if (e.type.startsWith('member-')) {
      const m = asMember(data);
      if (!m) return;
      this.state.applyMemberEvent(e.type, m, this.now());
      // broker lists derive from membership: re-read them when a broker's membership moves
      if (m.roles.includes('broker') || this.state.brokers.some((b) => b.name === m.name)) this.soon('brokers', 200, () => this.refreshBrokers());
      return;
    }
    const d = (typeof data === 'object' && data !== null ? data : {}) as { channel?: unknown; message?: unknown };
    const channel = typeof d.channel === 'string' ? d.channel : undefined;
    if (e.type === 'message') {
      const message = typeof d.message === 'object' && d.message !== null ? asMessage(d.message as Record<string, unknown>) : undefined;
      this.state.noteMessage(channel, message);
      this.soon('channels', 500, () => this.refreshChannels());
      return;
    }
    // presence: counts and the open channel's list change
    this.soon('channels', 300, () => this.refreshChannels());
    if (channel !== undefined && channel === this.state.detailChannel) this.soon('detail', 200, () => this.refreshDetail(channel));
  }

  private async refreshBrokers(): Promise<void> {
    try {
      this.state.setBrokers(asBrokers(await this.client.getJson('/v1/brokers')), this.now());
    } catch (err) {
      this.failed(err, false);
    }
  }

  /** Runs `fn` once after `ms`, coalescing calls with the same key (bursts of events). */
  private soon(key: string, ms: number, fn: () => Promise<void>): void {
    if (this.soonTimers.has(key) || this.stopped) return;
    const t = setTimeout(() => {
      this.soonTimers.delete(key);
      void fn();
    }, ms);
    t.unref();
    this.soonTimers.set(key, t);
  }

  /** Turns a failed request into state. `primary`: the reachability probe of the period. */
  private failed(err: unknown, primary = true): void {
    if (err instanceof UnreachableError) {
      if (primary) this.state.setConnection({ status: 'unreachable', reason: err.message, retryAt: this.now() + this.sampleMs }, this.now());
      return;
    }
    if (err instanceof ApiError && err.status === 401) {
      this.state.setAuthProblem(`${err.message}: pass --token TOKEN (or set CLUSTERD_TOKEN)`);
      return;
    }
    if (primary && err instanceof ApiError) {
      this.state.addLog(this.now(), 'error', `agent answered ${err.status}: ${err.message}`);
    }
  }
}
