import { decode, encode } from '@msgpack/msgpack';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import type { HistoryView, MessageView, PublishReceipt } from '../replication/channels.js';
import type { HistoryGap } from '../replica/history.js';

/** Options of {@link AgentClient}. */
export interface AgentClientOptions {
  /** The agent's bearer token (`--token`), sent on the upgrade. @default undefined (no token) */
  token?: string;
  /** Frame format: JSON text or msgpack binary (the `clusterd.v2.msgpack` subprotocol). @default 'json' */
  format?: 'json' | 'msgpack';
  /** First delay before reconnecting; it doubles (with jitter) up to `reconnectMaxMs`. @default 100 */
  reconnectMinMs?: number;
  /** Longest delay between reconnection attempts. @default 5000 */
  reconnectMaxMs?: number;
  /** A request not answered within this long is rejected with E_TIMEOUT. @default 10000 */
  requestTimeoutMs?: number;
  /** Called on each (re)connection and loss, and when the agent refuses to restore a subscription or presence after a reconnection; for logs. @default undefined */
  onState?: (state: 'connected' | 'disconnected' | 'error', url: string, reason?: string) => void;
}

/** The frozen defaults of {@link AgentClientOptions}. */
export const AGENT_CLIENT_DEFAULTS = Object.freeze({ format: 'json' as const, reconnectMinMs: 100, reconnectMaxMs: 5000, requestTimeoutMs: 10_000 });

