import type { Stream } from '../lib/internal.js';
import type { SimNode } from './sim-node.js';

/** What a {@link SimConn} needs from the simulation around it. */
export interface ConnHost {
  /** The shared virtual time. */
  now(): number;
  /** Schedules `fn` on `node` in `ms` (dropped when the process is gone, held while it is stalled). */
  deliver(node: SimNode, gen: number, ms: number, fn: () => void): void;
  /** One-way latency from `from` to `to`, or undefined when the path is cut. */
  latency(from: SimNode, to: SimNode): number | undefined;
}

/**
 * One end of a simulated TCP connection: the transport's {@link Stream} contract
 * (ordered, reliable, messages held until a handler is set, close after pending
 * messages), in virtual time. The send buffer never fills (send refuses only when
 * closed), so `onDrain` never fires.
 */
export class SimStreamEnd implements Stream {
  peer!: SimStreamEnd;
  closed = false;
  /** When the last message sent from this end arrives at the other (FIFO). */
  lastArrival = 0;
  private handler: ((m: Uint8Array) => void) | undefined;
  private held: Uint8Array[] = [];
  private readonly closeHandlers: ((err?: Error) => void)[] = [];

  constructor(
    readonly conn: SimConn,
    readonly node: SimNode,
    readonly gen: number,
    readonly remote: string,
  ) {}

  send(message: Uint8Array): boolean {
    if (this.closed) return false;
    return this.conn.transmit(this, message);
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.handler = handler;
    const held = this.held;
    this.held = [];
    for (const m of held) if (!this.closed) handler(m);
  }

  onClose(handler: (err?: Error) => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  onDrain(): void {
    // the simulated send buffer never refuses a message
  }

  close(): void {
    this.conn.close(this);
  }

  /** A message arrived from the other end. @internal */
  receive(m: Uint8Array): void {
    if (this.closed) return;
    if (this.handler) this.handler(m);
    else this.held.push(m);
  }

  /** Drops the handlers (and what they hold) once the connection is over. @internal */
  release(): void {
    this.closed = true;
    this.handler = undefined;
    this.held = [];
    this.closeHandlers.length = 0;
  }

  /** Ends this side now, calling its close handlers (unless its process is gone). @internal */
  end(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.node.gen !== this.gen || !this.node.up) return;
    for (const h of this.closeHandlers.splice(0)) h(err);
  }
}

/**
 * A simulated TCP connection between two nodes. Each message arrives after the link's
 * latency, in order. A message sent while the path is cut (a partition) breaks the
 * connection at once on both sides: a real kernel would retransmit for minutes, but
 * the replicator's sessions time out after seconds of silence anyway, and breaking
 * early is the harsher case for its repairs. A crashed process's connections end on the
 * other side one latency later (the kernel's reset).
 */
export class SimConn {
  readonly a: SimStreamEnd;
  readonly b: SimStreamEnd;
  /** What the connection carries, once its first message was read: merkle, bulk, deltas, one-shot. */
  kind = 'unknown';
  bytes = 0;
  done = false;

  /** @param onDone called once when both sides have ended. */
  constructor(
    private readonly host: ConnHost,
    from: SimNode,
    to: SimNode,
    private readonly onDone: () => void = () => {},
  ) {
    this.a = new SimStreamEnd(this, from, from.gen, to.addr);
    this.b = new SimStreamEnd(this, to, to.gen, from.addr);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  /** @internal */
  transmit(from: SimStreamEnd, message: Uint8Array): boolean {
    const to = from.peer;
    const lat = this.host.latency(from.node, to.node);
    if (lat === undefined || !to.node.up || to.node.gen !== to.gen) {
      this.fail(new Error('connection broken'));
      return false;
    }
    const now = this.now();
    const at = Math.max(now + lat, from.lastArrival);
    from.lastArrival = at;
    this.bytes += message.length;
    this.host.deliver(to.node, to.gen, at - now, () => to.receive(message));
    return true;
  }

  /** Closes `end` now; the other side sees the close after what was sent before it. @internal */
  close(end: SimStreamEnd): void {
    if (end.closed) return;
    end.end();
    const other = end.peer;
    if (other.closed) return this.finish();
    const lat = this.host.latency(end.node, other.node) ?? 0;
    const now = this.now();
    this.host.deliver(other.node, other.gen, Math.max(now + lat, end.lastArrival) - now, () => {
      other.end();
      this.finish();
    });
  }

  /** Breaks the connection on both sides at once. */
  fail(err?: Error): void {
    this.a.end(err);
    this.b.end(err);
    this.finish();
  }

  /** The process at `end` is gone: the other side learns it one latency later. */
  crashed(end: SimStreamEnd): void {
    end.closed = true;
    const other = end.peer;
    if (other.closed) return this.finish();
    const lat = this.host.latency(end.node, other.node) ?? this.host.latency(other.node, end.node) ?? 0;
    this.host.deliver(other.node, other.gen, lat, () => {
      other.end(new Error('connection reset'));
      this.finish();
    });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.a.release();
    this.b.release();
    this.onDone();
  }

  private now(): number {
    return this.host.now();
  }
}
