import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Counter, Histogram, Registry } from 'prom-client';
import { ClusterError, MAX_CURSOR_CHARS, isClusterError, parseAddress } from '../internal.js';
import type { ClusterNode, MemberInfo } from '../internal.js';
import type { EventFilter, EventHub } from './event-hub.js';
import { parseTypes } from './event-hub.js';
import { EventStreams } from './event-streams.js';
import { checkFields, checkQuery, HttpError, intParam, lingerAfterResponse, readJsonBody, sendError, sendJson, stringField, TokenCheck } from './http-util.js';
import { checkChannel, publishBatch, publishMessage } from './publish.js';
import { WsApi } from './ws-api.js';
import { isClientError } from './client-error.js';
import type { RecordPage } from '../client/flight-record.js';

/*
 * What the API needs of the daemon's collaborators, by shape: the daemon (lib/daemon)
 * implements them and passes them in, and lib/http does not import lib/daemon, so the
 * dependency points one way (daemon -> http -> node runtime).
 */

/** The agent's keyring administration (lib/daemon/key-admin.ts). Each answers the keys after the change. */
export interface KeyControl {
  list(): unknown[];
  install(b64: string): unknown[];
  use(b64: string): unknown[];
  remove(b64: string): unknown[];
}

/** The load the node advertises (lib/daemon/load-reporter.ts). */
export interface LoadControl {
  auto(): unknown;
  current(): Record<string, number>;
  readonly customLoad: Record<string, number>;
  /** Throws ClusterError E_INVALID_ARGUMENT (bad figure) or E_LIMIT (metadata too large); nothing changes then. */
  setCustom(load: Record<string, number>): void;
}

/** Fault injection (lib/daemon/faults.ts). Each answers the rules in force. */
export interface FaultControl {
  list(): unknown[];
  /** Throws ClusterError E_INVALID_ARGUMENT for a bad rule. */
  setRules(rules: unknown): unknown[];
}

/** The agent's flight recorder (lib/daemon/flight-recorder.ts), served at `GET /v1/record`. */
export interface RecorderControl {
  /** Records with seq ≥ `since`, oldest first, at most `limit`. */
  page(since: number, limit: number): Pick<RecordPage, 'records' | 'first' | 'next' | 'lost' | 'capacity'>;
}

/** Largest page of `GET /v1/record` (about 120 bytes of JSON a record: ≤ 250 KB). */
export const RECORD_PAGE_MAX = 2000;

/** The Prometheus registry behind `/metrics` plus the HTTP instruments the API updates. */
export interface HttpMetrics {
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'route'>;
}

/** What the HTTP API serves and acts on. */
export interface HttpApiContext {
  node: ClusterNode;
  hub: EventHub;
  metrics: HttpMetrics;
  keys: KeyControl;
  /** The load this node advertises (automatic and custom figures). */
  load: LoadControl;
  /** The fault layer when the agent runs with --enable-faults. @default undefined */
  faults?: FaultControl | undefined;
  /** The flight recorder; without it `GET /v1/record` answers 404. @default undefined */
  recorder?: RecorderControl | undefined;
  /** Bearer token; writes (and reads, with authReads) need it. @default undefined */
  token?: string | undefined;
  /** @default true */
  authReads?: boolean;
  /** @default 1048576 */
  maxBodyBytes?: number;
  /** Extra fields of `GET /v1/self`. */
  self: () => Record<string, unknown>;
  /** Joins more seeds. */
  join: (seeds: string[]) => Promise<number>;
  /** Starts a graceful leave and exit (answered before it completes). */
  leave: () => void;
  /** True once a leave started. */
  leaving: () => boolean;
  log: Logger;
}

type Params = string[];
interface Route {
  method: string;
  path: RegExp;
  /** Route template, the `route` label of the metrics. */
  name: string;
  /** Needs the token even when reads are open. */
  write: boolean;
  handle: (req: IncomingMessage, res: ServerResponse, params: Params, query: URLSearchParams) => Promise<void> | void;
}

const CH = '([^/]+)';

/**
 * The agent's JSON HTTP API (`/v1`, documented in docs/http-api.md), `/metrics`, and the
 * event streams. Every error is `{error: {code, message}}` with a 4xx for what the
 * client must fix and 5xx for what it cannot; nothing a client sends can throw past
 * the handler.
 */
/**
 * Idle keep-alive connections are kept this long: longer than clients keep them (undici
 * 4 s, Python requests for ever), so a client does not reuse a connection the agent has
 * just closed and fail with a reset (which a busy client, whose timers run late, did with
 * the former 5 s). Idle connections cost a socket each; close() ends them all.
 */
