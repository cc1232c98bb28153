import net from 'node:net';
import type { Clock, Timer } from '../clock.js';
import { ClusterError } from '../errors.js';
import type { NetTransportStats } from './net-stats.js';
import { unreachableError } from './socket-errors.js';
import type { Address, Stream } from './transport.js';

/** Settings of one {@link TcpStream}. */
export interface TcpStreamOptions {
  /** Largest message sent or accepted. */
  maxStreamMessage: number;
  /** Bytes queued in the socket above which `send` refuses messages. */
  highWaterMark: number;
  /** Close the stream after this long without traffic either way; 0 disables. */
  idleTimeoutMs: number;
  /** Time source for the idle timer. */
  clock: Clock;
  /** Counters shared with the owning transport. */
  stats: NetTransportStats;
  /** Partly received bytes held by all streams of the transport, and their cap. */
  buffered: BufferBudget;
}

/** A byte budget shared by every stream of one transport. */
export interface BufferBudget {
  used: number;
  max: number;
}

const HEADER = 4;
// below this a message is copied behind its header so it goes out in one write;
// above it the copy costs more than a second write
const COALESCE_LIMIT = 16 * 1024;

/**
 * A length-prefixed message stream over one TCP connection: each message is a 4-byte
 * big-endian length followed by that many bytes. The reader checks the length against
 * maxStreamMessage before buffering a byte of the body, so a hostile prefix costs
 * nothing; the body is assembled only once it has fully arrived.
 */
export class TcpStream implements Stream {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length being waited for, or -1 while waiting for a header. */
  private need = -1;
  private messageHandler: ((message: Uint8Array) => void) | undefined;
  private held: Uint8Array[] | undefined;
  private readonly closeHandlers: ((err?: Error) => void)[] = [];
  private readonly drainHandlers: (() => void)[] = [];
  private ending = false;
  private finished = false;
  private wantDrain = false;
  private error: Error | undefined;
  private lastActivity: number;
  private idleTimer: Timer | undefined;

  constructor(
    private readonly socket: net.Socket,
    /** The other end's address. */
    readonly remote: Address,
    private readonly options: TcpStreamOptions,
    private readonly onFinish: (stream: TcpStream) => void,
  ) {
    this.lastActivity = options.clock.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => {
      this.error ??= unreachableError(err, remote);
    });
    socket.on('drain', () => this.drained());
    socket.on('close', () => this.finish());
    if (options.idleTimeoutMs > 0) this.armIdle(options.idleTimeoutMs);
  }

  send(message: Uint8Array): boolean {
    const length = message.length;
    if (length > this.options.maxStreamMessage) {
      throw new ClusterError('E_LIMIT', `stream message of ${length} bytes exceeds maxStreamMessage ${this.options.maxStreamMessage}`);
    }
    if (this.ending || this.finished || this.socket.destroyed) return false;
    if (this.socket.writableLength > this.options.highWaterMark) {
      this.wantDrain = true;
      return false;
    }
    if (length <= COALESCE_LIMIT) {
      const frame = Buffer.allocUnsafe(HEADER + length);
      frame.writeUInt32BE(length, 0);
      frame.set(message, HEADER);
      this.socket.write(frame);
    } else {
      const header = Buffer.allocUnsafe(HEADER);
      header.writeUInt32BE(length, 0);
      this.socket.cork();
      this.socket.write(header);
      this.socket.write(message);
      this.socket.uncork();
    }
    this.options.stats.bytesOut += length;
    this.lastActivity = this.options.clock.now();
    return true;
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.messageHandler = handler;
    const held = this.held;
    if (held) {
      this.held = undefined;
      for (const message of held) {
        if (this.messageHandler !== handler) break;
        handler(message);
      }
    }
  }

  onClose(handler: (err?: Error) => void): void {
    if (this.finished) handler(this.error);
    else this.closeHandlers.push(handler);
  }

  onDrain(handler: () => void): void {
    this.drainHandlers.push(handler);
  }

  close(): void {
    if (this.ending || this.finished) return;
    this.ending = true;
    this.socket.end();
  }

  /** Ends the stream at once, reporting `err` to the close handlers. */
  destroy(err?: Error): void {
    if (this.finished) return;
    if (err) this.error ??= err;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.finished) return;
    this.lastActivity = this.options.clock.now();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const budget = this.options.buffered;
    budget.used += chunk.length;
    if (budget.used > budget.max) {
      this.options.stats.streamErrors++;
      this.options.stats.streamsOversize++;
      this.release();
      this.destroy(new ClusterError('E_LIMIT', `stream from ${this.remote} pushed partly received stream data past the transport's ${budget.max}-byte budget`));
      return;
    }
    const max = this.options.maxStreamMessage;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < HEADER) return;
        const length = this.take(HEADER).readUInt32BE(0);
        if (length > max) {
          this.options.stats.streamErrors++;
          this.options.stats.streamsOversize++;
          this.release();
          this.destroy(new ClusterError('E_LIMIT', `stream from ${this.remote} announced a ${length}-byte message; maxStreamMessage is ${max}`));
          return;
        }
        this.need = length;
      }
      if (this.buffered < this.need) return;
      const message = this.take(this.need);
      this.need = -1;
      this.options.stats.bytesIn += message.length;
      if (this.messageHandler) this.messageHandler(message);
      else (this.held ??= []).push(message);
      if (this.finished || this.socket.destroyed) return;
    }
  }

  /** Drops what is buffered and gives its bytes back to the transport's budget. */
  private release(): void {
    this.options.buffered.used -= this.buffered;
    this.chunks.length = 0;
    this.buffered = 0;
  }

  /** Removes and returns the first `n` buffered bytes, copying only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    this.options.buffered.used -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }

  private drained(): void {
    if (!this.wantDrain || this.finished) return;
    this.wantDrain = false;
    for (const handler of this.drainHandlers) handler();
  }

  private armIdle(ms: number): void {
    this.idleTimer = this.options.clock.setTimer(ms, () => {
      if (this.finished) return;
      const idle = this.options.clock.now() - this.lastActivity;
      const timeout = this.options.idleTimeoutMs;
      if (idle >= timeout) {
        this.options.stats.streamsIdle++;
        this.destroy(new ClusterError('E_TIMEOUT', `stream with ${this.remote} idle for ${Math.round(idle)} ms (idle timeout ${timeout} ms)`));
      } else {
        // one timer per stream, re-armed lazily, instead of resetting it on every message
        this.armIdle(timeout - idle);
      }
    });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.idleTimer?.cancel();
    if (!this.error && (this.need >= 0 || this.buffered > 0)) {
      this.error = new ClusterError('E_FRAME_TRUNCATED', `stream from ${this.remote} ended in the middle of a message`);
    }
    this.release();
    this.onFinish(this);
    const handlers = this.closeHandlers.splice(0);
    for (const handler of handlers) handler(this.error);
  }
}

/** Starts a TCP listener; rejects with the raw socket error (the caller words it). */
export function listenTcp(host: string, port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      server.close();
      reject(err);
    };
    server.once('error', fail);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', fail);
      // accept errors (EMFILE and the like) must not take the node down
      server.on('error', () => {});
      resolve(server);
    });
  });
}
