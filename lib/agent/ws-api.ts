import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { ChannelsApi } from '../channels.js';
import { checkFields, HttpError, intParam, stringField } from './http-util.js';
import { checkChannel, publishMessage } from './publish.js';

/** Options of {@link WsApi}. */
export interface WsApiOptions {
  /** Largest frame a client may send; a larger one closes the connection with 1009. @default 1048576 */
  maxFrameBytes?: number;
  /** Bytes waiting to be sent to a client that does not read; past it the connection is closed with 1008. @default 8388608 */
  maxBufferedBytes?: number;
  /** Requests per second a connection may send (a token bucket of one second's worth); beyond, each gets E_RATE_LIMITED. @default 20000 */
  maxRequestsPerSecond?: number;
  /** Connections at once; more are refused with 503. @default 256 */
  maxConnections?: number;
}

/** The frozen defaults of {@link WsApiOptions}. */
export const WS_API_DEFAULTS = Object.freeze({ maxFrameBytes: 1024 * 1024, maxBufferedBytes: 8 * 1024 * 1024, maxRequestsPerSecond: 20_000, maxConnections: 256 });

/** Close codes of the two-way API (docs/http-api.md). */
export const WS_CLOSE = Object.freeze({ slowReader: 1008, tooBig: 1009, shuttingDown: 1001 });

/** Maps an error thrown while serving a request to its HTTP status and code (the HTTP API's mapping). */
export type ErrorMapper = (err: unknown) => HttpError;

/**
 * The two-way WebSocket API (`/v2/ws`, JSON text frames): a client publishes, joins,
 * updates and leaves presence, and reads history over one connection, with a
 * client-chosen `id` on each request that its answer carries, so many can be in flight.
 * Presence joined over a connection is bound to it: when the socket closes, every
 * client it joined leaves (and when the agent dies, the cluster removes its entries as
 * for any dead node). Errors are per request, with the HTTP API's status and code.
 */
export class WsApi {
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<WebSocket>();
  private readonly opts: Required<WsApiOptions>;

