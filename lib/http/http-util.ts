import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An API error: HTTP status plus the `{error: {code, message}}` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Sends a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Sends `{error: {code, message}}`. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}

/** How long and how much of an unread request body the server discards after an early answer. */
export interface LingerOptions {
  /** Bytes discarded before the connection is closed anyway. @default 67108864 */
  maxBytes?: number;
  /** Milliseconds spent discarding before the connection is closed anyway. @default 5000 */
  ms?: number;
}

/** The bounds of {@link lingerAfterResponse} (frozen defaults). */
export const LINGER_DEFAULTS = Object.freeze({ maxBytes: 64 * 1024 * 1024, ms: 5_000 });
/** How often a lingering connection's byte count and deadline are checked. */
const LINGER_CHECK_MS = 20;

/**
 * Lingering close. When the server answers before it has read the whole request body
 * (413, 401, 404 ... sent as soon as the headers or the first bytes tell), closing the
 * socket at once makes a client that writes its whole body before reading (fetch,
 * undici, Python requests) fail with EPIPE or ECONNRESET instead of reading the answer.
 * So the rest of the body is read and discarded (Node's request dump does the reading;
 * nothing is buffered), and the connection stays usable afterwards; only a body that
 * goes on past `maxBytes` or `ms` gets the socket destroyed. Call it once the response
 * has finished.
 */
export function lingerAfterResponse(req: IncomingMessage, options: LingerOptions = {}): void {
  if (req.complete || req.destroyed) return;
  const maxBytes = options.maxBytes ?? LINGER_DEFAULTS.maxBytes;
  const deadline = performance.now() + (options.ms ?? LINGER_DEFAULTS.ms);
  const socket = req.socket;
  // Node dumps an unread request once its response has finished: the body is parsed and
  // dropped without 'data' events, so the bytes are counted on the socket
  const start = socket.bytesRead;
  const check = setInterval(() => {
    if (req.complete || socket.destroyed) return stop();
    if (socket.bytesRead - start > maxBytes || performance.now() >= deadline) {
      stop();
      socket.destroy();
    }
  }, LINGER_CHECK_MS);
  check.unref();
  const stop = (): void => {
    clearInterval(check);
    req.off('end', stop);
    req.off('close', stop);
  };
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}

/**
 * Reads a JSON object body of at most `maxBytes`. Rejects with 413 as soon as the cap
 * is crossed (without buffering the rest), 415 for a non-JSON content type, 400 for
 * malformed JSON or a body that is not an object.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'];
    // curl -d sends application/x-www-form-urlencoded by default: accept it, the body must be JSON anyway
    if (type !== undefined && !/^application\/((.+\+)?json|x-www-form-urlencoded)\b/i.test(type)) {
      reject(new HttpError(415, 'E_UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got "${type}"`));
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new HttpError(413, 'E_TOO_LARGE', `request body is ${declared} bytes; the limit is ${maxBytes}`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        reject(new HttpError(413, 'E_TOO_LARGE', `request body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!done) reject(new HttpError(400, 'E_BAD_REQUEST', `request body: ${err.message}`));
      done = true;
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return reject(new HttpError(400, 'E_BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return reject(new HttpError(400, 'E_BAD_JSON', 'request body must be a JSON object'));
      }
      resolve(value as Record<string, unknown>);
    });
  });
}

/** Throws 400 E_UNKNOWN_FIELD / E_MISSING_FIELD unless `body` has only `allowed` fields and every `required` one. */
export function checkFields(body: Record<string, unknown>, allowed: string[], required: string[] = []): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new HttpError(400, 'E_UNKNOWN_FIELD', `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
  }
  for (const k of required) {
    if (body[k] === undefined) throw new HttpError(400, 'E_MISSING_FIELD', `missing required field "${k}"`);
  }
}

/** A string field, or 400 naming it. */
export function stringField(body: Record<string, unknown>, name: string, maxLength = 1024): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0) throw new HttpError(400, 'E_INVALID_ARGUMENT', `field "${name}" must be a non-empty string`);
  if (v.length > maxLength) throw new HttpError(400, 'E_INVALID_ARGUMENT', `field "${name}" is ${v.length} characters long; the limit is ${maxLength}`);
  return v;
}

/** Checks query parameters against the allowed names. */
export function checkQuery(params: URLSearchParams, allowed: string[]): void {
  for (const k of params.keys()) {
    if (!allowed.includes(k)) throw new HttpError(400, 'E_BAD_QUERY', `unknown query parameter "${k}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
  }
}

/** An integer query parameter within bounds, or its default. */
export function intParam(params: URLSearchParams, name: string, min: number, max: number, dflt: number): number {
  const raw = params.get(name);
  if (raw === null) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpError(400, 'E_BAD_QUERY', `query parameter "${name}" must be an integer between ${min} and ${max}, got "${raw.slice(0, 40)}"`);
  }
  return Number(raw);
}

/** Compares a request's bearer token with the expected one in constant time. */
export class TokenCheck {
  private readonly digest: Buffer;
  constructor(token: string) {
    this.digest = sha256(token);
  }
  /** True when the request carries the token (`Authorization: Bearer …`, or `token` for WebSocket upgrades). */
  accepts(req: IncomingMessage, queryToken?: string | null): boolean {
    const h = req.headers.authorization;
    let given: string | undefined;
    if (typeof h === 'string' && /^Bearer /i.test(h)) given = h.slice(7).trim();
    else if (queryToken) given = queryToken;
    if (given === undefined) return false;
    return timingSafeEqual(sha256(given), this.digest);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
