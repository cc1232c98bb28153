import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { MAX_CURSOR_CHARS } from '../internal.js';
import type { ChannelsApi, Subscription } from '../internal.js';
import { checkFields, HttpError, intParam, stringField } from './http-util.js';
import { checkChannel, publishMessage } from './publish.js';
import { chooseFormat, FrameCodec } from './ws-frames.js';
import type { WsRequest } from './ws-frames.js';

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
  /** Channels one connection may be subscribed to at once; more get 413 E_LIMIT. @default 64 */
  maxSubscriptions?: number;
}

/** The frozen defaults of {@link WsApiOptions}. */
export const WS_API_DEFAULTS = Object.freeze({ maxFrameBytes: 1024 * 1024, maxBufferedBytes: 8 * 1024 * 1024, maxRequestsPerSecond: 20_000, maxConnections: 256, maxSubscriptions: 64 });

/** Close codes of the two-way API (docs/http-api.md). */
export const WS_CLOSE = Object.freeze({ slowReader: 1008, tooBig: 1009, shuttingDown: 1001 });

/** Maps an error thrown while serving a request to its HTTP status and code (the HTTP API's mapping). */
export type ErrorMapper = (err: unknown) => HttpError;

/**
 * The two-way WebSocket API (`/v2/ws`; JSON text frames, or msgpack binary frames under
 * the `clusterd.v2.msgpack` subprotocol): a client publishes, joins, updates and leaves
 * presence, reads history and subscribes to channels with cursors over one connection,
 * with a client-chosen `id` on each request that its answer carries, so many can be in
 * flight. A subscription pushes `{type: 'message'|'gap', channel, ..., cursor}` items
 * (decision 0047: resume with the last cursor on any agent) until unsubscribed or closed.
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
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxFrameBytes,
      perMessageDeflate: false,
      handleProtocols: (offered) => chooseFormat([...offered].join(',')).protocol ?? false,
    });
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
    // an offer of only unknown subprotocols throws 400 here, before the upgrade
    const { format } = chooseFormat(req.headers['sec-websocket-protocol']);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, new FrameCodec(format, this.opts.maxFrameBytes)));
  }

  /** Closes every connection (their presence leaves). */
  closeAll(): void {
    for (const ws of this.conns) ws.close(WS_CLOSE.shuttingDown, 'agent shutting down');
  }

  private accept(ws: WebSocket, codec: FrameCodec): void {
    this.conns.add(ws);
    const rate = this.opts.maxRequestsPerSecond;
    let tokens = rate;
    let refilled = performance.now();
    const send = (value: unknown): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(codec.encode(value));
      if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
        // a client that does not read its answers or items: let go rather than buffer without end
        ws.close(WS_CLOSE.slowReader, 'not reading: send buffer over its limit');
        ws.terminate();
      }
    };
    const conn: ConnState = { joined: new Map(), subs: new Map(), push: send };
    ws.on('error', () => {});
    ws.on('close', () => {
      this.conns.delete(ws);
      for (const sub of conn.subs.values()) sub.close();
      conn.subs.clear();
      for (const [channel, clientId] of conn.joined.values()) this.channels().leave(channel, clientId);
      conn.joined.clear();
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
        const req = codec.decode(data, isBinary, (given) => (id = given));
        answer = { id, ok: true, ...this.serve(req, conn) };
      } catch (err) {
        const e = this.toError(err);
        answer = { id, ok: false, error: { status: e.status, code: e.code, message: e.message } };
      }
      send(answer);
    });
  }

  private serve(req: WsRequest, conn: ConnState): Record<string, unknown> {
    const channels = this.channels();
    const { joined, subs } = conn;
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
      case 'subscribe': {
        checkFields(body, ['channel', 'cursor'], ['channel']);
        const channel = channelOf(body);
        const cursor = body.cursor;
        if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '' || cursor.length > MAX_CURSOR_CHARS)) {
          throw new HttpError(400, 'E_BAD_CURSOR', `field "cursor" must be a cursor returned by this API (a string of at most ${MAX_CURSOR_CHARS} characters)`);
        }
        if (subs.has(channel)) throw new HttpError(409, 'E_CONFLICT', `already subscribed to "${channel}" on this connection (unsubscribe first)`);
        if (subs.size >= this.opts.maxSubscriptions) throw new HttpError(413, 'E_LIMIT', `at most ${this.opts.maxSubscriptions} subscriptions per connection`);
        const push = conn.push;
        // a bad cursor throws E_BAD_CURSOR here, before anything is sent; a replay from a
        // cursor starts on the next microtask, so the answer goes out before the first item
        const sub = channels.subscribe(channel, (item) => push(item), cursor !== undefined ? { cursor } : {});
        subs.set(channel, sub);
        return { status: 200, result: { channel, cursor: sub.cursor } };
      }
      case 'unsubscribe': {
        checkFields(body, ['channel'], ['channel']);
        const channel = channelOf(body);
        const sub = subs.get(channel);
        if (!sub) throw new HttpError(404, 'E_NOT_FOUND', `not subscribed to "${channel}" on this connection`);
        sub.close();
        subs.delete(channel);
        return { status: 200, result: { channel, cursor: sub.cursor } };
      }
      default:
        throw new HttpError(400, 'E_UNKNOWN_OP', `unknown op "${String(op).slice(0, 40)}" (publish, presence.join, presence.update, presence.leave, history, subscribe, unsubscribe)`);
    }
  }
}

/** What one connection holds: the presence it joined, its subscriptions, how to push to it. */
interface ConnState {
  joined: Map<string, [channel: string, clientId: string]>;
  subs: Map<string, Subscription>;
  push: (value: unknown) => void;
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