  constructor(private readonly channels: () => ChannelsApi, private readonly toError: ErrorMapper, opts: WsApiOptions = {}) {
    this.opts = { ...WS_API_DEFAULTS, ...opts };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes, perMessageDeflate: false });
  }

  /** Open connections. */
  get count(): number {
    return this.conns.size;
  }

  /** True when no more connections are taken. */
  get full(): boolean {
    return this.conns.size >= this.opts.maxConnections;
  }

  /** Completes an upgrade the HTTP API has authorized. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Closes every connection (their presence leaves). */
  closeAll(): void {
    for (const ws of this.conns) ws.close(WS_CLOSE.shuttingDown, 'agent shutting down');
  }

  private accept(ws: WebSocket): void {
    this.conns.add(ws);
    const joined = new Map<string, [channel: string, clientId: string]>();
    const rate = this.opts.maxRequestsPerSecond;
    let tokens = rate;
    let refilled = performance.now();
    ws.on('error', () => {});
    ws.on('close', () => {
      this.conns.delete(ws);
      for (const [channel, clientId] of joined.values()) this.channels().leave(channel, clientId);
      joined.clear();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const now = performance.now();
      tokens = Math.min(rate, tokens + ((now - refilled) / 1000) * rate);
      refilled = now;
      let id: unknown = null;
      let answer: Record<string, unknown>;
      try {
        if (tokens < 1) throw new HttpError(429, 'E_RATE_LIMITED', `more than ${rate} requests per second on this connection`);
        tokens -= 1;
        if (isBinary) throw new HttpError(400, 'E_BAD_FRAME', 'send JSON text frames (binary frames are not supported yet)');
        const req = parseFrame(data, (given) => (id = given));
        answer = { id, ok: true, ...this.serve(req, joined) };
      } catch (err) {
        const e = this.toError(err);
        answer = { id, ok: false, error: { status: e.status, code: e.code, message: e.message } };
      }
      ws.send(JSON.stringify(answer));
      if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
        // a client that does not read its answers: let go rather than buffer without end
        ws.close(WS_CLOSE.slowReader, 'not reading: send buffer over its limit');
        ws.terminate();
      }
    });
  }

  private serve(req: Request, joined: Map<string, [string, string]>): Record<string, unknown> {
    const channels = this.channels();
    const { op, body } = req;
    switch (op) {
      case 'publish': {
        const channel = channelOf(body);
        const { channel: _c, ...msg } = body;
        const receipt = publishMessage(channels, channel, msg);
        return { status: receipt.duplicate ? 200 : 201, result: receipt };
      }
      case 'presence.join': {
        checkFields(body, ['channel', 'clientId', 'user', 'info'], ['channel', 'clientId', 'user']);
        const channel = channelOf(body);
        const clientId = stringField(body, 'clientId', 256);
        const client = channels.join(channel, clientId, stringField(body, 'user', 256), body.info);
        joined.set(`${channel}\u0000${clientId}`, [channel, clientId]);
        return { status: 200, result: { channel, client } };
      }
      case 'presence.update': {
        checkFields(body, ['channel', 'clientId', 'info'], ['channel', 'clientId', 'info']);
        const channel = channelOf(body);
        const clientId = stringField(body, 'clientId', 256);
        if (!joined.has(`${channel}\u0000${clientId}`) || !channels.update(channel, clientId, body.info)) throw notJoined(channel, clientId);
        return { status: 200, result: { channel, clientId, updated: true } };
      }
      case 'presence.leave': {
        checkFields(body, ['channel', 'clientId'], ['channel', 'clientId']);
        const channel = channelOf(body);
        const clientId = stringField(body, 'clientId', 256);
        const key = `${channel}\u0000${clientId}`;
        if (!joined.has(key)) throw notJoined(channel, clientId);
        joined.delete(key);
        channels.leave(channel, clientId);
        return { status: 200, result: { channel, clientId, left: true } };
      }
      case 'history': {
        checkFields(body, ['channel', 'limit', 'after'], ['channel']);
        const channel = channelOf(body);
        const q = new URLSearchParams();
        if (body.limit !== undefined) {
          if (typeof body.limit !== 'number') throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "limit" must be an integer from 1 to 1000');
          q.set('limit', String(body.limit));
        }
        const limit = intParam(q, 'limit', 1, 1000, 100);
        if (body.after !== undefined) stringField(body, 'after', 512);
        const page = channels.history(channel, { limit, ...(body.after !== undefined ? { after: body.after as string } : {}) });
        return { status: 200, result: page };
      }
      default:
        throw new HttpError(400, 'E_UNKNOWN_OP', `unknown op "${String(op).slice(0, 40)}" (publish, presence.join, presence.update, presence.leave, history)`);
    }
  }
}

interface Request {
  id: string | number;
  op: string;
  body: Record<string, unknown>;
}

/** A frame as a request: `{id, op, ...fields}`; throws 400 naming what is wrong (`onId` gets the id as soon as it is valid, for the error's answer). */
function parseFrame(data: RawData, onId: (id: string | number) => void): Request {
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'E_BAD_JSON', `frame is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'E_BAD_JSON', 'a frame must be a JSON object {id, op, ...}');
  const { id, op, ...body } = value as Record<string, unknown>;
  if (!((typeof id === 'string' && id.length > 0 && id.length <= 128) || (typeof id === 'number' && Number.isSafeInteger(id)))) {
    throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "id" must be a string of 1–128 characters or an integer: the answer carries it');
  }
  onId(id);
  if (typeof op !== 'string') throw new HttpError(400, 'E_MISSING_FIELD', 'missing required field "op"');
  return { id, op, body };
}

function channelOf(body: Record<string, unknown>): string {
  if (body.channel === undefined) throw new HttpError(400, 'E_MISSING_FIELD', 'missing required field "channel"');
  const channel = stringField(body, 'channel', 1024);
  checkChannel(channel);
  return channel;
}

function notJoined(channel: string, clientId: string): HttpError {
  return new HttpError(404, 'E_NOT_FOUND', `client "${clientId}" was not joined to "${channel}" over this connection`);
}
