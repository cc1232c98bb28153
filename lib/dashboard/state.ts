import type { ApiBroker, ApiChannel, ApiClientEntry, ApiMember, ApiMessage, ApiSelf, ApiSync, MemberState } from './api-types.js';
import type { ExplainBody } from '../cli/explain-render.js';
import { clean, pairs } from './format.js';
import type { MemberRow, SortSpec } from './members-view.js';
import { nextSortColumn, viewMembers } from './members-view.js';
import type { AgentCounters } from '../client/prometheus.js';
import { EventCounter, RateTracker, Series } from './series.js';

/** Kinds of event log lines (they pick the colour). */
export type LogKind = 'join' | 'suspect' | 'dead' | 'alive' | 'leave' | 'reaped' | 'broker' | 'agent' | 'error';

/** One line of the event log. */
export interface LogEntry {
  at: number;
  kind: LogKind;
  text: string;
}

/** How the dashboard is connected to the agent. */
export type Connection =
  | { status: 'connecting' }
  | { status: 'live' }
  /** HTTP answers but the event stream is down: updates come from polling. */
  | { status: 'polling'; reason: string }
  | { status: 'unreachable'; reason: string; retryAt: number };

/** Which panel the arrow keys move in. */
export type Focus = 'members' | 'channels' | 'events';
export const FOCUS_ORDER: readonly Focus[] = ['members', 'channels', 'events'];

/** A modal view over the panels. */
export type Overlay = { kind: 'none' } | { kind: 'help' } | { kind: 'member'; name: string } | { kind: 'channel'; channel: string };

/** What the channel detail overlay shows. */
export interface ChannelDetail {
  channel: string;
  presence: ApiClientEntry[] | 'unavailable' | undefined;
  messages: ApiMessage[] | 'unavailable' | undefined;
}

/** Options of {@link DashState}. */
export interface DashStateOptions {
  /** Lines the event log keeps. @default 1000 */
  logCapacity?: number;
  /** Samples each sparkline keeps. @default 240 */
  seriesCapacity?: number;
  /** Latest messages kept for the selected channel. @default 50 */
  channelMessages?: number;
}

/**
 * The dashboard's view-model: everything the screen shows, derived from API answers and
 * stream events, plus the view state (sort, filter, selection, focus, overlay). Pure: no
 * I/O, no timers, time passed in as `now`. Every mutation bumps {@link version}, which the
 * render loop compares to decide whether to draw.
 */
export class DashState {
  version = 0;
  /** Called after every change (the render loop requests a draw). @default undefined */
  onChange: (() => void) | undefined;
  readonly agent: string;
  connection: Connection = { status: 'connecting' };
  self: ApiSelf | undefined;
  /** `/v1/sync` answer, or 'n/a' when the route has no data (503, 404). */
  sync: ApiSync | 'n/a' | undefined;
  /** Set when the agent refused us for want of a token. */
  authProblem: string | undefined;

  private readonly members = new Map<string, MemberRow>();
  private view: MemberRow[] | undefined;
  brokers: ApiBroker[] = [];
  private brokersLoaded = false;
  /** Channels, or 'unavailable' when the routes answer 503 (replication not wired). */
  channels: ApiChannel[] | 'unavailable' | undefined;
  channelDetail: ChannelDetail | undefined;

  readonly log: LogEntry[] = [];
  private readonly logCapacity: number;
  private readonly channelMessagesCap: number;

  // rates
  private readonly frameRate = new RateTracker();
  private readonly byteRate = new RateTracker();
  private readonly sessionRate = new RateTracker();
  private readonly messageCounter = new EventCounter();
  framesPerSecond: number | undefined;
  bytesPerSecond: number | undefined;
  readonly messagesSeries: Series;
  readonly bytesSeries: Series;
  readonly sessionsSeries: Series;

