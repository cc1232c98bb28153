import { randomBytes } from 'node:crypto';

/** The families of events a stream can filter on. */
export type EventKind = 'message' | 'presence' | 'member';

/** One event as streams carry it. */
export interface HubEvent {
  /** Cursor of this event (`<boot>-<seq>`): resume after it. */
  id: string;
  seq: number;
  /** Precise type: `message`, `client-join`, `user-leave`, `member-dead`, ... */
  type: string;
  kind: EventKind;
  channel: string | undefined;
  /** The payload, serialized once for every subscriber. */
  json: string;
}

/** A subscriber's filter. */
export interface EventFilter {
  /** Only events of this channel (membership events have none and are then excluded unless asked for by type). */
  channel?: string;
  /** Kinds (`message`, `presence`, `member`) or precise types; empty means all. */
  types?: string[];
}

/** The outcome of a subscription that asked to resume. */
export type Resume =
  | { ok: true; replay: HubEvent[] }
  | { ok: false; reason: 'agent-restarted' | 'cursor-expired' | 'bad-cursor'; replay: [] };

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** Events kept for resuming streams. @default 4096 */
  capacity?: number;
  /** Serialized bytes kept for resuming streams. @default 16777216 */
  maxBytes?: number;
}

export const KNOWN_TYPES = new Set([
  'message', 'presence', 'member',
  'client-join', 'client-update', 'client-leave', 'user-join', 'user-leave',
  'member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped',
]);

/**
 * The agent's event log for streaming clients (SSE, WebSocket): a bounded ring of recent
 * events numbered by a per-boot sequence. A client that reconnects with the cursor of
 * the last event it saw gets exactly the events after it when they are still held, or
 * an explicit "cannot resume" answer when they are not (the ring moved past it, or the
 * agent restarted and its numbering with it).
 */
export class EventHub {
  /** Random per-boot prefix of cursors: cursors of a previous run never match. */
  readonly boot = randomBytes(4).toString('hex');
  private ring: HubEvent[] = [];
  private head = 0;
  private bytes = 0;
  private seq = 0;
  private readonly subscribers = new Set<{ filter: EventFilter; send: (e: HubEvent) => void }>();
  private readonly capacity: number;
  private readonly maxBytes: number;

  constructor(opts: EventHubOptions = {}) {
    this.capacity = opts.capacity ?? 4096;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  }

  /** The cursor of the newest event (events after it are new). */
  get cursor(): string {
    return `${this.boot}-${this.seq}`;
  }

  get size(): number {
    return this.ring.length - this.head;
  }

  /** Serialized bytes of the events held. */
  get heldBytes(): number {
    return this.bytes;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  publish(kind: EventKind, type: string, channel: string | undefined, payload: unknown): void {
    const seq = ++this.seq;
    const e: HubEvent = { id: `${this.boot}-${seq}`, seq, type, kind, channel, json: JSON.stringify(payload) };
    this.ring.push(e);
    this.bytes += e.json.length;
    while (this.size > this.capacity || (this.bytes > this.maxBytes && this.size > 1)) {
      this.bytes -= this.ring[this.head]!.json.length;
      this.head++;
    }
    // compact the dead prefix now and then instead of shifting on every event
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
    for (const s of this.subscribers) if (matches(s.filter, e)) s.send(e);
  }

  /**
   * Subscribes to new events. With `after` (a cursor), also returns the held events
   * after it, or why it cannot resume.
   */
  subscribe(filter: EventFilter, send: (e: HubEvent) => void, after?: string): { resume: Resume | undefined; unsubscribe: () => void } {
    const sub = { filter, send };
    this.subscribers.add(sub);
    const unsubscribe = (): void => {
      this.subscribers.delete(sub);
    };
    if (after === undefined || after === '') return { resume: undefined, unsubscribe };
    return { resume: this.replay(filter, after), unsubscribe };
  }

  private replay(filter: EventFilter, after: string): Resume {
    const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(after);
    if (!m) return { ok: false, reason: 'bad-cursor', replay: [] };
    if (m[1] !== this.boot) return { ok: false, reason: 'agent-restarted', replay: [] };
    const seq = Number(m[2]);
    if (seq > this.seq) return { ok: false, reason: 'bad-cursor', replay: [] };
    const oldest = this.size > 0 ? this.ring[this.head]!.seq : this.seq + 1;
    // events seq+1 .. oldest-1 were dropped from the ring: a gap the client must know about
    if (seq + 1 < oldest) return { ok: false, reason: 'cursor-expired', replay: [] };
    const out: HubEvent[] = [];
    for (let i = this.head + Math.max(0, seq + 1 - oldest); i < this.ring.length; i++) {
      const e = this.ring[i]!;
      if (matches(filter, e)) out.push(e);
    }
    return { ok: true, replay: out };
  }
}

/** Parses `types=a,b` and checks every name. Returns the unknown name when there is one. */
export function parseTypes(raw: string | null): { types: string[] } | { unknown: string } {
  if (raw === null || raw === '') return { types: [] };
  const types = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const t of types) if (!KNOWN_TYPES.has(t)) return { unknown: t };
  return { types };
}

function matches(f: EventFilter, e: HubEvent): boolean {
  const types = f.types ?? [];
  if (types.length > 0 && !types.includes(e.kind) && !types.includes(e.type)) return false;
  if (f.channel !== undefined) {
    if (e.kind === 'member') return types.length > 0; // asked for explicitly alongside a channel
    if (e.channel !== f.channel) return false;
  }
  return true;
}
