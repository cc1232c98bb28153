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

  /** Opens the SSE stream and calls `onEvent` per event until `signal` aborts or the stream ends. */
  async stream(path: string, onEvent: (e: { id: string | undefined; type: string; data: string }) => void, signal?: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { headers: this.headers(false), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) return;
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
          }
          if (data.length > 0) onEvent({ id, type, data: data.join('\n') });
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }

  private unreachable(err: unknown): UnreachableError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : cause?.code ?? cause?.message ?? (err as Error).message;
    return new UnreachableError(`cannot reach the agent at ${this.base} (${why}): is it running? Choose another with --http HOST:PORT`);
  }
}