/** An error answered by the agent (the HTTP API's status and code), or E_DISCONNECTED / E_TIMEOUT / E_CLOSED from the client. */
export class AgentApiError extends Error {
  constructor(
    /** The HTTP status the agent gave (0 for client-side errors). */
    readonly status: number,
    /** A stable code: the agent's (E_BAD_CURSOR, E_LIMIT, ...) or E_DISCONNECTED, E_TIMEOUT, E_CLOSED. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentApiError';
  }
}

/** An item of a subscription: a message or a gap, with the cursor after it. */
export type ClientItem =
  | { type: 'message'; channel: string; message: MessageView; cursor: string }
  | { type: 'gap'; channel: string; gaps: HistoryGap[]; cursor: string };

/** A subscription of an {@link AgentClient}: it survives reconnections. */
export interface ClientSubscription {
  /** The cursor after the last item handed over (resume from it anywhere). */
  readonly cursor: string;
  /** Stops it (an `unsubscribe` when connected). */
  close(): Promise<void>;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: AgentApiError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Sub {
  channel: string;
  cursor: string | undefined;
  onItem: (item: ClientItem) => void;
  closed: boolean;
}

/**
 * A client of the agent's two-way WebSocket API (`/v2/ws`, docs/http-api.md). Requests
 * are promises, matched to answers by id, many in flight. When the connection is lost
 * it reconnects, trying the given agent URLs in turn, and then restores its state:
 * each subscription is resumed from the cursor of the last item it handed over (so it
 * gets every message once, on any agent: decision 0047), and presence it joined (and
 * did not leave) is joined again. Requests in flight when the connection is lost are
 * rejected with E_DISCONNECTED: whether a publish was applied is then unknown; publish
 * with an `idempotencyKey` to retry safely.
 */
export class AgentClient {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private urlIndex = 0;
  private attempt = 0;
  private closed = false;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<string, Sub>();
  private readonly joined = new Map<string, { channel: string; clientId: string; user: string; info: unknown }>();
  private readonly opts: Required<Omit<AgentClientOptions, 'token' | 'onState'>> & AgentClientOptions;
  private connected: Promise<void>;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;


  /**
   * Connects to the first of `urls` (agent API addresses such as `http://127.0.0.1:7947`)
   * that answers; resolves once connected.
   */
  static async connect(urls: string | string[], options: AgentClientOptions = {}): Promise<AgentClient> {
    const c = new AgentClient(Array.isArray(urls) ? urls : [urls], options);
    await c.connected;
    return c;
  }

  private constructor(private readonly urls: string[], options: AgentClientOptions) {
    if (urls.length === 0) throw new AgentApiError(0, 'E_INVALID_ARGUMENT', 'give at least one agent URL');
    this.opts = { ...AGENT_CLIENT_DEFAULTS, ...options };
    this.connected = this.open();
  }

  /** The agent URL in use (or tried next). */
  get url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  /** Sends one request; resolves with its `result`, or rejects with {@link AgentApiError}. */
  async request(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    if (this.closed) throw new AgentApiError(0, 'E_CLOSED', 'the client is closed');
    await this.connected;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new AgentApiError(0, 'E_DISCONNECTED', `not connected to ${this.url}`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentApiError(0, 'E_TIMEOUT', `no answer to "${op}" within ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frame = { ...fields, id, op };
      ws.send(this.opts.format === 'msgpack' ? encode(frame, { ignoreUndefined: true }) : JSON.stringify(frame));
    });
  }

  /** Publishes; resolves with the ack (`{id, cursor, duplicate}`). */
  async publish(channel: string, data: unknown, options: { headers?: Record<string, string>; idempotencyKey?: string } = {}): Promise<PublishReceipt> {
    return (await this.request('publish', { channel, data, ...options })) as PublishReceipt;
  }

  /** Joins presence, bound to the connection (and joined again after a reconnection). */
  async join(channel: string, clientId: string, user: string, info?: unknown): Promise<void> {
    this.joined.set(`${channel}\u0000${clientId}`, { channel, clientId, user, info });
    await this.request('presence.join', { channel, clientId, user, ...(info !== undefined ? { info } : {}) });
  }

  /** Replaces the `info` of a client joined over this client. */
  async update(channel: string, clientId: string, info: unknown): Promise<void> {
    const j = this.joined.get(`${channel}\u0000${clientId}`);
    if (j) j.info = info;
    await this.request('presence.update', { channel, clientId, info });
  }

  /** Leaves presence. */
  async leave(channel: string, clientId: string): Promise<void> {
    this.joined.delete(`${channel}\u0000${clientId}`);
    await this.request('presence.leave', { channel, clientId });
  }

  /** Reads history: the latest `limit`, or after a cursor (or 'start'). */
  async history(channel: string, options: { limit?: number; after?: string } = {}): Promise<HistoryView> {
    return (await this.request('history', { channel, ...options })) as HistoryView;
  }

  /**
   * Follows a channel: from `cursor` (any agent's, or 'start'), or from now. Items come
   * in order, each once, across reconnections. Rejects (E_BAD_CURSOR, E_CONFLICT, ...)
   * when the agent refuses the first subscribe.
   */
  async subscribe(channel: string, onItem: (item: ClientItem) => void, options: { cursor?: string } = {}): Promise<ClientSubscription> {
    if (this.subs.has(channel)) throw new AgentApiError(409, 'E_CONFLICT', `already subscribed to "${channel}"`);
    const sub: Sub = { channel, cursor: options.cursor, onItem, closed: false };
    this.subs.set(channel, sub);
    try {
      const r = (await this.request('subscribe', { channel, ...(sub.cursor !== undefined ? { cursor: sub.cursor } : {}) })) as { cursor: string };
      // items may have come before the answer was read: keep the newer cursor
      if (sub.cursor === options.cursor) sub.cursor = r.cursor;
    } catch (err) {
      this.subs.delete(channel);
      throw err;
    }
    return {
      get cursor() {
        return sub.cursor ?? '';
      },
      close: async () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(channel);
        if (this.ws?.readyState === WebSocket.OPEN) await this.request('unsubscribe', { channel }).catch(() => {});
      },
    };
  }

  /** Closes the connection for good (presence joined over it leaves). */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.failPending('E_CLOSED', 'the client was closed');
    this.ws?.close(1000, 'client closed');
  }

  // the first connection: each URL once, in order
  private async open(): Promise<void> {
    for (let i = 0; i < this.urls.length; i++) {
      this.urlIndex = i;
      const ws = await this.dial();
      if (this.closed) throw new AgentApiError(0, 'E_CLOSED', 'the client was closed');
      if (ws) return this.attach(ws);
    }
    throw new AgentApiError(0, 'E_UNREACHABLE', `no agent answered at ${this.urls.join(', ')}`);
  }

  private async dial(): Promise<WebSocket | undefined> {
    const url = `${this.url.replace(/^http/, 'ws').replace(/\/$/, '')}/v2/ws${this.opts.token !== undefined ? `?token=${encodeURIComponent(this.opts.token)}` : ''}`;
    const ws = new WebSocket(url, this.opts.format === 'msgpack' ? ['clusterd.v2.msgpack'] : []);
    ws.on('error', () => {});
    const ok = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    });
    return ok ? ws : undefined;
  }

  private attach(ws: WebSocket): void {
    this.ws = ws;
    this.attempt = 0;
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('close', (code, reason) => {
      const why = `${code}${reason.length > 0 ? ` ${String(reason)}` : ''}`;
      this.failPending('E_DISCONNECTED', `connection to ${this.url} lost (${why})`);
      this.opts.onState?.('disconnected', this.url, why);
      if (!this.closed) this.connected = this.reconnect();
    });
    this.opts.onState?.('connected', this.url);
  }

  // after a loss: the next URL in turn, with a doubling delay, until one answers; requests made meanwhile wait for it
  private async reconnect(): Promise<void> {
    for (;;) {
      const base = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** Math.min(this.attempt++, 16));
      await new Promise<void>((resolve) => (this.reconnectTimer = setTimeout(resolve, base / 2 + Math.random() * (base / 2))));
      if (this.closed) return;
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      const ws = await this.dial();
      if (this.closed) {
        ws?.close();
        return;
      }
      if (!ws) continue;
      this.attach(ws);
      this.restore(ws);
      return;
    }
  }

  // after a reconnection: resubscribe from each last cursor, join presence again; a refusal is reported through onState
  private restore(ws: WebSocket): void {
    const again = (op: string, fields: Record<string, unknown>): void => {
      const id = this.nextId++;
      const timer = setTimeout(() => this.pending.delete(id), this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve: () => {}, reject: (e) => this.opts.onState?.('error', this.url, `${op} ${String(fields.channel)}: ${e.code} ${e.message}`), timer });
      const frame = { ...fields, id, op };
      ws.send(this.opts.format === 'msgpack' ? encode(frame, { ignoreUndefined: true }) : JSON.stringify(frame));
    };
    for (const s of this.subs.values()) again('subscribe', { channel: s.channel, ...(s.cursor !== undefined ? { cursor: s.cursor } : {}) });
    for (const j of this.joined.values()) again('presence.join', { channel: j.channel, clientId: j.clientId, user: j.user, ...(j.info !== undefined ? { info: j.info } : {}) });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const v = (isBinary ? decode(bytes) : JSON.parse(bytes.toString('utf8'))) as Record<string, unknown>;
    if ('ok' in v) {
      const p = typeof v.id === 'number' ? this.pending.get(v.id) : undefined;
      if (!p) return;
      this.pending.delete(v.id as number);
      clearTimeout(p.timer);
      if (v.ok === true) p.resolve(v.result);
      else {
        const e = v.error as { status: number; code: string; message: string };
        p.reject(new AgentApiError(e.status, e.code, e.message));
      }
      return;
    }
    const item = v as unknown as ClientItem;
    const sub = this.subs.get(item.channel);
    if (!sub || sub.closed) return;
    sub.cursor = item.cursor;
    sub.onItem(item);
  }

  private failPending(code: string, message: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new AgentApiError(0, code, message));
    }
    this.pending.clear();
  }
}