const KEEP_ALIVE_MS = 65_000;

export class HttpApi {
  private readonly server: Server;
  readonly streams: EventStreams;
  /** The two-way WebSocket API at /v2/ws. */
  readonly ws: WsApi;
  private readonly routes: Route[];
  private readonly tokenCheck: TokenCheck | undefined;
  private readonly authReads: boolean;
  private readonly maxBody: number;
  private readonly requestCounters = new Map<string, { inc: () => void }>();
  private readonly durations = new Map<string, { observe: (v: number) => void }>();

  constructor(private readonly ctx: HttpApiContext) {
    this.streams = new EventStreams(ctx.hub, {}, ctx.node.channels);
    this.ws = new WsApi(() => ctx.node.channels, toHttpError);
    this.tokenCheck = ctx.token !== undefined ? new TokenCheck(ctx.token) : undefined;
    this.authReads = ctx.authReads ?? true;
    this.maxBody = ctx.maxBodyBytes ?? 1024 * 1024;
    this.routes = this.buildRoutes();
    this.server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: KEEP_ALIVE_MS, maxHeaderSize: 16 * 1024 }, (req, res) => {
      void this.dispatch(req, res);
    });
    this.server.maxConnections = 1024;
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Binds; resolves with the bound `host:port`. Rejects with E_ADDRESS naming the reason. */
  listen(address: string): Promise<string> {
    const hp = parseAddress(address, 7947);
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'port already in use' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
        reject(new ClusterError('E_ADDRESS', `cannot bind the HTTP API to ${address}: ${why}`));
      };
      this.server.once('error', onError);
      this.server.listen(hp.port, hp.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    this.streams.closeAll();
    this.ws.closeAll();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- dispatch

  private match(method: string, path: string): { route: Route; params: Params } | { allowed: string[] } | undefined {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.path.exec(path);
      if (!m) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.push(route.method);
        continue;
      }
      return { route, params: m.slice(1) };
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let routeName = 'unmatched';
    res.on('finish', () => {
      lingerAfterResponse(req);
      this.countRequest(req.method ?? '?', routeName, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://agent');
      } catch {
        throw new HttpError(400, 'E_BAD_REQUEST', 'malformed request URL');
      }
      const found = this.match(req.method ?? 'GET', url.pathname);
      if (!found) throw new HttpError(404, 'E_NOT_FOUND', `no route ${req.method} ${url.pathname} (see docs/http-api.md)`);
      if ('allowed' in found) {
        res.setHeader('allow', found.allowed.join(', '));
        throw new HttpError(405, 'E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname} (allowed: ${found.allowed.join(', ')})`);
      }
      routeName = found.route.name;
      this.authorize(req, found.route, url.searchParams);
      await found.route.handle(req, res, found.params.map((p) => decodeSegment(p)), url.searchParams);
    } catch (err) {
      const httpErr = toHttpError(err);
      if (httpErr.status >= 500 && httpErr.code === 'E_INTERNAL') this.ctx.log.error({ event: 'http-error', err: (err as Error).message, url: req.url }, 'http-error');
      sendError(res, httpErr);
    }
  }

  /**
   * Counts a finished request. The labelled children are kept: prom-client hashes a label
   * object on every inc/observe, a few percent of a publish's CPU.
   */
  private countRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let counter = this.requestCounters.get(key);
    if (counter === undefined) {
      // bounded: methods Node's parser accepts × statuses the API answers × routes
      counter = this.ctx.metrics.httpRequests.labels({ method, route, status: String(status) });
      this.requestCounters.set(key, counter);
    }
    counter.inc();
    let histogram = this.durations.get(route);
    if (histogram === undefined) {
      histogram = this.ctx.metrics.httpDuration.labels({ route });
      this.durations.set(route, histogram);
    }
    histogram.observe(seconds);
  }

  private authorize(req: IncomingMessage, route: Route, query: URLSearchParams | undefined): void {
    if (!this.tokenCheck || route.name === 'GET /v1/health') return;
    if (!route.write && !this.authReads) return;
    if (this.tokenCheck.accepts(req, route.name === 'GET /v1/ws' || route.name === 'GET /v2/ws' ? query?.get('token') : undefined)) return;
    const had = req.headers.authorization !== undefined;
    throw new HttpError(401, 'E_UNAUTHORIZED', had ? 'the bearer token is wrong' : `this ${route.write ? 'write' : 'read'} needs "Authorization: Bearer <token>" (the agent was started with --token)`);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const refuse = (status: number, code: string, message: string): void => {
      const body = JSON.stringify({ error: { code, message } });
      socket.end(`HTTP/1.1 ${status} ${code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      if (url.pathname === '/v2/ws') {
        checkQuery(url.searchParams, ['token']);
        this.authorize(req, this.routes.find((r) => r.name === 'GET /v2/ws')!, url.searchParams);
        if (this.ws.full) return refuse(503, 'E_LIMIT', 'too many WebSocket connections open');
        return this.ws.handle(req, socket, head);
      }
      if (url.pathname !== '/v1/ws') return refuse(404, 'E_NOT_FOUND', 'WebSocket is served at /v1/ws (event streams) and /v2/ws (two-way API)');
      const route = this.routes.find((r) => r.name === 'GET /v1/ws')!;
      this.authorize(req, route, url.searchParams);
      const { filter, after } = this.streamParams(req, url.searchParams, ['channel', 'types', 'cursor', 'token']);
      if (this.streams.full) return refuse(503, 'E_LIMIT', 'too many event streams open');
      this.streams.checkResume(filter, after);
      this.streams.websocket(req, socket, head, filter, after);
    } catch (err) {
      const e = toHttpError(err);
      refuse(e.status, e.code, e.message);
    }
  }

  private streamParams(req: IncomingMessage, q: URLSearchParams, allowed: string[]): { filter: EventFilter; after: string | undefined } {
    checkQuery(q, allowed);
    const types = parseTypes(q.get('types'));
    if ('unknown' in types) throw new HttpError(400, 'E_BAD_QUERY', `unknown event type "${types.unknown}" in types (use message, presence, member or an event name such as client-join, member-dead)`);
    const channel = q.get('channel') ?? undefined;
    if (channel !== undefined) checkChannel(channel);
    const header = req.headers['last-event-id'];
    const after = (typeof header === 'string' && header !== '' ? header : undefined) ?? q.get('cursor') ?? undefined;
    return { filter: { ...(channel !== undefined ? { channel } : {}), types: types.types }, after };
  }

  // ---------------------------------------------------------------- routes

  private buildRoutes(): Route[] {
    const { node } = this.ctx;
    const r = (method: string, path: string, write: boolean, handle: Route['handle']): Route => ({
      method,
      path: new RegExp(`^${path}$`),
      name: `${method} ${path.replaceAll(CH, '{param}')}`,
      write,
      handle,
    });
    const channels = (): ClusterNode['channels'] => node.channels;
    const body = (req: IncomingMessage): Promise<Record<string, unknown>> => readJsonBody(req, this.maxBody);

    return [
      r('GET', '/v1/health', false, (_req, res, _p, q) => {
        checkQuery(q, []);
        const leaving = this.ctx.leaving();
        const health = node.membership.health;
        sendJson(res, leaving ? 503 : 200, { status: leaving ? 'leaving' : health > 0 ? 'degraded' : 'ok', name: node.name, ready: node.ready, healthScore: health });
      }),
      r('GET', '/v1/self', false, (_req, res, _p, q) => {
        checkQuery(q, []);
        const me = node.membership.member(node.name);
        sendJson(res, 200, { ...(me ? memberJson(me) : { name: node.name }), ready: node.ready, healthScore: node.membership.health, ...this.ctx.self() });
      }),
      r('GET', '/v1/self/load', false, (_req, res, _p, q) => {
        checkQuery(q, []);
        this.sendLoad(res);
      }),
      r('PUT', '/v1/self/load', true, async (req, res) => {
        const b = await body(req);
        checkFields(b, ['load'], ['load']);
        const load = b.load;
        if (typeof load !== 'object' || load === null || Array.isArray(load) || !Object.values(load).every((v) => typeof v === 'number' && Number.isFinite(v))) {
          throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "load" must be an object of finite numbers, e.g. {"load": {"clients": 120}}');
        }
        if (Object.keys(load).length > 32) throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "load" holds at most 32 figures');
        this.ctx.load.setCustom(load as Record<string, number>);
        this.sendLoad(res);
      }),
      r('DELETE', '/v1/self/load', true, (_req, res, _p, q) => {
        checkQuery(q, []);
        this.ctx.load.setCustom({});
        this.sendLoad(res);
      }),
      r('GET', '/v1/members', false, (_req, res, _p, q) => {
        checkQuery(q, ['state']);
        const state = q.get('state');
        if (state !== null && !['alive', 'suspect', 'dead', 'left'].includes(state)) throw new HttpError(400, 'E_BAD_QUERY', `state must be alive, suspect, dead or left, got "${state.slice(0, 20)}"`);
        const members = node.members().filter((m) => state === null || m.state === state).sort((a, b) => (a.name < b.name ? -1 : 1)).map(memberJson);
        sendJson(res, 200, { members });
      }),
      r('GET', `/v1/members/${CH}`, false, (_req, res, [name], q) => {
        checkQuery(q, []);
        const m = node.membership.member(name!);
        const why = node.explain(name!);
        if (!m || !why) throw new HttpError(404, 'E_NOT_FOUND', `no member "${name!.slice(0, 100)}" in this node's table (see GET /v1/members)`);
        sendJson(res, 200, { ...memberJson(m), ...why });
      }),
      r('GET', '/v1/record', false, (_req, res, _p, q) => {
        checkQuery(q, ['since', 'limit']);
        const rec = this.ctx.recorder;
        if (!rec) throw new HttpError(404, 'E_NOT_FOUND', 'this agent keeps no flight recorder');
        const since = intParam(q, 'since', 0, Number.MAX_SAFE_INTEGER, 0);
        const limit = intParam(q, 'limit', 0, RECORD_PAGE_MAX, 1000);
        const o = node.options;
        const page: RecordPage = { node: node.name, now: Date.now(), profile: String(this.ctx.self().profile ?? 'custom'), probeIntervalMs: o.probeIntervalMs, probeTimeoutMs: o.probeTimeoutMs, ...rec.page(since, limit) };
        sendJson(res, 200, page);
      }),
      r('GET', '/v1/brokers', false, (_req, res, _p, q) => {
        checkQuery(q, ['tag', 'sortBy']);
        const tag = q.get('tag');
        let filterTag: [string, string] | undefined;
        if (tag !== null) {
          const i = tag.indexOf('=');
          if (i <= 0) throw new HttpError(400, 'E_BAD_QUERY', 'tag must be KEY=VALUE');
          filterTag = [tag.slice(0, i), tag.slice(i + 1)];
        }
        const sortBy = q.get('sortBy');
        sendJson(res, 200, { brokers: node.brokers({ ...(filterTag ? { tag: filterTag } : {}), ...(sortBy ? { sortBy } : {}) }) });
      }),
      r('POST', '/v1/join', true, async (req, res) => {
        const b = await body(req);
        checkFields(b, ['seeds'], ['seeds']);
        const seeds = b.seeds;
        if (!Array.isArray(seeds) || seeds.length === 0 || seeds.length > 64 || !seeds.every((s) => typeof s === 'string')) {
          throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "seeds" must be an array of 1–64 "host:port" strings');
        }
        for (const s of seeds as string[]) {
          try {
            parseAddress(s);
          } catch (err) {
            throw new HttpError(400, 'E_INVALID_ARGUMENT', `seed ${(err as Error).message}`);
          }
        }
        const contacted = await this.ctx.join(seeds as string[]);
        sendJson(res, 200, { contacted });
      }),
      r('POST', '/v1/leave', true, async (req, res) => {
        checkFields(await body(req), []);
        sendJson(res, 202, { leaving: true });
        this.ctx.leave();
      }),
      r('GET', '/v1/channels', false, (_req, res, _p, q) => {
        checkQuery(q, []);
        sendJson(res, 200, { channels: channels().list() });
      }),
      r('GET', `/v1/channels/${CH}/presence`, false, (_req, res, [channel], q) => {
        checkQuery(q, []);
        checkChannel(channel!);
        const p = channels().presence(channel!);
        sendJson(res, 200, { channel, clients: p.clients, counts: p.counts });
      }),
      r('PUT', `/v1/channels/${CH}/presence/${CH}`, true, async (req, res, [channel, clientId]) => {
        checkChannel(channel!);
        const b = await body(req);
        checkFields(b, ['user', 'info'], ['user']);
        const user = stringField(b, 'user', 256);
        const client = channels().join(channel!, clientId!, user, b.info);
        sendJson(res, 200, { channel, client });
      }),
      r('DELETE', `/v1/channels/${CH}/presence/${CH}`, true, (_req, res, [channel, clientId], q) => {
        checkQuery(q, []);
        checkChannel(channel!);
        if (!channels().leave(channel!, clientId!)) throw new HttpError(404, 'E_NOT_FOUND', `client "${clientId}" is not connected to "${channel}" on this node (presence is removed on the node the client joined)`);
        sendJson(res, 200, { channel, clientId, left: true });
      }),
      r('POST', `/v1/channels/${CH}/messages`, true, async (req, res, [channel]) => {
        checkChannel(channel!);
        const receipt = publishMessage(channels(), channel!, await body(req));
        sendJson(res, receipt.duplicate ? 200 : 201, receipt);
      }),
      r('POST', '/v1/messages', true, async (req, res) => {
        sendJson(res, 200, publishBatch(channels(), await body(req)));
      }),
      r('GET', `/v1/channels/${CH}/messages`, false, (_req, res, [channel], q) => {
        checkQuery(q, ['limit', 'after']);
        checkChannel(channel!);
        const limit = intParam(q, 'limit', 1, 1000, 100);
        const after = q.get('after');
        if (after !== null && (after === '' || after.length > MAX_CURSOR_CHARS)) throw new HttpError(400, 'E_BAD_CURSOR', `after must be a cursor returned by this API (at most ${MAX_CURSOR_CHARS} characters)`);
        const page = channels().history(channel!, { limit, ...(after !== null ? { after } : {}) });
        sendJson(res, 200, page);
      }),
      r('GET', '/v1/sync', false, (_req, res, _p, q) => {
        checkQuery(q, []);
        sendJson(res, 200, node.syncStatus());
      }),
      r('GET', '/v1/events', false, (req, res, _p, q) => {
        const { filter, after } = this.streamParams(req, q, ['channel', 'types', 'cursor']);
        if (this.streams.full) throw new HttpError(503, 'E_LIMIT', 'too many event streams open; try again later');
        this.streams.sse(req, res, filter, after);
      }),
      r('GET', '/v1/ws', false, () => {
        throw new HttpError(426, 'E_UPGRADE_REQUIRED', 'this route speaks WebSocket: send an Upgrade request');
      }),
      r('GET', '/v2/ws', true, () => {
        throw new HttpError(426, 'E_UPGRADE_REQUIRED', 'this route speaks WebSocket: send an Upgrade request');
      }),
      r('GET', '/v1/keys', true, (_req, res, _p, q) => {
        checkQuery(q, []);
        sendJson(res, 200, { keys: this.ctx.keys.list() });
      }),
      ...(['install', 'use', 'remove'] as const).map((op) =>
        r('POST', `/v1/keys/${op}`, true, async (req, res) => {
          const b = await body(req);
          checkFields(b, ['key'], ['key']);
          sendJson(res, 200, { keys: this.ctx.keys[op](stringField(b, 'key', 100)) });
        })),
      r('GET', '/v1/faults', true, (_req, res) => sendJson(res, 200, { rules: this.faults().list() })),
      r('PUT', '/v1/faults', true, async (req, res) => {
        const faults = this.faults();
        const b = await body(req);
        checkFields(b, ['rules'], ['rules']);
        sendJson(res, 200, { rules: faults.setRules(b.rules) });
      }),
      r('DELETE', '/v1/faults', true, (_req, res) => sendJson(res, 200, { rules: this.faults().setRules([]) })),
      r('GET', '/metrics', false, async (_req, res) => {
        const text = await this.ctx.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.ctx.metrics.registry.contentType });
        res.end(text);
      }),
    ];
  }

  private sendLoad(res: ServerResponse): void {
    const { load, node } = this.ctx;
    const advertised = node.membership.member(node.name)?.meta.load ?? {};
    sendJson(res, 200, { advertised, next: load.current(), auto: load.auto(), custom: load.customLoad });
  }

  private faults(): FaultControl {
    if (!this.ctx.faults) throw new HttpError(404, 'E_NOT_FOUND', 'fault injection is disabled: start the agent with --enable-faults (testing only)');
    return this.ctx.faults;
  }
}

/** A member as the API reports it. */
export function memberJson(m: MemberInfo): Record<string, unknown> {
  return { name: m.name, address: m.address, state: m.state, incarnation: m.incarnation, roles: m.meta.roles, meta: m.meta, rttMs: m.rttMs ?? null, sinceMs: Math.round(m.sinceMs) };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'E_BAD_REQUEST', `malformed percent-encoding in "${s.slice(0, 60)}"`);
  }
}

/** The status and code of the API for an error thrown while serving a request. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isClientError(err)) {
    if (err.code === 'E_LIMIT') return new HttpError(413, 'E_LIMIT', err.message);
    return new HttpError(400, err.code, err.message);
  }
  if (isClusterError(err, 'E_KEYRING')) return new HttpError(409, 'E_KEYRING', err.message);
  if (isClusterError(err, 'E_UNREACHABLE')) return new HttpError(502, 'E_UNREACHABLE', err.message);
  if (isClusterError(err, 'E_CLOSED')) return new HttpError(503, 'E_LEAVING', 'the agent is shutting down');
  return new HttpError(500, 'E_INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}