  // view state
  sort: SortSpec = { column: 'name', descending: false };
  filter = '';
  /** True while the user types a filter after `/`. */
  editingFilter = false;
  selectedMember: string | undefined;
  memberTop = 0;
  selectedChannel = 0;
  channelTop = 0;
  /** Lines scrolled back from the newest in the event log (0 follows the tail). */
  logScroll = 0;
  focus: Focus = 'members';
  overlay: Overlay = { kind: 'none' };
  /** Why the member the overlay shows is in its state, once loaded (undefined: loading). */
  memberEvidence: { name: string; body: ExplainBody | 'unavailable' } | undefined = undefined;
  /** Lines scrolled in the overlay. */
  overlayScroll = 0;

  constructor(agent: string, opts: DashStateOptions = {}) {
    this.agent = agent;
    this.logCapacity = opts.logCapacity ?? 1000;
    this.channelMessagesCap = opts.channelMessages ?? 50;
    this.messagesSeries = new Series(opts.seriesCapacity ?? 240);
    this.bytesSeries = new Series(opts.seriesCapacity ?? 240);
    this.sessionsSeries = new Series(opts.seriesCapacity ?? 240);
  }

  private touch(): void {
    this.version++;
    this.onChange?.();
  }

  // ------------------------------------------------------------------ connection

  setConnection(c: Connection, now: number): void {
    const was = this.connection.status;
    this.connection = c;
    if (c.status === 'unreachable' && was !== 'unreachable') {
      this.addLog(now, 'error', `agent unreachable: ${c.reason}`);
      // rates across an outage would average over it: start again when it is back
      this.frameRate.reset();
      this.byteRate.reset();
      this.sessionRate.reset();
      this.framesPerSecond = undefined;
      this.bytesPerSecond = undefined;
    } else if (was === 'unreachable' && c.status !== 'unreachable' && c.status !== 'connecting') {
      this.addLog(now, 'agent', 'agent reachable again');
    }
    this.touch();
  }

  /** Records `/v1/self`; a new pid means the agent restarted under us. */
  setSelf(self: ApiSelf, now: number): void {
    if (this.self?.pid !== undefined && self.pid !== undefined && self.pid !== this.self.pid) {
      this.addLog(now, 'agent', `agent restarted (pid ${this.self.pid} → ${self.pid})`);
    }
    this.self = self;
    this.authProblem = undefined;
    this.touch();
  }

  setSync(sync: ApiSync | 'n/a'): void {
    this.sync = sync;
    this.touch();
  }

  setAuthProblem(message: string | undefined): void {
    this.authProblem = message;
    this.touch();
  }

  // ------------------------------------------------------------------ members

  /** Replaces the member list with a full answer of `GET /v1/members` read at `now`. */
  setMembers(list: readonly ApiMember[], now: number): void {
    const seen = new Set<string>();
    for (const m of list) {
      seen.add(m.name);
      this.members.set(m.name, { ...m, enteredAt: now - m.sinceMs });
    }
    for (const name of [...this.members.keys()]) if (!seen.has(name)) this.members.delete(name);
    this.view = undefined;
    this.touch();
  }

  /** Applies a `member-*` event of the stream (the member as it is after the event). */
  applyMemberEvent(type: string, m: ApiMember, now: number): void {
    const before = this.members.get(m.name);
    if (type === 'member-reaped') this.members.delete(m.name);
    else this.members.set(m.name, { ...m, enteredAt: now - m.sinceMs });
    this.view = undefined;
    const who = `${clean(m.name)} (${clean(m.address)}, inc ${m.incarnation})`;
    switch (type) {
      case 'member-join':
        this.addLog(now, 'join', `${who} joined`);
        break;
      case 'member-suspect':
        this.addLog(now, 'suspect', `${who} is suspect`);
        break;
      case 'member-alive':
        this.addLog(now, 'alive', before?.state === 'suspect' ? `${who} refuted the suspicion` : `${who} is alive again`);
        break;
      case 'member-dead':
        this.addLog(now, 'dead', `${who} is dead`);
        break;
      case 'member-leave':
        this.addLog(now, 'leave', `${who} left`);
        break;
      case 'member-reaped':
        this.addLog(now, 'reaped', `${who} was reaped`);
        break;
      default:
        // member-update: metadata changed (load figures move often): the panels show it, the log does not
        break;
    }
    this.touch();
  }

