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
export interface StreamEvent {
  /** The event's cursor (`id:` line), when it has one. */
  id: string | undefined;
  /** The `event:` line. @default "message" */
  type: string;
  data: string;
}

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
}

/** A small client of the agent's HTTP API (the CLI uses it; scripts may too). */
export class ApiClient {
  readonly base: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions = {}) {
    const http = opts.http ?? '127.0.0.1:7947';
    this.base = (/^https?:\/\//.test(http) ? http : `http://${http}`).replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private headers(json: boolean): Record<string, string> {
    return { ...(json ? { 'content-type': 'application/json' } : {}), ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  /** Sends a request; resolves with the JSON body, rejects with ApiError or UnreachableError. */
  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'E_BAD_RESPONSE', `${this.base} answered ${res.status} with a non-JSON body: is it a clusterd agent?`);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } }).error;
      throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
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
        res = await fetch(`${this.base}${path}`, { headers: this.headers(false), signal: ac.signal });
      } catch (err) {
        if (signal?.aborted) return;
        if (stalled) throw new StreamStalledError(`no answer from ${this.base} within ${idleMs} ms`);
        throw this.unreachable(err);
      }
      if (!res.ok || !res.body) {
        const text = await res.text();
        let e: { code?: string; message?: string } | undefined;
        try {
          e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
        } catch {
          // not JSON
        }
        throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `HTTP ${res.status}`);
      }
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body) {
          arm();
          buf += decoder.decode(chunk as Uint8Array, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let id: string | undefined;
            let type = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
              else if (line.startsWith(': connected, cursor ')) onOpen?.(line.slice(20));
            }
            if (data.length > 0) onEvent({ id, type, data: data.join('\n') });
          }
          // a stream that never sends a blank line must not grow the buffer without bound
          if (buf.length > 16 * 1024 * 1024) throw new ApiError(502, 'E_BAD_RESPONSE', `${this.base} sent an event over 16 MiB`);
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

  private unreachable(err: unknown): UnreachableError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : cause?.code ?? cause?.message ?? (err as Error).message;
    return new UnreachableError(`cannot reach the agent at ${this.base} (${why}): is it running? Choose another with --http HOST:PORT`);
  }
}
