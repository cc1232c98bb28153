import { SseParser } from './sse.js';
import type { SseEvent } from './sse.js';

/** Meta tag under which every agent advertises its HTTP API (the CLI walks members with it). */
export const API_TAG = 'clusterd-api';

/** An error answered by the agent: HTTP status plus its `{error: {code, message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The agent could not be reached at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** The event stream went silent (no event or heartbeat) for longer than allowed. */
export class StreamStalledError extends Error {
  override readonly name = 'StreamStalledError';
}

/** The event stream broke mid-way (connection reset, agent killed). */
export class StreamLostError extends Error {
  override readonly name = 'StreamLostError';
}

/** One Server-Sent Event. */
export type StreamEvent = SseEvent;

/** Options of {@link ApiClient.stream}. */
export interface StreamOptions {
  /** Ends the stream (the promise resolves). @default undefined */
  signal?: AbortSignal;
  /** Gives up with StreamStalledError when no byte arrives for this long, ms (the agent sends a heartbeat every 15 s). @default undefined (wait forever) */
  idleMs?: number;
  /** Called with the agent's current cursor when it accepts the stream. @default undefined */
  onOpen?: (cursor: string) => void;
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Agent address, `host:port` or a URL. @default "127.0.0.1:7947" */
  http?: string;
  /** Bearer token. @default undefined */
  token?: string | undefined;
  /** Per-request timeout, ms. @default 10000 */
  timeoutMs?: number;
  /** The fetch implementation (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Callbacks of {@link ApiClient.follow}. */
export interface FollowHandlers {
  /** The stream is (re)connected. */
  onOpen(): void;
  onEvent(e: StreamEvent): void;
  /** The stream dropped or could not connect; it retries in `retryInMs`. */
  onDown(reason: string, retryInMs: number): void;
}

/** Options of {@link ApiClient.follow}. */
export interface FollowOptions {
  /** First reconnect delay, ms; doubles per failure. @default 500 */
  minBackoffMs?: number;
  /** Longest reconnect delay, ms. @default 8000 */
  maxBackoffMs?: number;
  /**
   * Reconnect when nothing (not even the agent's 15 s heartbeat) arrived for this long,
   * ms: a half-open connection to a frozen or vanished host must not look live. @default 40000
   */
  stallMs?: number;
}

/** Events larger than this end {@link ApiClient.stream} with E_BAD_RESPONSE (and are skipped by {@link ApiClient.follow}). */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * The client of the agent's HTTP API: the CLI, the dashboard and `clusterd sim --real`
 * use it (scripts may too). JSON requests with a timeout, the SSE event stream once
 * ({@link ApiClient.stream}) or followed across drops ({@link ApiClient.follow}), all
 * parsed by the one {@link SseParser}.
 */
export class ApiClient {
  readonly base: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(opts: ApiClientOptions = {}) {
    const http = opts.http ?? '127.0.0.1:7947';
    this.base = (/^https?:\/\//.test(http) ? http : `http://${http}`).replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private headers(json: boolean): Record<string, string> {
    return { ...(json ? { 'content-type': 'application/json' } : {}), ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  /** Sends a request; resolves with the JSON body, rejects with ApiError or UnreachableError. `timeoutMs` overrides the client's. */
  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const text = await this.text(method, path, body, timeoutMs);
    try {
      return (text === '' ? {} : JSON.parse(text)) as T;
    } catch {
      throw new ApiError(502, 'E_BAD_RESPONSE', `${this.base}${path} answered a non-JSON body: is it a clusterd agent?`);
    }
  }

  /** GETs `path` and parses the JSON body. */
  getJson(path: string): Promise<unknown> {
    return this.request<unknown>('GET', path);
  }

  /** GETs `path`; the body as text (`/metrics`). Rejects with ApiError or UnreachableError. */
  getText(path: string, timeoutMs = this.timeoutMs): Promise<string> {
    return this.text('GET', path, undefined, timeoutMs);
  }

  private async text(method: string, path: string, body: unknown, timeoutMs: number): Promise<string> {
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(`${this.base}${path}`, {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err, timeoutMs);
    }
    if (!res.ok) throw this.errorOf(res.status, text);
    return text;
  }

  /**
   * Opens the SSE stream and calls `onEvent` per event until `signal` aborts (resolves)
   * or the stream ends (resolves too: the agent went away). Rejects with ApiError when
   * the agent refuses the stream, UnreachableError when it cannot be reached, and
   * {@link StreamStalledError} when nothing (not even a heartbeat) arrived for `idleMs`.
   */
  async stream(path: string, onEvent: (e: StreamEvent) => void, opts: StreamOptions = {}): Promise<void> {
    const { signal, idleMs, onOpen } = opts;
    // one controller for the caller's abort and our stall detection
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    if (signal?.aborted) return;
    signal?.addEventListener('abort', onAbort, { once: true });
    let stalled = false;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (idleMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        stalled = true;
        ac.abort();
      }, idleMs);
    };
    try {
      let res: Response;
      arm();
      try {
        res = await this.fetch(`${this.base}${path}`, { headers: this.headers(false), signal: ac.signal });
      } catch (err) {
        if (signal?.aborted) return;
        if (stalled) throw new StreamStalledError(`no answer from ${this.base} within ${idleMs} ms`);
        throw this.unreachable(err, this.timeoutMs);
      }
      if (!res.ok || !res.body) throw this.errorOf(res.status, await res.text().catch(() => ''));
      const parser = new SseParser({
        maxEventChars: MAX_EVENT_CHARS,
        onComment: (c) => {
          if (c.startsWith('connected, cursor ')) onOpen?.(c.slice(18));
        },
      });
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body) {
          arm();
          for (const e of parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))) onEvent(e);
          if (parser.dropped > 0) throw new ApiError(502, 'E_BAD_RESPONSE', `${this.base} sent an event over 16 MiB`);
        }
      } catch (err) {
        if (signal?.aborted) return;
        if (stalled) throw new StreamStalledError(`nothing received from ${this.base} for ${idleMs} ms`);
        if (err instanceof ApiError) throw err;
        throw new StreamLostError(`the stream from ${this.base} broke: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
      }
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Follows `GET /v1/events` until `close()`: reconnects after every drop with backoff
   * (exponential, with jitter), passing the last event id as `cursor` so the agent replays
   * what was missed (or says with a `reset` event that it cannot).
   */
  follow(handlers: FollowHandlers, opts: FollowOptions = {}): { close: () => void } {
    const minBackoff = opts.minBackoffMs ?? 500;
    const maxBackoff = opts.maxBackoffMs ?? 8000;
    const stallMs = opts.stallMs ?? 40_000;
    let closed = false;
    let cursor: string | undefined;
    let current: AbortController | undefined;
    let wake: (() => void) | undefined;
    let failures = 0;

    const once = async (): Promise<string> => {
      const ac = new AbortController();
      current = ac;
      let stall: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(stall);
        stall = setTimeout(() => ac.abort(new Error(`no data for ${Math.round(stallMs / 1000)} s`)), stallMs);
        stall.unref();
      };
      try {
        arm();
        const q = cursor !== undefined ? `?cursor=${encodeURIComponent(cursor)}` : '';
        let res: Response;
        try {
          res = await this.fetch(`${this.base}/v1/events${q}`, { headers: { ...this.headers(false), accept: 'text/event-stream' }, signal: ac.signal });
        } catch (err) {
          return this.unreachable(err, this.timeoutMs).message;
        }
        if (!res.ok || !res.body) {
          const text = await res.text().catch(() => '');
          if (res.status === 400 && cursor !== undefined) cursor = undefined; // a cursor it refuses: start afresh
          return this.errorOf(res.status, text).message;
        }
        failures = 0;
        handlers.onOpen();
        const parser = new SseParser({ maxEventChars: MAX_EVENT_CHARS });
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          arm();
          for (const e of parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))) {
            if (e.id !== undefined) cursor = e.id;
            // after a reset the old cursor is worthless; the reset carries the new position
            if (e.type === 'reset') cursor = cursorOfReset(e.data) ?? cursor;
            handlers.onEvent(e);
          }
        }
        return 'the agent closed the event stream';
      } catch (err) {
        const reason = ac.signal.reason instanceof Error ? ac.signal.reason.message : (err as Error).message;
        return `event stream broke: ${reason}`;
      } finally {
        clearTimeout(stall);
      }
    };

    void (async () => {
      while (!closed) {
        const reason = await once();
        if (closed) break;
        failures++;
        const base = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 16));
        // jitter spreads the reconnects of many dashboards after an agent restart
        const delay = Math.round(base * (0.75 + Math.random() * 0.5));
        handlers.onDown(reason, delay);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    })();

    return {
      close: () => {
        closed = true;
        current?.abort(new Error('closed'));
        wake?.();
      },
    };
  }

  /** The agent's `{error: {code, message}}` answer as an ApiError; E_BAD_RESPONSE when the body is not that (not a clusterd agent?). */
  private errorOf(status: number, text: string): ApiError {
    let e: { code?: unknown; message?: unknown } | undefined;
    try {
      e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null)?.error as typeof e;
    } catch {
      return new ApiError(status, 'E_BAD_RESPONSE', `${this.base} answered ${status} with a non-JSON body: is it a clusterd agent?`);
    }
    return new ApiError(status, typeof e?.code === 'string' ? e.code : `HTTP_${status}`, typeof e?.message === 'string' ? e.message : `HTTP ${status}`);
  }

  private unreachable(err: unknown, timeoutMs: number): UnreachableError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return new UnreachableError(`cannot reach the agent at ${this.base} (${why}): is it running? Choose another with --http HOST:PORT`);
  }
}

function cursorOfReset(data: string): string | undefined {
  try {
    const c = (JSON.parse(data) as { cursor?: unknown }).cursor;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}
