import { SseParser } from '../client/sse.js';
import type { SseEvent } from '../client/sse.js';

/** The agent answered with an error status. */
export class AgentHttpError extends Error {
  override readonly name = 'AgentHttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The agent could not be reached (refused, timed out, reset). */
export class AgentUnreachableError extends Error {
  override readonly name = 'AgentUnreachableError';
}

/** Options of {@link DashClient}. */
export interface DashClientOptions {
  /** Agent HTTP API, `host:port` or a URL. @default "127.0.0.1:7947" */
  http?: string;
  /** Bearer token for agents started with --token. @default undefined */
  token?: string | undefined;
  /** Per-request timeout, ms. @default 5000 */
  timeoutMs?: number;
  /** The fetch implementation (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Callbacks of {@link DashClient.events}. */
export interface StreamHandlers {
  /** The stream is (re)connected. */
  onOpen(): void;
  onEvent(e: SseEvent): void;
  /** The stream dropped or could not connect; it retries in `retryInMs`. */
  onDown(reason: string, retryInMs: number): void;
}

/** Options of {@link DashClient.events}. */
export interface StreamOptions {
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

/**
 * The dashboard's client of the agent HTTP API: JSON and text GETs with a timeout, and
 * the SSE event stream with automatic reconnection (exponential backoff with jitter) that
 * resumes from the last cursor, so a short drop loses no event and a restarted agent is
 * reported by its `reset` event.
 */
export class DashClient {
  readonly base: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(opts: DashClientOptions = {}) {
    const http = opts.http ?? '127.0.0.1:7947';
    this.base = (/^https?:\/\//.test(http) ? http : `http://${http}`).replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private headers(): Record<string, string> {
    return this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** GETs `path`; the body as text. Rejects with AgentHttpError or AgentUnreachableError. */
  async getText(path: string): Promise<string> {
    let res: Response;
    try {
      res = await this.fetch(`${this.base}${path}`, { headers: this.headers(), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.unreachable(err);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!res.ok) throw errorOf(res.status, text);
    return text;
  }

  /** GETs `path` and parses the JSON body. */
  async getJson(path: string): Promise<unknown> {
    const text = await this.getText(path);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AgentHttpError(502, 'E_BAD_RESPONSE', `${this.base}${path} did not answer JSON: is it a clusterd agent?`);
    }
  }

  /**
   * Follows `GET /v1/events` until `close()`: reconnects after every drop with backoff,
   * passing the last event id as `cursor` so the agent replays what was missed (or says
   * with a `reset` event that it cannot).
   */
  events(handlers: StreamHandlers, opts: StreamOptions = {}): { close: () => void } {
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
          res = await this.fetch(`${this.base}/v1/events${q}`, { headers: { ...this.headers(), accept: 'text/event-stream' }, signal: ac.signal });
        } catch (err) {
          return this.unreachable(err).message;
        }
        if (!res.ok || !res.body) {
          const text = await res.text().catch(() => '');
          if (res.status === 400 && cursor !== undefined) cursor = undefined; // a cursor it refuses: start afresh
          return errorOf(res.status, text).message;
        }
        failures = 0;
        handlers.onOpen();
        const parser = new SseParser();
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

  private unreachable(err: unknown): AgentUnreachableError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return new AgentUnreachableError(`cannot reach ${this.base} (${why})`);
  }
}

function errorOf(status: number, text: string): AgentHttpError {
  let code = `HTTP_${status}`;
  let message = `HTTP ${status}`;
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof e?.code === 'string') code = e.code;
    if (typeof e?.message === 'string') message = e.message;
  } catch {
    // not JSON: keep the status
  }
  return new AgentHttpError(status, code, message);
}

function cursorOfReset(data: string): string | undefined {
  try {
    const c = (JSON.parse(data) as { cursor?: unknown }).cursor;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}
