import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ChannelsApi } from '../internal.js';
import type { EventFilter, EventHub, HubEvent } from './event-hub.js';
import { openChannelStream } from './channel-stream.js';
import type { StreamItem } from './channel-stream.js';

/** Where a stream's events come from: opened with the transport's send, answers its starting cursor and how to stop. */
type StreamSource = (send: (item: StreamItem) => void) => { cursor: string; close(): void };

/** A source opened for one transport. */
interface OpenStream {
  cursor: string;
  /** Sends what the source produced before the transport's greeting, then goes live. */
  ready(): void;
  close(): void;
}

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
 * queued rather than buffered without bound; it reconnects with its last id. One writer
 * per transport (SSE, WebSocket) frames whichever source the filter asks for.
 */
export class EventStreams {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly live = new Set<() => void>();
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
    return this.live.size;
  }

  get full(): boolean {
    return this.live.size >= this.maxStreams;
  }

  /** Streams events as Server-Sent Events until the client goes away. Throws E_BAD_CURSOR, before any header, for a channel stream's bad cursor. */
  sse(req: IncomingMessage, res: ServerResponse, filter: EventFilter, after: string | undefined): void {
    let closed = false;
    let close = (): void => {};
    const write = (text: string): void => {
      if (res.writableLength > this.maxBuffered) {
        close();
        return;
      }
      res.write(text);
    };
    const out = this.attach(this.source(filter, after), (item) => write(`${item.id !== undefined ? `id: ${item.id}\n` : ''}event: ${item.type}\ndata: ${item.json}\n\n`), () => closed);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    write(`retry: 2000\n: connected, cursor ${out.cursor}\n\n`);
    out.ready();
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.heartbeatMs);
    heartbeat.unref();
    close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      out.close();
      this.live.delete(close);
      res.end();
      req.socket.destroy();
    };
    this.live.add(close);
    req.on('close', close);
    res.on('error', close);
  }

  /**
   * Checks what a WebSocket upgrade asks for before accepting it: a channel stream's
   * cursor must decode (E_BAD_CURSOR otherwise), so a bad one gets an HTTP 400, not a
   * socket that closes. Decoding only: nothing is read.
   */
  checkResume(filter: EventFilter, after: string | undefined): void {
    if (filter.channel !== undefined && this.channels && after !== undefined) this.channels.checkCursor(filter.channel, after);
  }

  /** Completes a WebSocket upgrade and streams events as JSON text messages. */
  websocket(req: IncomingMessage, socket: Duplex, head: Buffer, filter: EventFilter, after: string | undefined): void {
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      let closed = false;
      let close = (): void => {};
      let out: OpenStream;
      try {
        out = this.attach(this.source(filter, after), (item) => {
          if (ws.bufferedAmount > this.maxBuffered) {
            close();
            return;
          }
          ws.send(`{${item.id !== undefined ? `"id":${JSON.stringify(item.id)},` : ''}"type":${JSON.stringify(item.type)},"data":${item.json}}`);
        }, () => closed);
      } catch (err) {
        ws.close(1008, (err as Error).message.slice(0, 120));
        return;
      }
      ws.send(JSON.stringify({ type: 'hello', cursor: out.cursor }));
      out.ready();
      close = (): void => {
        if (closed) return;
        closed = true;
        out.close();
        this.live.delete(close);
        ws.terminate();
      };
      this.live.add(close);
      ws.on('close', close);
      ws.on('error', close);
      // the stream is one-way: anything a client sends is ignored (and capped by maxPayload)
      ws.on('message', () => {});
    });
  }

  /** The source a filter asks for: one channel's portable stream, or the agent's event hub. */
  private source(filter: EventFilter, after: string | undefined): StreamSource {
    const channels = this.channels;
    if (filter.channel !== undefined && channels) {
      const f = { ...filter, channel: filter.channel };
      return (send) => openChannelStream(channels, this.hub, f, after, send);
    }
    return (send) => {
      const hubItem = (e: HubEvent): StreamItem => ({ id: e.id, type: e.type, json: e.json });
      const { resume, unsubscribe } = this.hub.subscribe(filter, (e) => send(hubItem(e)), after);
      const cursor = this.hub.cursor;
      if (resume && !resume.ok) send({ type: 'reset', json: JSON.stringify({ reason: resume.reason, cursor: this.hub.cursor }) });
      else if (resume) for (const e of resume.replay) send(hubItem(e));
      return { cursor, close: unsubscribe };
    };
  }

  /**
   * Opens `source` for one transport's `frame`: what the source sends before the
   * transport's greeting (a replay, a presence snapshot) is held until `ready()`, so the
   * greeting with its cursor always comes first; nothing is sent once `closed()`.
   */
  private attach(source: StreamSource, frame: (item: StreamItem) => void, closed: () => boolean): OpenStream {
    let pending: StreamItem[] | undefined = [];
    const stream = source((item) => {
      if (closed()) return;
      if (pending) pending.push(item);
      else frame(item);
    });
    return {
      cursor: stream.cursor,
      close: () => stream.close(),
      ready: () => {
        const held = pending ?? [];
        pending = undefined;
        for (const item of held) {
          if (closed()) return;
          frame(item);
        }
      },
    };
  }

  /** Ends every stream (at shutdown). */
  closeAll(): void {
    for (const close of [...this.live]) close();
    this.wss.close();
  }
}
