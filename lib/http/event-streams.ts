import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ChannelsApi } from '../channels.js';
import type { EventFilter, EventHub, HubEvent, Resume } from './event-hub.js';
import { openChannelStream } from './channel-stream.js';
import type { StreamItem } from './channel-stream.js';

/** Options of {@link EventStreams}. */
export interface EventStreamsOptions {
  /** Concurrent streams (SSE plus WebSocket); more get 503. @default 256 */
  maxStreams?: number;
  /** Bytes a slow client may have queued before it is disconnected (it can resume by cursor). @default 1048576 */
  maxBufferedBytes?: number;
  /** Comment line sent on idle SSE streams, ms. @default 15000 */
  heartbeatMs?: number;
}

/**
 * Serves events to SSE and WebSocket clients. A stream of one channel (`?channel=`)
 * carries portable cursors and resumes on any agent ({@link openChannelStream}); an
 * unfiltered stream serves the agent's event hub, whose ids resume on this agent's run
 * only. A client too slow to keep up is disconnected once it has `maxBufferedBytes`
 * queued rather than buffered without bound; it reconnects with its last id.
 */
export class EventStreams {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly open = new Set<() => void>();
  private readonly maxStreams: number;
  private readonly maxBuffered: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly hub: EventHub,
    opts: EventStreamsOptions = {},
    private readonly channels?: ChannelsApi,
  ) {
    this.maxStreams = opts.maxStreams ?? 256;
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
  }

  get count(): number {
    return this.open.size;
  }

  get full(): boolean {
    return this.open.size >= this.maxStreams;
  }

  /** Streams events as Server-Sent Events until the client goes away. */
  sse(req: IncomingMessage, res: ServerResponse, filter: EventFilter, after: string | undefined): void {
    if (filter.channel !== undefined && this.channels) return this.channelSse(req, res, { ...filter, channel: filter.channel }, after);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    const write = (text: string): void => {
      if (res.writableLength > this.maxBuffered) {
        close();
        return;
      }
      res.write(text);
    };
    const send = (e: HubEvent): void => write(`id: ${e.id}\nevent: ${e.type}\ndata: ${e.json}\n\n`);
    const { resume, unsubscribe } = this.hub.subscribe(filter, send, after);
    write(`retry: 2000\n: connected, cursor ${this.hub.cursor}\n\n`);
    this.replay(resume, send, (reason) => write(`event: reset\ndata: ${JSON.stringify({ reason, cursor: this.hub.cursor })}\n\n`));
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
    heartbeat.unref();
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(close);
      res.end();
      req.socket.destroy();
    };
    this.open.add(close);
    req.on('close', close);
    res.on('error', close);
  }

  // a channel stream: opened (and its cursor checked: E_BAD_CURSOR throws) before the headers
  private channelSse(req: IncomingMessage, res: ServerResponse, filter: EventFilter & { channel: string }, after: string | undefined): void {
    let closed = false;
    let close = (): void => {};
    const pending: StreamItem[] = [];
    let ready = false;
    const write = (text: string): void => {
      if (res.writableLength > this.maxBuffered) {
        close();
        return;
      }
      res.write(text);
    };
    const send = (item: StreamItem): void => {
      if (closed) return;
      if (!ready) {
        pending.push(item);
        return;
      }
      write(`${item.id !== undefined ? `id: ${item.id}\n` : ''}event: ${item.type}\ndata: ${item.json}\n\n`);
    };
    const stream = openChannelStream(this.channels!, this.hub, filter, after, send);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    write(`retry: 2000\n: connected, cursor ${stream.cursor}\n\n`);
    ready = true;
    for (const item of pending.splice(0)) send(item);
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
    heartbeat.unref();
    close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      stream.close();
      this.open.delete(close);
      res.end();
      req.socket.destroy();
    };
    this.open.add(close);
    req.on('close', close);
    res.on('error', close);
  }

  /**
   * Checks what a WebSocket upgrade asks for before accepting it: a channel stream's
   * cursor must decode (E_BAD_CURSOR otherwise), so a bad one gets an HTTP 400, not a
   * socket that closes.
   */
  checkResume(filter: EventFilter, after: string | undefined): void {
    if (filter.channel !== undefined && this.channels && after !== undefined) this.channels.history(filter.channel, { after, limit: 1 });
  }

  /** Completes a WebSocket upgrade and streams events as JSON text messages. */
  websocket(req: IncomingMessage, socket: Duplex, head: Buffer, filter: EventFilter, after: string | undefined): void {
    if (filter.channel !== undefined && this.channels) return this.channelWebsocket(req, socket, head, { ...filter, channel: filter.channel }, after);
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const send = (e: HubEvent): void => {
        if (ws.bufferedAmount > this.maxBuffered) {
          close();
          return;
        }
        ws.send(`{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"data":${e.json}}`);
      };
      const { resume, unsubscribe } = this.hub.subscribe(filter, send, after);
      ws.send(JSON.stringify({ type: 'hello', cursor: this.hub.cursor }));
      this.replay(resume, send, (reason) => ws.send(JSON.stringify({ type: 'reset', data: { reason, cursor: this.hub.cursor } })));
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        this.open.delete(close);
        ws.terminate();
      };
      this.open.add(close);
      ws.on('close', close);
      ws.on('error', close);
      // the stream is one-way: anything a client sends is ignored (and capped by maxPayload)
      ws.on('message', () => {});
    });
  }

  private channelWebsocket(req: IncomingMessage, socket: Duplex, head: Buffer, filter: EventFilter & { channel: string }, after: string | undefined): void {
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      let closed = false;
      let close = (): void => {};
      const pending: StreamItem[] = [];
      let ready = false;
      const send = (item: StreamItem): void => {
        if (closed) return;
        if (!ready) {
          pending.push(item);
          return;
        }
        if (ws.bufferedAmount > this.maxBuffered) {
          close();
          return;
        }
        ws.send(`{${item.id !== undefined ? `"id":${JSON.stringify(item.id)},` : ''}"type":${JSON.stringify(item.type)},"data":${item.json}}`);
      };
      let stream: { cursor: string; close(): void };
      try {
        stream = openChannelStream(this.channels!, this.hub, filter, after, send);
      } catch (err) {
        ws.close(1008, (err as Error).message.slice(0, 120));
        return;
      }
      ws.send(JSON.stringify({ type: 'hello', cursor: stream.cursor }));
      ready = true;
      for (const item of pending.splice(0)) send(item);
      close = (): void => {
        if (closed) return;
        closed = true;
        stream.close();
        this.open.delete(close);
        ws.terminate();
      };
      this.open.add(close);
      ws.on('close', close);
      ws.on('error', close);
      ws.on('message', () => {});
    });
  }

  private replay(resume: Resume | undefined, send: (e: HubEvent) => void, reset: (reason: string) => void): void {
    if (!resume) return;
    if (!resume.ok) return reset(resume.reason);
    for (const e of resume.replay) send(e);
  }

  /** Ends every stream (at shutdown). */
  closeAll(): void {
    for (const close of [...this.open]) close();
    this.wss.close();
  }
}