  member(name: string): MemberRow | undefined {
    return this.members.get(name);
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Members per state. */
  counts(): Record<MemberState, number> {
    const c = { alive: 0, suspect: 0, dead: 0, left: 0 } as Record<MemberState, number>;
    for (const m of this.members.values()) c[m.state]++;
    return c;
  }

  /** The filtered, sorted member list (cached until members, filter or sort change). */
  visibleMembers(): MemberRow[] {
    this.view ??= viewMembers(this.members.values(), this.filter, this.sort);
    return this.view;
  }

  /** Index of the selected member in {@link visibleMembers} (0 when none is selected or it was filtered out). */
  selectedIndex(): number {
    const list = this.visibleMembers();
    if (this.selectedMember === undefined) return 0;
    const i = list.findIndex((m) => m.name === this.selectedMember);
    return i < 0 ? 0 : i;
  }

  /** Cycles the sort column (`s`); `reverse` flips the direction (`S`). */
  cycleSort(reverse = false): void {
    if (reverse) this.sort = { ...this.sort, descending: !this.sort.descending };
    else this.sort = { column: nextSortColumn(this.sort.column), descending: false };
    this.view = undefined;
    this.touch();
  }

  setFilter(text: string): void {
    this.filter = text;
    this.view = undefined;
    this.memberTop = 0;
    this.touch();
  }

  startFilter(): void {
    this.editingFilter = true;
    this.touch();
  }

  /** Ends filter editing; `keep` false also clears the filter (Escape). */
  endFilter(keep: boolean): void {
    this.editingFilter = false;
    if (!keep) this.setFilter('');
    this.touch();
  }

  /** Moves the selection in the focused panel by `delta` rows (clamped). */
  move(delta: number): void {
    if (this.overlay.kind !== 'none') {
      this.overlayScroll = Math.max(0, this.overlayScroll + delta);
    } else if (this.focus === 'members') {
      const list = this.visibleMembers();
      if (list.length === 0) return;
      const i = Math.max(0, Math.min(list.length - 1, this.selectedIndex() + delta));
      this.selectedMember = list[i]!.name;
    } else if (this.focus === 'channels') {
      const n = Array.isArray(this.channels) ? this.channels.length : 0;
      this.selectedChannel = Math.max(0, Math.min(Math.max(0, n - 1), this.selectedChannel + delta));
    } else {
      // the log scrolls back from its tail: "up" goes back in time
      this.logScroll = Math.max(0, Math.min(Math.max(0, this.log.length - 1), this.logScroll - delta));
    }
    this.touch();
  }

  /** Moves to the first (`start`) or last row of the focused panel. */
  jump(start: boolean): void {
    this.move(start ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER);
  }

  cycleFocus(): void {
    this.focus = FOCUS_ORDER[(FOCUS_ORDER.indexOf(this.focus) + 1) % FOCUS_ORDER.length]!;
    this.touch();
  }

  /** Enter: opens the selected member's or channel's details. Returns the channel to load, if any. */
  open(): string | undefined {
    if (this.focus === 'members') {
      const list = this.visibleMembers();
      const m = list[this.selectedIndex()];
      if (m) this.setOverlay({ kind: 'member', name: m.name });
    } else if (this.focus === 'channels' && Array.isArray(this.channels)) {
      const c = this.channels[this.selectedChannel];
      if (c) {
        this.setOverlay({ kind: 'channel', channel: c.channel });
        this.channelDetail = { channel: c.channel, presence: undefined, messages: undefined };
        return c.channel;
      }
    }
    return undefined;
  }

  setOverlay(o: Overlay): void {
    this.overlay = o;
    this.overlayScroll = 0;
    if (o.kind !== 'channel') this.channelDetail = undefined;
    if (o.kind !== 'member' || this.memberEvidence?.name !== o.name) this.memberEvidence = undefined;
    this.touch();
  }

  // ------------------------------------------------------------------ brokers and channels

  /** Replaces the broker list; changes after the first answer go to the event log. */
  setBrokers(list: readonly ApiBroker[], now: number): void {
    if (this.brokersLoaded) {
      const before = new Map(this.brokers.map((b) => [b.name, b]));
      const after = new Map(list.map((b) => [b.name, b]));
      for (const [name, b] of after) {
        const old = before.get(name);
        if (!old) this.addLog(now, 'broker', `broker ${clean(name)} added (${clean(pairs(b.endpoints)) || 'no endpoints'})`);
        else if (pairs(old.endpoints) !== pairs(b.endpoints)) this.addLog(now, 'broker', `broker ${clean(name)} endpoints changed: ${clean(pairs(b.endpoints)) || 'none'}`);
      }
      for (const name of before.keys()) if (!after.has(name)) this.addLog(now, 'broker', `broker ${clean(name)} removed`);
    }
    this.brokersLoaded = true;
    this.brokers = [...list];
    this.touch();
  }

  setChannels(list: readonly ApiChannel[] | 'unavailable'): void {
    this.channels = list === 'unavailable' ? list : [...list].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
    const n = Array.isArray(this.channels) ? this.channels.length : 0;
    this.selectedChannel = Math.min(this.selectedChannel, Math.max(0, n - 1));
    this.touch();
  }

  /** The member the overlay shows, if any (its evidence is loaded from the agent). */
  get detailMember(): string | undefined {
    return this.overlay.kind === 'member' ? this.overlay.name : undefined;
  }

  /** The explanation of the member the overlay shows (`GET /v1/members/{name}`). */
  setMemberEvidence(name: string, body: ExplainBody | 'unavailable'): void {
    if (this.detailMember !== name) return;
    this.memberEvidence = { name, body };
    this.touch();
  }

  /** The channel the overlay shows, if any. */
  get detailChannel(): string | undefined {
    return this.overlay.kind === 'channel' ? this.overlay.channel : undefined;
  }

  setChannelDetail(channel: string, presence: ApiClientEntry[] | 'unavailable', messages: ApiMessage[] | 'unavailable'): void {
    if (this.detailChannel !== channel) return;
    this.channelDetail = { channel, presence, messages: Array.isArray(messages) ? messages.slice(-this.channelMessagesCap) : messages };
    this.touch();
  }

  /** A `message` event of the stream: counted for messages/s, appended live to an open channel view. */
  noteMessage(channel: string | undefined, message: ApiMessage | undefined): void {
    this.messageCounter.add();
    const d = this.channelDetail;
    if (message && d && d.channel === channel && Array.isArray(d.messages) && !d.messages.some((m) => m.id === message.id)) {
      d.messages.push(message);
      if (d.messages.length > this.channelMessagesCap) d.messages.splice(0, d.messages.length - this.channelMessagesCap);
      this.touch();
    }
  }

  // ------------------------------------------------------------------ activity

  /**
   * Records a `/metrics` scrape (undefined when it failed) and the sync session total,
   * and pushes one sample onto each sparkline. Called once per sampling period.
   */
  sampleActivity(counters: AgentCounters | undefined, sessions: number | undefined, now: number): void {
    this.framesPerSecond = this.frameRate.sample(counters?.frames, now);
    this.bytesPerSecond = this.byteRate.sample(counters?.bytes, now);
    const sessionsPerSecond = this.sessionRate.sample(sessions ?? counters?.syncSessions, now);
    const messages = this.messageCounter.take(now);
    this.messagesSeries.push(counters === undefined ? undefined : messages);
    this.bytesSeries.push(this.bytesPerSecond);
    // sessions are rare: show them per minute so that one session is visible
    this.sessionsSeries.push(sessionsPerSecond === undefined ? undefined : sessionsPerSecond * 60);
    this.touch();
  }

  // ------------------------------------------------------------------ log

  addLog(at: number, kind: LogKind, text: string): void {
    this.log.push({ at, kind, text });
    if (this.log.length > this.logCapacity) this.log.splice(0, this.log.length - this.logCapacity);
    // a reader scrolled back keeps looking at the same lines while new ones arrive
    if (this.logScroll > 0) this.logScroll = Math.min(this.logScroll + 1, this.log.length - 1);
    this.touch();
  }
}
